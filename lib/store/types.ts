/**
 * The storage contract (issue 5): Firestore-like documents and an RTDB-like tree, served either
 * by firebase-admin or by the embedded local store. Sources (`lib/drivers/firebase/firestore-source.ts`,
 * `lib/drivers/firebase/rtdb-source.ts`) and sinks (`lib/drivers/firebase/firestore-sink.ts`, `lib/drivers/firebase/rtdb-sink.ts`) are written
 * once against these interfaces.
 *
 * Data is plain JSON both ways: what goes in is JSON, and what comes out is JSON (firebase-admin
 * timestamps, references and the like are turned into strings and plain objects on the way out).
 */
import type { Database } from './database.js';

/** A document's fields. */
export type DocData = Readonly<Record<string, unknown>>;

/** One write to a document. `merge` merges nested maps field by field (Firestore `{merge: true}`). */
export type DocWrite =
  | { readonly op: 'set'; readonly collection: string; readonly id: string; readonly data: DocData }
  | { readonly op: 'merge'; readonly collection: string; readonly id: string; readonly data: DocData }
  | { readonly op: 'delete'; readonly collection: string; readonly id: string };

/** A document as it now is; `data: null` means it does not exist (any more). */
export interface DocChange {
  readonly id: string;
  readonly data: DocData | null;
  /** When the document was last written (epoch ms), for an existing one whose store knows it. */
  readonly writtenAt?: number;
}

/**
 * What a collection listener receives. The first call has `initial: true` and every document of
 * the collection (possibly none); later calls hold the documents that changed, in order.
 */
export interface DocSnapshot {
  readonly initial: boolean;
  readonly changes: readonly DocChange[];
}

/** Stops a listener. Calling it twice is harmless. */
export type Unwatch = () => void;

export interface DocumentStore {
  /** Applies the writes in order, all or none; resolves once they are durable. */
  commit(writes: readonly DocWrite[]): Promise<void>;
  set(collection: string, id: string, data: DocData): Promise<void>;
  merge(collection: string, id: string, data: DocData): Promise<void>;
  delete(collection: string, id: string): Promise<void>;
  get(collection: string, id: string): Promise<DocData | null>;
  /** Listens to a collection: initial state first, then changes. `onError` ends the listener. */
  watch(collection: string, onSnapshot: (snapshot: DocSnapshot) => void, onError: (err: Error) => void): Unwatch;
}

/** One write to the tree: the value at `path` becomes `value` (`null` removes it). */
export interface TreeWrite {
  readonly path: string;
  readonly value: unknown;
}

export interface TreeStore {
  /**
   * Applies the writes in order; resolves once they are acknowledged (durable for the local
   * store). All or none when no path is an ancestor of another (RTDB multi-path update).
   */
  commit(writes: readonly TreeWrite[]): Promise<void>;
  set(path: string, value: unknown): Promise<void>;
  /** The value at `path`, `null` when there is none. */
  get(path: string): Promise<unknown>;
  /** Listens to a path: its current value first, then every new value. `onError` ends it. */
  watch(path: string, onValue: (value: unknown) => void, onError: (err: Error) => void): Unwatch;
}

export interface Store {
  readonly kind: 'local' | 'firebase';
  readonly docs: DocumentStore;
  readonly tree: TreeStore;
  /**
   * The database where the sinks keep writes that cannot be made yet (the durable outbox), or
   * `undefined` when the store itself is durable on acknowledgement (the local store).
   */
  readonly outbox: Database | undefined;
  /** Releases files, listeners and connections. Pending outbox entries stay on disk. */
  close(): Promise<void>;
}

/**
 * A failed store operation. `permanent` errors (invalid id, path or data, or a write the server
 * rejects as invalid) will fail again however often they are retried; others are transient.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(message: string, readonly permanent: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True when retrying `err` cannot help. */
export const isPermanent = (err: unknown): boolean => err instanceof StoreError && err.permanent;
