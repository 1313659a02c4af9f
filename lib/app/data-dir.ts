/**
 * DATA_DIR and the store: DATA_DIR's database (lib/store/database.ts), opened first of all: it is
 * the lock (one service per DATA_DIR, released by the OS when the process dies) and holds the
 * durable state; a DATA_DIR of the file store before it is imported into it once (migrate.ts).
 * The store (the local one in that database, or Firebase) is opened after the broker. Either
 * failing stops start-up with a `StartupError`.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from '../base/log.js';
import { errorText } from '../base/error-text.js';
import type { Config } from '../config/codec.js';
import { Database, DatabaseLockedError } from '../store/database.js';
import { openStore, type Store } from '../store/open-store.js';
import { importFileStore } from '../store/migrate.js';
import type { ServiceHealth } from './health.js';
import { StartupError, type Lifetime } from '../base/lifetime.js';

export async function openDatabase(config: Config, logger: Logger, lifetime: Lifetime): Promise<Database> {
  mkdirSync(config.dataDir, { recursive: true });
  const db = await Database.open(config.dataDir, logger).catch((err: unknown) => {
    throw err instanceof DatabaseLockedError ? new StartupError(err.message) : new StartupError(`cannot open the database in DATA_DIR: ${errorText(err)}`);
  });
  lifetime.add(() => db.close());
  await importFileStore(db, config.dataDir, logger).catch((err: unknown) => {
    throw new StartupError(`cannot import the file store of DATA_DIR ${config.dataDir}: ${errorText(err)}`);
  });
  return db;
}

export async function openServiceStore(config: Config, db: Database, logger: Logger, health: ServiceHealth, lifetime: Lifetime): Promise<Store> {
  const store: Store = await openStore({ dataDir: config.dataDir, firebase: config.firebase, database: db }, logger).catch((err: unknown) => {
    throw new StartupError(`cannot open the store: ${errorText(err)}`);
  });
  lifetime.add(() => store.close());
  health.set('store', { up: true });
  return store;
}
