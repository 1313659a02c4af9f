/** Small helpers shared by the end-to-end specs (not a spec itself). */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../lib/base/log.js';
import { openFirebaseStore } from '../../lib/store/firebase.js';
import { Database, openReadOnly } from '../../lib/store/database.js';
import { openStore } from '../../lib/store/open-store.js';
import type { DocData, Store } from '../../lib/store/types.js';
import {
  PROJECT_ID, guardLoopback, startDatabaseEmulator, startFirestoreEmulator, type DatabaseEmulator, type FirestoreEmulator,
} from '../support/emulators.js';

export const tempDir = (): Promise<string> => fs.mkdtemp(path.join(os.tmpdir(), 'smarthome-e2e-'));
export const removeDir = (dir: string): Promise<void> => fs.rm(dir, { recursive: true, force: true });
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Both Firebase emulators, the loopback guard, and firebase-admin in the test process (the app's and
 * the home controller's view). The Firestore emulator is `@firestore-emulator/server` with its Listen
 * (onSnapshot) replaced by one that, like the real Firestore, sends a watch only what changed after
 * its first result and drops the watches of killed clients (support/firestore-listen.ts says why:
 * the package's own re-sends whole collections on every write, quadratic in a burst of sign-ups).
 */
export interface FirebaseTestbed {
  readonly guard: ReturnType<typeof guardLoopback>;
  readonly firestore: FirestoreEmulator;
  readonly database: DatabaseEmulator;
  readonly store: Store;
  stop(): Promise<void>;
}

export async function startFirebaseTestbed(): Promise<FirebaseTestbed> {
  const guard = guardLoopback();
  const firestore = await startFirestoreEmulator();
  const database = await startDatabaseEmulator();
  const storeDir = await tempDir();
  const db = await Database.open(storeDir, silentLogger);
  const store = await openFirebaseStore(
    { projectId: PROJECT_ID, firestoreEmulatorHost: firestore.host, databaseUrl: database.url },
    { logger: silentLogger, outbox: db },
  );
  return {
    guard, firestore, database, store,
    stop: async () => {
      await store.close();
      await db.close();
      await firestore.stop();
      await database.stop();
      guard.restore();
      await removeDir(storeDir);
    },
  };
}

/** Polls `check` every 50 ms until it returns a value other than `undefined`/`false`. */
export async function poll<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Rows of a running service's database, read beside it (WAL: readers are welcome while the
 * service runs); none while the database or its tables are not there yet. For polling; the final
 * checks open the store with `readLocalStore` once the service has stopped.
 */
export function peek<Row>(dataDir: string, query: string, ...params: unknown[]): Row[] {
  let sql;
  try {
    sql = openReadOnly(dataDir);
  } catch {
    return []; // no database yet
  }
  try {
    return sql.prepare(query).all(...params) as Row[];
  } catch {
    return []; // the tables are not there yet
  } finally {
    sql.close();
  }
}

/** One collection of a running service's local store (see `peek`). */
export async function peekCollection(dataDir: string, collection: string): Promise<Map<string, DocData>> {
  const rows = peek<{ id: string; data: string }>(dataDir, 'SELECT id, data FROM documents WHERE collection = ?', collection);
  return Promise.resolve(new Map(rows.map((row) => [row.id, JSON.parse(row.data) as DocData])));
}

/** Every document of a collection of an open store, as its first snapshot has them. */
export function collectionOf(store: Store, collection: string): Promise<Map<string, DocData>> {
  return new Promise((resolve, reject) => {
    const unwatch = store.docs.watch(
      collection,
      (snapshot) => {
        if (!snapshot.initial) return;
        queueMicrotask(() => unwatch());
        resolve(new Map(snapshot.changes.flatMap((c) => (c.data === null ? [] : [[c.id, c.data] as const]))));
      },
      reject,
    );
  });
}

/** A collection and a tree path of a stopped service's local store, opened properly. */
export async function readLocalStore(dataDir: string, collection: string, treePath: string): Promise<{ docs: Map<string, DocData>; value: unknown }> {
  const store = await openStore({ dataDir }, silentLogger);
  try {
    return { docs: await collectionOf(store, collection), value: await store.tree.get(treePath) };
  } finally {
    await store.close();
  }
}

/** `Y.M.D.H.M.S` without zero padding (SPEC 5) of `ms` in `tz`. */
export function alarmDateIn(ms: number, tz: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return [parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second].map((v) => String(Number(v))).join('.');
}
