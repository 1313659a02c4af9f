/**
 * The hot path around the pipeline, for every event and every effect:
 * - the intake: each event from the sources and the feedback is counted, recorded (`--record`),
 *   journaled (to the OS), acknowledged to the broker, and only then handed to the pipeline,
 *   inside the checkpoint tracker's begin/end (a message redelivered after a crash whose PUBACK
 *   was lost is acknowledged and dropped instead);
 * - the effect tap: each effect is shown on the dashboard, stamped for the command latency
 *   metric, logged, remembered for the schedule heartbeat and counted by the tracker.
 * Kept together because they share `commandStarted` (set while a command is handled).
 */
import type { WriteStream } from 'node:fs';
import { Observable, tap, type MonoTypeOperatorFunction } from 'rxjs';
import { InFlight } from '../base/in-flight.js';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import type { Dashboard } from '../dashboard/index.js';
import type { Metrics } from '../http/metrics.js';
import { deliveryKey } from '../journal/events.js';
import type { Effect } from '../protocol/effects.js';
import type { Event } from '../protocol/events.js';
import { isoLocal } from '../protocol/local-time.js';
import { encodeEventLine } from '../protocol/recording.js';
import { topicFilter } from '../protocol/topics.js';
import { errorText } from '../base/error-text.js';
import { acknowledge, deliveryOf } from '../sources/mqtt.js';
import type { ServiceHealth } from './health.js';
import type { Journaling } from './journal.js';

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
