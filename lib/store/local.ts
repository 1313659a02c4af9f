/**
 * The embedded local store: the same collections and paths as Firebase, kept in memory and made
 * durable in DATA_DIR's database (`database.ts`; docs/storage.md shows the tables `documents`
 * and `tree`). A commit's rows are written in the database's transaction of that turn of the
 * event loop and it resolves once they are durable; listeners see it only then. Start-up reads
 * both tables back. One process at a time: the database is DATA_DIR's lock.
 */
import type { Logger } from '../base/log.js';
import {
  checkDocWrite, checkTreeWrite, fromTree, mergeData, nodeAt, normalPath, pathKeys, pathsOverlap,
  plainData, toTree, withNode, type TreeNode,
} from './data.js';
import type { Database } from './database.js';
import {
  StoreError, type DocChange, type DocData, type DocSnapshot, type DocWrite, type DocumentStore, type Store,
  type TreeStore, type TreeWrite, type Unwatch,
} from './types.js';
import { errorText } from '../base/error-text.js';

export interface LocalStoreOptions {
  readonly logger: Logger;
}

type TreeWrites = readonly { readonly path: string; readonly value: TreeNode | null }[];

interface DocWatcher {
  readonly collection: string;
  readonly onSnapshot: (snapshot: DocSnapshot) => void;
  readonly onError: (err: Error) => void;
}

