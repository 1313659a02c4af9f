/**
 * A DATA_DIR of the file store before issue 25, imported into its database once, at start:
 *
 *   store/snapshot.json + store/journal.ndjson   documents and tree (the journal lines after the snapshot's seq)
 *   state.json, heartbeat.json                   schedule occurrences, last tick (the newer file's) and status
 *   events/checkpoint.json                       the event journal's checkpoint
 *   outbox/firestore.ndjson, outbox/rtdb.ndjson  writes accepted and not yet delivered (no `done`)
 *   LOCK, store/LOCK, LOCK.sock, *.tmp           left by the old locks and atomic replaces
 *
 * The formats are those docs/storage.md described then. Everything goes in one transaction; the
 * old files are removed only once it is committed and synced, so a crash in between imports
 * them again on the next start (every row is written with INSERT OR REPLACE: the same result).
 * A torn last journal or outbox line (a write cut off by a crash, never acknowledged) is left out.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../base/log.js';
import { isPlainObject, mergeData, pathKeys, withNode, type TreeNode } from './data.js';
import type { Database } from './database.js';
import { parseJson, scanLines } from './files.js';
import type { DocData } from './types.js';

const OLD_FILES = [
  'store/snapshot.json', 'store/journal.ndjson', 'store/LOCK', 'store/LOCK.sock', 'store/snapshot.json.tmp',
  'state.json', 'state.json.tmp', 'heartbeat.json', 'heartbeat.json.tmp',
  'events/checkpoint.json', 'events/checkpoint.json.tmp',
  'outbox/firestore.ndjson', 'outbox/rtdb.ndjson', 'outbox/firestore.ndjson.tmp', 'outbox/rtdb.ndjson.tmp',
  'LOCK', 'LOCK.sock',
];
const OLD_DIRS = ['store', 'outbox'];

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  return parseJson(readFileSync(file, 'utf8'));
}

/** The complete lines of an append-only file (a torn tail left out). */
const readLines = (file: string): unknown[] => (existsSync(file) ? scanLines(readFileSync(file), file, parseJson).records : []);

interface Docs {
  readonly data: Map<string, DocData>;
  readonly at: Map<string, number>;
}

/** The local store's documents and tree as its snapshot and journal left them. */
function readOldStore(dir: string): { docs: Docs; tree: TreeNode | null } {
  const docs: Docs = { data: new Map(), at: new Map() };
  let tree: TreeNode | null = null;
  let seq = 0;
  const snapshot = readJson(path.join(dir, 'snapshot.json'));
  if (isPlainObject(snapshot) && isPlainObject(snapshot.collections)) {
    for (const [collection, byId] of Object.entries(snapshot.collections)) {
      for (const [id, data] of Object.entries(isPlainObject(byId) ? byId : {})) docs.data.set(`${collection}/${id}`, data as DocData);
    }
    for (const [collection, byId] of Object.entries(isPlainObject(snapshot.writtenAt) ? snapshot.writtenAt : {})) {
      for (const [id, at] of Object.entries(isPlainObject(byId) ? byId : {})) if (typeof at === 'number') docs.at.set(`${collection}/${id}`, at);
    }
    tree = (snapshot.tree ?? null) as TreeNode | null;
    seq = typeof snapshot.seq === 'number' ? snapshot.seq : 0;
  }
  for (const record of readLines(path.join(dir, 'journal.ndjson'))) {
    if (!isPlainObject(record) || typeof record.seq !== 'number' || record.seq <= seq) continue;
    const at = Date.parse(String(record.at));
    for (const w of Array.isArray(record.docs) ? record.docs as { op: string; collection: string; id: string; data?: DocData }[] : []) {
      const key = `${w.collection}/${w.id}`;
      if (w.op === 'delete') {
        docs.data.delete(key);
        docs.at.delete(key);
      } else {
        docs.data.set(key, w.op === 'merge' ? mergeData(docs.data.get(key) ?? {}, w.data ?? {}) : w.data ?? {});
        if (Number.isFinite(at)) docs.at.set(key, at);
      }
    }
    for (const w of Array.isArray(record.tree) ? record.tree as { path: string; value: TreeNode | null }[] : []) {
      tree = withNode(tree, pathKeys(w.path), w.value);
    }
  }
  return { docs, tree };
}

