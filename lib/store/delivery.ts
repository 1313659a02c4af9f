/**
 * What the Firestore and RTDB sinks share: accept write effects, keep them in the durable outbox
 * until the store has them, deliver them in order in batches, retry with backoff, and report.
 *
 * - An effect that can never be written (bad id, path or value) is reported `failed` at once.
 * - Every other one is recorded in the outbox (when there is one) before it is attempted, so a
 *   crash or an outage loses nothing accepted; writes restored from the outbox go first.
 * - A transient failure puts the batch back at the head of the queue and waits `backoff(n)`;
 *   a permanent one splits the batch to find the culprit, which is reported `failed`.
 * - With `coalesceKey`, a waiting write is replaced by a newer one with the same key (both
 *   effects are reported `done` when the newer one lands).
 * - When writes have made no progress for `alertAfterMs`, ONE `alert` report says so; the first
 *   success after it raises the recovery alert.
 */
import { Observable } from 'rxjs';
import { truncate } from '../protocol/errors.js';
import type { Logger } from '../log.js';
import type { SinkName, SinkReport } from '../sinks/report.js';
import type { Effect } from '../streams/effects.js';
import { defaultBackoff, type Backoff } from './backoff.js';
import { Outbox } from './outbox.js';
import { errorText, isPermanent } from './types.js';

export interface DeliveryOptions {
  readonly logger: Logger;
  readonly backoff?: Backoff;
  /** One alert once accepted writes have made no progress for this long; default 60 s. */
  readonly alertAfterMs?: number;
  /** Most writes per commit; default 100. */
  readonly maxBatch?: number;
  /** Told how many accepted writes wait or are in flight, whenever that changes (a metric). */
  readonly onPending?: (count: number) => void;
}

/** How one sink turns effects into writes and makes them. */
export interface Lane<W> {
  readonly sink: SinkName;
  /** Used in alert texts, e.g. "Firestore". */
  readonly label: string;
  /** The write an effect asks for, or undefined when the effect is not for this sink. */
  accept(effect: Effect): W | undefined;
  /** The effect a write restored from the outbox stands for (for its report). */
  effectOf(write: W): Effect;
  /** Why the write can never be made, or undefined. */
  check(write: W): string | undefined;
  commit(writes: readonly W[]): Promise<void>;
  /** Reads a write back from the outbox file. */
  decode(u: unknown): W | undefined;
  describe(write: W): string;
  coalesceKey?(write: W): string;
  /** Whether `write` may join `batch` in one commit; default yes. */
  fits?(batch: readonly W[], write: W): boolean;
}

export type WriteDriver = (effect$: Observable<Effect>) => Observable<SinkReport>;

interface Job<W> {
  readonly write: W;
  readonly effects: Effect[];
  seq?: number;
}

