/**
 * In-process Firebase emulators for the store contract suite and the e2e specs, on 127.0.0.1 only:
 * - Firestore: `@firestore-emulator/server` (gRPC), with its Listen stream replaced by one that
 *   sends only changes after the first result and forgets killed clients (firestore-listen.ts);
 * - Realtime Database: `firebase-server` (the RTDB websocket protocol), which needs
 *   `setAuthSecret('owner')` to accept the admin SDK's emulator credential and must announce
 *   itself as `127.0.0.1:<port>` (clients reconnect to the host it announces).
 * Both can be stopped and started again on the same port to simulate an outage.
 *
 * Importing this module sets METADATA_SERVER_DETECTION=none before anything loads
 * firebase-admin, and `guardLoopback()` refuses (and records) any TCP connection that would
 * leave 127.0.0.1, so a test can assert that none was attempted.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import * as net from 'node:net';
import FirebaseServer from 'firebase-server';
import { FirestoreServer } from './firestore-listen.js';

export const PROJECT_ID = 'demo-smarthome';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A write as the Firestore emulator saw it arrive. */
export interface Arrival {
  readonly op: 'create' | 'update' | 'delete';
  /** `collection/id` */
  readonly path: string;
  /** Top-level fields with their plain values (nested values as the emulator's JSON). */
  readonly fields: Record<string, unknown>;
}

export interface FirestoreEmulator {
  readonly host: string;
  readonly port: number;
  /** Every write that reached the emulator (across restarts), in arrival order. */
  readonly arrivals: Arrival[];
  readonly running: boolean;
  /** Forgets every document (between tests). */
  clear(): void;
  /**
   * The existing documents of a top-level collection, read from the emulator's memory (no
   * listener, no client): for polling a collection that grows by thousands.
   */
  documents(collection: string): Map<string, Record<string, unknown>>;
  /** How many Listen targets (client onSnapshot watches) the emulator serves now. */
  listeners(): number;
  stop(): Promise<void>;
  /** Starts a fresh (empty) emulator on the same port. */
  start(): Promise<void>;
}

type EmulatorDocument = { getPath(): string; toJSON(): { fields: Record<string, { type: string; value: unknown }> } };

/** Top-level fields with their plain values (nested values as the emulator's JSON). */
const plainFields = (document: EmulatorDocument): Record<string, unknown> =>
  Object.fromEntries(Object.entries(document.toJSON().fields).map(([k, f]) => [k, f.value]));

const DOCUMENT_EVENTS = ['create-document', 'update-document', 'delete-document'] as const;

export async function startFirestoreEmulator(): Promise<FirestoreEmulator> {
  const port = await freePort();
  const arrivals: Arrival[] = [];
  let server: FirestoreServer | undefined;
  const record = (op: Arrival['op']) => (e: { document: EmulatorDocument }) => {
    const path = e.document.getPath().split('/documents/')[1] ?? e.document.getPath();
    arrivals.push({ op, path, fields: op === 'delete' ? {} : plainFields(e.document) });
  };
  const recorders = { 'create-document': record('create'), 'update-document': record('update'), 'delete-document': record('delete') };
  const emulator: FirestoreEmulator = {
    host: `127.0.0.1:${port}`,
    port,
    arrivals,
    get running() {
      return server !== undefined;
    },
    clear() {
      server?.state.clear();
    },
    documents(collection) {
      if (!server) throw new Error('the Firestore emulator is stopped');
      const all = server.state.getCollection(`projects/${PROJECT_ID}/databases/(default)/documents/${collection}`).getAllDocuments();
      return new Map(all.filter((d) => d.metadata.hasExist).map((d) => [d.name, plainFields(d)]));
    },
    listeners() {
      return server?.watches ?? 0;
    },
    async start() {
      if (server) return;
      const next = new FirestoreServer();
      for (const event of DOCUMENT_EVENTS) next.state.emitter.on(event, recorders[event]);
      await next.start(port);
      server = next;
    },
    async stop() {
      server?.stop();
      server = undefined;
    },
  };
  await emulator.start();
  return emulator;
}

export interface DatabaseEmulator {
  readonly host: string;
  readonly port: number;
  /** The database URL for firebase-admin (an http URL: emulator mode, the "owner" token). */
  readonly url: string;
  readonly running: boolean;
  /** The whole tree as the server holds it. */
  value(): Promise<unknown>;
  stop(): Promise<void>;
  /** Starts again on the same port with the data it had when stopped. */
  start(): Promise<void>;
}

export async function startDatabaseEmulator(): Promise<DatabaseEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let server: FirebaseServer | undefined;
  let data: unknown = null;
  const emulator: DatabaseEmulator = {
    host,
    port,
    url: `http://${host}?ns=${PROJECT_ID}`,
    get running() {
      return server !== undefined;
    },
    async value() {
      return server ? ((await server.getValue()) as unknown) : data;
    },
    async start() {
      if (server) return;
      // The name is what the server announces as its host: clients reconnect there.
      server = new FirebaseServer({ port, address: '127.0.0.1' }, host, data as null);
      server.setAuthSecret('owner');
    },
    async stop() {
      if (!server) return;
      const closing = server;
      server = undefined;
      data = (await closing.getValue()) as unknown;
      await closing.close();
    },
  };
  await emulator.start();
  return emulator;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The host a `Socket#connect` call aims at, or undefined for a local (unix) socket. */
function hostOf(args: unknown[]): string | undefined {
  // net.connect() passes its normalised arguments as one array.
  const first: unknown = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const options = first as { path?: unknown; host?: unknown };
    if (options.path !== undefined) return undefined;
    return typeof options.host === 'string' ? options.host : 'localhost';
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return typeof args[1] === 'string' ? args[1] : 'localhost';
  }
  return undefined;
}

/** Refuses every TCP connection outside loopback until `restore()`; `violations` lists the hosts. */
export function guardLoopback(): { readonly violations: string[]; restore(): void } {
  const original = net.Socket.prototype.connect;
  const violations: string[] = [];
  const guarded = function (this: net.Socket, ...args: unknown[]): net.Socket {
    const host = hostOf(args);
    if (host !== undefined && !isLoopback(host)) {
      violations.push(host);
      process.nextTick(() => this.destroy(new Error(`test guard: refused a connection to ${host} (tests stay on 127.0.0.1)`)));
      return this;
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = guarded as typeof original;
  return {
    violations,
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
