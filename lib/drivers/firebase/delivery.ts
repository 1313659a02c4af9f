/**
 * What the Firestore and RTDB sinks share: accept write effects, keep them in the durable outbox
 * until the store has them, deliver them in order in batches, retry with backoff, and report.
 * This file is the I/O shell (outbox, commits, reports, logs); the queue itself, its batching,
 * coalescing, retries and stall alarm, is the state machine in `lib/store/delivery-queue.ts`.
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
import { Observable, Subject, type SchedulerLike } from 'rxjs';
import { truncate } from '../../core/protocol/errors.js';
import type { Logger } from '../../base/log.js';
import type { SinkName, SinkReport } from '../report.js';
import type { Effect } from '../../core/protocol/effects.js';
import { defaultBackoff, type Backoff } from '../../base/backoff.js';
import { delivery, type Job as QueueJob, type Note, type QueueRules } from '../../store/delivery-queue.js';
import type { Database } from '../../store/database.js';
import { Outbox } from '../../store/outbox.js';
import { errorText } from '../../base/error-text.js';

export interface DeliveryOptions {
  readonly logger: Logger;
  readonly backoff?: Backoff;
  /** One alert once accepted writes have made no progress for this long; default 60 s. */
  readonly alertAfterMs?: number;
  /** Most writes per commit; default 100. */
  readonly maxBatch?: number;
  /** Told how many accepted writes wait or are in flight, whenever that changes (a metric). */
  readonly onPending?: (count: number) => void;
  /** Where the retry backoff and the stall alarm wait; default `asyncScheduler` (tests pass a virtual one). */
  readonly scheduler?: SchedulerLike;
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
  /** Reads a write back from the outbox. */
  decode(u: unknown): W | undefined;
  describe(write: W): string;
  coalesceKey?(write: W): string;
  /** Whether `write` may join `batch` in one commit; default yes. */
  fits?(batch: readonly W[], write: W): boolean;
}

export type WriteDriver = (effect$: Observable<Effect>) => Observable<SinkReport>;

type Job<W> = QueueJob<W, Effect>;

