/**
 * How long one journal write takes (issue 17's "what limits it"): appends journal-sized lines
 * with a synchronous write, 100 at a time every 10 ms, while an fdatasync of the same file runs in
 * the thread pool every `SYNC_MS` (the journal's group sync), and prints the write's percentiles.
 *
 *   node --import=tsx bench/journal-write.ts [DIR] [SYNC_MS=50] [SECONDS=10]
 */
import { fdatasync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const dir = mkdtempSync(path.join(process.argv[2] ?? tmpdir(), 'journal-write-'));
const syncMs = Number(process.argv[3] ?? 50);
const seconds = Number(process.argv[4] ?? 10);
const file = path.join(dir, 'events.ndjson');
const fd = openSync(file, 'a');
const line = `${JSON.stringify({
  at: '2026-11-29T17:06:20.123+09:00', source: 'mqtt', topic: 'webos/server/android',
  payload: '{"Producer":"android","command":"signin","UID":"user-000123"}', mid: 12345,
})}\n`;
const micros: number[] = [];
let syncing = false;
const timer = setInterval(() => {
  if (syncing) return;
  syncing = true;
  fdatasync(fd, () => {
    syncing = false;
  });
}, syncMs);
const end = Date.now() + seconds * 1000;

function burst(): void {
  for (let i = 0; i < 100; i++) {
    const t0 = process.hrtime.bigint();
    writeSync(fd, line);
    micros.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  if (Date.now() < end) {
    setTimeout(burst, 10);
    return;
  }
  clearInterval(timer);
  micros.sort((a, b) => a - b);
  const at = (q: number): string => micros[Math.floor(q * (micros.length - 1))]!.toFixed(1);
  console.log(`${micros.length} writes of ${line.length} bytes, fdatasync every ${syncMs} ms: ` +
    `p50 ${at(0.5)} us, p99 ${at(0.99)} us, p99.9 ${at(0.999)} us, max ${micros.at(-1)!.toFixed(0)} us, over 1 ms: ${micros.filter((m) => m > 1000).length}`);
  rmSync(dir, { recursive: true, force: true });
}
burst();
