/**
 * The OpenWeatherMap poll (SPEC 8, issue 6): current weather by city, then air pollution at its
 * coordinates, as a cold Observable of `weather.result` / `weather.failure` events.
 *
 * - A poll starts at subscription, then every `intervalS`; `exhaustMap` keeps polls from
 *   overlapping (a tick that finds a poll still running is skipped).
 * - A failed attempt becomes a `weather.failure` event at once, then is retried with capped
 *   exponential backoff, but only while the retry can end before the next poll is due; a
 *   client error (401 bad key, 404 unknown city) or a body the codec rejects waits for the next
 *   poll, since asking again would not change the answer.
 * - The API key appears only in request URLs: failure reasons and log lines are scrubbed of it.
 * - No key, no poll: the source logs that once per subscription and completes without emitting.
 *
 * Timers come from `scheduler` and HTTP from `get`, so the timing is marble-testable; the
 * default `get` is node-fetch with an AbortController torn down with the subscription.
 */
import fetch from 'node-fetch';
import {
  Observable,
  EMPTY,
  asyncScheduler,
  catchError,
  concat,
  concatMap,
  defer,
  exhaustMap,
  map,
  of,
  retry,
  tap,
  throwError,
  timeout,
  timer,
  type SchedulerLike,
} from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { exponentialBackoff } from '../base/backoff.js';
import type { Logger } from '../base/log.js';
import { truncate } from '../core/protocol/errors.js';
import { decodeAirPollution, decodeCurrentWeather } from '../core/protocol/openweather.js';
import type { WeatherFailure, WeatherResult } from '../core/protocol/events.js';
import { errorText } from '../base/error-text.js';

export interface WeatherOptions {
  /** `OPENWEATHER_API_KEY`; unset or empty turns the poll off. */
  readonly apiKey?: string | undefined;
  /** `OPENWEATHER_CITY`, e.g. `Seoul`. */
  readonly city: string;
  /** `OPENWEATHER_INTERVAL_S`: any positive number of seconds. */
  readonly intervalS: number;
  /** `OPENWEATHER_BASE_URL`, e.g. `https://api.openweathermap.org/data/2.5`. */
  readonly baseUrl: string;
  /** Timeout of each of the two requests (default 10 s). */
  readonly timeoutMs?: number;
  /** First retry delay (default 2 s), doubling up to `maxBackoffMs` (default 60 s); both are
   *  capped at a quarter of the interval so short intervals still get retries. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Retries per poll (default 4). */
  readonly maxRetries?: number;
}

export type WeatherEvent = WeatherResult | WeatherFailure;

/** What an HTTP GET answered. The Observable errors only when no response arrived. */
export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly body: string;
}
export type HttpGet = (url: string) => Observable<HttpResponse>;

/** OpenWeatherMap's free tier, and what one poll spends of it. */
export const FREE_TIER_CALLS_PER_DAY = 1000;
export const CALLS_PER_POLL = 2;

export const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_BACKOFF_MS = 2_000;
const DEFAULT_MAX_BACKOFF_MS = 60_000;
const DEFAULT_MAX_RETRIES = 4;

/** The default `get`: node-fetch, aborted when the subscriber leaves (timeout or teardown). */
export const fetchText: HttpGet = (url) =>
  new Observable<HttpResponse>((subscriber) => {
    const controller = new AbortController();
    fetch(url, { signal: controller.signal, headers: { accept: 'application/json' } })
      .then(async (res) => ({ status: res.status, statusText: res.statusText, body: await res.text() }))
      .then(
        (res) => {
          subscriber.next(res);
          subscriber.complete();
        },
        (err: unknown) => subscriber.error(err),
      );
    return () => controller.abort();
  });

/** A failed attempt: `reason` may still hold the key (scrubbed when reported); `retryable` says whether asking again soon may help. */
class PollFailure extends Error {
  constructor(
    readonly reason: string,
    readonly retryable: boolean,
  ) {
    super(reason);
    this.name = 'PollFailure';
  }
}

/** Removes every spelling of `secret` from `text` (URLs carry it percent-encoded). */
export function scrubSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  let out = text;
  for (const form of new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])) {
    out = out.split(form).join('***');
  }
  return out;
}

/** Calls a day at this interval when every poll succeeds first time. */
export function callsPerDay(intervalS: number): number {
  return Math.ceil((86_400 / intervalS) * CALLS_PER_POLL);
}

