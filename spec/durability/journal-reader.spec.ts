/**
 * The one reader of the event journal's files, on real files in a temporary folder: segments in
 * the order of their numbers, lines numbered as the writer numbered them, a torn last line left
 * out, an unknown line handed on and skipped, an empty or missing folder.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  journalFilesSince, listSegments, readLines, readEvents, segmentName, type JournaledEvent, type JournalLine,
} from '../../lib/durability/journal-reader.js';
import { removeDir, tempDir } from '../store/helpers.js';

const header = (seq: number): string => `{"resume":{"at":"2026-11-29T10:00:00.000+09:00","seq":${seq},"scheduleFired":{}}}`;
const mqtt = (second: number, payload: string): string =>
  JSON.stringify({ at: `2026-11-29T10:00:${String(second).padStart(2, '0')}.000+09:00`, source: 'mqtt', topic: 'data/smarthome/status', payload });
const T0 = Date.parse('2026-11-29T10:00:00+09:00');

describe('journal reader', function () {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('smarthome-journal-reader-');
  });
  afterEach(async () => removeDir(dir));

  const write = (name: string, text: string): Promise<void> => fs.writeFile(path.join(dir, name), text);
  const events = async (after?: number): Promise<{ events: JournaledEvent[]; unknown: Array<[number, number]>; next: number }> => {
    const read: JournaledEvent[] = [];
    const unknown: Array<[number, number]> = [];
    const unknownLine = (line: JournalLine): void => void unknown.push([line.line, line.kind === 'line' ? line.seq : -1]);
    const next = await readEvents(listSegments(dir), { ...(after === undefined ? {} : { after }), unknown: unknownLine }, (e) => read.push(e));
    return { events: read, unknown, next };
  };

  it('reads the segments in the order of their numbers, numbering each line after its header', async () => {
    // written out of order, and a file that is not a segment: only the numbers decide
    await write(segmentName(3), `${header(3)}\n${mqtt(3, '000000003')}\n`);
    await write(segmentName(1), `${header(1)}\n${mqtt(1, '000000001')}\n${mqtt(2, '000000002')}\n`);
    await write('notes.ndjson', `${mqtt(9, '000000009')}\n`);
    expect(listSegments(dir).map((s) => [path.basename(s.file), s.first])).to.deep.equal([[segmentName(1), 1], [segmentName(3), 3]]);
    const read = await events();
    expect(read.events.map((e) => [e.seq, e.at - T0, e.event])).to.deep.equal([
      [1, 1000, { type: 'mqtt.message', topic: 'data/smarthome/status', payload: '000000001' }],
      [2, 2000, { type: 'mqtt.message', topic: 'data/smarthome/status', payload: '000000002' }],
      [3, 3000, { type: 'mqtt.message', topic: 'data/smarthome/status', payload: '000000003' }],
    ]);
    expect(read.next).to.equal(4);
    expect((await events(2)).events.map((e) => e.seq)).to.deep.equal([3]);
  });

  it('leaves out a torn last line (no newline: never acknowledged) and empty lines', async () => {
    await write(segmentName(1), `${header(1)}\n\n${mqtt(1, '000000001')}\n${mqtt(2, '000000002').slice(0, 30)}`);
    const lines: JournalLine[] = [];
    expect(await readLines(listSegments(dir), (line) => lines.push(line))).to.equal(2);
    expect(lines.map((l) => [l.kind, l.line])).to.deep.equal([['resume', 1], ['line', 3]]);
    const read = await events();
    expect(read.events.map((e) => e.seq)).to.deep.equal([1]);
    expect(read.unknown).to.deep.equal([]);
    expect(read.next).to.equal(2);
  });

  it('hands on an unknown line, which keeps its number, and skips it; a header that does not decode numbers nothing', async () => {
    await write(segmentName(1), [header(1), mqtt(1, '000000001'), '{"checkpoint":"a line this version does not know"}', '{"resume":{"lastTickAt":1}}', mqtt(3, '000000003'), ''].join('\n'));
    const read = await events();
    expect(read.events.map((e) => e.seq)).to.deep.equal([1, 3]);
    expect(read.unknown).to.deep.equal([[3, 2]]); // line 3 of the file, number 2
    // lines up to `after` are not read as events at all
    expect((await events(2)).unknown).to.deep.equal([]);
  });

  it('reads nothing from an empty or missing folder', async () => {
    expect(listSegments(dir)).to.deep.equal([]);
    expect(await events()).to.deep.equal({ events: [], unknown: [], next: 0 });
    expect(listSegments(path.join(dir, 'missing'))).to.deep.equal([]);
    expect(await journalFilesSince(path.join(dir, 'missing'), 0)).to.deep.equal([]);
  });

  it('lists every .ndjson file modified since a time, oldest first', async () => {
    await write(segmentName(5), `${header(5)}\n`);
    await write('hand-written.ndjson', `${mqtt(1, '000000001')}\n`);
    await write(segmentName(1), `${header(1)}\n`);
    await write('checkpoint.json', '{}');
    const now = Date.now() / 1000;
    await fs.utimes(path.join(dir, segmentName(1)), now - 3 * 86_400, now - 3 * 86_400); // older than the window
    await fs.utimes(path.join(dir, 'hand-written.ndjson'), now - 60, now - 60);
    await fs.utimes(path.join(dir, segmentName(5)), now, now);
    const files = await journalFilesSince(dir, Date.now() - 86_400_000);
    expect(files.map((f) => [path.basename(f.file), f.first])).to.deep.equal([['hand-written.ndjson', 1], [segmentName(5), 5]]);
  });
});
