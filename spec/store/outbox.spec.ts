/** The durable outbox file on its own: what survives a restart, torn tails, emptying. */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { silentLogger } from '../../lib/base/log.js';
import { Outbox } from '../../lib/store/outbox.js';
import { removeDir, tempDir } from './helpers.js';

interface Item {
  readonly n: number;
}
const decode = (u: unknown): Item | undefined =>
  (typeof u === 'object' && u !== null && typeof (u as { n?: unknown }).n === 'number' ? { n: (u as { n: number }).n } : undefined);
const open = (file: string, compactBytes?: number): Promise<Outbox<Item>> => Outbox.open<Item>(file, { logger: silentLogger, decode, compactBytes });

describe('outbox', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await tempDir();
    file = path.join(dir, 'outbox', 'test.ndjson');
  });
  afterEach(async () => removeDir(dir));

  it('keeps what was added and not done, in order, across a restart', async () => {
    const outbox = await open(file);
    expect(outbox.restored).to.deep.equal([]);
    const entries = await outbox.add([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(entries.map((e) => e.seq)).to.deep.equal([1, 2, 3]);
    const more = await outbox.add([{ n: 4 }]);
    expect(outbox.waiting).to.equal(4);
    outbox.done([2, more[0]?.seq ?? 0]);
    await outbox.close();

    const again = await open(file);
    expect(again.restored).to.deep.equal([{ seq: 1, item: { n: 1 } }, { seq: 3, item: { n: 3 } }]);
    // Sequence numbers go on after the old ones.
    expect((await again.add([{ n: 5 }]))[0]?.seq).to.equal(5);
    await again.close();
  });

  it('is on disk as soon as add resolves (no close needed)', async () => {
    const outbox = await open(file);
    await outbox.add([{ n: 7 }]);
    const lines = (await fs.readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.deep.include({ seq: 1, item: { n: 7 } });
    await outbox.close();
  });

  it('ignores a torn last line and drops entries it cannot read', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"seq":1,"at":"x","item":{"n":1}}\n{"seq":2,"at":"x","item":{"bad":true}}\n{"seq":3,"at":"x","item":{"n":3}}\n{"seq":4,"at":"x","it');
    const outbox = await open(file);
    expect(outbox.restored).to.deep.equal([{ seq: 1, item: { n: 1 } }, { seq: 3, item: { n: 3 } }]);
    await outbox.close();
    const text = await fs.readFile(file, 'utf8');
    expect(text.endsWith('\n')).to.equal(true);
    expect(text.split('\n').filter((l) => l !== '')).to.have.length(2);
  });

  it('empties the file once everything is delivered and it has grown', async () => {
    const outbox = await open(file, 200);
    const entries = await outbox.add(Array.from({ length: 10 }, (_, n) => ({ n })));
    expect((await fs.stat(file)).size).to.be.above(200);
    outbox.done(entries.map((e) => e.seq));
    await outbox.close();
    expect((await fs.stat(file)).size).to.equal(0);
    const again = await open(file);
    expect(again.restored).to.deep.equal([]);
    await again.close();
  });
});