export function deliver<W>(lane: Lane<W>, outboxFile: string | undefined, options: DeliveryOptions): WriteDriver {
  const { logger } = options;
  const backoff = options.backoff ?? defaultBackoff;
  const alertAfterMs = options.alertAfterMs ?? 60_000;
  const maxBatch = Math.max(1, options.maxBatch ?? 100);

  return (effect$) => new Observable<SinkReport>((subscriber) => {
    let outbox: Outbox<W> | undefined;
    let ready = false;
    let incoming: Job<W>[] = [];
    let admitting = false;
    const queue: Job<W>[] = [];
    const waitingByKey = new Map<string, Job<W>>();
    let inFlight: Job<W>[] = [];
    let working = false;
    let kicked = false;
    let inputDone = false;
    let stopped = false;
    let completing = false;
    let isolate = 0;
    let failures = 0;
    let lastError: string | undefined;
    let progressAt = Date.now();
    let alertedAt: number | undefined;
    let alertTimer: ReturnType<typeof setTimeout> | undefined;
    let sleepTimer: ReturnType<typeof setTimeout> | undefined;
    let wakeUp: (() => void) | undefined;

    const report = (r: SinkReport): void => {
      if (!stopped) subscriber.next(r);
    };
    const pending = (): number => queue.length + inFlight.length;
    const where = (): string => (outbox ? 'in the outbox' : 'in memory');

    // ---- the alert watchdog ----

    const checkAlert = (): void => {
      alertTimer = undefined;
      if (stopped || alertedAt !== undefined || pending() === 0) return;
      const stalled = Date.now() - progressAt;
      if (stalled < alertAfterMs) {
        armAlert();
        return;
      }
      alertedAt = progressAt;
      const why = lastError === undefined ? 'no answer yet' : `last error: ${lastError}`;
      const text = truncate(`${lane.label}: ${pending()} write(s) not delivered for ${Math.round(stalled / 1000)} s (${why}); they wait ${where()} and are retried`, 300);
      logger.error({ sink: lane.sink, waiting: pending(), err: lastError }, `${lane.sink}: writes are not getting through`);
      report({ kind: 'alert', sink: lane.sink, level: 'error', text });
    };

    function armAlert(): void {
      if (alertTimer !== undefined || alertedAt !== undefined || stopped || pending() === 0) return;
      alertTimer = setTimeout(checkAlert, Math.max(0, progressAt + alertAfterMs - Date.now()));
    }

    // ---- the queue ----

    const dropCoalesced = (older: Job<W>, newer: Job<W>): void => {
      newer.effects.unshift(...older.effects);
      if (older.seq !== undefined) outbox?.done([older.seq]);
    };

    /** Adds a job at the tail (or, for `front`, jobs back at the head), replacing waiting ones with its key. */
    const enqueue = (job: Job<W>): void => {
      if (pending() === 0) progressAt = Date.now();
      const key = lane.coalesceKey?.(job.write);
      if (key !== undefined) {
        const older = waitingByKey.get(key);
        if (older) {
          queue.splice(queue.indexOf(older), 1);
          dropCoalesced(older, job);
        }
        waitingByKey.set(key, job);
      }
      queue.push(job);
      options.onPending?.(pending());
      armAlert();
    };

    /** Puts a batch that did not go through back at the head, unless newer writes replaced its jobs. */
    const putBack = (batch: readonly Job<W>[]): void => {
      const kept: Job<W>[] = [];
      for (const job of batch) {
        const key = lane.coalesceKey?.(job.write);
        const newer = key === undefined ? undefined : waitingByKey.get(key);
        if (newer) dropCoalesced(job, newer);
        else {
          if (key !== undefined) waitingByKey.set(key, job);
          kept.push(job);
        }
      }
      queue.unshift(...kept);
    };

    const takeBatch = (): Job<W>[] => {
      const limit = isolate > 0 ? 1 : maxBatch;
      const batch: Job<W>[] = [];
      const writes: W[] = [];
      while (batch.length < limit && queue.length > 0) {
        const next = queue[0] as Job<W>;
        if (batch.length > 0 && lane.fits && !lane.fits(writes, next.write)) break;
        queue.shift();
        batch.push(next);
        writes.push(next.write);
        const key = lane.coalesceKey?.(next.write);
        if (key !== undefined && waitingByKey.get(key) === next) waitingByKey.delete(key);
      }
      if (isolate > 0) isolate -= batch.length;
      return batch;
    };

    const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => {
      wakeUp = resolve;
      sleepTimer = setTimeout(resolve, ms);
    }).finally(() => {
      sleepTimer = undefined;
      wakeUp = undefined;
    });

    const succeeded = (batch: readonly Job<W>[]): void => {
      const seqs = batch.flatMap((job) => (job.seq === undefined ? [] : [job.seq]));
      if (seqs.length > 0) outbox?.done(seqs);
      for (const job of batch) for (const effect of job.effects) report({ kind: 'done', sink: lane.sink, effect });
      options.onPending?.(pending());
      const now = Date.now();
      if (alertedAt !== undefined) {
        const text = `${lane.label}: writes are getting through again after ${Math.round((now - alertedAt) / 1000)} s` +
          (pending() > 0 ? ` (${pending()} still waiting)` : '');
        logger.warn({ sink: lane.sink, waiting: pending() }, `${lane.sink}: writes recovered`);
        report({ kind: 'alert', sink: lane.sink, level: 'warning', text });
      } else if (failures > 0) {
        logger.info({ sink: lane.sink, attempts: failures + 1 }, `${lane.sink}: write went through after retrying`);
      }
      alertedAt = undefined;
      failures = 0;
      lastError = undefined;
      progressAt = now;
      armAlert();
    };

    const givenUp = (job: Job<W>, error: string): void => {
      if (job.seq !== undefined) outbox?.done([job.seq]);
      logger.error({ sink: lane.sink, write: lane.describe(job.write), err: error }, `${lane.sink}: write rejected`);
      for (const effect of job.effects) report({ kind: 'failed', sink: lane.sink, effect, error: truncate(error) });
      options.onPending?.(pending());
      progressAt = Date.now();
    };

    const work = async (): Promise<void> => {
      if (working) return;
      working = true;
      try {
        while (!stopped && queue.length > 0) {
          const batch = takeBatch();
          inFlight = batch;
          try {
            await lane.commit(batch.map((job) => job.write));
            inFlight = [];
            if (stopped) return;
            succeeded(batch);
          } catch (err) {
            inFlight = [];
            if (stopped) return;
            if (isPermanent(err)) {
              if (batch.length > 1) {
                // One of them is bad: go through them one by one.
                putBack(batch);
                isolate = batch.length;
              } else {
                givenUp(batch[0] as Job<W>, errorText(err));
              }
              continue;
            }
            failures++;
            lastError = errorText(err);
            putBack(batch);
            const delay = backoff(failures);
            logger.warn({ sink: lane.sink, attempt: failures, retryInMs: delay, waiting: pending(), err: lastError }, `${lane.sink}: write failed, retrying`);
            await sleep(delay);
          }
        }
      } finally {
        working = false;
        maybeComplete();
      }
    };

    const kick = (): void => {
      if (kicked || working || stopped) return;
      kicked = true;
      // Let a synchronous burst of effects gather first, so it goes out in few commits.
      queueMicrotask(() => {
        kicked = false;
        void work();
      });
    };

    // ---- admission: effects -> outbox -> queue ----

    const admit = (): void => {
      if (!ready || admitting || incoming.length === 0 || stopped) return;
      const jobs = incoming;
      incoming = [];
      if (!outbox) {
        jobs.forEach(enqueue);
        kick();
        return;
      }
      admitting = true;
      outbox.add(jobs.map((job) => job.write)).then(
        (entries) => entries.forEach((entry, i) => {
          const job = jobs[i];
          if (job) job.seq = entry.seq;
        }),
        (err: unknown) => {
          // Not durable, but Firebase may well be up: deliver from memory anyway.
          logger.error({ sink: lane.sink, err: errorText(err), writes: jobs.length }, `${lane.sink}: outbox write failed; these writes are kept in memory only`);
          report({ kind: 'alert', sink: lane.sink, level: 'error', text: truncate(`${lane.label}: the outbox cannot be written (${errorText(err)}); ${jobs.length} write(s) kept in memory only`, 300) });
        },
      ).finally(() => {
        admitting = false;
        if (stopped) return;
        jobs.forEach(enqueue);
        kick();
        admit();
        maybeComplete();
      });
    };

    const accept = (effect: Effect): void => {
      const write = lane.accept(effect);
      if (write === undefined) return;
      const problem = lane.check(write);
      if (problem !== undefined) {
        logger.warn({ sink: lane.sink, err: problem }, `${lane.sink}: invalid write`);
        report({ kind: 'failed', sink: lane.sink, effect, error: truncate(problem) });
        return;
      }
      incoming.push({ write, effects: [effect] });
      if (ready) queueMicrotask(admit);
    };

    function maybeComplete(): void {
      if (!inputDone || !ready || completing || stopped || admitting || working || incoming.length > 0 || pending() > 0) return;
      completing = true;
      const finish = (): void => {
        if (!stopped) subscriber.complete();
      };
      if (outbox) outbox.close().then(finish, (err: unknown) => {
        logger.error({ sink: lane.sink, err: errorText(err) }, `${lane.sink}: closing the outbox failed`);
        finish();
      });
      else finish();
    }

    // ---- start ----

    const start = async (): Promise<void> => {
      if (outboxFile !== undefined) {
        try {
          outbox = await Outbox.open<W>(outboxFile, { logger, decode: lane.decode });
        } catch (err) {
          logger.error({ sink: lane.sink, file: outboxFile, err: errorText(err) }, `${lane.sink}: cannot open the outbox; writes are kept in memory only`);
          report({ kind: 'alert', sink: lane.sink, level: 'error', text: truncate(`${lane.label}: cannot open the outbox ${outboxFile} (${errorText(err)}); writes are kept in memory only`, 300) });
        }
        if (stopped) {
          await outbox?.close();
          return;
        }
        for (const entry of outbox?.restored ?? []) {
          enqueue({ write: entry.item, effects: [lane.effectOf(entry.item)], seq: entry.seq });
        }
      }
      ready = true;
      kick();
      admit();
      maybeComplete();
    };

    const input = effect$.subscribe({
      next: accept,
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        inputDone = true;
        maybeComplete();
      },
    });
    void start();

    return () => {
      stopped = true;
      input.unsubscribe();
      if (alertTimer !== undefined) clearTimeout(alertTimer);
      if (sleepTimer !== undefined) clearTimeout(sleepTimer);
      wakeUp?.();
      // Whatever is not delivered stays in the outbox for the next run.
      if (!completing) {
        outbox?.close().catch((err: unknown) => logger.error({ sink: lane.sink, err: errorText(err) }, `${lane.sink}: closing the outbox failed`));
      }
    };
  });
}
