/**
 * The tables of `DATA_DIR/smarthome.db` (issue 25; docs/storage.md shows them). Everything
 * durable but the event journal: the local store's documents and tree, the outbox of the sinks
 * when the store is Firebase, and the service's own state (schedule occurrences, heartbeat,
 * tracked status, the journal's checkpoint, the pid of the running service). Values are JSON text,
 * so `sqlite3 smarthome.db 'select * from documents'` reads them as they are.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS documents (
  collection TEXT NOT NULL,
  id         TEXT NOT NULL,
  data       TEXT NOT NULL,   -- the fields, JSON
  written_at INTEGER,         -- epoch ms of the last write that changed it (Firestore's update time)
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tree (
  key   TEXT PRIMARY KEY,     -- a top-level key of the RTDB tree: smarthome, sensor, server
  value TEXT NOT NULL         -- its subtree as the RTDB stores it (arrays as objects), JSON
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS outbox (
  sink TEXT    NOT NULL,      -- firestore | rtdb
  seq  INTEGER NOT NULL,
  at   TEXT    NOT NULL,      -- when it was accepted, ISO-8601
  item TEXT    NOT NULL,      -- the write, JSON; the row goes once it is delivered (or given up)
  PRIMARY KEY (sink, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS schedule_fired (
  schedule   TEXT PRIMARY KEY,
  occurrence INTEGER NOT NULL -- the last occurrence handled, local wall-clock minutes
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS service (
  key   TEXT PRIMARY KEY,     -- last_tick_at, status, checkpoint, pid
  value TEXT NOT NULL         -- JSON
) WITHOUT ROWID;
`;
