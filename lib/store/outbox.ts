/**
 * The durable outbox: writes a sink has accepted but not yet delivered (when the store is
 * Firebase), as rows of the table `outbox` in DATA_DIR's database (docs/storage.md). `add`
 * resolves once its rows are durable, in the database's transaction of that turn of the event
 * loop (with whatever else was written then); `done` deletes them, not waited for: after a crash
 * they are delivered again (every write is idempotent). Opening yields what a previous run left,
 * oldest first.
 */
import type { Logger } from '../base/log.js';
import type { Database } from './database.js';

export interface OutboxEntry<T> {
  readonly seq: number;
  readonly item: T;
}

export interface OutboxOptions<T> {
  readonly logger: Logger;
  /** Checks an item read back; `undefined` drops it (logged). */
  readonly decode: (u: unknown) => T | undefined;
}

export class Outbox<T> {
  private readonly waitingSeqs = new Set<number>();
  private closed = false;

  private constructor(
    private readonly db: Database,
    readonly sink: string,
    private nextSeq: number,
    /** What a previous run accepted and did not deliver, oldest first. */
    readonly restored: readonly OutboxEntry<T>[],
  ) {
    for (const entry of restored) this.waitingSeqs.add(entry.seq);
  }

  /** The outbox of `sink` ('firestore', 'rtdb') in `db`. */
  static open<T>(db: Database, sink: string, options: OutboxOptions<T>): Outbox<T> {
    const rows = db.sql.prepare('SELECT seq, item FROM outbox WHERE sink = ? ORDER BY seq').all(sink) as { seq: number; item: string }[];
    const restored: OutboxEntry<T>[] = [];
    const bad: number[] = [];
    for (const row of rows) {
      let item: T | undefined;
      try {
        item = options.decode(JSON.parse(row.item));
      } catch {
        item = undefined;
      }
      if (item === undefined) bad.push(row.seq);
      else restored.push({ seq: row.seq, item });
    }
    if (bad.length > 0) {
      options.logger.error({ sink, seqs: bad }, 'outbox: dropping entries that are not valid writes');
      const remove = db.sql.prepare('DELETE FROM outbox WHERE sink = ? AND seq = ?');
      for (const seq of bad) remove.run(sink, seq);
    }
    if (restored.length > 0) options.logger.warn({ sink, waiting: restored.length }, 'outbox: writes from a previous run are waiting');
    const last = rows.at(-1)?.seq ?? 0;
    return new Outbox(db, sink, last + 1, restored);
  }

  /** How many accepted writes are not delivered yet. */
  get waiting(): number {
    return this.waitingSeqs.size;
  }

  /** Records the items; resolves with their entries once they are durable. */
  add(items: readonly T[]): Promise<OutboxEntry<T>[]> {
    if (this.closed) return Promise.reject(new Error('outbox is closed'));
    const entries = items.map((item) => ({ seq: this.nextSeq++, item }));
    const at = new Date().toISOString();
    return this.db.write(() => {
      const insert = this.db.sql.prepare('INSERT INTO outbox (sink, seq, at, item) VALUES (?, ?, ?, ?)');
      for (const e of entries) insert.run(this.sink, e.seq, at, JSON.stringify(e.item));
    }).then(() => {
      for (const e of entries) this.waitingSeqs.add(e.seq);
      return entries;
    });
  }

  /** Marks entries delivered (or given up): their rows go. Not waited for. */
  done(seqs: readonly number[]): void {
    const known = seqs.filter((seq) => this.waitingSeqs.delete(seq));
    if (known.length === 0 || this.closed) return;
    this.db.write(() => {
      const remove = this.db.sql.prepare('DELETE FROM outbox WHERE sink = ? AND seq = ?');
      for (const seq of known) remove.run(this.sink, seq);
    }).catch(() => undefined); // lost marks only mean that those writes are delivered again after a restart
  }

  /** No more writes; waiting entries stay for the next run. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
