/**
 * Every event's way into the pipeline, and the tap on the effects it makes: the service's hot
 * path, read top to bottom.
 *
 * - The sources (`eventSources`): MQTT (commands, controls, device status), the Firestore
 *   collections and RTDB paths, the weather, and the clock's tick each second. Each outside
 *   source is `supervised` (restarted with backoff when it errors after its own retries); MQTT
 *   messages are held until the store's first state is in the pipeline (`holdUntil`). Nothing
 *   starts before `after$` (the recovered store writes) completes, and everything stops with
 *   `stop$`. The service's own feedback (face results, alerts) is merged in at once.
 * - The intake (`intake`): each event is counted, recorded (`--record`), journaled (to the OS),
 *   acknowledged to the broker, and only then handed to the pipeline, inside the checkpoint
 *   tracker's begin/end (a message redelivered after a crash whose PUBACK was lost is
 *   acknowledged and dropped instead).
 * - The effect tap (`intake`'s `effects`): each effect is shown on the dashboard, stamped for the
 *   command latency metric, logged, remembered for the schedule heartbeat and counted by the
 *   tracker. It shares `commandStarted` (set while a command is handled) with the intake.
 */
import type { WriteStream } from 'node:fs';
import {
  from, interval, map, merge, Observable, race, retry, takeUntil, take, tap, timer, type MonoTypeOperatorFunction, type Subscription,
} from 'rxjs';
import { defaultBackoff } from '../base/backoff.js';
import { errorText } from '../base/error-text.js';
import { InFlight } from '../base/in-flight.js';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import type { Dashboard } from '../dashboard/dashboard.js';
import type { Metrics } from '../http/metrics.js';
import { deliveryKey } from '../durability/event-journal.js';
import type { MqttConnection } from '../drivers/mqtt/connection.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';
import { isoLocal } from '../core/protocol/local-time.js';
import { encodeEventLine } from '../core/protocol/recording.js';
import { topicFilter } from '../core/protocol/topics.js';
import { COLLECTIONS, fromFirestore } from '../drivers/firebase/firestore-source.js';
import { acknowledge, deliveryOf, fromMqtt } from '../drivers/mqtt/mqtt-source.js';
import { fromRtdb, PATHS } from '../drivers/firebase/rtdb-source.js';
import { firstState } from '../drivers/firebase/store-loaded.js';
import { fromWeather } from '../drivers/weather-source.js';
import type { Store } from '../store/open-store.js';
import { inboundTopics } from './mqtt-link.js';
import type { ServiceHealth } from './health.js';
import { STORE_LOAD_WAIT_MS } from './lifetime.js';
import type { Journaling } from './journaling.js';

// ---- the sources ----

const TICK: Event = { type: 'clock.tick' };


export function eventSources(
  config: Config, connection$: Observable<MqttConnection>, store: Store, health: ServiceHealth, logger: Logger,
  after$: Observable<never>, stop$: Observable<void>,
): Observable<Event> {
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

// ---- the intake and the effect tap ----

/** Which metric label an event counts under (a table: this runs for every event). */
const SOURCE_OF: Readonly<Record<Event['type'], string>> = {
  'mqtt.message': 'mqtt',
  'rtdb.value': 'rtdb',
  'firestore.doc': 'firestore',
  'weather.result': 'weather',
  'weather.failure': 'weather',
  'face.result': 'face',
  'clock.tick': 'clock',
  'service.alert': 'service',
};

export interface IntakeParts {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: ServiceHealth;
  readonly journaling: Journaling;
  readonly recording: WriteStream | undefined;
  readonly dashboard: Dashboard;
  readonly events$: Observable<Event>;
}

export function intake(parts: IntakeParts) {
  const { config, logger, metrics, health, recording, dashboard, events$ } = parts;
  const { journal, redelivered, tracker, scheduleFired } = parts.journaling;
  const isCommand = topicFilter(config.topics.commands);
  let journalFailed = false;
  let commandStarted: number | undefined;
  /**
   * When the command whose reply or device command this is began (for the latency metric). The
   * MQTT sink reports every publish done or failed, in the order it was given them, which removes
   * it (`InFlight`: no Map churned per command, lib/base/in-flight.ts).
   */
  const started = new InFlight<Effect, number>();
  const event$ = new Observable<Event>((subscriber) => {
    const sub = events$.subscribe({
      next: (event) => {
        metrics.eventsIn.add(SOURCE_OF[event.type]);
        if (event.type === 'weather.result') health.set('weather', { up: true });
        if (event.type === 'weather.failure') health.set('weather', { up: false, reason: event.reason });
        const now = Date.now();
        if (recording !== undefined) {
          const line = encodeEventLine(event, isoLocal(now, config.tz));
          if (line !== null) recording.write(`${line}\n`);
        }
        // Journal first (to the OS), acknowledge to the broker next, handle last.
        const delivery = event.type === 'mqtt.message' ? deliveryOf(event) : undefined;
        if (delivery?.dup === true && delivery.messageId !== undefined && event.type === 'mqtt.message' &&
          redelivered.delete(deliveryKey(delivery.messageId, event.topic, event.payload))) {
          logger.info({ topic: event.topic }, 'a message journaled before the crash came again (its PUBACK was lost): not handled twice');
          acknowledge(event);
          return;
        }
        let seq: number | undefined;
        try {
          seq = event.type === 'clock.tick'
            ? journal.tick(now, () => ({ scheduleFired, lastTickAt: now, ...(tracker.trackedStatus === undefined ? {} : { status: tracker.trackedStatus }) }), () => tracker.checkpoint.seq)
            : journal.append(event, now, delivery?.messageId);
          journalFailed = false;
        } catch (err) {
          // A failing disk must not stop the home: the event is still handled (and acknowledged).
          if (!journalFailed) health.alert('error', `cannot write the event journal (${errorText(err)}); events are handled without it`);
          journalFailed = true;
        }
        acknowledge(event);
        if (seq !== undefined) tracker.begin(seq, event);
        // Effects of a command are emitted while it is handled: mark them for the latency metric.
        commandStarted = event.type === 'mqtt.message' && isCommand(event.topic) ? performance.now() : undefined;
        subscriber.next(event);
        commandStarted = undefined;
        tracker.end();
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
    return () => sub.unsubscribe();
  });

  /** After the pipeline: every effect, in order, before any sink sees it. */
  const effects: MonoTypeOperatorFunction<Effect> = tap((effect) => {
    dashboard.effect(effect);
    if (commandStarted !== undefined && effect.type === 'mqtt.publish') started.add(effect, commandStarted);
    if (effect.type === 'log') logger[effect.level](effect.msg);
    if (effect.type === 'state.schedule') scheduleFired[effect.id] = effect.occurrence;
    tracker.effect(effect);
  });

  return { event$, effects, started };
}

// ---- the operators the sources are wired with ----

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
