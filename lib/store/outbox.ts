/**
 * The durable outbox: writes a sink has accepted but not yet delivered, in an append-only NDJSON
 * file (`<DATA_DIR>/outbox/<sink>.ndjson`, see docs/storage.md):
 *
 *   {"seq":1,"at":"2026-01-02T03:04:05.000Z","item":{...}}   an accepted write (fdatasync'ed before `add` resolves)
 *   {"done":[1,2]}                                              delivered (or given up) writes
 *
 * Opening it yields the entries without a `done`, oldest first, and rewrites the file to just
 * those. Once everything is delivered and the file has grown, it is emptied. A torn last line
 * (a crash while appending) is cut off: it was never acknowledged (see `append-log.ts`).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errorText } from '../base/error-text.js';
import type { Logger } from '../base/log.js';
import { AppendLog } from './append-log.js';
import { isPlainObject } from './data.js';
import { fsyncDir } from './files.js';

export interface OutboxEntry<T> {
  readonly seq: number;
  readonly item: T;
}

export interface OutboxOptions<T> {
  readonly logger: Logger;
  /** Checks an item read back from the file; `undefined` drops it (logged). */
  readonly decode: (u: unknown) => T | undefined;
  /** Empty the file once nothing waits and it is at least this long; default 1 MiB. */
  readonly compactBytes?: number;
}

interface Adding<T> {
  readonly entries: OutboxEntry<T>[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class Outbox<T> {
  private adding: Adding<T>[] = [];
  private finished: number[] = [];
  private readonly waitingSeqs = new Set<number>();
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly log: AppendLog,
    private nextSeq: number,
    /** What a previous run accepted and did not deliver, oldest first. */
    readonly restored: readonly OutboxEntry<T>[],
    private readonly logger: Logger,
    private readonly compactBytes: number,
  ) {
    for (const entry of restored) this.waitingSeqs.add(entry.seq);
  }

  static async open<T>(file: string, options: OutboxOptions<T>): Promise<Outbox<T>> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const log = AppendLog.open(file, { logger: options.logger, owner: 'outbox' });
    const entries = new Map<number, OutboxEntry<T>>();
    let maxSeq = 0;
    for (const record of log.records) {
      if (!isPlainObject(record)) continue;
      if (Array.isArray(record.done)) {
        for (const seq of record.done) if (typeof seq === 'number') entries.delete(seq);
      } else if (typeof record.seq === 'number') {
        maxSeq = Math.max(maxSeq, record.seq);
        const item = options.decode(record.item);
        if (item === undefined) options.logger.error({ file, seq: record.seq }, 'outbox: dropping an entry that is not a valid write');
        else entries.set(record.seq, { seq: record.seq, item });
      }
    }
    const restored = [...entries.values()].sort((a, b) => a.seq - b.seq);
    // Start from just the waiting entries.
    const text = restored.map((e) => `${JSON.stringify({ seq: e.seq, at: new Date().toISOString(), item: e.item })}\n`).join('');
    try {
      if (log.size !== Buffer.byteLength(text)) await log.replace(text);
      if (log.size === 0) await fsyncDir(path.dirname(file));
    } catch (err) {
      log.close();
      throw err;
    }
    if (restored.length > 0) options.logger.warn({ file, waiting: restored.length }, 'outbox: writes from a previous run are waiting');
    return new Outbox(file, log, maxSeq + 1, restored, options.logger, options.compactBytes ?? 1024 * 1024);
  }

  /** How many accepted writes are not delivered yet. */
  get waiting(): number {
    return this.waitingSeqs.size;
  }

  /** Records the items; resolves with their entries once they are on disk (fdatasync). */
  add(items: readonly T[]): Promise<OutboxEntry<T>[]> {
    if (this.closed) return Promise.reject(new Error('outbox is closed'));
    const entries = items.map((item) => ({ seq: this.nextSeq++, item }));
    return new Promise<OutboxEntry<T>[]>((resolve, reject) => {
      this.adding.push({ entries, resolve: () => resolve(entries), reject });
      this.kick();
    });
  }

  /** Marks entries delivered (or given up). Not synced: after a crash they may be delivered again. */
  done(seqs: readonly number[]): void {
    const known = seqs.filter((seq) => this.waitingSeqs.delete(seq));
    if (known.length === 0 || this.closed) return;
    this.finished.push(...known);
    this.kick();
  }

  private kick(): void {
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.adding.length > 0 || this.finished.length > 0) await this.flushBatch();
    } finally {
      this.flushing = undefined;
    }
  }

  private async flushBatch(): Promise<void> {
    const adding = this.adding;
    const finished = this.finished;
    this.adding = [];
    this.finished = [];
    const at = new Date().toISOString();
    let text = '';
    for (const a of adding) for (const e of a.entries) text += `${JSON.stringify({ seq: e.seq, at, item: e.item })}\n`;
    if (finished.length > 0) text += `${JSON.stringify({ done: finished })}\n`;
    try {
      // on failure the log is cut back: nothing of this batch was acknowledged
      if (adding.length > 0) await this.log.appendDurably(text);
      else this.log.append(text);
    } catch (err) {
      this.logger.error({ file: this.file, err: errorText(err) }, 'outbox: write failed');
      const error = new Error(`outbox ${this.file}: ${errorText(err)}`, { cause: err });
      for (const a of adding) a.reject(error);
      // Lost `done` marks only mean that those writes are delivered again after a restart.
      return;
    }
    for (const a of adding) {
      for (const e of a.entries) this.waitingSeqs.add(e.seq);
      a.resolve();
    }
    if (this.waitingSeqs.size === 0 && this.adding.length === 0 && this.log.size >= this.compactBytes) this.log.truncate(0);
  }

  /** Finishes pending file writes and releases the file; waiting entries stay for the next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    if (this.waitingSeqs.size === 0 && this.log.size > 0) {
      try {
        this.log.truncate(0);
      } catch {
        // the entries are all done: reading them back next time finds nothing waiting
      }
    }
    this.log.close();
  }
}
