/**
 * Every event's way in (the drivers' sources, merged): MQTT (commands, controls, device status),
 * the Firestore collections and RTDB paths, the weather, and the clock's tick each second. Each
 * outside source is `supervised` (restarted with backoff when it errors after its own retries);
 * MQTT messages come as deliveries (their PUBACK waits for the journal: lib/durability/durable.ts)
 * and are held until the store's first state is in the pipeline (`holdUntil`). Nothing starts
 * before `after$` (the recovered store writes) completes, and everything stops with `stop$`. The
 * service's own feedback (face results, alerts) is merged in at once.
 */
import {
  asyncScheduler, from, interval, map, merge, Observable, race, retry, takeUntil, tap, timer, type SchedulerLike, type Subscription,
} from 'rxjs';
import { defaultBackoff } from '../base/backoff.js';
import { errorText } from '../base/error-text.js';
import { STORE_LOAD_WAIT_MS } from '../base/lifetime.js';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import { COLLECTIONS, type Event } from '../core/protocol/events.js';
import { fromFirestore } from '../drivers/firebase/firestore-source.js';
import { fromRtdb, PATHS } from '../drivers/firebase/rtdb-source.js';
import { firstState } from '../drivers/firebase/store-loaded.js';
import type { MqttConnection } from '../drivers/mqtt/connection.js';
import { deliveriesFromMqtt, holdUntil, type MqttDelivery } from '../drivers/mqtt/mqtt-driver.js';
import { fromWeather } from '../drivers/weather-source.js';
import type { Store } from '../store/open-store.js';
import type { ServiceHealth } from './health.js';
import { inboundTopics } from './mqtt-link.js';

const TICK: Event = { type: 'clock.tick' };

export function eventSources(
  config: Config, connection$: Observable<MqttConnection>, store: Store, health: ServiceHealth, logger: Logger,
  after$: Observable<never>, stop$: Observable<void>, scheduler: SchedulerLike = asyncScheduler,
): Observable<Event | MqttDelivery> {
  const { topics } = config;
  const inbound = inboundTopics(config);
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
  const ticks$ = interval(1000, scheduler).pipe(map(() => TICK));
  // A command or control is handled against the store's state (users, modes, the last status):
  // after a restart, one that waited in the broker's session arrives at once, often before
  // Firebase's first snapshots. MQTT messages therefore wait until the store's first state is
  // in the pipeline (or STORE_LOAD_WAIT_MS has passed: then they go on against what is known).
  const storeLoaded$ = race(
    from(first.loaded),
    timer(STORE_LOAD_WAIT_MS, scheduler).pipe(tap(() => logger.warn(`the store's first state did not arrive within ${STORE_LOAD_WAIT_MS / 1000} s; handling MQTT messages without it`))),
  );
  if (config.weather.apiKey !== undefined) health.set('weather', { up: true });
  const weatherHealth = (event: Event): void => {
    if (event.type === 'weather.result') health.set('weather', { up: true });
    if (event.type === 'weather.failure') health.set('weather', { up: false, reason: event.reason });
  };
  const supervise = <T>(name: string, source$: Observable<T>) => supervised(name, source$, report, scheduler);
  return merge(
    subscribeAfter(after$, merge(
      supervise('mqtt', deliveriesFromMqtt(connection$, inbound, { qos: config.mqtt.qos, acceptRetained: topics.status === '' ? [] : [topics.status] }))
        .pipe(holdUntil(storeLoaded$)),
      supervise('firestore', fromFirestore(store.docs, COLLECTIONS, listeners)),
      supervise('rtdb', fromRtdb(store.tree, PATHS, listeners)),
      supervise('weather', fromWeather({ ...config.weather }, logger).pipe(tap(weatherHealth))),
      ticks$,
    )),
    // what the sinks and the service itself hand back (face results, alerts): at once, not after `after$`
    health.feedback$,
  ).pipe(takeUntil(stop$));
}

// ---- the operators the sources are wired with ----

/** Retries a source that errors after all (its own retries are inside), reporting each failure. */
function supervised<T>(name: string, source$: Observable<T>, report: (text: string) => void, scheduler: SchedulerLike): Observable<T> {
  return source$.pipe(
    retry({
      resetOnSuccess: true,
      delay: (err: unknown, attempt) => {
        report(`source ${name} failed and is restarted: ${errorText(err)}`);
        return timer(defaultBackoff(attempt), scheduler);
      },
    }),
  );
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
