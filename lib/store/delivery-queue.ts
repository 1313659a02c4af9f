/**
 * The delivery queue of the Firestore and RTDB writers, without I/O: what to commit next, in
 * which batch, when to retry, which waiting write a newer one replaces, and when writes have
 * stalled long enough for an alert. `lib/drivers/firebase/delivery.ts` is the shell around it (outbox,
 * reports, logs).
 *
 * - `DeliveryState` is the state machine: each input (`admit`, `committed`, `failed`, `woke`,
 *   `alarm`, `end`) changes the state and returns the steps that follow, as data. The time is
 *   an argument; it does no I/O and reads no clock.
 * - `delivery()` runs it on a scheduler: it makes the commits it asks for, keeps its two timers
 *   (the retry backoff and the stall alarm) on the scheduler, and emits the notes. With a
 *   `TestScheduler` the whole queue runs on virtual time (spec/store/delivery-queue.spec.ts).
 */
import { asyncScheduler, defer, Observable, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Backoff } from '../base/backoff.js';
import { errorText } from '../base/error-text.js';
import { isPermanent } from './types.js';

/**
 * One write waiting or in flight, with what it stands for (`tags`, the effects reported when it
 * lands or fails) and its outbox entry. `tags` grows when it replaces older writes with its key.
 */
export interface Job<W, T> {
  readonly write: W;
  readonly tags: T[];
  readonly seq?: number;
}

export interface QueueRules<W> {
  /** Most writes per commit. */
  readonly maxBatch: number;
  /** One `stalled` note once accepted writes have made no progress for this long. */
  readonly alertAfterMs: number;
  readonly backoff: Backoff;
  /** Writes with the same key replace each other while they wait. */
  coalesceKey?(write: W): string;
  /** Whether `write` may join `batch` in one commit; default yes. */
  fits?(batch: readonly W[], write: W): boolean;
}

/** What happened, for the shell to report, log and clear from the outbox. */
export type Note<W, T> =
  /** How many accepted writes wait or are in flight (after a change). */
  | { readonly kind: 'waiting'; readonly count: number }
  /** A waiting write was replaced by a newer one with its key (which took over its tags). */
  | { readonly kind: 'replaced'; readonly job: Job<W, T> }
  /** A commit went through; `recoveredAfterMs` when a `stalled` note was given before it. */
  | { readonly kind: 'delivered'; readonly jobs: readonly Job<W, T>[]; readonly waiting: number; readonly attempts: number; readonly recoveredAfterMs?: number }
  /** A write the store refuses for good. */
  | { readonly kind: 'rejected'; readonly job: Job<W, T>; readonly error: string; readonly waiting: number }
  /** A commit failed for now; the next try is in `delayMs`. */
  | { readonly kind: 'retrying'; readonly attempt: number; readonly delayMs: number; readonly waiting: number; readonly error: string }
  /** No progress for `stalledMs` (once, until the next success). */
  | { readonly kind: 'stalled'; readonly waiting: number; readonly stalledMs: number; readonly lastError: string | undefined };

/** A note, or what the runner must do next. */
export type Step<W, T> =
  | Note<W, T>
  | { readonly kind: 'commit'; readonly jobs: readonly Job<W, T>[] }
  | { readonly kind: 'sleep'; readonly ms: number }
  | { readonly kind: 'alarm'; readonly ms: number }
  | { readonly kind: 'complete' };

/** The queue as a state machine (see the header). */
export class DeliveryState<W, T> {
  private readonly queue: Job<W, T>[] = [];
  /** The waiting job of each coalescing key. */
  private readonly waitingByKey = new Map<string, Job<W, T>>();
  private inFlight: readonly Job<W, T>[] = [];
  private phase: 'idle' | 'committing' | 'sleeping' = 'idle';
  /** How many of the next jobs go one by one (to find the one a batch was refused for). */
  private isolate = 0;
  private failures = 0;
  private lastError: string | undefined;
  private progressAt: number;
  private alertedAt: number | undefined;
  private alarmSet = false;
  private inputDone = false;
  private steps: Step<W, T>[] = [];

