/**
 * Picks the store (SPEC 9, 11): Firebase when a project id is configured (with a key file, a
 * database URL or the emulator variables), otherwise the embedded local store in DATA_DIR, so a
 * fresh checkout runs with `npm start` and nothing else.
 *
 *   <DATA_DIR>/smarthome.db   the local store's documents and tree, or the sinks' durable outbox
 *                             when Firebase is used (`database.ts`, `schema.ts`)
 */
import type { Logger } from '../base/log.js';
import { openFirebaseStore, type FirebaseOptions } from './firebase.js';
import { Database } from './database.js';
import { openLocalStore } from './local.js';
import type { Store } from './types.js';

export type { FirebaseOptions } from './firebase.js';
export * from './types.js';

export interface StoreOptions {
  /** DATA_DIR. */
  readonly dataDir: string;
  readonly firebase?: FirebaseOptions;
  /** DATA_DIR's database when the caller has it open (the service); otherwise the store opens it and closes it with itself. */
  readonly database?: Database;
}

export async function openStore(options: StoreOptions, logger: Logger): Promise<Store> {
  const owned = options.database === undefined ? await Database.open(options.dataDir, logger) : undefined;
  const database = options.database ?? owned!;
  try {
    const projectId = options.firebase?.projectId;
    const store = projectId !== undefined
      ? await openFirebaseStore({ ...options.firebase, projectId }, { logger, outbox: database })
      : openLocalStore(database, { logger });
    if (owned === undefined) return store;
    const close = async (): Promise<void> => {
      await store.close();
      await owned.close();
    };
    return { kind: store.kind, docs: store.docs, tree: store.tree, outbox: store.outbox, close };
  } catch (err) {
    await owned?.close();
    throw err;
  }
}

/**
 * Store options straight from the environment names of SPEC 11 (the service's configuration
 * loader produces the same values; this is for scripts and tests).
 */
export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const pick = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const firebase: FirebaseOptions = {
    projectId: pick('FIREBASE_PROJECT_ID'),
    credentialsFile: pick('GOOGLE_APPLICATION_CREDENTIALS'),
    databaseUrl: pick('FIREBASE_DATABASE_URL'),
    firestoreEmulatorHost: pick('FIRESTORE_EMULATOR_HOST'),
    databaseEmulatorHost: pick('FIREBASE_DATABASE_EMULATOR_HOST'),
  };
  return { dataDir: pick('DATA_DIR') ?? './data', firebase };
}
