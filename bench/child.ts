/**
 * The bench's helper processes (the broker, the relay, the backend) talk to the bench over the
 * IPC channel: each sends `{ ready, ... }` once it serves, answers `cpu` with its CPU time so far
 * (so a round can say which process was busy), and stops cleanly on `stop` (or SIGTERM).
 * Their stdout and stderr go to a log file, never to the bench's stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Message = { readonly type: string } & Readonly<Record<string, unknown>>;

// ---- in the child ----

/** What a helper process says about its event loop since the last `reset`: stalls delay every message. */
export interface LoopStats {
  /** Event-loop delay (perf_hooks), ms. */
  readonly delay_p99_ms: number;
  readonly delay_max_ms: number;
  /** GC pauses (PerformanceObserver 'gc'), ms. */
  readonly gc_max_ms: number;
  readonly gc_total_ms: number;
  /** Heap used when asked (no GC forced), MB. */
  readonly heap_mb: number;
}

/** Watches this process's event loop and GC; `stats(true)` reads and starts a new period. */
export function loopMonitor(): { stats(reset: boolean): LoopStats } {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let gcMax = 0;
  let gcTotal = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMax = Math.max(gcMax, entry.duration);
      gcTotal += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  return {
    stats: (reset) => {
      const stats: LoopStats = {
        delay_p99_ms: Number((delay.percentile(99) / 1e6).toFixed(2)),
        delay_max_ms: Number((delay.max / 1e6).toFixed(2)),
        gc_max_ms: Number(gcMax.toFixed(2)),
        gc_total_ms: Number(gcTotal.toFixed(1)),
        heap_mb: Number((process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)),
      };
      if (reset) {
        delay.reset();
        gcMax = 0;
        gcTotal = 0;
      }
      return stats;
    },
  };
}

/** Serves the bench: `ready` once, `cpu`, `loop` and `heap` on demand, `stop` runs `onStop` and exits. */
export function serveBench(ready: Record<string, unknown>, onStop: () => Promise<void>): void {
  const send = (m: Message): void => {
    if (process.send !== undefined) process.send(m);
  };
  const loop = loopMonitor();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), 15_000);
    onStop().then(
      () => {
        clearTimeout(timer);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('message', (m: Message) => {
    if (m.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', ms: (user + system) / 1000 });
    } else if (m.type === 'loop') {
      send({ type: 'loop', stats: loop.stats(m.reset === true) });
    } else if (m.type === 'heap') {
      // a full GC first (the bench starts its helpers with --expose-gc), so what is left is kept
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      send({ type: 'heap', mb: Number((process.memoryUsage().heapUsed / 2 ** 20).toFixed(2)) });
    } else if (m.type === 'stop') {
      stop();
    }
  });
  process.on('SIGTERM', stop);
  // the bench went away: do not linger
  process.on('disconnect', stop);
  send({ type: 'ready', ...ready });
}

/** Arguments from the bench, as one JSON argument. */
export function childArgs<T>(): T {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error('expected one JSON argument from the bench');
  return JSON.parse(arg) as T;
}

// ---- in the bench ----

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly info: Readonly<Record<string, unknown>>;
  /** CPU time (user + system) the child has used so far, in ms. */
  cpuMs(): Promise<number>;
  /** Its event loop since the last reset; `reset` starts a new period. */
  loop(reset: boolean): Promise<LoopStats>;
  /** Heap used after a full GC, MB. */
  heapMb(): Promise<number>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `bench/<script>` with tsx, waits for its `ready` (rejects if it exits first or after `timeoutMs`). */
export async function startChild(name: string, script: string, args: unknown, options: { env?: NodeJS.ProcessEnv; logFile: string; timeoutMs?: number }): Promise<Child> {
  const log = openSync(options.logFile, 'a');
  // BENCH_PROFILE_DIR=/tmp/x: a CPU profile of each helper process, written when it stops
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name)}`] : [];
  const child = spawn(process.execPath, [...profile, '--expose-gc', '--import=tsx', path.join(ROOT, 'bench', script), JSON.stringify(args)], {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  live.add(child);
  child.once('exit', () => live.delete(child));
  const waiting = new Map<string, Array<(m: Message) => void>>();
  child.on('message', (m: Message) => {
    const resolvers = waiting.get(m.type);
    const next = resolvers?.shift();
    next?.(m);
  });
  const expect = (type: string): Promise<Message> =>
    new Promise((resolve) => {
      const list = waiting.get(type) ?? [];
      list.push(resolve);
      waiting.set(type, list);
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ready = await Promise.race([
    expect('ready'),
    exited.then(() => {
      throw new Error(`${name} exited before it was ready (see ${options.logFile})`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms (see ${options.logFile})`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return {
    name,
    process: child,
    info: ready,
    cpuMs: async () => {
      const answer = expect('cpu');
      child.send({ type: 'cpu' });
      return Number((await answer).ms);
    },
    heapMb: async () => {
      const answer = expect('heap');
      child.send({ type: 'heap' });
      return Number((await answer).mb);
    },
    loop: async (reset) => {
      const answer = expect('loop');
      child.send({ type: 'loop', reset });
      return (await answer).stats as LoopStats;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    },
  };
}
