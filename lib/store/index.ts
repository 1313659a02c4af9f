/**
 * Picks the store (SPEC 9, 11): Firebase when a project id is configured (with a key file, a
 * database URL or the emulator variables), otherwise the embedded local store in DATA_DIR, so a
 * fresh checkout runs with `npm start` and nothing else.
 *
 *   <DATA_DIR>/store/    the local store (journal.ndjson + snapshot.json)
 *   <DATA_DIR>/outbox/   the sinks' durable outboxes when Firebase is used (firestore.ndjson, rtdb.ndjson)
 */
import * as path from 'node:path';
import type { Logger } from '../base/log.js';
import { openFirebaseStore, type FirebaseOptions } from './firebase.js';
import { openLocalStore } from './local.js';
import type { Store } from './types.js';

export type { FirebaseOptions } from './firebase.js';
export * from './types.js';

export interface StoreOptions {
  /** DATA_DIR. */
  readonly dataDir: string;
  readonly firebase?: FirebaseOptions;
}

export async function openStore(options: StoreOptions, logger: Logger): Promise<Store> {
  const projectId = options.firebase?.projectId;
  if (projectId !== undefined) {
    return openFirebaseStore({ ...options.firebase, projectId }, { logger, outboxDir: path.join(options.dataDir, 'outbox') });
  }
  return openLocalStore(path.join(options.dataDir, 'store'), { logger });
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
