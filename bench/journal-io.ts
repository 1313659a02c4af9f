/**
 * What the event journal costs on disk (issue 12): the real service process (local store,
 * embedded broker) fed a steady stream of MQTT messages for a while, then the journal's bytes per
 * event and the process's disk writes (Linux /proc/PID/io `write_bytes`, i.e. what reached the
 * block layer: pages, not lines) per hour at that rate.
 *
 *   [EVENTS_FSYNC_MS=50] node --import=tsx bench/journal-io.ts [RATE_PER_S=10] [SECONDS=60]
 *
 * The messages are sign-ins of one known user (a reply each, no store write) and no-op controls,
 * alternately, so the figures are the journal's own (and the heartbeat's) and not the store's.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectDevice, startService } from '../spec/support/service.js';

const rate = Number(process.argv[2] ?? 10);
const seconds = Number(process.argv[3] ?? 60);

async function writeBytes(pid: number): Promise<number> {
  const io = await fs.readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes: (\d+)/m.exec(io)?.[1] ?? NaN);
}

async function journalBytes(dataDir: string): Promise<{ bytes: number; lines: number }> {
  const dir = path.join(dataDir, 'events');
  let bytes = 0;
  let lines = 0;
  for (const name of await fs.readdir(dir)) {
    if (!name.endsWith('.ndjson')) continue;
    const text = await fs.readFile(path.join(dir, name), 'utf8');
    bytes += Buffer.byteLength(text);
    lines += text.split('\n').filter((l) => l.includes('"source":"mqtt"')).length;
  }
  return { bytes, lines };
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-journal-'));
const service = await startService({ DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0', SMARTHOME_TZ: 'Asia/Seoul', EVENTS_FSYNC_MS: process.env.EVENTS_FSYNC_MS });
const device = await connectDevice(service.mqttUrl, `bench-journal-${process.pid}`, ['webos/android/#']);
try {
  await device.command({ Producer: 'android', command: 'signup', UID: 'bench-user', name: 'bench' });
  await device.next('webos/android/info', 'nothing', { ms: 1000 }).catch(() => undefined);
  const before = await journalBytes(dataDir);
  const written0 = await writeBytes(service.pid);
  const t0 = Date.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = t0 + (i * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    if (i % 2 === 0) void device.command({ Producer: 'android', command: 'signin', UID: 'bench-user' });
    else void device.publish('webos/smarthome', '022222222');
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const elapsed = (Date.now() - t0) / 1000;
  const after = await journalBytes(dataDir);
  const written = (await writeBytes(service.pid)) - written0;
  const events = after.lines - before.lines;
  const perEvent = (after.bytes - before.bytes) / events;
  const perHour = (x: number): string => `${((x / elapsed) * 3600 / 1024 / 1024).toFixed(1)} MiB/h`;
  console.log(JSON.stringify({
    rate_per_s: rate,
    seconds: Math.round(elapsed),
    events,
    journal_bytes_per_event: Math.round(perEvent),
    journal_per_hour: perHour(after.bytes - before.bytes),
    process_disk_writes_per_hour: perHour(written),
  }));
} finally {
  await device.end();
  await service.stop();
  await fs.rm(dataDir, { recursive: true, force: true });
}