export function fromWeather(
  options: WeatherOptions,
  logger: Logger,
  scheduler: SchedulerLike = asyncScheduler,
  get: HttpGet = fetchText,
): Observable<WeatherEvent> {
  const { apiKey, city, intervalS } = options;
  if (!(intervalS > 0) || !Number.isFinite(intervalS)) {
    throw new RangeError(`weather: the interval must be a positive number of seconds, got ${intervalS}`);
  }
  const intervalMs = intervalS * 1000;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  const backoffCap = Math.min(options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, intervalMs / 4);
  const backoffBase = Math.min(options.backoffMs ?? DEFAULT_BACKOFF_MS, backoffCap);
  const backoff = exponentialBackoff(backoffBase, backoffCap);
  const base = options.baseUrl.replace(/\/+$/, '');
  const log = logger.child({ source: 'weather' });
  const scrub = (text: string) => scrubSecret(text, apiKey);

  const url = (path: string, query: Record<string, string>) =>
    `${base}/${path}?${new URLSearchParams({ ...query, appid: apiKey ?? '' }).toString()}`;

  /** One GET that answers a JSON body or fails with a scrubbed, readable reason. */
  const getJson = (what: string, target: string): Observable<unknown> =>
    defer(() => get(target)).pipe(
      timeout({
        first: timeoutMs,
        scheduler,
        with: () => throwError(() => new PollFailure(`${what}: no answer within ${timeoutMs} ms`, true)),
      }),
      map((res) => {
        if (res.status !== 200) {
          // 4xx other than 408/429 (bad key, unknown city) will not change by asking again soon.
          const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
          throw new PollFailure(`${what}: HTTP ${res.status} ${res.statusText}${detail(res.body)}`.trimEnd(), retryable);
        }
        try {
          return JSON.parse(res.body) as unknown;
        } catch (err) {
          throw new PollFailure(`${what}: the body is not JSON (${errorText(err)})`, true);
        }
      }),
      catchError((err: unknown) =>
        throwError(() => (err instanceof PollFailure ? err : new PollFailure(`${what}: ${requestError(err)}`, true))),
      ),
    );

  /** Current weather, then air pollution at its coordinates; errors with a PollFailure. */
  const attempt = (): Observable<WeatherResult> =>
    getJson('current weather', url('weather', { q: city, lang: 'kr' })).pipe(
      concatMap((current) => {
        const decoded = decodeCurrentWeather(current);
        if (E.isLeft(decoded)) return throwError(() => new PollFailure(decoded.left.message, false));
        const { lat, lon } = decoded.right.coord;
        return getJson('air pollution', url('air_pollution', { lat: String(lat), lon: String(lon) })).pipe(
          map((air): WeatherResult => {
            const decodedAir = decodeAirPollution(air);
            if (E.isLeft(decodedAir)) throw new PollFailure(decodedAir.left.message, false);
            return { type: 'weather.result', current, air };
          }),
        );
      }),
    );

  const failure = (err: unknown): PollFailure => (err instanceof PollFailure ? err : new PollFailure(requestError(err), true));

  /**
   * One poll. Every failed attempt is reported at once, then retried while retries remain and
   * the retry (with its timeout) can end before the next poll is due; otherwise the poll ends
   * and the next tick tries again.
   */
  const poll = (deadline: number): Observable<WeatherEvent> =>
    attempt().pipe(
      catchError((err: unknown) =>
        concat(of<WeatherFailure>({ type: 'weather.failure', reason: truncate(scrub(failure(err).reason)) }), throwError(() => err)),
      ),
      retry({
        delay: (err: unknown, n) => {
          const wait = backoff(n);
          const again = failure(err).retryable && n <= maxRetries && scheduler.now() + wait + timeoutMs < deadline;
          return again ? timer(wait, scheduler) : EMPTY;
        },
      }),
    );

  return defer(() => {
    if (!apiKey) {
      log.info('weather poll off: no OpenWeatherMap API key (OPENWEATHER_API_KEY unset)');
      return EMPTY;
    }
    const calls = callsPerDay(intervalS);
    if (calls > FREE_TIER_CALLS_PER_DAY) {
      log.warn(
        `weather poll every ${intervalS} s makes ${calls} calls a day (${CALLS_PER_POLL} a poll, more when retrying), ` +
          `over the free tier's ${FREE_TIER_CALLS_PER_DAY}`,
      );
    }
    log.info(`weather poll for ${city} every ${intervalS} s`);
    let failing = false;
    return timer(0, intervalMs, scheduler).pipe(
      exhaustMap(() => poll(scheduler.now() + intervalMs)),
      tap((event) => {
        // The log follows the same rule as the pipeline's alert: loud on a change, quiet otherwise.
        if (event.type === 'weather.failure') {
          if (failing) log.debug(`weather poll failed again: ${event.reason}`);
          else log.warn(`weather poll failed: ${event.reason}`);
          failing = true;
        } else {
          if (failing) log.info('weather poll works again');
          else log.debug('weather poll ok');
          failing = false;
        }
      }),
    );
  });
}

/** `(message)` from an error body, or a short snippet of a non-JSON one. */
function detail(body: string): string {
  const text = body.trim();
  if (text === '') return '';
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') {
      return ` (${truncate(json.message, 120)})`;
    }
  } catch {
    // not JSON: fall through to a snippet
  }
  return ` (${truncate(text.replace(/\s+/g, ' '), 60)})`;
}

/** node-fetch says "request to <url> failed, reason: X"; the URL carries the key, so keep X. */
function requestError(err: unknown): string {
  const text = errorText(err).replace(/request to \S+ failed, reason: /, 'request failed: ');
  return text.replace(/\bhttps?:\/\/\S+/g, (u) => u.split('?')[0] ?? '');
}

