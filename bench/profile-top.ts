/**
 * Where a process's CPU went, from the `.cpuprofile` files that `BENCH_PROFILE_DIR` (or
 * `node --cpu-prof`) writes: self time by function and by file or package, as shares of the
 * busy time (samples that are not `(idle)`). For the before/after profiles in BENCHMARKS.md.
 *
 *   npx tsx bench/profile-top.ts /tmp/prof/backend [/tmp/prof/relay ...] [--top=25] [--skip-ms=4000]
 *
 * Each argument is a `.cpuprofile` file or a directory of them (all pooled: a helper process
 * writes one for its main thread and one for tsx's loader thread). A sample's self time is its
 * time delta (V8 records the time since the previous sample), so a long sample weighs more.
 * `--skip-ms` leaves out each profile's first milliseconds: the process's start (module loading
 * and compiling through tsx, about 3 s of CPU here) is no part of the cost of a command.
 * Files of tsx-run TypeScript show as line 1 (tsx compiles a module to one line); the column
 * tells functions apart.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time in microseconds per call frame, pooled over profiles. */
export function selfTimes(profiles: readonly CpuProfile[], skipMs = 0): Map<CallFrame, number> {
  const out = new Map<CallFrame, number>();
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    let at = 0;
    p.samples.forEach((id, i) => {
      const delta = Math.max(0, p.timeDeltas[i] ?? 0);
      at += delta;
      const frame = byId.get(id);
      if (frame === undefined || at < skipMs * 1000) return;
      out.set(frame, (out.get(frame) ?? 0) + delta);
    });
  }
  return out;
}

/** A file of the project relative to its root, a package as `pkg:name`, Node's own as `node:`, V8's as `(gc)` etc. */
export function fileOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg !== null) return `pkg:${pkg[1]}`;
  if (file.startsWith('node:')) return file;
  return path.relative(ROOT, file);
}

function functionOf(frame: CallFrame): string {
  if (frame.url === '') return frame.functionName || '(anonymous)';
  return `${frame.functionName || '(anonymous)'} ${fileOf(frame)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
}

function load(arg: string): CpuProfile[] {
  const files = statSync(arg).isDirectory()
    ? readdirSync(arg)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(arg, f))
    : [arg];
  return files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile);
}

function table(times: Map<CallFrame, number>, key: (f: CallFrame) => string, busyUs: number, top: number): string[] {
  const sums = new Map<string, number>();
  for (const [frame, us] of times) {
    if (frame.functionName === '(idle)') continue;
    sums.set(key(frame), (sums.get(key(frame)) ?? 0) + us);
  }
  return [...sums]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `  ${((us / busyUs) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const topArg = args.find((a) => a.startsWith('--top='));
  const top = topArg === undefined ? 25 : Number(topArg.slice('--top='.length));
  const skipArg = args.find((a) => a.startsWith('--skip-ms='));
  const skipMs = skipArg === undefined ? 0 : Number(skipArg.slice('--skip-ms='.length));
  for (const arg of args.filter((a) => !a.startsWith('--'))) {
    const times = selfTimes(load(arg), skipMs);
    let busy = 0;
    let idle = 0;
    for (const [frame, us] of times) {
      if (frame.functionName === '(idle)') idle += us;
      else busy += us;
    }
    const lines = [`${arg}: busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`, ' by file or package (self time, share of busy):'];
    lines.push(...table(times, fileOf, busy, top), ' by function:', ...table(times, functionOf, busy, top), '');
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
