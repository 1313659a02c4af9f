/**
 * The store contract served by firebase-admin 13: Cloud Firestore for documents and the Realtime
 * Database for the tree, or their emulators.
 *
 * firebase-admin is imported lazily, after METADATA_SERVER_DETECTION=none is set for emulators,
 * so that it never probes the cloud metadata server (a link-local address) off-cloud. Each store
 * has its own firebase-admin app (unique name), deleted on `close()`.
 */
import type { App } from 'firebase-admin/app';
import type { Firestore } from 'firebase-admin/firestore';
import type { Database, DataSnapshot } from 'firebase-admin/database';
import type { Database as DataDirDatabase } from './database.js';
import type { Logger } from '../base/log.js';
import { checkDocWrite, checkTreeWrite, isPlainObject, normalPath, pathsOverlap, toTree } from './data.js';
import {
  StoreError, type DocData, type DocSnapshot, type DocWrite, type DocumentStore, type Store, type TreeStore,
  type TreeWrite, type Unwatch,
} from './types.js';
import { errorText } from '../base/error-text.js';

/** Firebase settings as plain values (SPEC 11; the same shape as the service configuration). */
export interface FirebaseOptions {
  readonly projectId?: string;
  /** Service-account key file (GOOGLE_APPLICATION_CREDENTIALS). */
  readonly credentialsFile?: string;
  /** Realtime Database URL; derived from the emulator host or the project id when absent. */
  readonly databaseUrl?: string;
  /** host:port of the Firestore emulator (FIRESTORE_EMULATOR_HOST). */
  readonly firestoreEmulatorHost?: string;
  /** host:port of the RTDB emulator (FIREBASE_DATABASE_EMULATOR_HOST). */
  readonly databaseEmulatorHost?: string;
}

export interface FirebaseStoreOptions {
  readonly logger: Logger;
  /** DATA_DIR's database, where the sinks keep their outboxes. */
  readonly outbox: DataDirDatabase;
  /** firebase-admin app name; a unique one by default. */
  readonly appName?: string;
  /** Longest wait between Firestore reconnection attempts (gRPC); default 10 s. */
  readonly maxReconnectMs?: number;
}

let appCounter = 0;

/**
 * True when firebase-admin will talk to an emulator: an emulator host in the options or in its
 * own variables, or a plain-http database URL (which @firebase/database treats as an emulator).
 */
export const usesEmulator = (firebase: FirebaseOptions, env: NodeJS.ProcessEnv = process.env): boolean =>
  Boolean(firebase.firestoreEmulatorHost || firebase.databaseEmulatorHost || env.FIRESTORE_EMULATOR_HOST || env.FIREBASE_DATABASE_EMULATOR_HOST) ||
  (firebase.databaseUrl?.startsWith('http://') ?? false);

/** The RTDB URL: the given one, the emulator's (namespace = project id), or the project's default. */
export function databaseUrlFor(firebase: FirebaseOptions & { readonly projectId: string }): string {
  if (firebase.databaseUrl !== undefined) return firebase.databaseUrl;
  if (firebase.databaseEmulatorHost !== undefined) return `http://${firebase.databaseEmulatorHost}?ns=${encodeURIComponent(firebase.projectId)}`;
  return `https://${firebase.projectId}-default-rtdb.firebaseio.com`;
}

/** gRPC status codes that retrying cannot fix: INVALID_ARGUMENT, OUT_OF_RANGE. */
const PERMANENT_GRPC = new Set([3, 11]);

function classify(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  return new StoreError(errorText(err), typeof code === 'number' && PERMANENT_GRPC.has(code), { cause: err });
}

type FirestoreModule = typeof import('firebase-admin/firestore');

/** Firestore values as plain JSON: timestamps as ISO strings, references as paths, bytes as base64. */
function toPlain(value: unknown, fs: FirestoreModule): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof fs.Timestamp) return value.toDate().toISOString();
  if (value instanceof fs.GeoPoint) return { latitude: value.latitude, longitude: value.longitude };
  if (value instanceof fs.DocumentReference) return value.path;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toPlain(v, fs));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v, fs)]));
  const toArray = (value as { toArray?: () => unknown }).toArray;
  return typeof toArray === 'function' ? toArray.call(value) : String(value);
}

function firestoreStore(db: Firestore, fs: FirestoreModule): DocumentStore {
  const commit = async (writes: readonly DocWrite[]): Promise<void> => {
    for (const write of writes) {
      const problem = checkDocWrite(write);
      if (problem) throw new StoreError(problem, true);
    }
    if (writes.length === 0) return;
    const batch = db.batch();
    try {
      for (const w of writes) {
        const ref = db.collection(w.collection).doc(w.id);
        if (w.op === 'delete') batch.delete(ref);
        else if (w.op === 'merge') batch.set(ref, w.data as Record<string, unknown>, { merge: true });
        else batch.set(ref, w.data as Record<string, unknown>);
      }
    } catch (err) {
      throw new StoreError(errorText(err), true, { cause: err }); // the SDK's own checks
    }
    try {
      await batch.commit();
    } catch (err) {
      throw classify(err);
    }
  };
  return {
    commit,
    set: (collection, id, data) => commit([{ op: 'set', collection, id, data }]),
    merge: (collection, id, data) => commit([{ op: 'merge', collection, id, data }]),
    delete: (collection, id) => commit([{ op: 'delete', collection, id }]),
    get: async (collection, id) => {
      try {
        const snap = await db.collection(collection).doc(id).get();
        return snap.exists ? (toPlain(snap.data(), fs) as DocData) : null;
      } catch (err) {
        throw classify(err);
      }
    },
    watch: (collection, onSnapshot: (s: DocSnapshot) => void, onError): Unwatch => {
      let initial = true;
      return db.collection(collection).onSnapshot(
        (snap) => {
          const changes = snap.docChanges().map((c) => (c.type === 'removed'
            ? { id: c.doc.id, data: null }
            : { id: c.doc.id, data: toPlain(c.doc.data(), fs) as DocData, writtenAt: c.doc.updateTime.toMillis() }));
          const first = initial;
          initial = false;
          onSnapshot({ initial: first, changes });
        },
        (err) => onError(classify(err)),
      );
    },
  };
}