  constructor(private readonly rules: QueueRules<W>, now: number) {
    this.progressAt = now;
  }

  /** Accepted writes join the queue (restored ones first, then in the order accepted). */
  admit(jobs: readonly Job<W, T>[], now: number): Step<W, T>[] {
    for (const job of jobs) this.enqueue(job, now);
    if (this.phase === 'idle') this.next();
    return this.take();
  }

  committed(now: number): Step<W, T>[] {
    const batch = this.inFlight;
    this.inFlight = [];
    this.steps.push({
      kind: 'delivered',
      jobs: batch,
      waiting: this.pending(),
      attempts: this.failures + 1,
      ...(this.alertedAt === undefined ? {} : { recoveredAfterMs: now - this.alertedAt }),
    });
    this.alertedAt = undefined;
    this.failures = 0;
    this.lastError = undefined;
    this.progressAt = now;
    this.armAlarm(now);
    this.next();
    return this.take();
  }

  failed(err: unknown, now: number): Step<W, T>[] {
    const batch = this.inFlight;
    this.inFlight = [];
    if (isPermanent(err)) {
      if (batch.length > 1) {
        // One of them is bad: go through them one by one.
        this.putBack(batch);
        this.isolate = batch.length;
      } else {
        const job = batch[0] as Job<W, T>;
        this.steps.push({ kind: 'rejected', job, error: errorText(err), waiting: this.pending() });
        this.progressAt = now;
      }
      this.next();
      return this.take();
    }
    this.failures++;
    this.lastError = errorText(err);
    this.putBack(batch);
    const delayMs = this.rules.backoff(this.failures);
    this.steps.push({ kind: 'retrying', attempt: this.failures, delayMs, waiting: this.pending(), error: this.lastError });
    this.phase = 'sleeping';
    this.steps.push({ kind: 'sleep', ms: delayMs });
    return this.take();
  }

  /** The backoff is over. */
  woke(): Step<W, T>[] {
    this.next();
    return this.take();
  }

  /** The stall alarm rang. */
  alarm(now: number): Step<W, T>[] {
    this.alarmSet = false;
    if (this.alertedAt !== undefined || this.pending() === 0) return this.take();
    const stalledMs = now - this.progressAt;
    if (stalledMs < this.rules.alertAfterMs) {
      this.armAlarm(now);
      return this.take();
    }
    this.alertedAt = this.progressAt;
    this.steps.push({ kind: 'stalled', waiting: this.pending(), stalledMs, lastError: this.lastError });
    return this.take();
  }

  /** No more writes will be admitted: complete once the queue is empty. */
  end(): Step<W, T>[] {
    this.inputDone = true;
    this.maybeComplete();
    return this.take();
  }

  private pending(): number {
    return this.queue.length + this.inFlight.length;
  }

  private take(): Step<W, T>[] {
    const steps = this.steps;
    this.steps = [];
    return steps;
  }

  private maybeComplete(): void {
    if (this.inputDone && this.phase === 'idle' && this.pending() === 0) this.steps.push({ kind: 'complete' });
  }

  private armAlarm(now: number): void {
    if (this.alarmSet || this.alertedAt !== undefined || this.pending() === 0) return;
    this.alarmSet = true;
    this.steps.push({ kind: 'alarm', ms: Math.max(0, this.progressAt + this.rules.alertAfterMs - now) });
  }

  private replace(older: Job<W, T>, newer: Job<W, T>): void {
    newer.tags.unshift(...older.tags);
    this.steps.push({ kind: 'replaced', job: older });
  }

  /** Adds a job at the tail, replacing the waiting one with its key. */
  private enqueue(job: Job<W, T>, now: number): void {
    if (this.pending() === 0) this.progressAt = now;
    const key = this.rules.coalesceKey?.(job.write);
    if (key !== undefined) {
      const older = this.waitingByKey.get(key);
      if (older) {
        this.queue.splice(this.queue.indexOf(older), 1);
        this.replace(older, job);
      }
      this.waitingByKey.set(key, job);
    }
    this.queue.push(job);
    this.steps.push({ kind: 'waiting', count: this.pending() });
    this.armAlarm(now);
  }

