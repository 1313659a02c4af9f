/**
 * `npm run backup` and `npm run restore` (issue 25) as a user runs them: real npm processes on the
 * compiled CLIs, a real service writing to its database meanwhile, real SQLite files.
 *
 * - A backup taken while the service signs users up is a sound, self-contained database; restored
 *   into a fresh DATA_DIR, a service started there answers the sign-in of a user from before.
 * - Each refusal says why with exit 1 and changes nothing; a missing FILE is a usage error (2).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { suffix } from '../support/brokers.js';
import {
  buildDist, connectDevice, killAll, REPO_ROOT, serviceEnv, startService, type Device, type ServiceEnv,
} from '../support/service.js';
import { peekCollection, poll, removeDir, tempDir } from './helpers.js';

const runFile = promisify(execFile);

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run --silent <script> -- ...args` on DATA_DIR `dataDir`, typed in `cwd` (npm's INIT_CWD). */
async function npmRun(script: 'backup' | 'restore', args: readonly string[], dataDir: string, cwd = REPO_ROOT): Promise<CliRun> {
  const env = { ...serviceEnv({ DATA_DIR: dataDir }), npm_config_update_notifier: 'false' };
  try {
    const { stdout, stderr } = await runFile('npm', ['--prefix', REPO_ROOT, 'run', '--silent', script, '--', ...args], { cwd, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The names in a directory, sorted. */
const namesIn = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).sort();

describe('npm run backup / npm run restore (real processes, real SQLite files)', function () {
  this.timeout(60_000);
  let broker: EmbeddedBroker;
  let device: Device;
  let dirs: string[];
  const dir = async (): Promise<string> => {
    const d = await tempDir();
    dirs.push(d);
    return d;
  };
  const settings = (dataDir: string): ServiceEnv => ({
    MQTT_URL: broker.url, MQTT_CLIENT_ID: `backup-${suffix()}`, DATA_DIR: dataDir, HTTP_PORT: '0', LIMIT_USERS: '100000',
  });

  before(async function () {
    this.timeout(300_000);
    await buildDist();
  });
  beforeEach(async () => {
    dirs = [];
    broker = await startBroker({ port: 0 });
    device = await connectDevice(broker.url, `backup-device-${suffix()}`);
  });
  afterEach(async () => {
    await killAll();
    await device.end();
    await broker.close();
    await Promise.all(dirs.map(removeDir));
  });

  async function signIn(uid: string): Promise<unknown> {
    const from = device.received.length;
    await device.command({ Producer: 'android', command: 'signin', UID: uid });
    const answer = await device.next(['webos/android/info', 'webos/android/error'], `the answer to the sign-in of ${uid}`, { from });
    return answer.topic.endsWith('/info') ? JSON.parse(answer.payload) : answer.payload;
  }

  it('backs up while the service writes; the restored DATA_DIR serves a user signed up before', async () => {
    const dataDir = await dir();
    const out = await dir();
    const first = await startService(settings(dataDir));
    const uid = `uid-${suffix()}`;
    await device.command({ Producer: 'android', command: 'signup', UID: uid, name: '김철수' });
    await poll(async () => (await peekCollection(dataDir, 'user_account')).get(uid), 'the user in the database');

    // sign-ups keep arriving (and being committed) while the backup runs
    let writing = true;
    let sent = 0;
    const writer = (async () => {
      while (writing) await device.command({ Producer: 'android', command: 'signup', UID: `burst-${sent++}`, name: 'b' });
    })();
    await poll(async () => (await peekCollection(dataDir, 'user_account')).size > 20, 'sign-ups being written');
    const backup = await npmRun('backup', ['copy.db'], dataDir, out); // relative: where it was typed
    const during = sent;
    writing = false;
    await writer;
    expect(backup.code, backup.stderr).to.equal(0);
    expect(backup.stdout).to.match(/^backup: DATA_DIR .* copied to .*copy\.db \(\d+ pages\)\n$/);
    expect(await namesIn(out)).to.deep.equal(['copy.db']); // one self-contained file, nothing left beside it
    expect((await first.stop()).code).to.equal(0);

    const copy = new BetterSqlite3(path.join(out, 'copy.db'), { readonly: true });
    const users = copy.prepare(`SELECT id FROM documents WHERE collection = 'user_account'`).pluck().all() as string[];
    expect(copy.pragma('integrity_check', { simple: true })).to.equal('ok');
    expect(copy.pragma('journal_mode', { simple: true })).to.equal('delete');
    expect(copy.prepare(`SELECT count(*) FROM service WHERE key = 'pid'`).pluck().get()).to.equal(0);
    copy.close();
    expect(users).to.include(uid);
    expect(users.length).to.be.within(21, during + 1);

    const restored = path.join(await dir(), 'data'); // DATA_DIR need not exist yet
    const restore = await npmRun('restore', [path.join(out, 'copy.db')], restored);
    expect(restore.code, restore.stderr).to.equal(0);
    expect(restore.stdout).to.include(`is now the database of DATA_DIR ${restored}`);
    expect(await namesIn(restored)).to.deep.equal(['smarthome.db']);

    const second = await startService(settings(restored));
    expect(await signIn(uid)).to.deep.equal({ name: '김철수', Producer: 'server', command: 'return_name' });
    expect((await second.stop()).code).to.equal(0);
    expect(new Set((await peekCollection(restored, 'user_account')).keys())).to.include.all.keys(...users);
  });

  it('refuses, with exit 1 and the reason, and leaves everything as it was', async () => {
    const dataDir = await dir();
    const out = await dir();
    const service = await startService(settings(dataDir));
    const file = path.join(out, 'copy.db');

    expect(await npmRun('backup', [], dataDir)).to.deep.include({ code: 2 });
    await fs.writeFile(file, 'precious');
    const over = await npmRun('backup', [file], dataDir);
    expect(over.code).to.equal(1);
    expect(over.stderr).to.equal(`backup: ${file} exists; a backup never overwrites a file (remove it or choose another name)\n`);
    expect(await fs.readFile(file, 'utf8')).to.equal('precious');
    await fs.rm(file);
    const none = await npmRun('backup', [file], out);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.match(/has no smarthome\.db: nothing to back up/);
    expect(await npmRun('backup', [file], dataDir)).to.deep.include({ code: 0 });

    const busy = await npmRun('restore', [file], dataDir);
    expect(busy.code).to.equal(1);
    expect(busy.stderr).to.include(`a service (pid ${service.pid}) runs on DATA_DIR ${dataDir}`);
    expect((await service.stop()).code).to.equal(0);
    const before = await namesIn(dataDir);
    const full = await npmRun('restore', [file], dataDir);
    expect(full.code).to.equal(1);
    expect(full.stderr).to.match(/is not empty \(.*smarthome\.db.*\); restore only into an empty DATA_DIR/);
    expect(await namesIn(dataDir)).to.deep.equal(before);

    // not SQLite; SQLite of another schema; this schema, damaged
    const target = await dir();
    const text = path.join(out, 'notes.txt');
    await fs.writeFile(text, 'not a database\n'.repeat(100));
    const other = path.join(out, 'other.db');
    const sql = new BetterSqlite3(other);
    sql.exec('CREATE TABLE documents (id TEXT)');
    sql.close();
    const damaged = path.join(out, 'damaged.db');
    const bytes = await fs.readFile(file);
    bytes.fill(0x5a, 4096, 4096 + 12); // the header of the second page (a table's b-tree): no valid page type
    await fs.writeFile(damaged, bytes);
    for (const [bad, why] of [[text, /file is not a database/], [other, /table documents has columns \(id TEXT\)/], [damaged, /integrity_check|malformed/]] as const) {
      const refused = await npmRun('restore', [bad], target);
      expect(refused.code, bad).to.equal(1);
      expect(refused.stderr).to.match(new RegExp(`^restore: ${bad} is not a backup of this service's database: `));
      expect(refused.stderr).to.match(why);
      expect(await namesIn(target)).to.deep.equal([]);
    }
  });
});
