/**
 * DATA_DIR and the store: one process per DATA_DIR (a lock the OS releases when the process
 * dies: lib/store/lock.ts), taken first of all, and the store (local files in DATA_DIR, or
 * Firebase) opened after the broker. Either failing stops start-up with a `StartupError`.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from '../base/log.js';
import { errorText } from '../base/error-text.js';
import type { Config } from '../config/codec.js';
import { openStore, type Store } from '../store/index.js';
import { lockDir, LockedError } from '../store/lock.js';
import type { ServiceHealth } from './health.js';
import { StartupError, type Lifetime } from './lifetime.js';

export async function lockDataDir(config: Config, lifetime: Lifetime): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  const dataLock = await lockDir(config.dataDir, 'DATA_DIR').catch((err: unknown) => {
    throw err instanceof LockedError ? new StartupError(err.message) : err;
  });
  lifetime.add(() => dataLock.release());
}

export async function openServiceStore(config: Config, logger: Logger, health: ServiceHealth, lifetime: Lifetime): Promise<Store> {
  const store: Store = await openStore({ dataDir: config.dataDir, firebase: config.firebase }, logger).catch((err: unknown) => {
    throw new StartupError(`cannot open the store: ${errorText(err)}`);
  });
  lifetime.add(() => store.close());
  health.set('store', { up: true });
  return store;
}
