/**
 * Prometheus metrics (prom-client) for `/metrics`: what came in, what went out, what failed,
 * how full the queues are, and how long a command waits for its answer.
 *
 * The counts are kept in plain numbers (`Tally`, `LatencyBuckets`) and handed to prom-client
 * only when `/metrics` is scraped: they change on every event, effect and reply, where a
 * prom-client call (label validation and a label hash per call) cost ~2 us a command (issue 17).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventType } from '../core/protocol/events.js';

/** Counts per label value. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(label: string, n = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + n);
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }
}

interface Series {
  /** Observations per bucket (not cumulative); the last one is above every bound. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A histogram per label value in plain numbers, read as a Prometheus histogram at scrape time. */
export class LatencyBuckets {
  private readonly series = new Map<string, Series>();

  /** `bounds`: the buckets' upper bounds (inclusive), ascending. */
  constructor(readonly bounds: readonly number[]) {}

  observe(label: string, value: number): void {
    let series = this.series.get(label);
    if (series === undefined) {
      series = { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(label, series);
    }
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** prom-client's values of a histogram named `name` with the label `labelName`: cumulative buckets, sum, count. */
  values(name: string, labelName: string): Array<{ metricName: string; labels: Record<string, string | number>; value: number }> {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const [label, series] of this.series) {
      let cumulative = 0;
      series.counts.forEach((n, i) => {
        cumulative += n;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        values.push({ metricName: `${name}_bucket`, labels: { le, [labelName]: label }, value: cumulative });
      });
      values.push({ metricName: `${name}_sum`, labels: { [labelName]: label }, value: series.sum });
      values.push({ metricName: `${name}_count`, labels: { [labelName]: label }, value: series.count });
    }
    return values;
  }
}

/** Which label an event counts under in `eventsIn` (a table: this runs for every event). */
const SOURCE_OF: Readonly<Record<EventType, string>> = {
  'mqtt.message': 'mqtt',
  'rtdb.value': 'rtdb',
  'firestore.doc': 'firestore',
  'weather.result': 'weather',
  'weather.failure': 'weather',
  'face.result': 'face',
  'clock.tick': 'clock',
  'service.alert': 'service',
};

export interface Metrics {
  readonly registry: Registry;
  /** Counts one event into the pipeline in `eventsIn`, under its source. */
  readonly countEvent: (event: { readonly type: EventType }) => void;
  /** Events into the pipeline, by source (`mqtt`, `rtdb`, `firestore`, `weather`, `face`, `clock`). */
  readonly eventsIn: Tally;
  /** Effects performed, by sink. */
  readonly effectsOut: Tally;
  /** Errors, by kind (`sink.mqtt`, `alert.warning`, `source.rtdb`, ...). */
  readonly errors: Tally;
  /** What a driver calls with its queue's new size (the MQTT offline queue, the Firebase outbox: set only when they change). */
  readonly queueSizeOf: (queue: string) => (count: number) => void;
  /** Seconds from an inbound MQTT command to its reply or device command being published, by kind. */
  readonly commandLatency: LatencyBuckets;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A prom-client counter that reads `tally` at scrape time. */
function tallyCounter(registry: Registry, tally: Tally, name: string, help: string, labelName: string): void {
  new Counter({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect(this: Counter<string>) {
      this.reset();
      for (const [label, n] of tally.entries()) this.inc({ [labelName]: label }, n);
    },
  });
}

export function createMetrics(withDefaults = true): Metrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'smarthome_' });
  const eventsIn = new Tally();
  const effectsOut = new Tally();
  const errors = new Tally();
  tallyCounter(registry, eventsIn, 'smarthome_events_in_total', 'Events into the pipeline, by source', 'source');
  tallyCounter(registry, effectsOut, 'smarthome_effects_out_total', 'Effects performed, by sink', 'sink');
  tallyCounter(registry, errors, 'smarthome_errors_total', 'Errors, by kind', 'kind');
  const queueSize = new Gauge({ name: 'smarthome_queue_size', help: 'Items waiting to be sent, by queue', labelNames: ['queue'], registers: [registry] });
  const commandLatency = new LatencyBuckets(LATENCY_BUCKETS);
  const latencyName = 'smarthome_command_latency_seconds';
  const latencyHelp = 'From an inbound MQTT command to its reply or device command being published';
  // A metric prom-client's registry formats like its own histograms (`get` is all it reads).
  const latencyMetric = {
    name: latencyName,
    help: latencyHelp,
    type: 'histogram',
    aggregator: 'sum',
    get: () => ({ name: latencyName, help: latencyHelp, type: 'histogram', aggregator: 'sum', values: commandLatency.values(latencyName, 'kind') }),
  };
  registry.registerMetric(latencyMetric as unknown as Parameters<Registry['registerMetric']>[0]);
  return {
    registry,
    countEvent: (event) => eventsIn.add(SOURCE_OF[event.type]),
    eventsIn,
    effectsOut,
    errors,
    queueSizeOf: (queue) => (count) => queueSize.set({ queue }, count),
    commandLatency,
  };
}