interface TreeWatcher {
  readonly path: string;
  readonly keys: readonly string[];
  readonly onValue: (value: unknown) => void;
  readonly onError: (err: Error) => void;
  last: string;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export class LocalStore implements Store {
  readonly kind = 'local' as const;
  readonly outbox = undefined;
  readonly docs: DocumentStore;
  readonly tree: TreeStore;

  private readonly collections = new Map<string, Map<string, DocData>>();
  /**
   * When each document was last written (epoch ms), by `collection/id`: listeners get it with the
   * document (a one-off schedule without a date runs on that day, SPEC 6).
   */
  private readonly writeTimes = new Map<string, number>();
  private root: TreeNode | null = null;
  private closed = false;
  private readonly docWatchers = new Set<DocWatcher>();
  private readonly treeWatchers = new Set<TreeWatcher>();
  private readonly logger: Logger;

  private constructor(private readonly db: Database, options: LocalStoreOptions) {
    this.logger = options.logger;
    this.docs = this.makeDocumentStore();
    this.tree = this.makeTreeStore();
    this.load();
  }

  /** The store in `db` (the service's database of DATA_DIR). */
  static open(db: Database, options: LocalStoreOptions): LocalStore {
    const store = new LocalStore(db, options);
    options.logger.info({ file: db.file, documents: [...store.collections.values()].reduce((n, docs) => n + docs.size, 0) }, 'local store open');
    return store;
  }

  /** Reads both tables into memory (at open, and again should a transaction fail half way). */
  private load(): void {
    this.collections.clear();
    this.writeTimes.clear();
    const rows = this.db.sql.prepare('SELECT collection, id, data, written_at FROM documents').all() as { collection: string; id: string; data: string; written_at: number | null }[];
    for (const row of rows) {
      let docs = this.collections.get(row.collection);
      if (!docs) this.collections.set(row.collection, (docs = new Map()));
      docs.set(row.id, deepFreeze(JSON.parse(row.data) as DocData));
      if (row.written_at !== null) this.writeTimes.set(`${row.collection}/${row.id}`, row.written_at);
    }
    this.root = null;
    for (const row of this.db.sql.prepare('SELECT key, value FROM tree').all() as { key: string; value: string }[]) {
      this.root = withNode(this.root, [row.key], JSON.parse(row.value) as TreeNode);
    }
  }

  // ---- writing ----

  /**
   * Applies the writes in memory and as rows, in the database's transaction; the listeners hear
   * of them once that is durable.
   */
  private enqueue(docs: readonly DocWrite[] | undefined, tree: TreeWrites | undefined): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('local store is closed', false));
    let notify = (): void => undefined;
    return this.db.write(() => {
      try {
        notify = docs ? this.applyDocs(docs, Date.now()) : this.applyTree(tree ?? []);
      } catch (err) {
        this.load(); // the transaction is rolled back: memory follows it
        throw err;
      }
    }).then(() => notify(), (err: unknown) => {
      this.logger.error({ err: errorText(err) }, 'local store: write failed');
      if (!(err instanceof StoreError)) this.load();
      throw new StoreError(`local store: write failed: ${errorText(err)}`, false, { cause: err });
    });
  }

  /** Applies document writes (memory and rows); returns what tells the listeners. */
  private applyDocs(writes: readonly DocWrite[], at: number): () => void {
    const upsert = this.db.sql.prepare('INSERT OR REPLACE INTO documents (collection, id, data, written_at) VALUES (?, ?, ?, ?)');
    const remove = this.db.sql.prepare('DELETE FROM documents WHERE collection = ? AND id = ?');
    const changed = new Map<string, Map<string, DocData | null>>();
    for (const write of writes) {
      let docs = this.collections.get(write.collection);
      if (!docs) {
        docs = new Map();
        this.collections.set(write.collection, docs);
      }
      const old = docs.get(write.id);
      let next: DocData | null;
      if (write.op === 'delete') next = null;
      else if (write.op === 'merge') next = deepFreeze(mergeData(old ?? {}, write.data));
      else next = deepFreeze(write.data);
      const key = `${write.collection}/${write.id}`;
      if (next === null) {
        if (old === undefined) continue;
        docs.delete(write.id);
        this.writeTimes.delete(key);
        remove.run(write.collection, write.id);
      } else {
        // Unchanged: no notification and the same write time, as Firestore does.
        const text = JSON.stringify(next);
        if (old !== undefined && JSON.stringify(old) === text) continue;
        docs.set(write.id, next);
        this.writeTimes.set(key, at);
        upsert.run(write.collection, write.id, text, at);
      }
      let ids = changed.get(write.collection);
      if (!ids) changed.set(write.collection, (ids = new Map()));
      ids.set(write.id, next);
    }
    return () => {
      for (const [collection, ids] of changed) {
        const changes: DocChange[] = [...ids].map(([id, data]) => this.change(collection, id, data));
        for (const watcher of this.docWatchers) {
          if (watcher.collection === collection) this.call(() => watcher.onSnapshot({ initial: false, changes }));
        }
      }
    };
  }

  /** Applies tree writes (memory, and the rows of the top-level keys they touch); returns what tells the listeners. */
  private applyTree(writes: TreeWrites): () => void {
    const touched = new Set<TreeWatcher>();
    const keys = new Set<string>();
    let all = false;
    for (const write of writes) {
      const path = pathKeys(write.path);
      this.root = withNode(this.root, path, write.value);
      if (path[0] === undefined) all = true;
      else keys.add(path[0]);
      for (const watcher of this.treeWatchers) if (pathsOverlap(watcher.path, write.path)) touched.add(watcher);
    }
    if (all) {
      this.db.sql.prepare('DELETE FROM tree').run();
      for (const key of Object.keys(this.root !== null && typeof this.root === 'object' ? this.root : {})) keys.add(key);
    }
    const upsert = this.db.sql.prepare('INSERT OR REPLACE INTO tree (key, value) VALUES (?, ?)');
    const remove = this.db.sql.prepare('DELETE FROM tree WHERE key = ?');
    for (const key of keys) {
      const node = nodeAt(this.root, [key]);
      if (node === null) remove.run(key);
      else upsert.run(key, JSON.stringify(node));
    }
    return () => {
      for (const watcher of touched) {
        const value = fromTree(nodeAt(this.root, watcher.keys));
        const text = JSON.stringify(value);
        if (text === watcher.last) continue;
        watcher.last = text;
        this.call(() => watcher.onValue(value));
      }
    };
  }

  /** A document for a listener, with its write time when known. */
  private change(collection: string, id: string, data: DocData | null): DocChange {
    const writtenAt = data === null ? undefined : this.writeTimes.get(`${collection}/${id}`);
    return writtenAt === undefined ? { id, data } : { id, data, writtenAt };
  }

  /** A listener that throws must not break the store. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err: errorText(err) }, 'local store: a listener threw');
    }
  }

  // ---- the two faces ----

  private makeDocumentStore(): DocumentStore {
    const commit = (writes: readonly DocWrite[]): Promise<void> => {
      for (const write of writes) {
        const problem = checkDocWrite(write);
        if (problem) return Promise.reject(new StoreError(problem, true));
      }
      if (writes.length === 0) return Promise.resolve();
      return this.enqueue(writes.map((w) => (w.op === 'delete' ? { op: w.op, collection: w.collection, id: w.id } : { op: w.op, collection: w.collection, id: w.id, data: plainData(w.data) })), undefined);
    };
    return {
      commit,
      set: (collection, id, data) => commit([{ op: 'set', collection, id, data }]),
      merge: (collection, id, data) => commit([{ op: 'merge', collection, id, data }]),
      delete: (collection, id) => commit([{ op: 'delete', collection, id }]),
      get: (collection, id) => Promise.resolve(this.collections.get(collection)?.get(id) ?? null),
      watch: (collection, onSnapshot, onError): Unwatch => {
        const watcher: DocWatcher = { collection, onSnapshot, onError };
        let active = true;
        // Like Firestore, the first snapshot arrives asynchronously; it holds everything up to then.
        queueMicrotask(() => {
          if (!active || this.closed) return;
          this.docWatchers.add(watcher);
          const changes = [...(this.collections.get(collection) ?? new Map<string, DocData>())].map(([id, data]) => this.change(collection, id, data));
          this.call(() => onSnapshot({ initial: true, changes }));
        });
        return () => {
          active = false;
          this.docWatchers.delete(watcher);
        };
      },
    };
  }

  private makeTreeStore(): TreeStore {
    const commit = (writes: readonly TreeWrite[]): Promise<void> => {
      for (const write of writes) {
        const problem = checkTreeWrite(write);
        if (problem) return Promise.reject(new StoreError(problem, true));
      }
      if (writes.length === 0) return Promise.resolve();
      return this.enqueue(undefined, writes.map((w) => ({ path: normalPath(w.path), value: toTree(w.value) })));
    };
    return {
      commit,
      set: (path, value) => commit([{ path, value }]),
      get: (path) => Promise.resolve(fromTree(nodeAt(this.root, pathKeys(path)))),
      watch: (path, onValue, onError): Unwatch => {
        const watcher: TreeWatcher = { path: normalPath(path), keys: pathKeys(path), onValue, onError, last: '' };
        let active = true;
        queueMicrotask(() => {
          if (!active || this.closed) return;
          this.treeWatchers.add(watcher);
          const value = fromTree(nodeAt(this.root, watcher.keys));
          watcher.last = JSON.stringify(value);
          this.call(() => onValue(value));
        });
        return () => {
          active = false;
          this.treeWatchers.delete(watcher);
        };
      },
    };
  }

  /** Stops the listeners; writes already accepted still commit (the database is closed by its owner). */
  async close(): Promise<void> {
    this.closed = true;
    this.docWatchers.clear();
    this.treeWatchers.clear();
  }
}

/** Opens the local store in DATA_DIR's database. */
export const openLocalStore = (db: Database, options: LocalStoreOptions): LocalStore => LocalStore.open(db, options);
