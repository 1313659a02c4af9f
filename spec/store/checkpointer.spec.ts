/**
 * WAL checkpoints in the worker thread (lib/store/checkpointer.ts): with pauses between writes,
 * as at home, the worker's checkpoints let the WAL start again from its beginning, though the
 * service's own connection would not checkpoint before 10,000 pages; and closing stops the
 * worker first, so the service's connection, the last one, still copies the WAL back and removes it.
 */
import { expect } from 'chai';
import { closeSync, openSync, readSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../lib/base/log.js';
import { Database } from '../../lib/store/database.js';

/** The WAL header's checkpoint sequence number: it grows each time the WAL starts again. */
function walSequence(file: string): number {
  const fd = openSync(`${file}-wal`, 'r');
  try {
    const header = Buffer.alloc(16);
    readSync(fd, header, 0, 16, 0);
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

describe('WAL checkpoints in a worker thread', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'smarthome-checkpoint-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('1000 transactions with pauses: the worker checkpoints, the WAL starts again; close leaves the database alone', async () => {
    const db = await Database.open(dir, silentLogger);
    const upsert = db.sql.prepare('INSERT OR REPLACE INTO documents (collection, id, data, written_at) VALUES (?, ?, ?, ?)');
    const before = walSequence(db.file);
    // each write awaits its fdatasync: a pause after every transaction, at most 2 pages each (< 10,000)
    for (let i = 0; i < 1000; i++) await db.write(() => upsert.run('user_account', `u${i}`, JSON.stringify({ name: `n${i}` }), i));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the worker's checkpoint
    await db.write(() => upsert.run('user_account', 'last', '{}', 0)); // begins with every frame copied: the WAL starts again
    expect(walSequence(db.file)).to.be.greaterThan(before);
    await db.close();
    expect((await fs.readdir(dir)).sort()).to.deep.equal(['smarthome.db']);
  });
});