  /** Puts a batch that did not go through back at the head, unless newer writes replaced its jobs. */
  private putBack(batch: readonly Job<W, T>[]): void {
    const kept: Job<W, T>[] = [];
    for (const job of batch) {
      const key = this.rules.coalesceKey?.(job.write);
      const newer = key === undefined ? undefined : this.waitingByKey.get(key);
      if (newer) this.replace(job, newer);
      else {
        if (key !== undefined) this.waitingByKey.set(key, job);
        kept.push(job);
      }
    }
    this.queue.unshift(...kept);
  }

  /** Starts the next commit, or goes idle. */
  private next(): void {
    if (this.queue.length === 0) {
      this.phase = 'idle';
      this.maybeComplete();
      return;
    }
    const limit = this.isolate > 0 ? 1 : Math.max(1, this.rules.maxBatch);
    const batch: Job<W, T>[] = [];
    const writes: W[] = [];
    while (batch.length < limit && this.queue.length > 0) {
      const next = this.queue[0] as Job<W, T>;
      if (batch.length > 0 && this.rules.fits && !this.rules.fits(writes, next.write)) break;
      this.queue.shift();
      batch.push(next);
      writes.push(next.write);
      const key = this.rules.coalesceKey?.(next.write);
      if (key !== undefined && this.waitingByKey.get(key) === next) this.waitingByKey.delete(key);
    }
    if (this.isolate > 0) this.isolate -= batch.length;
    this.inFlight = batch;
    this.phase = 'committing';
    this.steps.push({ kind: 'commit', jobs: batch });
  }
}

/**
 * Runs the queue over groups of admitted jobs: commits with `commit` (a Promise or an
 * Observable; it succeeds when it completes), waits on `scheduler`, and emits the notes.
 * Completes once its input has and every job is delivered or rejected. Unsubscribing stops
 * it: timers are cancelled and a commit still under way is no longer listened to.
 */
export function delivery<W, T>(
  rules: QueueRules<W>,
  commit: (writes: readonly W[]) => ObservableInput<unknown>,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<readonly Job<W, T>[], Note<W, T>> {
  return (admitted$) => new Observable<Note<W, T>>((subscriber) => {
    const state = new DeliveryState<W, T>(rules, scheduler.now());
    // At most one of each at a time: the machine asks for a new one only after the last one rang.
    let sleeping: Subscription | undefined;
    let alarm: Subscription | undefined;
    let committing: Subscription | undefined;
    // Steps are carried out in order even when a commit answers at once (re-entrantly).
    const todo: Step<W, T>[] = [];
    let running = false;

    const run = (steps: readonly Step<W, T>[]): void => {
      todo.push(...steps);
      if (running) return;
      running = true;
      try {
        for (let step = todo.shift(); step !== undefined; step = todo.shift()) {
          if (subscriber.closed) return;
          switch (step.kind) {
            case 'commit': {
              const writes = step.jobs.map((job) => job.write);
              committing = defer(() => commit(writes)).subscribe({
                error: (err: unknown) => run(state.failed(err, scheduler.now())),
                complete: () => run(state.committed(scheduler.now())),
              });
              break;
            }
            case 'sleep':
              sleeping = scheduler.schedule(() => run(state.woke()), step.ms);
              break;
            case 'alarm':
              alarm = scheduler.schedule(() => run(state.alarm(scheduler.now())), step.ms);
              break;
            case 'complete':
              subscriber.complete();
              break;
            default:
              subscriber.next(step);
          }
        }
      } finally {
        running = false;
      }
    };

    const input = admitted$.subscribe({
      next: (jobs) => run(state.admit(jobs, scheduler.now())),
      error: (err: unknown) => subscriber.error(err),
      complete: () => run(state.end()),
    });
    return () => {
      input.unsubscribe();
      committing?.unsubscribe();
      sleeping?.unsubscribe();
      alarm?.unsubscribe();
    };
  });
}