/** The entries of an old outbox file without a `done` mark. */
function readOldOutbox(file: string): { seq: number; at: string; item: unknown }[] {
  const entries = new Map<number, { seq: number; at: string; item: unknown }>();
  for (const record of readLines(file)) {
    if (!isPlainObject(record)) continue;
    if (Array.isArray(record.done)) for (const seq of record.done) entries.delete(seq as number);
    else if (typeof record.seq === 'number') entries.set(record.seq, { seq: record.seq, at: String(record.at), item: record.item });
  }
  return [...entries.values()].sort((a, b) => a.seq - b.seq);
}

/** Imports what the file store left in `dataDir` (nothing when there is none) and removes it. */
export async function importFileStore(db: Database, dataDir: string, logger: Logger): Promise<void> {
  const found = OLD_FILES.filter((f) => existsSync(path.join(dataDir, f)));
  if (found.length === 0) return;
  const { docs, tree } = readOldStore(path.join(dataDir, 'store'));
  const state = readJson(path.join(dataDir, 'state.json'));
  const beat = readJson(path.join(dataDir, 'heartbeat.json'));
  const checkpoint = readJson(path.join(dataDir, 'events', 'checkpoint.json'));
  const outboxes = ['firestore', 'rtdb'].map((sink) => ({ sink, entries: readOldOutbox(path.join(dataDir, 'outbox', `${sink}.ndjson`)) }));
  const { sql } = db;
  await db.write(() => {
    const doc = sql.prepare('INSERT OR REPLACE INTO documents (collection, id, data, written_at) VALUES (?, ?, ?, ?)');
    for (const [key, data] of docs.data) {
      const slash = key.indexOf('/');
      doc.run(key.slice(0, slash), key.slice(slash + 1), JSON.stringify(data), docs.at.get(key) ?? null);
    }
    const node = sql.prepare('INSERT OR REPLACE INTO tree (key, value) VALUES (?, ?)');
    if (tree !== null && typeof tree === 'object') for (const [key, value] of Object.entries(tree)) node.run(key, JSON.stringify(value));
    const fired = sql.prepare('INSERT OR REPLACE INTO schedule_fired (schedule, occurrence) VALUES (?, ?)');
    const scheduleFired = isPlainObject(state) && isPlainObject(state.scheduleFired) ? state.scheduleFired : {};
    for (const [id, occurrence] of Object.entries(scheduleFired)) if (typeof occurrence === 'number') fired.run(id, occurrence);
    // as the file store read them: the newer lastTickAt of the two files, with its status
    const tick = (u: unknown): number => (isPlainObject(u) && typeof u.lastTickAt === 'number' ? u.lastTickAt : -Infinity);
    const newer = tick(beat) > tick(state) ? beat : state;
    const service = sql.prepare('INSERT OR REPLACE INTO service (key, value) VALUES (?, ?)');
    if (isPlainObject(newer) && typeof newer.lastTickAt === 'number') service.run('last_tick_at', JSON.stringify(newer.lastTickAt));
    if (isPlainObject(newer) && typeof newer.status === 'string') service.run('status', JSON.stringify(newer.status));
    if (isPlainObject(checkpoint) && typeof checkpoint.seq === 'number') service.run('checkpoint', JSON.stringify(checkpoint));
    const outbox = sql.prepare('INSERT OR REPLACE INTO outbox (sink, seq, at, item) VALUES (?, ?, ?, ?)');
    for (const { sink, entries } of outboxes) for (const e of entries) outbox.run(sink, e.seq, e.at, JSON.stringify(e.item));
  });
  for (const f of found) rmSync(path.join(dataDir, f), { force: true });
  for (const d of OLD_DIRS) rmSync(path.join(dataDir, d), { recursive: true, force: true });
  logger.info({
    file: db.file, documents: docs.data.size, schedules: Object.keys(isPlainObject(state) && isPlainObject(state.scheduleFired) ? state.scheduleFired : {}).length,
    outbox: outboxes.reduce((n, o) => n + o.entries.length, 0), removed: found,
  }, 'imported the file store of DATA_DIR into its database (once; the old files are removed)');
}
