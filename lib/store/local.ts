/**
 * The embedded local store: the same collections and paths as Firebase, kept in memory and made
 * durable in `<dir>` (docs/storage.md describes the files):
 *
 * - `journal.ndjson`: one line per acknowledged commit, appended and fdatasync'ed before the
 *   commit resolves (group commit: the commits that queue up meanwhile share the next write);
 * - `snapshot.json`: the whole state as of a journal `seq`, replaced atomically when the journal
 *   grows past `compactBytes`, at start-up and on close; the journal is then emptied.
 *
 * Start-up reads the snapshot and replays the journal lines after its `seq`; a torn last line
 * (a crash in the middle of an append, never acknowledged) is cut off. Listeners see a commit
 * only after it is durable. One process at a time: see `lock.ts` (a lock the OS releases).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../base/log.js';
import {
  checkDocWrite, checkTreeWrite, fromTree, isPlainObject, mergeData, nodeAt, normalPath, pathKeys, pathsOverlap,
  plainData, toTree, withNode, type TreeNode,
} from './data.js';
import { AppendLog } from './append-log.js';
import { fsyncDir, replaceFile } from './files.js';
import { lockDir, LockedError, type DirLock } from './lock.js';
import {
  StoreError, type DocChange, type DocData, type DocSnapshot, type DocWrite, type DocumentStore, type Store,
  type TreeStore, type TreeWrite, type Unwatch,
} from './types.js';
import { errorText } from '../base/error-text.js';

export interface LocalStoreOptions {
  readonly logger: Logger;
  /** Compact once the journal is this long; default 8 MiB. */
  readonly compactBytes?: number;
}

export const SNAPSHOT_FORMAT = 'smarthome-local-store';
export const SNAPSHOT_VERSION = 1;

/** A journal line. Tree values are stored as the RTDB stores them (see `toTree`). */
interface JournalRecord {
  readonly seq: number;
  readonly at: string;
  readonly docs?: readonly DocWrite[];
  readonly tree?: readonly { readonly path: string; readonly value: TreeNode | null }[];
}

interface Snapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: number;
  readonly seq: number;
  readonly savedAt: string;
  readonly collections: Record<string, Record<string, DocData>>;
  /** Per collection and id, when the document was last written (epoch ms; absent in older snapshots). */
  readonly writtenAt?: Record<string, Record<string, number>>;
  readonly tree: TreeNode | null;
}

