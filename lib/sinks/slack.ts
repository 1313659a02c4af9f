/**
 * The Slack driver (issue 6): posts `slack.alert` effects to an incoming webhook.
 *
 * - `throttleAlerts`: the first of a run of identical alerts goes out at once; repeats inside
 *   the window are counted and sent as one summary when the window ends ("… (repeated 37 times
 *   in 10 min)"), which opens a new window; a window with no repeats closes silently.
 * - At most one post every `minIntervalMs`: posts run one after another (`concatMap`), each
 *   followed by a pause. A post that fails is retried a few times with backoff (5xx, 429 and
 *   network errors only), then given up with a `failed` report.
 * - The queue is bounded: while `maxQueue` posts wait, a new one is dropped with a `failed`
 *   report at once, so a dead Slack never holds memory or the pipeline.
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
  concatMap,
  connect,
  defer,
  endWith,
  filter,
  finalize,
  ignoreElements,
  map,
  merge,
  of,
  retry,
  tap,
  throwError,
  timer,
  type MonoTypeOperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import type { Logger } from '../log.js';
import { truncate } from '../protocol/errors.js';
import type { Effect, SlackAlert } from '../streams/effects.js';
import type { SinkReport } from './report.js';

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
  /** Posts that may wait; more are dropped (default 100). */
  readonly maxQueue?: number;
}

/** Posts one message; completes when Slack took it, errors otherwise. */
export type PostText = (text: string) => Observable<unknown>;

export const DEFAULT_WINDOW_MS = 10 * 60_000;
const DEFAULT_MIN_INTERVAL_MS = 1000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_MAX_QUEUE = 100;
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

  const alert = (text: string): SlackAlert => ({ type: 'slack.alert', text });
  const failed = (text: string, error: string): SinkReport => ({ kind: 'failed', sink: 'slack', effect: alert(text), error: scrub(error) });

  /** One post with its retries, then the pause that keeps posts `minIntervalMs` apart. */
  const deliver = (postText: PostText, text: string): Observable<SinkReport> =>
    concat(
      defer(() => postText(text)).pipe(
        retry({
          count: retries,
          delay: (err: unknown, n) => {
            if (!retryable(err)) return throwError(() => err);
            log.warn(`slack post failed, retry ${n} of ${retries}: ${scrub(errorText(err))}`);
            return timer(minIntervalMs * 2 ** (n - 1), scheduler);
          },
        }),
        ignoreElements(),
        endWith<SinkReport>({ kind: 'done', sink: 'slack', effect: alert(text) }),
        catchError((err: unknown) => {
          log.error(`slack post given up: ${scrub(errorText(err))}`);
          return of(failed(text, `slack post failed: ${errorText(err)}`));
        }),
      ),
      timer(minIntervalMs, scheduler).pipe(ignoreElements()),
    );

  return (effect$) =>
    defer(() => {
      log.info(url || post ? 'slack alerts on' : 'slack alerts off (SLACK_WEBHOOK_URL unset): alerts are only logged');
      // Posts queued or running, bounded by maxQueue; `dropping` keeps the log to one line a stretch.
      let waiting = 0;
      let dropping = false;
      const admit = (): boolean => {
        if (waiting >= maxQueue) return false;
        waiting++;
        dropping = false;
        return true;
      };
      const text$ = effect$.pipe(
        filter((e): e is SlackAlert => e.type === 'slack.alert'),
        map((e) => e.text),
        throttleAlerts(windowMs, scheduler),
        tap((text) => log.warn(`alert: ${scrub(text)}`)),
      );
      if (!send) return text$.pipe(ignoreElements());
      const full = `slack queue full (${maxQueue} waiting): alert dropped`;
      return text$.pipe(
        map((text) => ({ text, admitted: admit() })),
        connect((shared$) =>
          merge(
            shared$.pipe(
              filter((x) => !x.admitted),
              tap(() => {
                if (!dropping) log.error(`${full}; more drops are not logged until the queue moves`);
                dropping = true;
              }),
              map((x) => failed(x.text, full)),
            ),
            shared$.pipe(
              filter((x) => x.admitted),
              concatMap((x) => deliver(send, x.text).pipe(finalize(() => waiting--))),
            ),
          ),
        ),
      );
    });
}

/**
 * Passes the first of identical texts at once; counts repeats for `windowMs` and passes one
 * summary when the window ends (which opens the next window). On completion, pending summaries
 * are passed at once.
 */
export function throttleAlerts(windowMs: number, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<string> {
  return (text$) =>
    new Observable<string>((subscriber) => {
      const open = new Map<string, { repeats: number; close: Subscription }>();
      const openWindow = (text: string) => {
        open.set(text, { repeats: 0, close: scheduler.schedule(() => closeWindow(text), windowMs) });
      };
      const closeWindow = (text: string) => {
        const window = open.get(text);
        open.delete(text);
        if (window && window.repeats > 0) {
          subscriber.next(summary(text, window.repeats, windowMs));
          openWindow(text);
        }
      };
      const sub = text$.subscribe({
        next: (text) => {
          const window = open.get(text);
          if (window) window.repeats++;
          else {
            openWindow(text);
            subscriber.next(text);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          for (const [text, window] of open) {
            window.close.unsubscribe();
            if (window.repeats > 0) subscriber.next(summary(text, window.repeats, windowMs));
          }
          open.clear();
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        for (const window of open.values()) window.close.unsubscribe();
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
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; depth < 4 && e !== undefined; depth++) {
    const message = e instanceof Error ? e.message : String(e);
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
