/**
 * The service's event sources, merged: MQTT (commands, controls, device status), the Firestore
 * collections and RTDB paths, the weather, and the clock's tick each second. Each outside source
 * is `supervised` (restarted with backoff when it errors after its own retries); MQTT messages
 * are held until the store's first state is in the pipeline (`holdUntil`). Nothing starts before
 * `after$` (the recovered store writes) completes, and everything stops with `stop$`.
 */
import { from, interval, map, merge, Observable, race, retry, takeUntil, take, tap, timer, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import { defaultBackoff } from '../base/backoff.js';
import { errorText } from '../base/error-text.js';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import type { MqttConnection } from '../mqtt/connection.js';
import type { Event } from '../protocol/events.js';
import { COLLECTIONS, fromFirestore } from '../sources/firestore.js';
import { fromMqtt } from '../sources/mqtt.js';
import { fromRtdb, PATHS } from '../sources/rtdb.js';
import { firstState } from '../sources/store-loaded.js';
import { fromWeather } from '../sources/weather.js';
import type { Store } from '../store/index.js';
import type { ServiceHealth } from './health.js';

const TICK: Event = { type: 'clock.tick' };

/** How long MQTT messages wait for the store's first state before they are let through anyway. */
export const STORE_LOAD_WAIT_MS = 30_000;

/** Retries a source that errors after all (its own retries are inside), reporting each failure. */
function supervised<T>(name: string, source$: Observable<T>, report: (text: string) => void): Observable<T> {
  return source$.pipe(
    retry({
      resetOnSuccess: true,
      delay: (err: unknown, attempt) => {
        report(`source ${name} failed and is restarted: ${errorText(err)}`);
        return timer(defaultBackoff(attempt));
      },
    }),
  );
}

/**
 * Holds a source's items (in order) until `open$` emits, then lets them and all later ones
 * through. The source is subscribed at once, so nothing it delivers meanwhile is lost.
 */
function holdUntil<T>(open$: Observable<unknown>): MonoTypeOperatorFunction<T> {
  return (source$) =>
    new Observable<T>((subscriber) => {
      let held: T[] | undefined = [];
      let completed = false;
      const gate = open$.pipe(take(1)).subscribe(() => {
        const items = held ?? [];
        held = undefined;
        for (const item of items) subscriber.next(item);
        if (completed) subscriber.complete();
      });
      const sub = source$.subscribe({
        next: (item) => (held ? held.push(item) : subscriber.next(item)),
        error: (err: unknown) => subscriber.error(err),
        complete: () => (held ? (completed = true) : subscriber.complete()),
      });
      return () => {
        gate.unsubscribe();
        sub.unsubscribe();
      };
    });
}

export function eventSources(
  config: Config, connection$: Observable<MqttConnection>, store: Store, health: ServiceHealth, logger: Logger,
  after$: Observable<never>, stop$: Observable<void>,
): Observable<Event> {
  const { topics } = config;
  const inbound = [topics.commands, topics.controls, ...(topics.status === '' ? [] : [topics.status])];
  const report = (text: string): void => health.alert('error', text);
  // The store's first state: every collection and path has delivered it into the pipeline.
  const first = firstState();
  // A store listener that fails: one alert, the source marked down, until it delivers again.
  const listeners = {
    logger,
    onLoaded: first.onLoaded,
    onDown: (what: string, reason: string) => {
      health.set(what, { up: false, reason });
      health.alert('error', `${what} listener failed (${reason}); re-establishing it`);
    },
    onUp: (what: string) => {
      health.forget(what);
      health.alert('info', `${what} listener works again`);
    },
  };
  const ticks$ = interval(1000).pipe(map(() => TICK));
  // A command or control is handled against the store's state (users, modes, the last status):
  // after a restart, one that waited in the broker's session arrives at once, often before
  // Firebase's first snapshots. MQTT messages therefore wait until the store's first state is
  // in the pipeline (or STORE_LOAD_WAIT_MS has passed: then they go on against what is known).
  const storeLoaded$ = race(
    from(first.loaded),
    timer(STORE_LOAD_WAIT_MS).pipe(tap(() => logger.warn(`the store's first state did not arrive within ${STORE_LOAD_WAIT_MS / 1000} s; handling MQTT messages without it`))),
  );
  if (config.weather.apiKey !== undefined) health.set('weather', { up: true });
  return merge(
    subscribeAfter(after$, merge(
      supervised('mqtt', fromMqtt(connection$, inbound, { qos: config.mqtt.qos, acceptRetained: topics.status === '' ? [] : [topics.status], manualAck: true }), report)
        .pipe(holdUntil(storeLoaded$)),
      supervised('firestore', fromFirestore(store.docs, COLLECTIONS, listeners), report),
      supervised('rtdb', fromRtdb(store.tree, PATHS, listeners), report),
      supervised('weather', fromWeather({ ...config.weather }, logger), report),
      ticks$,
    )),
    // what the sinks and the service itself hand back (face results, alerts): at once, not after `after$`
    health.feedback$,
  ).pipe(takeUntil(stop$));
}

/**
 * `source$`, subscribed once `after$` completes. Like `concat(after$, source$)`, without an
 * operator between the source and its subscriber: every event passes here.
 */
function subscribeAfter<T>(after$: Observable<never>, source$: Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    let inner: Subscription | undefined;
    const outer = after$.subscribe({
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        inner = source$.subscribe(subscriber);
      },
    });
    return () => {
      outer.unsubscribe();
      inner?.unsubscribe();
    };
  });
}
