/**
 * The Slack driver (issue 6): posts `slack.alert` effects to an incoming webhook.
 *
 * - `throttleAlerts`: the first of a run of identical alerts goes out at once; repeats inside
 *   the window are counted and sent as one summary when the window ends ("… (repeated 37 times
 *   in 10 min)"), which opens a new window; a window with no repeats closes silently. At most
 *   `maxTexts` windows are open (memory is bounded whatever the number of distinct texts): a new
 *   text closes the oldest window early (passing its summary), it is never the one held back.
 *   One timer serves all windows (they all last `windowMs`, so they end in the order they opened).
 * - At most one post every `minIntervalMs`: posts run one after another, each followed by a
 *   pause; alerts that arrive meanwhile wait and go out together, one line each, in the next post
 *   (up to `maxBatch`), so a burst never delays a later alert by a second per alert before it.
 *   A post that fails is retried a few times with backoff (5xx, 429 and network errors only),
 *   then given up with a `failed` report per alert in it.
 * - The queue is bounded: while `maxQueue` alerts wait, a new one pushes out the oldest waiting
 *   one (a `failed` report); the next post says in one line how many were dropped. A new alert is
 *   never the one dropped, and a dead Slack never holds memory or the pipeline.
 * - Every alert that would be posted is logged, so with no webhook URL alerts still reach the
 *   log (and nothing is posted). The webhook URL never reaches a log line or a report.
 *
 * This sink reports `done`/`failed` only, never `alert`: an alert about Slack would come back here.
 */
