/**
 * Memory: the pipeline over 1,000,000 workload events (generated one at a time, so the heap
 * holds only what the pipeline keeps), with the heap measured after a forced full GC at every
 * tenth. Growth = (heap at 100 % - heap at 20 %) / heap at 20 %. What the pipeline keeps is
 * bounded by design (50 users, at most 20 alarms, a few pending controls, capped caches), so any
 * growth is a leak.
 */
import { runPipeline } from './core.js';
import { fullGc, sig } from './stats.js';
import { eventStream } from './workload.js';

export interface MemoryResult {
  readonly events: number;
  readonly heap_at_20pct_bytes: number;
  readonly heap_at_100pct_bytes: number;
  readonly heap_growth_pct: number;
  /** (heap at 100 % - heap at 20 %) per event after the 20 % mark. */
  readonly growth_bytes_per_event: number;
  /** Heap after GC at each tenth, in MB. */
  readonly curve_mb: readonly number[];
  readonly seconds: number;
}

export function runMemory(options: { events: number }): MemoryResult {
  const total = options.events;
  const marks = new Map<number, number>();
  for (let k = 1; k <= 10; k++) marks.set(Math.round((total * k) / 10) - 1, k);
  const heap = new Map<number, number>();
  fullGc();
  const start = performance.now();
  runPipeline(eventStream(total, 7), {
    at: (i) => {
      const k = marks.get(i);
      if (k === undefined) return;
      fullGc();
      heap.set(k, process.memoryUsage().heapUsed);
    },
  });
  const seconds = (performance.now() - start) / 1000;
  const at20 = heap.get(2)!;
  const at100 = heap.get(10)!;
  return {
    events: total,
    heap_at_20pct_bytes: at20,
    heap_at_100pct_bytes: at100,
    heap_growth_pct: sig(((at100 - at20) / at20) * 100, 2),
    growth_bytes_per_event: sig((at100 - at20) / (total * 0.8), 2),
    curve_mb: [...heap.keys()].sort((a, b) => a - b).map((k) => sig(heap.get(k)! / 2 ** 20, 3)),
    seconds: sig(seconds, 2),
  };
}
