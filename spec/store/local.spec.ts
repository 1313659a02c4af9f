/**
 * The local store in DATA_DIR's database (issue 25): what is acknowledged is there after a
 * restart, with its write time; one process per DATA_DIR (the lock SQLite holds); readers beside
 * it; DATA_DIR holds the database and nothing else; a DATA_DIR of the file store before it is
 * imported once (written here by hand in the format docs/storage.md described).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { silentLogger } from '../../lib/base/log.js';
import { loadCheckpoint } from '../../lib/durability/checkpoint.js';
import { loadState } from '../../lib/drivers/state-sink.js';
import { Database, DatabaseLockedError, databaseHolder, openReadOnly } from '../../lib/store/database.js';
import { openStore } from '../../lib/store/open-store.js';
import { importFileStore } from '../../lib/store/migrate.js';
import { Outbox } from '../../lib/store/outbox.js';

const logger = silentLogger;

describe('local store (SQLite)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'smarthome-local-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('keeps what was acknowledged across a restart; DATA_DIR then holds the database only', async () => {
    const store = await openStore({ dataDir: dir }, logger);
    await store.docs.set('user_account', 'u1', { name: 'kim' });
    await store.docs.merge('user_account', 'u1', { car: { id: 7 } });
    await store.tree.set('smarthome/status', '009060210');
    await store.close();
    expect((await fs.readdir(dir)).sort()).to.deep.equal(['smarthome.db']);
    const again = await openStore({ dataDir: dir }, logger);
    expect(await again.docs.get('user_account', 'u1')).to.deep.equal({ name: 'kim', car: { id: 7 } });
    expect(await again.tree.get('smarthome')).to.deep.equal({ status: '009060210' });
    await again.close();
  });

  it('one process per DATA_DIR: a second open is refused (also from another process); readers are welcome', async () => {
    const db = await Database.open(dir, logger);
    const err = await Database.open(dir, logger).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(DatabaseLockedError);
    const child = spawn(process.execPath, ['--import=tsx', '-e', `import { Database } from './lib/store/database.ts';
      Database.open(process.argv[1], { info() {}, error() {} }).then(() => process.exit(0), (e) => { console.log(e.message); process.exit(2); });`, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).to.equal(2);
    expect(out).to.match(new RegExp(`is in use by process ${process.pid}`));
    expect(databaseHolder(dir)).to.equal(process.pid);
    const reader = openReadOnly(dir);
    expect(reader.prepare('SELECT count(*) AS n FROM documents').get()).to.deep.equal({ n: 0 });
    reader.close();
    await db.close();
    expect(databaseHolder(dir)).to.equal(undefined);
  });

  it('the outbox keeps accepted writes until done, across a restart', async () => {
    let db = await Database.open(dir, logger);
    const decode = (u: unknown): string | undefined => (typeof u === 'string' ? u : undefined);
    const outbox = Outbox.open<string>(db, 'rtdb', { logger, decode });
    const entries = await outbox.add(['a', 'b', 'c']);
    outbox.done([entries[1]!.seq]);
    await outbox.close();
    await db.close();
    db = await Database.open(dir, logger);
    const again = Outbox.open<string>(db, 'rtdb', { logger, decode });
    expect(again.restored.map((e) => e.item)).to.deep.equal(['a', 'c']);
    expect((await again.add(['d']))[0]!.seq).to.equal(4);
    await db.close();
  });

  it('imports a DATA_DIR of the file store once, with a log line, and removes its files after the commit', async () => {
    await fs.mkdir(path.join(dir, 'store'));
    await fs.mkdir(path.join(dir, 'outbox'));
    await fs.mkdir(path.join(dir, 'events'));
    await fs.writeFile(path.join(dir, 'store', 'snapshot.json'), JSON.stringify({
      format: 'smarthome-local-store', version: 1, seq: 41, savedAt: '2026-11-25T21:05:47.000Z',
      collections: { user_account: { u1: { name: 'kim' } } }, writtenAt: { user_account: { u1: 1795957546123 } },
      tree: { smarthome: { status: '009060210' } },
    }));
    await fs.writeFile(path.join(dir, 'store', 'journal.ndjson'), [
      '{"seq":41,"at":"2026-11-25T21:05:46.000Z","docs":[{"op":"delete","collection":"user_account","id":"u1"}]}',
      '{"seq":42,"at":"2026-11-25T21:05:46.123Z","docs":[{"op":"set","collection":"appliance_alarm","id":"8367682800","data":{"icon":"aircon_icon"}}]}',
      '{"seq":43,"at":"2026-11-25T21:05:46.130Z","tree":[{"path":"server/notification","value":"none"}]}',
      '{"seq":44,"at":"2026-11-25T21:05:46.1', // torn by a crash: never acknowledged
    ].join('\n'));
    await fs.writeFile(path.join(dir, 'store', 'LOCK'), '123\n');
    await fs.writeFile(path.join(dir, 'LOCK'), '123\n');
    await fs.writeFile(path.join(dir, 'state.json'), '{"scheduleFired":{"wake":29383660},"lastTickAt":1000,"status":"016000000"}\n');
    await fs.writeFile(path.join(dir, 'heartbeat.json'), '{"lastTickAt":2000,"status":"000000000"}\n');
    await fs.writeFile(path.join(dir, 'events', 'checkpoint.json'), '{"seq":327,"status":"000000000","alarms":["8367682800"]}\n');
    await fs.writeFile(path.join(dir, 'outbox', 'rtdb.ndjson'), [
      '{"seq":7,"at":"2026-11-25T21:05:46.123Z","item":{"path":"server/notification","value":"none"}}',
      '{"seq":8,"at":"2026-11-25T21:05:46.124Z","item":{"path":"server/notification","value":"gas"}}',
      '{"done":[7]}', '',
    ].join('\n'));
    const lines: string[] = [];
    const logging = { ...logger, info: (obj: unknown, msg?: string) => lines.push(msg ?? String(obj)) } as typeof logger;
    const db = await Database.open(dir, logger);
    await importFileStore(db, dir, logging);
    expect(lines.join('\n')).to.match(/imported the file store/);
    expect((await fs.readdir(dir)).sort()).to.deep.equal(['events', 'smarthome.db', 'smarthome.db-shm', 'smarthome.db-wal']);
    expect(await fs.readdir(path.join(dir, 'events'))).to.deep.equal([]);
    expect(loadState(db, logger)).to.deep.equal({ scheduleFired: { wake: 29383660 }, lastTickAt: 2000, status: '000000000' });
    expect(loadCheckpoint(db, logger)).to.deep.equal({ seq: 327, status: '000000000', alarms: ['8367682800'] });
    const outbox = Outbox.open<unknown>(db, 'rtdb', { logger, decode: (u) => u });
    expect(outbox.restored).to.deep.equal([{ seq: 8, item: { path: 'server/notification', value: 'gas' } }]);
    await importFileStore(db, dir, logging); // nothing left to import
    expect(lines).to.have.length(1);
    const store = await openStore({ dataDir: dir, database: db }, logger);
    expect(await store.docs.get('user_account', 'u1')).to.deep.equal({ name: 'kim' }); // line 41: already in the snapshot
    expect(await store.docs.get('appliance_alarm', '8367682800')).to.deep.equal({ icon: 'aircon_icon' });
    expect(await store.tree.get('')).to.deep.equal({ smarthome: { status: '009060210' }, server: { notification: 'none' } });
    await store.close();
    await db.close();
  });
});
