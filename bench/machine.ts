/** What the figures were measured on. */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly os: string;
  readonly memory_gb: number;
  /** 1-minute load average when the bench started and ended: others share this machine. */
  readonly load_avg_start: number;
  load_avg_end?: number;
  broker?: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    load_avg_start: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

export function loadAvg(): number {
  return Number(os.loadavg()[0]!.toFixed(2));
}

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat), to tell a saturated machine. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * Measures how contended the machine was over a stretch of work: the whole machine's busy share
 * (all cores, all processes) and this process's CPU time per wall-clock time (1 = a full core;
 * GC helper threads count too). A single-threaded figure measured while others keep the cores
 * busy is lower than the code's speed.
 */
export function contention(): () => { machine_busy_pct: number | null; process_cpu_pct: number } {
  const m0 = machineCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const m1 = machineCpu();
    const c = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    return {
      machine_busy_pct: m0 === undefined || m1 === undefined ? null : Math.round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
      process_cpu_pct: Math.round(((c.user + c.system) / 1000 / wall) * 100),
    };
  };
}
