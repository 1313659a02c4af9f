/**
 * `DATA_DIR/smarthome.db` (issue 25): one SQLite database, WAL mode, for everything durable but
 * the event journal (`schema.ts` has the tables). It is also DATA_DIR's lock.
 *
 * The lock is the one SQLite holds: at open the connection takes an EXCLUSIVE lock on the file
 * (`locking_mode=EXCLUSIVE`, `BEGIN EXCLUSIVE`), which fails at once while any other process has
 * the database open, then drops to the SHARED lock a WAL connection keeps for as long as it is
 * open (fcntl turns one into the other atomically, so no second service slips in between). So a
 * second service is refused, readers (`sqlite3`, `npm run backup`, the specs) are not, and the OS
 * releases the lock when the process dies, however it dies. The pid of the holder is a row
 * (`service.pid`), for messages and `npm run reload`; when readers keep the EXCLUSIVE lock from
 * a starting service, that row decides instead (`claimBesideReaders`).
 *
 * Writes (`write`) are grouped: the ones made in one turn of the event loop share one
 * transaction, committed at once to the OS (`synchronous=NORMAL`: a killed process loses
 * nothing committed), and resolve once an fdatasync of the WAL in libuv's thread pool has made
 * them durable against a power cut too: no fsync on the event loop for a commit. SQLite's WAL
 * checkpoints, with their fsyncs, run in a worker thread (`checkpointer.ts` says why).
 * `writeNow` commits and syncs on the calling thread, for the rare write that must be durable
 * before anything else happens (a schedule occurrence, before its command is sent).
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Logger } from '../base/log.js';
import { CHECKPOINT_EVERY_COMMITS, Checkpointer } from './checkpointer.js';
import { fsyncDir } from './files.js';
import { GroupSync } from './group-sync.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';

export const DB_FILE = 'smarthome.db';

/**
 * With the checkpoints in the worker, SQLite's own stays as a backstop at ten times its usual
 * mark: under writes without a pause the WAL cannot start again from its beginning after a
 * checkpoint in another thread (a commit always lands before the next transaction begins), so
 * this one, on the event loop, bounds it; it finds most pages already copied by the worker.
 */
const BACKSTOP_PAGES = 10_000;

export type Sql = BetterSqlite3.Database;

/** DATA_DIR is used by another process (a running service, or a reader at that moment). */
export class DatabaseLockedError extends Error {
  override readonly name = 'DatabaseLockedError';
  constructor(readonly dir: string, readonly owner: number | undefined) {
    super(`DATA_DIR ${dir} is in use by ${owner === undefined ? 'another process' : `process ${owner}`}`);
  }
}

interface Queued {
  readonly fn: () => void;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const isBusy = (err: unknown): boolean => (err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED';

/** The pid the database names as its holder's, when that process is alive (read by a connection of its own). */
function livePid(file: string): number | undefined {
  let sql: Sql | undefined;
  try {
    sql = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 500 });
    const row = sql.prepare(`SELECT value FROM service WHERE key = 'pid'`).get() as { value: string } | undefined;
    const pid = row === undefined ? NaN : Number(JSON.parse(row.value));
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  } finally {
    sql?.close();
  }
}

/** The schema, and this process named as the holder. */
function claim(sql: Sql): void {
  sql.exec(SCHEMA);
  sql.prepare(`INSERT OR REPLACE INTO service (key, value) VALUES ('pid', ?), ('schema', ?)`).run(JSON.stringify(process.pid), JSON.stringify(SCHEMA_VERSION));
}

/**
 * The EXCLUSIVE lock is refused while anything has the file open: another service, or only
 * readers (an operator's `sqlite3`, a running `npm run backup`), which must never keep the home's
 * service from starting (its unit does not restart after exit 2). So then the pid row decides,
 * read and written in one write transaction (readers never hold the write lock; two services
 * starting at once take it one after the other, and the second sees the first's pid alive).
 */
function claimBesideReaders(sql: Sql, dir: string, file: string): void {
  sql.pragma('locking_mode = NORMAL');
  try {
    sql.exec('BEGIN IMMEDIATE');
  } catch (err) {
    // another connection is writing, or still holds its EXCLUSIVE lock: only a service does
    if (isBusy(err)) throw new DatabaseLockedError(dir, livePid(file));
    throw err;
  }
  try {
    sql.exec(SCHEMA);
    const row = sql.prepare(`SELECT value FROM service WHERE key = 'pid'`).get() as { value: string } | undefined;
    const pid = row === undefined ? NaN : Number(JSON.parse(row.value));
    // our own pid in the row is a killed run's whose pid came round again (pid 1 in a container):
    // this process's own opens are refused before (`openHere`)
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new DatabaseLockedError(dir, pid);
    claim(sql);
    sql.exec('COMMIT');
  } catch (err) {
    if (sql.inTransaction) sql.exec('ROLLBACK');
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'; // alive, another user's
  }
}

/** The database files this process has open: a second open of one is refused like another process's. */
const openHere = new Set<string>();

export class Database {
  private queue: Queued[] = [];
  private walFd: number | undefined;
  private readonly wal = new GroupSync(() => this.walFd);
  private readonly runAll: (batch: readonly Queued[]) => void;
  private closed = false;
  /** Transactions since the last WAL checkpoint was asked for (`checkpointer.ts`). */
  private commits = 0;
  private readonly checkpointer: Checkpointer | undefined;

