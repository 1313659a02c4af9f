/**
 * The event journal's files: a resume header first, one replay line per event, numbered by
 * position; the events past the checkpoint read back; a torn tail cut; rotation and retention.
 * (The SIGKILL drills of the whole service are in spec/e2e/crash.spec.ts.)
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pino } from 'pino';
import { silentLogger } from '../../lib/base/log.js';
import { deliveryKey, EventJournal, EVENTS_DIR } from '../../lib/durability/event-journal.js';
import { replay } from '../../lib/durability/replay.js';
import type { Event } from '../../lib/core/protocol/events.js';
import { removeDir, tempDir } from '../store/helpers.js';

const TZ = 'Asia/Seoul';
const T0 = Date.parse('2026-11-29T10:00:00+09:00');
const options = { logger: silentLogger, tz: TZ, fsyncMs: 20, retainDays: 7, maxBytes: 512 * 1024 * 1024 };
const signup = (uid: string): Event => ({
  type: 'mqtt.message',
  topic: 'webos/server/info',
  payload: JSON.stringify({ Producer: 'android', command: 'signup', UID: uid, name: `n-${uid}` }),
});

describe('event journal', function () {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('smarthome-events-');
  });
  afterEach(async () => removeDir(dir));

  const files = async (): Promise<string[]> => (await fs.readdir(path.join(dir, EVENTS_DIR))).filter((f) => f.startsWith('events-')).sort();

  it('writes a resume header, then one replay line per event, numbered from 1', async () => {
    const { journal, pending, checkpoint } = await EventJournal.open(dir, { seq: 0 }, options);
    expect(pending).to.deep.equal([]);
    expect(checkpoint.seq).to.equal(0);
    journal.start({ scheduleFired: { wake: 5 }, status: '000000000' }, T0, 0);
    expect(journal.append(signup('u1'), T0 + 1000)).to.equal(1);
    expect(journal.append({ type: 'service.alert', level: 'info', text: 'x' }, T0 + 1000)).to.equal(undefined);
    expect(journal.append(signup('u2'), T0 + 2000)).to.equal(2);
    journal.close();
    const [file] = await files();
    expect(file).to.equal('events-000000000001.ndjson');
    const lines = (await fs.readFile(path.join(dir, EVENTS_DIR, file!), 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).to.deep.equal({ resume: { at: '2026-11-29T10:00:00.000+09:00', seq: 1, scheduleFired: { wake: 5 }, status: '000000000' } });
    expect(JSON.parse(lines[1]!)).to.deep.include({ at: '2026-11-29T10:00:01.000+09:00', source: 'mqtt', topic: 'webos/server/info' });
    expect(lines).to.have.length(3);
  });

  it('holds lines until a flush (or a line written at once) writes them, numbered as they were held', async () => {
    const { journal } = await EventJournal.open(dir, { seq: 0 }, options);
    journal.start({ scheduleFired: {} }, T0, 0);
    const file = path.join(dir, EVENTS_DIR, 'events-000000000001.ndjson');
    const lineCount = async (): Promise<number> => (await fs.readFile(file, 'utf8')).trimEnd().split('\n').length;
    expect(journal.hold(signup('u1'), T0 + 1000, 7)).to.equal(1);
    expect(journal.hold(signup('u2'), T0 + 1000, 8)).to.equal(2);
    expect(await lineCount(), 'the header only').to.equal(1);
    journal.flush();
    expect(await lineCount()).to.equal(3);
    journal.flush(); // nothing held: nothing written
    expect(journal.hold(signup('u3'), T0 + 2000)).to.equal(3);
    expect(journal.append(signup('u4'), T0 + 2000), 'written at once, after the one held').to.equal(4);
    expect(journal.hold(signup('u5'), T0 + 3000)).to.equal(5);
    journal.close(); // what is held is written before the file is left
    const lines = (await fs.readFile(file, 'utf8')).trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as { payload: string; mid?: number });
    expect(lines.map((l) => (JSON.parse(l.payload) as { UID: string }).UID)).to.deep.equal(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect(lines.map((l) => l.mid)).to.deep.equal([7, 8, undefined, undefined, undefined]);
  });

  it('reads back the events after the checkpoint, across files, and numbers new ones after them', async () => {
    let { journal } = await EventJournal.open(dir, { seq: 0 }, options);
    journal.start({ scheduleFired: {} }, T0, 0);
    for (let i = 1; i <= 5; i++) journal.append(signup(`u${i}`), T0 + i * 1000);
    journal.close();
    // the checkpoint is kept in DATA_DIR's database (spec/journal/checkpoint.spec.ts); here it is handed in
    const second = await EventJournal.open(dir, { seq: 3, status: '011000000', alarms: ['a'] }, options);
    expect(second.checkpoint).to.deep.equal({ seq: 3, status: '011000000', alarms: ['a'] });
    expect(second.pending.map((e) => e.seq)).to.deep.equal([4, 5]);
    expect(second.pending[0]!.event).to.deep.equal(signup('u4'));
    expect(second.pending[0]!.at).to.equal(T0 + 4000);
    journal = second.journal;
    expect(journal.seq).to.equal(6);
    journal.start({ scheduleFired: {} }, T0 + 10_000, 3);
    expect(journal.append(signup('u6'), T0 + 11_000)).to.equal(6);
    journal.close();
    expect(await files()).to.deep.equal(['events-000000000001.ndjson', 'events-000000000006.ndjson']);
    const third = await EventJournal.open(dir, { seq: 3 }, options);
    expect(third.pending.map((e) => e.seq)).to.deep.equal([4, 5, 6]);
    third.journal.close();
  });

  it('cuts a torn last line with a warning (a write cut off by a crash was never acknowledged)', async () => {
    const { journal } = await EventJournal.open(dir, { seq: 0 }, options);
    journal.start({ scheduleFired: {} }, T0, 0);
    journal.append(signup('u1'), T0 + 1000);
    journal.close();
    const [file] = await files();
    await fs.appendFile(path.join(dir, EVENTS_DIR, file!), '{"at":"2026-11-29T10:00:02.000+09:00","source":"mq');
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const reopened = await EventJournal.open(dir, { seq: 0 }, { ...options, logger });
    expect(reopened.pending.map((e) => e.seq)).to.deep.equal([1]);
    expect(warnings.join('')).to.match(/torn last line/);
    const text = await fs.readFile(path.join(dir, EVENTS_DIR, file!), 'utf8');
    expect(text.endsWith('\n')).to.equal(true);
    reopened.journal.close();
  });

  it('logs and skips an unreadable line past the checkpoint; it keeps its number', async () => {
    const { journal } = await EventJournal.open(dir, { seq: 0 }, options);
    journal.start({ scheduleFired: {} }, T0, 0);
    journal.append(signup('u1'), T0 + 1000);
    journal.close();
    const [file] = await files();
    await fs.appendFile(path.join(dir, EVENTS_DIR, file!), `{"at":"2026-11-29T10:00:02.000+09:00","source":"nobody"}\n${(await fs.readFile(path.join(dir, EVENTS_DIR, file!), 'utf8')).split('\n')[1]}\n`);
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const reopened = await EventJournal.open(dir, { seq: 0 }, { ...options, logger });
    expect(reopened.pending.map((e) => e.seq)).to.deep.equal([1, 3]);
    expect(reopened.journal.seq).to.equal(4);
    expect(errors).to.have.length(1);
    expect(JSON.parse(errors[0]!)).to.deep.include({ file: path.join(dir, EVENTS_DIR, file!), line: 3 });
    expect(errors[0]).to.match(/event journal: skipping an unreadable line/);
    reopened.journal.close();
  });

  it('starts a new file past the size limit, led by the newest document lines, and prunes only what the checkpoint passed', async () => {
    const { journal } = await EventJournal.open(dir, { seq: 0 }, { ...options, segmentBytes: 1000, maxBytes: 1500 });
    journal.start({ scheduleFired: {} }, T0, 0);
    journal.append({ type: 'firestore.doc', collection: 'modes', id: 'm1', data: { modeNum: 1, modeName: 'sleep' } }, T0);
    let at = T0;
    for (let i = 0; i < 30; i++) {
      at += 60_000;
      journal.append(signup(`u${i}`), at);
      journal.tick(at, () => ({ scheduleFired: {}, lastTickAt: at }), () => 0);
    }
    const kept = await files();
    expect(kept.length).to.be.greaterThan(2); // nothing pruned: the checkpoint is 0
    const last = kept.at(-1)!;
    const lines = (await fs.readFile(path.join(dir, EVENTS_DIR, last), 'utf8')).split('\n');
    expect(lines[0]).to.match(/^\{"resume"/);
    // It keeps the time it was written (its first line's), not the new file's.
    expect(JSON.parse(lines[1]!)).to.deep.include({ source: 'firestore', collection: 'modes', id: 'm1', writtenAt: T0 });
    // Now everything is complete: the next new file prunes the old ones beyond 1500 bytes.
    for (let i = 0; i < 10; i++) {
      at += 60_000;
      journal.append(signup(`v${i}`), at);
      journal.tick(at, () => ({ scheduleFired: {}, lastTickAt: at }), () => journal.seq - 1);
    }
    const after = await files();
    expect(after[0]! > kept[0]!).to.equal(true);
    journal.close();
  });

  it('keeps the packet id of each MQTT message, so that a redelivery of one whose PUBACK a crash cut off is recognised', async () => {
    const { journal } = await EventJournal.open(dir, { seq: 0 }, options);
    journal.start({ scheduleFired: {} }, T0, 0);
    journal.append(signup('u1'), T0 + 1000, 17);
    journal.append(signup('u2'), T0 + 2000);
    journal.close();
    const reopened = await EventJournal.open(dir, { seq: 0 }, options);
    const u1 = signup('u1') as { topic: string; payload: string };
    expect([...reopened.redelivered]).to.deep.equal([deliveryKey(17, u1.topic, u1.payload)]);
    // the line still replays (a replay ignores `mid`)
    expect(reopened.pending.map((p) => p.event)).to.deep.equal([signup('u1'), signup('u2')]);
    reopened.journal.close();
  });

  it('a journal file replays on its own, from its resume header', async () => {
    const { journal } = await EventJournal.open(dir, { seq: 0 }, options);
    journal.start({ scheduleFired: {}, status: '000000000' }, T0, 0);
    journal.append({ type: 'mqtt.message', topic: 'webos/smarthome/info', payload: '022222221' }, T0 + 1000);
    journal.close();
    const [file] = await files();
    const result = replay(await fs.readFile(path.join(dir, EVENTS_DIR, file!), 'utf8'), { tz: TZ });
    expect(result.errors).to.deep.equal([]);
    // the resumed status is the baseline: opening the gas valve raises its alarm
    const alarm = result.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.sink === 'firestore');
    expect(alarm).to.deep.include({ collection: 'appliance_alarm', id: String(10_000_000_000 - (T0 + 1000) / 1000) });
    expect((alarm!.data as Record<string, unknown>).inform).to.equal('가스밸브가 열렸어요.');
  });
});
