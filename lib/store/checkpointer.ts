/**
 * SQLite's WAL checkpoints off the event loop (issue 25). Left to SQLite (`wal_autocheckpoint`,
 * 1000 pages), the commit that passes the mark copies the WAL into the database file and fsyncs
 * both on the thread that committed, the event loop: measured (bench/wal-checkpoint.ts,
 * BENCHMARKS.md) a 3-8 ms stall here at each one, a disk's whole fsync time on a slow one.
 *
 * So the service's connection has `wal_autocheckpoint = 0` and a worker thread with a connection
 * of its own runs `PRAGMA wal_checkpoint(PASSIVE)`: after every `CHECKPOINT_EVERY_COMMITS`
 * transactions (each writes at least one page, so never more often than SQLite would; counted by
 * the database, so a commit runs nothing here until one is due) and, when anything was
 * committed, every `everyMs` (so a few large transactions cannot grow the WAL for long). PASSIVE
 * neither waits for nor blocks the writer. The database's close runs the last checkpoint itself.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../base/log.js';

// CommonJS, run by the worker (eval): better-sqlite3 is resolved here and handed over, so it
// does not depend on the worker's working directory
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    process.exit(0); // ends this thread only
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage(String(err && err.message));
  }
});
`;

/** A checkpoint after this many transactions. */
export const CHECKPOINT_EVERY_COMMITS = 1000;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private warned = false;

  /** `committedSince` says (and forgets) whether anything was committed since the last checkpoint. */
  constructor(file: string, private readonly logger: Logger, committedSince: () => boolean, everyMs = 10_000) {
    // execArgv []: plain CommonJS needs no loader, and tsx's (under `npm run dev` and the specs) kept it from exiting
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { file, driver } });
    this.worker.unref();
    this.worker.on('message', (err: string) => this.warn(err));
    this.worker.on('error', (err) => this.warn(err.message));
    this.timer = setInterval(() => {
      if (committedSince()) this.run();
    }, everyMs);
    this.timer.unref();
  }

  /** Asks the worker for a checkpoint. */
  run(): void {
    this.worker.postMessage('checkpoint');
  }

  // a failed checkpoint only leaves the WAL longer (the next one or the close copies it): once is enough
  private warn(text: string): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn({ err: text }, 'database: a WAL checkpoint in the worker failed; the WAL grows until one succeeds');
  }

  /** Stops the worker (its connection closed first, so the service's is the last one). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref(); // at stop nothing else may keep the event loop alive until it has exited
    this.worker.postMessage('close');
    await exited;
  }
}
