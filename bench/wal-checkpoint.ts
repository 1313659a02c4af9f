/**
 * Do SQLite's own WAL checkpoints lengthen the tail? (issue 25, BENCHMARKS.md.) With the default
 * `wal_autocheckpoint` (1000 pages) the commit that passes it copies the WAL into the database
 * file and fsyncs both, on the thread that committed: the event loop. The service runs them in a
 * worker thread instead (lib/store/checkpointer.ts).
 *
 *   node --import=tsx bench/wal-checkpoint.ts [worker|sqlite|off] [writes/s] [seconds]
 *
 * Opens DATA_DIR's database as the service does (lib/store/database.ts) in a fresh directory on
 * the temp disk and writes one sign-up-like document (a random id, ~60 bytes) per event-loop
 * turn at a fixed rate, through `Database.write` (the transaction of the turn, the WAL synced in
 * the thread pool). `worker`: as the service runs; `sqlite`: SQLite's own checkpoints; `off`: none
 * at all (the WAL only grows: the floor to compare with, not a setting). Reported: the synchronous time of each commit (what the event loop is held),
 * the event-loop delay (a 1 ms histogram), checkpoints (the WAL restarting from its start).
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../lib/base/log.js';
import { Database } from '../lib/store/database.js';

const [mode = 'worker', rateArg = '2000', secondsArg = '10'] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const dir = mkdtempSync(path.join(tmpdir(), 'wal-checkpoint-'));
const db = await Database.open(dir, silentLogger, { checkpoints: mode === 'worker' ? 'worker' : 'sqlite' });
if (mode === 'off') db.sql.pragma('wal_autocheckpoint = 0');

// the synchronous part of each commit, timed around the transaction Database runs
const commits: number[] = [];
const inner = db as unknown as { runAll: (batch: unknown) => void };
const runAll = inner.runAll;
inner.runAll = (batch) => {
  const t = performance.now();
  runAll(batch);
  commits.push(performance.now() - t);
};

const wal = `${db.file}-wal`;
let walPeak = 0;
let checkpoints = 0;
const walFd = openSync(wal, 'r');
const header = Buffer.alloc(16);
readSync(walFd, header, 0, 16, 0);
let lastSeq = header.readUInt32BE(12);
const upsert = db.sql.prepare('INSERT OR REPLACE INTO documents (collection, id, data, written_at) VALUES (?, ?, ?, ?)');
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const start = performance.now();
let sent = 0;
const pending: Promise<void>[] = [];
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const due = Math.min(rate * seconds, Math.floor(((performance.now() - start) / 1000) * rate));
    // one write per turn when behind the schedule, as events arrive one per macrotask
    if (sent < due) {
      const id = randomBytes(12).toString('hex');
      const n = sent++;
      pending.push(db.write(() => upsert.run('user_account', id, JSON.stringify({ name: `bench user ${n}` }), Date.now())));
    }
    // the WAL header's checkpoint sequence number (bytes 12-15) grows when the WAL starts again
    // from its beginning, after a checkpoint copied all of it
    readSync(walFd, header, 0, 16, 0);
    const salt = header.readUInt32BE(12);
    if (salt !== lastSeq) checkpoints++;
    lastSeq = salt;
    walPeak = Math.max(walPeak, fstatSync(walFd).size);
    if (sent >= rate * seconds) resolve();
    else setImmediate(tick);
  };
  tick();
});
await Promise.all(pending);
loop.disable();
const sorted = [...commits].sort((a, b) => a - b);
const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const ms = (n: number): string => n.toFixed(2);
process.stdout.write(`${JSON.stringify({
  mode, rate, seconds, writes: sent, commits: commits.length,
  commit_ms: { p50: ms(q(0.5)), p99: ms(q(0.99)), p999: ms(q(0.999)), max: ms(sorted.at(-1) ?? NaN), over_5ms: commits.filter((c) => c > 5).length },
  loop_delay_ms: { p50: ms(loop.percentile(50) / 1e6), p99: ms(loop.percentile(99) / 1e6), p999: ms(loop.percentile(99.9) / 1e6), max: ms(loop.max / 1e6) },
  checkpoints_seen: checkpoints, wal_peak_kib: Math.round(walPeak / 1024),
})}\n`);
closeSync(walFd);
await db.close();
rmSync(dir, { recursive: true, force: true });