export function deliver<W>(lane: Lane<W>, outboxDb: Database | undefined, options: DeliveryOptions): WriteDriver {
  const { logger } = options;
  const rules: QueueRules<W> = {
    maxBatch: Math.max(1, options.maxBatch ?? 100),
    alertAfterMs: options.alertAfterMs ?? 60_000,
    backoff: options.backoff ?? defaultBackoff,
    ...(lane.coalesceKey ? { coalesceKey: lane.coalesceKey } : {}),
    ...(lane.fits ? { fits: lane.fits } : {}),
  };

  return (effect$) => new Observable<SinkReport>((subscriber) => {
    let outbox: Outbox<W> | undefined;
    let ready = false;
    let incoming: Job<W>[] = [];
    let admitting = false;
    let inputDone = false;
    let stopped = false;
    let completing = false;

    const report = (r: SinkReport): void => {
      if (!stopped) subscriber.next(r);
    };
    const where = (): string => (outbox ? 'in the outbox' : 'in memory');
    const outboxDone = (jobs: readonly Job<W>[]): void => {
      const seqs = jobs.flatMap((job) => (job.seq === undefined ? [] : [job.seq]));
      if (seqs.length > 0) outbox?.done(seqs);
    };

    /** What the queue says, as outbox clean-up, reports, logs and the pending metric. */
    const perform = (note: Note<W, Effect>): void => {
      switch (note.kind) {
        case 'waiting':
          options.onPending?.(note.count);
          return;
        case 'replaced':
          outboxDone([note.job]);
          return;
        case 'delivered':
          outboxDone(note.jobs);
          for (const job of note.jobs) for (const effect of job.tags) report({ kind: 'done', sink: lane.sink, effect });
          options.onPending?.(note.waiting);
          if (note.recoveredAfterMs !== undefined) {
            const text = `${lane.label}: writes are getting through again after ${Math.round(note.recoveredAfterMs / 1000)} s` +
              (note.waiting > 0 ? ` (${note.waiting} still waiting)` : '');
            logger.warn({ sink: lane.sink, waiting: note.waiting }, `${lane.sink}: writes recovered`);
            report({ kind: 'alert', sink: lane.sink, level: 'warning', text });
          } else if (note.attempts > 1) {
            logger.info({ sink: lane.sink, attempts: note.attempts }, `${lane.sink}: write went through after retrying`);
          }
          return;
        case 'rejected':
          outboxDone([note.job]);
          logger.error({ sink: lane.sink, write: lane.describe(note.job.write), err: note.error }, `${lane.sink}: write rejected`);
          for (const effect of note.job.tags) report({ kind: 'failed', sink: lane.sink, effect, error: truncate(note.error) });
          options.onPending?.(note.waiting);
          return;
        case 'retrying':
          logger.warn({ sink: lane.sink, attempt: note.attempt, retryInMs: note.delayMs, waiting: note.waiting, err: note.error }, `${lane.sink}: write failed, retrying`);
          return;
        case 'stalled': {
          const why = note.lastError === undefined ? 'no answer yet' : `last error: ${note.lastError}`;
          const text = truncate(`${lane.label}: ${note.waiting} write(s) not delivered for ${Math.round(note.stalledMs / 1000)} s (${why}); they wait ${where()} and are retried`, 300);
          logger.error({ sink: lane.sink, waiting: note.waiting, err: note.lastError }, `${lane.sink}: writes are not getting through`);
          report({ kind: 'alert', sink: lane.sink, level: 'error', text });
        }
      }
    };

    // The queue is fed from the outbox's callbacks below, in the order they admit jobs.
    const admitted = new Subject<readonly Job<W>[]>();
    const queue = admitted.pipe(delivery<W, Effect>(rules, (writes) => lane.commit(writes), options.scheduler)).subscribe({
      next: perform,
      complete: () => {
        completing = true;
        const finish = (): void => {
          if (!stopped) subscriber.complete();
        };
        if (outbox) outbox.close().then(finish, (err: unknown) => {
          logger.error({ sink: lane.sink, err: errorText(err) }, `${lane.sink}: closing the outbox failed`);
          finish();
        });
        else finish();
      },
    });

    // ---- admission: effects -> outbox -> queue ----

    const maybeEnd = (): void => {
      if (inputDone && ready && !admitting && incoming.length === 0 && !stopped) admitted.complete();
    };

    const admit = (): void => {
      if (!ready || admitting || incoming.length === 0 || stopped) return;
      const jobs = incoming;
      incoming = [];
      if (!outbox) {
        admitted.next(jobs);
        return;
      }
      admitting = true;
      const seqs: (number | undefined)[] = [];
      outbox.add(jobs.map((job) => job.write)).then(
        (entries) => entries.forEach((entry, i) => {
          seqs[i] = entry.seq;
        }),
        (err: unknown) => {
          // Not durable, but Firebase may well be up: deliver from memory anyway.
          logger.error({ sink: lane.sink, err: errorText(err), writes: jobs.length }, `${lane.sink}: outbox write failed; these writes are kept in memory only`);
          report({ kind: 'alert', sink: lane.sink, level: 'error', text: truncate(`${lane.label}: the outbox cannot be written (${errorText(err)}); ${jobs.length} write(s) kept in memory only`, 300) });
        },
      ).finally(() => {
        admitting = false;
        if (stopped) return;
        admitted.next(jobs.map((job, i) => (seqs[i] === undefined ? job : { ...job, seq: seqs[i] })));
        admit();
        maybeEnd();
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
      incoming.push({ write, tags: [effect] });
      if (ready) queueMicrotask(admit);
    };

    // ---- start ----

    const start = async (): Promise<void> => {
      if (outboxDb !== undefined) {
        try {
          outbox = Outbox.open<W>(outboxDb, lane.sink, { logger, decode: lane.decode });
        } catch (err) {
          logger.error({ sink: lane.sink, err: errorText(err) }, `${lane.sink}: cannot open the outbox; writes are kept in memory only`);
          report({ kind: 'alert', sink: lane.sink, level: 'error', text: truncate(`${lane.label}: cannot open the outbox (${errorText(err)}); writes are kept in memory only`, 300) });
        }
        if (stopped) {
          await outbox?.close();
          return;
        }
        const restored = (outbox?.restored ?? []).map((entry) => ({ write: entry.item, tags: [lane.effectOf(entry.item)], seq: entry.seq }));
        if (restored.length > 0) admitted.next(restored);
      }
      ready = true;
      admit();
      maybeEnd();
    };

    const input = effect$.subscribe({
      next: accept,
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        inputDone = true;
        maybeEnd();
      },
    });
    void start();

    return () => {
      stopped = true;
      input.unsubscribe();
      queue.unsubscribe();
      // Whatever is not delivered stays in the outbox for the next run.
      if (!completing) {
        outbox?.close().catch((err: unknown) => logger.error({ sink: lane.sink, err: errorText(err) }, `${lane.sink}: closing the outbox failed`));
      }
    };
  });
}