/** Splits writes into runs in which no path overlaps another (one multi-path update each). */
function runsOf(writes: readonly { path: string; value: unknown }[]): { path: string; value: unknown }[][] {
  const runs: { path: string; value: unknown }[][] = [];
  let run: { path: string; value: unknown }[] = [];
  for (const w of writes) {
    if (run.some((r) => pathsOverlap(r.path, w.path))) {
      runs.push(run);
      run = [];
    }
    run.push(w);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

function rtdbStore(db: Database): TreeStore {
  const refAt = (p: string) => (p === '' ? db.ref() : db.ref(p));
  const commit = async (writes: readonly TreeWrite[]): Promise<void> => {
    for (const write of writes) {
      const problem = checkTreeWrite(write);
      if (problem) throw new StoreError(problem, true);
    }
    const normal = writes.map((w) => ({ path: normalPath(w.path), value: toTree(w.value) }));
    for (const run of runsOf(normal)) {
      let pending: Promise<void>;
      try {
        pending = run.length === 1
          ? refAt(run[0]?.path ?? '').set(run[0]?.value ?? null)
          : db.ref().update(Object.fromEntries(run.map((w) => [`/${w.path}`, w.value])));
      } catch (err) {
        throw new StoreError(errorText(err), true, { cause: err }); // the SDK's own checks
      }
      try {
        await pending;
      } catch (err) {
        throw classify(err);
      }
    }
  };
  return {
    commit,
    set: (path, value) => commit([{ path, value }]),
    // firebase-server does not answer `ref.get()`; `once('value')` works everywhere.
    get: async (path) => {
      try {
        return (await refAt(normalPath(path)).once('value')).val() as unknown;
      } catch (err) {
        throw classify(err);
      }
    },
    watch: (path, onValue, onError): Unwatch => {
      const ref = refAt(normalPath(path));
      const callback = ref.on('value', (snap: DataSnapshot) => onValue(snap.val()), (err: Error) => onError(classify(err)));
      return () => ref.off('value', callback);
    },
  };
}

/** Opens firebase-admin with `firebase` (which must name a project). */
export async function openFirebaseStore(firebase: FirebaseOptions & { readonly projectId: string }, options: FirebaseStoreOptions): Promise<Store> {
  if (usesEmulator(firebase)) process.env.METADATA_SERVER_DETECTION = 'none';
  const appModule = await import('firebase-admin/app');
  const fs = await import('firebase-admin/firestore');
  const dbModule = await import('firebase-admin/database');

  const name = options.appName ?? `smarthome-store-${process.pid}-${++appCounter}`;
  const databaseURL = databaseUrlFor(firebase);
  const app: App = appModule.initializeApp({
    projectId: firebase.projectId,
    databaseURL,
    ...(firebase.credentialsFile !== undefined ? { credential: appModule.cert(firebase.credentialsFile) } : {}),
  }, name);

  const firestore = fs.getFirestore(app);
  const maxReconnectMs = options.maxReconnectMs ?? 10_000;
  firestore.settings({
    ignoreUndefinedProperties: true,
    // The standard variable, when set, wins inside the SDK anyway.
    ...(firebase.firestoreEmulatorHost !== undefined ? { host: firebase.firestoreEmulatorHost, ssl: false } : {}),
    'grpc.initial_reconnect_backoff_ms': Math.min(250, maxReconnectMs),
    'grpc.min_reconnect_backoff_ms': Math.min(250, maxReconnectMs),
    'grpc.max_reconnect_backoff_ms': maxReconnectMs,
  });
  const database = dbModule.getDatabase(app);

  options.logger.info({
    projectId: firebase.projectId,
    firestore: firebase.firestoreEmulatorHost ?? process.env.FIRESTORE_EMULATOR_HOST ?? 'cloud',
    database: firebase.databaseEmulatorHost ?? process.env.FIREBASE_DATABASE_EMULATOR_HOST ?? new URL(databaseURL).host,
  }, 'firebase store open');

  let closed = false;
  return {
    kind: 'firebase',
    docs: firestoreStore(firestore, fs),
    tree: rtdbStore(database),
    outbox: options.outbox,
    close: async () => {
      if (closed) return;
      closed = true;
      await appModule.deleteApp(app);
    },
  };
}