interface Pending {
  readonly docs?: readonly DocWrite[];
  readonly tree?: readonly { readonly path: string; readonly value: TreeNode | null }[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

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

/** Directories this process has open, so that a second open in the same process is refused too. */
const openDirs = new Set<string>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function isJournalRecord(u: unknown): u is JournalRecord {
  if (!isPlainObject(u) || typeof u.seq !== 'number' || typeof u.at !== 'string') return false;
  const docsOk = u.docs === undefined || (Array.isArray(u.docs) && u.docs.every((w) => isPlainObject(w) && typeof w.collection === 'string' && typeof w.id === 'string' && ['set', 'merge', 'delete'].includes(w.op as string)));
  const treeOk = u.tree === undefined || (Array.isArray(u.tree) && u.tree.every((w) => isPlainObject(w) && typeof w.path === 'string'));
  return docsOk && treeOk;
}

function isSnapshot(u: unknown): u is Snapshot {
  return isPlainObject(u) && u.format === SNAPSHOT_FORMAT && typeof u.seq === 'number' && isPlainObject(u.collections) &&
    (u.writtenAt === undefined || isPlainObject(u.writtenAt));
}

async function takeLock(dir: string): Promise<DirLock> {
  if (openDirs.has(dir)) throw new StoreError(`local store ${dir} is already open in this process`, true);
  try {
    const lock = await lockDir(dir, 'local store');
    openDirs.add(dir);
    return lock;
  } catch (err) {
    throw err instanceof LockedError ? new StoreError(err.message, true) : err;
  }
}

export class LocalStore implements Store {
  readonly kind = 'local' as const;
  readonly outboxDir = undefined;
  readonly docs: DocumentStore;
  readonly tree: TreeStore;

  private readonly collections = new Map<string, Map<string, DocData>>();
  /**
   * When each document was last written (epoch ms), by `collection/id`: listeners get it with the
   * document (a one-off schedule without a date runs on that day, SPEC 6).
   */
  private readonly writeTimes = new Map<string, number>();
  private root: TreeNode | null = null;
  private seq = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly docWatchers = new Set<DocWatcher>();
  private readonly treeWatchers = new Set<TreeWatcher>();
  private readonly compactBytes: number;
  private readonly logger: Logger;

  private constructor(
    readonly dir: string,
    private readonly journal: AppendLog,
    private readonly lock: DirLock,
    options: LocalStoreOptions,
  ) {
    this.logger = options.logger;
    this.compactBytes = options.compactBytes ?? 8 * 1024 * 1024;
    this.docs = this.makeDocumentStore();
    this.tree = this.makeTreeStore();
  }

  /** Opens (creating if needed) the store in `dir`, recovering from whatever a crash left there. */
  static async open(dir: string, options: LocalStoreOptions): Promise<LocalStore> {
    const absolute = path.resolve(dir);
    await fs.mkdir(absolute, { recursive: true });
    const lock = await takeLock(absolute);
    try {
      const journalFile = path.join(absolute, 'journal.ndjson');
      await fs.rm(path.join(absolute, 'snapshot.json.tmp'), { force: true });
      const snapshot = await LocalStore.readSnapshot(path.join(absolute, 'snapshot.json'));
      const journal = AppendLog.open(journalFile, { logger: options.logger, owner: 'local store' });
      if (journal.size === 0) await fsyncDir(absolute); // a new journal's name must survive a power cut too
      const store = new LocalStore(absolute, journal, lock, options);
      try {
        store.load(snapshot, journal.records, journalFile);
        if (journal.size > 0) await store.compact();
      } catch (err) {
        journal.close();
        throw err;
      }
      options.logger.info({ dir: absolute, seq: store.seq, replayed: journal.records.length }, 'local store open');
      return store;
    } catch (err) {
      openDirs.delete(absolute);
      await lock.release();
      throw err;
    }
  }

  private static async readSnapshot(file: string): Promise<Snapshot | undefined> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const parsed: unknown = JSON.parse(text);
    if (!isSnapshot(parsed)) throw new Error(`${file} is not a ${SNAPSHOT_FORMAT} snapshot`);
    if (parsed.version > SNAPSHOT_VERSION) throw new Error(`${file} has version ${parsed.version}; this program reads up to ${SNAPSHOT_VERSION}`);
    return parsed;
  }

  private load(snapshot: Snapshot | undefined, records: readonly unknown[], journalFile: string): void {
    if (snapshot) {
      for (const [collection, docs] of Object.entries(snapshot.collections)) {
        const map = new Map<string, DocData>();
        for (const [id, data] of Object.entries(docs)) map.set(id, deepFreeze(data));
        this.collections.set(collection, map);
      }
      for (const [collection, times] of Object.entries(snapshot.writtenAt ?? {})) {
        if (!isPlainObject(times)) continue; // a hand-edited snapshot: the times are only a hint
        for (const [id, at] of Object.entries(times)) if (Number.isFinite(at)) this.writeTimes.set(`${collection}/${id}`, at);
      }
      this.root = snapshot.tree ?? null;
      this.seq = snapshot.seq;
    }
    records.forEach((record, i) => {
      if (!isJournalRecord(record)) throw new Error(`${journalFile}: record ${i + 1} is not a journal record`);
      if (record.seq <= this.seq) return; // already in the snapshot
      this.apply(record, false);
      this.seq = record.seq;
    });
  }

  // ---- writing ----

  private enqueue(entry: Omit<Pending, 'resolve' | 'reject'>): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('local store is closed', false));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...entry, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Writes everything queued as one append + fdatasync, then applies and acknowledges it, in order. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.flushBatch();
    } finally {
      // Runs right after the last look at the queue, so nothing enqueued meanwhile is left behind.
      this.flushing = undefined;
    }
  }

  private async flushBatch(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    const at = new Date().toISOString();
    const lines = batch.map((p, i) => {
      const record: JournalRecord = { seq: this.seq + i + 1, at, ...(p.docs ? { docs: p.docs } : {}), ...(p.tree ? { tree: p.tree } : {}) };
      return JSON.stringify(record);
    });
    try {
      // Nothing of this batch is acknowledged if this fails: it is cut off again, so it cannot reappear.
      await this.journal.appendDurably(`${lines.join('\n')}\n`);
    } catch (err) {
      const error = new StoreError(`local store: journal write failed: ${errorText(err)}`, false, { cause: err });
      this.logger.error({ err: errorText(err) }, 'local store: journal write failed');
      for (const p of batch) p.reject(error);
      return;
    }
    lines.forEach((line, i) => {
      // What is applied is what the journal holds, read back: a replay gives the same state.
      this.apply(JSON.parse(line) as JournalRecord, true);
      this.seq += 1;
      batch[i]?.resolve();
    });
    if (this.journal.size >= this.compactBytes) {
      await this.compact().catch((err: unknown) => this.logger.error({ err: errorText(err) }, 'local store: compaction failed (will retry)'));
    }
  }

  /** Saves the whole state as a snapshot and empties the journal. Only while no flush runs. */
  private async compact(): Promise<void> {
    const collections: Record<string, Record<string, DocData>> = {};
    const writtenAt: Record<string, Record<string, number>> = {};
    for (const [name, docs] of this.collections) {
      if (docs.size > 0) collections[name] = Object.fromEntries(docs);
      const times: Record<string, number> = {};
      for (const id of docs.keys()) {
        const at = this.writeTimes.get(`${name}/${id}`);
        if (at !== undefined) times[id] = at;
      }
      if (Object.keys(times).length > 0) writtenAt[name] = times;
    }
    const snapshot: Snapshot = {
      format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, seq: this.seq, savedAt: new Date().toISOString(), collections, writtenAt, tree: this.root,
    };
    await replaceFile(path.join(this.dir, 'snapshot.json'), `${JSON.stringify(snapshot, null, 1)}\n`);
    // A crash before this truncation leaves lines the snapshot covers: their seq makes them skipped.
    this.journal.truncate(0);
  }

  private apply(record: JournalRecord, notify: boolean): void {
    if (record.docs) this.applyDocs(record.docs, Date.parse(record.at), notify);
    if (record.tree) this.applyTree(record.tree, notify);
  }

  private applyDocs(writes: readonly DocWrite[], at: number, notify: boolean): void {
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
      } else {
        // Unchanged: no notification and the same write time, as Firestore does.
        if (old !== undefined && JSON.stringify(old) === JSON.stringify(next)) continue;
        docs.set(write.id, next);
        if (Number.isFinite(at)) this.writeTimes.set(key, at);
      }
      if (notify) {
        let ids = changed.get(write.collection);
        if (!ids) changed.set(write.collection, (ids = new Map()));
        ids.set(write.id, next);
      }
    }
    for (const [collection, ids] of changed) {
      const changes: DocChange[] = [...ids].map(([id, data]) => this.change(collection, id, data));
      for (const watcher of this.docWatchers) {
        if (watcher.collection === collection) this.call(() => watcher.onSnapshot({ initial: false, changes }));
      }
    }
  }

  private applyTree(writes: readonly { readonly path: string; readonly value: TreeNode | null }[], notify: boolean): void {
    const touched = new Set<TreeWatcher>();
    for (const write of writes) {
      this.root = withNode(this.root, pathKeys(write.path), write.value);
      if (notify) for (const watcher of this.treeWatchers) if (pathsOverlap(watcher.path, write.path)) touched.add(watcher);
    }
    for (const watcher of touched) {
      const value = fromTree(nodeAt(this.root, watcher.keys));
      const text = JSON.stringify(value);
      if (text === watcher.last) continue;
      watcher.last = text;
      this.call(() => watcher.onValue(value));
    }
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
      return this.enqueue({ docs: writes.map((w) => (w.op === 'delete' ? { op: w.op, collection: w.collection, id: w.id } : { op: w.op, collection: w.collection, id: w.id, data: plainData(w.data) })) });
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
      return this.enqueue({ tree: writes.map((w) => ({ path: normalPath(w.path), value: toTree(w.value) })) });
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

  /** Waits for acknowledged writes, saves a snapshot, and releases the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    this.docWatchers.clear();
    this.treeWatchers.clear();
    try {
      if (this.journal.size > 0) await this.compact();
    } catch (err) {
      this.logger.error({ err: errorText(err) }, 'local store: final compaction failed (the journal still has everything)');
    } finally {
      this.journal.close();
      openDirs.delete(this.dir);
      await this.lock.release();
    }
  }
}

/** Opens the local store in `dir` (the service uses `<DATA_DIR>/store`). */
export const openLocalStore = (dir: string, options: LocalStoreOptions): Promise<LocalStore> => LocalStore.open(dir, options);