  private constructor(readonly file: string, readonly sql: Sql, private readonly logger: Logger, checkpointsInWorker: boolean) {
    const transaction = sql.transaction((batch: readonly Queued[]) => {
      for (const q of batch) q.fn();
    });
    this.checkpointer = checkpointsInWorker ? new Checkpointer(file, logger, () => this.takeCommits() > 0) : undefined;
    const checkpointer = this.checkpointer;
    this.runAll = checkpointer === undefined ? transaction : (batch) => {
      transaction(batch);
      if (++this.commits < CHECKPOINT_EVERY_COMMITS) return;
      this.commits = 0;
      checkpointer.run();
    };
  }

  /** How many transactions were committed since the last checkpoint was asked for, and starts again from 0. */
  private takeCommits(): number {
    const n = this.commits;
    this.commits = 0;
    return n;
  }

  /**
   * Opens (creating) `<dataDir>/smarthome.db` and takes DATA_DIR's lock, or throws
   * `DatabaseLockedError`. `checkpoints: 'sqlite'` leaves them to SQLite, on the committing
   * thread (bench/wal-checkpoint.ts compares).
   */
  static async open(dataDir: string, logger: Logger, options: { readonly checkpoints?: 'worker' | 'sqlite' } = {}): Promise<Database> {
    const dir = path.resolve(dataDir);
    const file = path.join(dir, DB_FILE);
    if (openHere.has(file)) throw new DatabaseLockedError(dir, process.pid);
    const fresh = !existsSync(file);
    // timeout 0: a lock held by another process is an answer, not something to wait for
    const sql = new BetterSqlite3(file, { timeout: 0 });
    try {
      sql.pragma('journal_mode = WAL');
      sql.pragma('synchronous = NORMAL');
      // the first read in NORMAL mode puts the WAL index in shared memory (-shm), so readers can come in later
      sql.prepare('SELECT 1 FROM sqlite_master').get();
      sql.pragma('locking_mode = EXCLUSIVE');
      let exclusive = true;
      try {
        sql.exec('BEGIN EXCLUSIVE');
      } catch (err) {
        if (!isBusy(err)) throw err;
        exclusive = false;
      }
      if (exclusive) {
        claim(sql);
        sql.exec('COMMIT');
        sql.pragma('locking_mode = NORMAL');
        sql.prepare('SELECT 1 FROM service').get(); // leaves EXCLUSIVE for the SHARED lock it keeps while open
      } else {
        claimBesideReaders(sql, dir, file);
      }
    } catch (err) {
      sql.close();
      throw err;
    }
    const inWorker = (options.checkpoints ?? 'worker') === 'worker';
    if (inWorker) sql.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    const db = new Database(file, sql, logger, inWorker);
    openHere.add(file);
    db.walFd = openSync(`${file}-wal`, 'r+');
    if (fresh) await fsyncDir(dir); // the new files' names must survive a power cut too
    return db;
  }

  /**
   * Runs `fn` (statements on `sql`) in the transaction of this turn of the event loop; resolves
   * once it is durable. If the transaction fails, every write of it is rejected.
   */
  write(fn: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    return new Promise<void>((resolve, reject) => {
      if (this.queue.length === 0) queueMicrotask(() => this.flush());
      this.queue.push({ fn, resolve, reject });
    });
  }

  /** Commits `fn` and syncs the WAL on the calling thread (with what was queued before it). */
  writeNow(fn: () => void): void {
    const batch = this.queue;
    this.queue = [];
    this.runAll([...batch, { fn, resolve: () => undefined, reject: () => undefined }]);
    this.wal.mark();
    this.wal.syncNow();
    for (const q of batch) q.resolve();
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      this.runAll(batch);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'database: a transaction failed');
      for (const q of batch) q.reject(err as Error);
      return;
    }
    this.wal.mark();
    this.wal.sync().then(
      () => batch.forEach((q) => q.resolve()),
      (err: unknown) => batch.forEach((q) => q.reject(err as Error)),
    );
  }

  /** Commits what is queued, syncs, and closes (SQLite checkpoints the WAL into the file). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    try {
      await this.wal.sync();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'database: fdatasync failed at close');
    }
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
    await this.checkpointer?.close();
    this.sql.prepare(`DELETE FROM service WHERE key = 'pid'`).run();
    openHere.delete(this.file);
    this.sql.close();
  }
}

/** The database of `dataDir` opened read-only (it must exist), for readers beside a running service. */
export function openReadOnly(dataDir: string): Sql {
  return new BetterSqlite3(path.join(dataDir, DB_FILE), { readonly: true, fileMustExist: true, timeout: 2000 });
}

/**
 * The pid of the service that holds `dataDir` now, or undefined when none does: the lock decides
 * (a probe for the EXCLUSIVE lock), then the pid row, checked against a live process.
 */
export function databaseHolder(dataDir: string): number | undefined {
  const file = path.join(path.resolve(dataDir), DB_FILE);
  if (!existsSync(file)) return undefined;
  const sql = new BetterSqlite3(file, { timeout: 0 });
  try {
    sql.pragma('locking_mode = EXCLUSIVE');
    try {
      sql.exec('BEGIN EXCLUSIVE');
      sql.exec('ROLLBACK');
      return undefined; // nobody holds it
    } catch (err) {
      if (!isBusy(err)) throw err;
    }
  } finally {
    sql.close();
  }
  return livePid(file);
}
