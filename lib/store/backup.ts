/**
 * Backup and restore of `DATA_DIR/smarthome.db` (issue 25; `npm run backup`, `npm run restore`).
 *
 * Backup is SQLite's online backup from a read-only connection, so it runs beside the service
 * (WAL: a reader neither waits for nor blocks its writes). All pages are copied in one step, that
 * is in one read transaction: a copy made in several steps restarts whenever the service commits
 * in between, which a busy service does every few milliseconds. The copy is written to a
 * temporary file next to FILE, made a plain single file (rollback journal, no -wal/-shm) without
 * the running service's pid row, synced, then linked to FILE: link(2) fails when FILE exists, so
 * an existing file is never overwritten, even one created meanwhile, and FILE is never half
 * written.
 *
 * Restore copies FILE into an empty DATA_DIR the same way (temporary name, checks on the copy,
 * link to `smarthome.db`), after checking that no service holds DATA_DIR. The copy is checked,
 * not FILE, so what was checked is what is installed.
 */
import { copyFileSync, existsSync, fdatasyncSync, linkSync, mkdirSync, openSync, closeSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DB_FILE, databaseHolder, openReadOnly, type Sql } from './database.js';
import { fsyncDir } from './files.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';

/** A refusal or failure, with the text the CLI prints. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

const temporaryBeside = (file: string): string => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.partial`);

function removeTemporary(file: string): void {
  for (const f of [file, `${file}-journal`, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
}

function syncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Puts the finished temporary file in place as `target` (never over an existing one) and makes both durable. */
async function linkInPlace(temporary: string, target: string, what: string): Promise<void> {
  syncFile(temporary);
  try {
    linkSync(temporary, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupError(`${target} exists (created meanwhile?); ${what} is not overwritten`);
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/** The columns of each table, as `PRAGMA table_info` gives them (name, type, not null, key). */
function tableShapes(sql: Sql): Map<string, string> {
  const tables = sql.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  return new Map(tables.map((t) => [t, (sql.pragma(`table_info(${JSON.stringify(t)})`) as { name: string; type: string; notnull: number; pk: number }[])
    .map((c) => `${c.name} ${c.type}${c.notnull ? ' NOT NULL' : ''}${c.pk ? ` KEY${c.pk}` : ''}`).join(', ')]));
}

/** Why `sql` is not a sound database of this schema, or undefined when it is. */
export function schemaProblem(sql: Sql): string | undefined {
  const integrity = sql.pragma('integrity_check') as { integrity_check: string }[];
  if (integrity.length !== 1 || integrity[0]?.integrity_check !== 'ok') {
    return `integrity_check: ${integrity.slice(0, 3).map((r) => r.integrity_check).join('; ')}`;
  }
  const expected = new BetterSqlite3(':memory:');
  expected.exec(SCHEMA);
  const want = tableShapes(expected);
  expected.close();
  const have = tableShapes(sql);
  for (const [table, columns] of want) {
    if (!have.has(table)) return `table ${table} is missing`;
    if (have.get(table) !== columns) return `table ${table} has columns (${have.get(table)}), expected (${columns})`;
  }
  const row = sql.prepare(`SELECT value FROM service WHERE key = 'schema'`).get() as { value: string } | undefined;
  if (row !== undefined && Number(row.value) > SCHEMA_VERSION) return `its schema version ${row.value} is newer than this version's (${SCHEMA_VERSION})`;
  return undefined;
}

/** Copies DATA_DIR's database to `file` (which must not exist); the number of pages copied. */
export async function backupDatabase(dataDir: string, file: string): Promise<{ pages: number }> {
  const dir = path.resolve(dataDir);
  if (existsSync(file)) throw new BackupError(`${file} exists; a backup never overwrites a file (remove it or choose another name)`);
  if (!existsSync(path.join(dir, DB_FILE))) throw new BackupError(`DATA_DIR ${dir} has no ${DB_FILE}: nothing to back up`);
  const temporary = temporaryBeside(file);
  removeTemporary(temporary);
  const source = openReadOnly(dir);
  try {
    // first step (0 pages) sizes the copy; the second copies every page at once (see above)
    const done = await source.backup(temporary, { progress: () => 0x7fffffff });
    const copy = new BetterSqlite3(temporary);
    try {
      copy.pragma('journal_mode = DELETE'); // one self-contained file
      copy.prepare(`DELETE FROM service WHERE key = 'pid'`).run(); // that process is not the holder of a restored copy
    } finally {
      copy.close();
    }
    await linkInPlace(temporary, file, 'it');
    return { pages: done.totalPages };
  } finally {
    source.close();
    removeTemporary(temporary);
  }
}

/** Installs the backup `file` as DATA_DIR's database; DATA_DIR must be empty (or absent) and unused. */
export async function restoreDatabase(file: string, dataDir: string): Promise<void> {
  const dir = path.resolve(dataDir);
  if (!existsSync(file)) throw new BackupError(`${file} does not exist`);
  const holder = existsSync(dir) ? databaseHolder(dir) : undefined;
  if (holder !== undefined) throw new BackupError(`a service (pid ${holder}) runs on DATA_DIR ${dir}; stop it, and restore into an empty DATA_DIR`);
  mkdirSync(dir, { recursive: true });
  const entries = readdirSync(dir);
  if (entries.length > 0) {
    throw new BackupError(`DATA_DIR ${dir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}); restore only into an empty DATA_DIR`);
  }
  const temporary = path.join(dir, `.${DB_FILE}.restore`);
  try {
    copyFileSync(file, temporary);
    let copy: Sql;
    try {
      copy = new BetterSqlite3(temporary, { fileMustExist: true });
    } catch (err) {
      throw new BackupError(`${file} is not a SQLite database: ${(err as Error).message}`);
    }
    try {
      const problem = (() => {
        try {
          return schemaProblem(copy);
        } catch (err) {
          return (err as Error).message; // SQLITE_NOTADB and the like surface at the first read
        }
      })();
      if (problem !== undefined) throw new BackupError(`${file} is not a backup of this service's database: ${problem}`);
      copy.prepare(`DELETE FROM service WHERE key = 'pid'`).run();
    } finally {
      copy.close();
    }
    await linkInPlace(temporary, path.join(dir, DB_FILE), 'the database there');
  } finally {
    removeTemporary(temporary);
  }
}