import { IncomingWebhook, IncomingWebhookHTTPError } from '@slack/webhook';
import {
  Observable,
  asyncScheduler,
  catchError,
  concat,
  defer,
  endWith,
  filter,
  from,
  ignoreElements,
  map,
  retry,
  tap,
  throwError,
  timer,
  type MonoTypeOperatorFunction,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { exponentialBackoff } from '../base/backoff.js';
import type { Logger } from '../base/log.js';
import { truncate } from '../core/protocol/errors.js';
import type { Effect, SlackAlert } from '../core/protocol/effects.js';
import type { SinkReport } from './report.js';
import { errorText } from '../base/error-text.js';

export interface SlackOptions {
  /** `SLACK_WEBHOOK_URL`; unset or empty: alerts are only logged. */
  readonly webhookUrl?: string | undefined;
  /** Identical alerts within this window are posted once, then summarised (default 10 min). */
  readonly windowMs?: number;
  /** Least time between two posts (default 1 s, Slack's webhook rate). */
  readonly minIntervalMs?: number;
  /** Timeout of one post (default 10 s). */
  readonly timeoutMs?: number;
  /** Retries of a failed post (default 3), `minIntervalMs` doubling between them. */
  readonly retries?: number;
  /** Alerts that may wait; beyond, the oldest waiting one is dropped (default 100). */
  readonly maxQueue?: number;
  /** Alerts in one post at most (default 20). */
  readonly maxBatch?: number;
  /** Distinct alert texts whose repeats are counted at once (default 500). */
  readonly maxTexts?: number;
}

/** Posts one message; completes when Slack took it, errors otherwise. */
export type PostText = (text: string) => Observable<unknown>;

export const DEFAULT_WINDOW_MS = 10 * 60_000;
const DEFAULT_MIN_INTERVAL_MS = 1000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_MAX_QUEUE = 100;
const DEFAULT_MAX_BATCH = 20;
export const DEFAULT_MAX_TEXTS = 500;
/** Slack advises keeping a message's text under 4,000 characters. */
const MAX_POST_LENGTH = 3000;

export function makeSlackDriver(
  options: SlackOptions,
  logger: Logger,
  scheduler: SchedulerLike = asyncScheduler,
  post?: PostText,
): (effect$: Observable<Effect>) => Observable<SinkReport> {
  const url = options.webhookUrl || undefined;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
  const send = post ?? (url ? webhookPost(url, options.timeoutMs ?? DEFAULT_TIMEOUT_MS) : undefined);
  const log = logger.child({ sink: 'slack' });
  const scrub = (text: string) => scrubUrl(text, url);

  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const maxTexts = options.maxTexts ?? DEFAULT_MAX_TEXTS;

  const alert = (text: string): SlackAlert => ({ type: 'slack.alert', text });
  const failed = (text: string, error: string): SinkReport => ({ kind: 'failed', sink: 'slack', effect: alert(text), error: scrub(error) });

  /** One post of a batch of alerts with its retries, then the pause that keeps posts `minIntervalMs` apart. */
  const deliver = (postText: PostText, batch: readonly string[], note: string | undefined): Observable<SinkReport> =>
    concat(
      defer(() => postText([...batch, ...(note === undefined ? [] : [note])].join('\n'))).pipe(
        retry({
          count: retries,
          delay: (err: unknown, n) => {
            if (!retryable(err)) return throwError(() => err);
            log.warn(`slack post failed, retry ${n} of ${retries}: ${scrub(causesText(err))}`);
            return timer(exponentialBackoff(minIntervalMs, Infinity)(n), scheduler);
          },
        }),
        ignoreElements(),
        endWith(...batch.map((text): SinkReport => ({ kind: 'done', sink: 'slack', effect: alert(text) }))),
        catchError((err: unknown) => {
          log.error(`slack post given up: ${scrub(causesText(err))}`);
          return from(batch.map((text) => failed(text, `slack post failed: ${causesText(err)}`)));
        }),
      ),
      timer(minIntervalMs, scheduler).pipe(ignoreElements()),
    );

  /** The bounded queue in front of the posts (see the file's comment). */
  const queue = (postText: PostText): OperatorFunction<string, SinkReport> => (text$) =>
    new Observable<SinkReport>((subscriber) => {
      const waiting: string[] = [];
      let dropped = 0;
      let busy: Subscription | undefined;
      let ended = false;
      const full = `slack queue full (${maxQueue} waiting): oldest alert dropped`;
      const pump = (): void => {
        if (busy !== undefined) return;
        if (waiting.length === 0) {
          if (ended) subscriber.complete();
          return;
        }
        const batch = waiting.splice(0, maxBatch);
        const note = dropped === 0 ? undefined : `(${dropped} older ${dropped === 1 ? 'alert was' : 'alerts were'} dropped: the Slack queue was full)`;
        dropped = 0;
        let finished = false;
        const post = deliver(postText, batch, note).subscribe({
          next: (report) => subscriber.next(report),
          complete: () => {
            finished = true;
            busy = undefined;
            pump();
          },
        });
        if (!finished) busy = post;
      };
      const sub = text$.subscribe({
        next: (text) => {
          if (waiting.length >= maxQueue) {
            if (dropped === 0) log.error(`${full}; more drops are not logged until the next post`);
            dropped++;
            subscriber.next(failed(waiting.shift() ?? '', full));
          }
          waiting.push(text);
          pump();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          ended = true;
          pump();
        },
      });
      return () => {
        sub.unsubscribe();
        busy?.unsubscribe();
      };
    });

  return (effect$) =>
    defer(() => {
      log.info(url || post ? 'slack alerts on' : 'slack alerts off (SLACK_WEBHOOK_URL unset): alerts are only logged');
      const text$ = effect$.pipe(
        filter((e): e is SlackAlert => e.type === 'slack.alert'),
        map((e) => e.text),
        throttleAlerts(windowMs, scheduler, maxTexts),
        tap((text) => log.warn(`alert: ${scrub(text)}`)),
      );
      return send ? text$.pipe(queue(send)) : text$.pipe(ignoreElements());
    });
}

/**
 * Passes the first of identical texts at once; counts repeats for `windowMs` and passes one
 * summary when the window ends (which opens the next window). On completion, pending summaries
 * are passed at once. At most `maxTexts` windows are open: a new text closes the oldest early.
 */
export function throttleAlerts(
  windowMs: number,
  scheduler: SchedulerLike = asyncScheduler,
  maxTexts: number = DEFAULT_MAX_TEXTS,
): MonoTypeOperatorFunction<string> {
  return (text$) =>
    new Observable<string>((subscriber) => {
      // In the order they opened, which is the order they end (they all last windowMs).
      const open = new Map<string, { repeats: number; openedAt: number }>();
      let timer: Subscription | undefined;
      const close = (text: string, repeats: number, reopen: boolean): void => {
        open.delete(text);
        if (repeats === 0) return;
        subscriber.next(summary(text, repeats, windowMs));
        if (reopen) open.set(text, { repeats: 0, openedAt: scheduler.now() });
      };
      /** The one timer: set for the first window to end, whenever none is set. */
      const arm = (): void => {
        if (timer !== undefined) return;
        const first = open.values().next();
        if (first.done === true) return;
        timer = scheduler.schedule(() => {
          timer = undefined;
          const now = scheduler.now();
          for (const [text, window] of open) {
            if (window.openedAt + windowMs > now) break;
            close(text, window.repeats, true);
          }
          arm();
        }, Math.max(0, first.value.openedAt + windowMs - scheduler.now()));
      };
      const sub = text$.subscribe({
        next: (text) => {
          const window = open.get(text);
          if (window) {
            window.repeats++;
            return;
          }
          if (open.size >= maxTexts) {
            const [oldest, w] = open.entries().next().value as [string, { repeats: number }];
            close(oldest, w.repeats, false);
          }
          open.set(text, { repeats: 0, openedAt: scheduler.now() });
          subscriber.next(text);
          arm();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          timer?.unsubscribe();
          for (const [text, window] of open) close(text, window.repeats, false);
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        timer?.unsubscribe();
        open.clear();
      };
    });
}

export function summary(text: string, repeats: number, windowMs: number): string {
  return `${text} (repeated ${repeats} ${repeats === 1 ? 'time' : 'times'} in ${duration(windowMs)})`;
}

function duration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** Slack's mrkdwn treats `&`, `<` and `>` as control characters. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The real post: `@slack/webhook`, with a timeout, aborted when the subscriber leaves. */
export function webhookPost(url: string, timeoutMs: number): PostText {
  return (text) =>
    new Observable<unknown>((subscriber) => {
      const controller = new AbortController();
      const webhook = new IncomingWebhook(url, {
        timeout: timeoutMs,
        retryConfig: { retries: 0 }, // retries are ours, on the scheduler
        fetch: (input, init) =>
          fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal }),
      });
      webhook.send({ text: escapeSlack(truncate(text, MAX_POST_LENGTH)) }).then(
        (result) => {
          subscriber.next(result);
          subscriber.complete();
        },
        (err: unknown) => subscriber.error(err),
      );
      return () => controller.abort();
    });
}

/** Server errors, rate limits and network errors may pass; other client errors will not. */
function retryable(err: unknown): boolean {
  if (err instanceof IncomingWebhookHTTPError) return err.statusCode >= 500 || err.statusCode === 429 || err.statusCode === 408;
  return true;
}

/** The message and its causes ("fetch failed" alone says little; its cause says ECONNREFUSED). */
function causesText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; depth < 4 && e !== undefined; depth++) {
    const message = errorText(e);
    if (message !== '' && !parts.some((p) => p.includes(message))) parts.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return truncate(parts.join(': '));
}

/** Removes the webhook URL (and its secret path) from a text. */
export function scrubUrl(text: string, url: string | undefined): string {
  if (!url) return text;
  let out = text.split(url).join('<webhook>');
  try {
    const { pathname } = new URL(url);
    if (pathname.length > 1) out = out.split(pathname).join('/***');
  } catch {
    // not a URL: the whole string was replaced above
  }
  return out;
}
