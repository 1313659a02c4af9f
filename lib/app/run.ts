/**
 * `run(main, drivers)`: the service's one loop, as Cycle.js has it, with the durability operator
 * between the drivers' sources and `main` (the pure pipeline):
 *
 *   drivers.sources ──► durable.intake (journal, ack, handle) ──► main ──► tap ──► drivers.sinks
 *          ▲                                                                            │
 *          └──── health.feedback$ (face results, alerts) ◄── report ◄── reports ◄──────┘
 *
 * The tap sees each effect, in order, before any driver does: the dashboard, the command latency
 * stamp, `log` effects (they have no driver), the durability operator (checkpoint, heartbeat).
 * Each report then says what became of an effect: done or failed settles the checkpoint (and
 * counts for the metrics), an alert goes to the operators (and marks the Firebase store up or
 * down), an event goes back into the pipeline.
 */
import { concat, connectable, from, merge, Subject, tap, type Observable, type Subscription } from 'rxjs';
import { InFlight } from '../base/in-flight.js';
import type { Logger } from '../base/log.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';
import { topicFilter, type Topics } from '../core/protocol/topics.js';
import type { SinkReport } from '../drivers/report.js';
import type { MqttDelivery } from '../drivers/mqtt/mqtt-driver.js';
import type { Durable } from '../durability/durable.js';
import type { Metrics } from '../http/metrics.js';
import type { ServiceHealth } from './health.js';

/** The pure part: events in, effects out (the pipeline with its streams and observers). */
export type Main = (event$: Observable<Event>) => Observable<Effect>;

export interface Drivers {
  /** Every source's events (MQTT messages as deliveries with their PUBACK) and the service's own feedback, merged. */
  readonly sources: Observable<Event | MqttDelivery>;
  /** The sink drivers, each given the effects of its types; their reports merged. */
  readonly sinks: (effect$: Observable<Effect>) => Observable<SinkReport>;
  /** Runs beside the loop, ends it on an error (the MQTT link's watch). */
  readonly beside?: Observable<never>;
}

export interface RunParts {
  readonly durable: Durable;
  /** Effects recovery handled again: they go to the drivers first. */
  readonly recovered: readonly Effect[];
  readonly topics: Topics;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: ServiceHealth;
  /** Told of every event as it comes in (the metrics count, a recording). */
  readonly seen: (event: Event) => void;
  /** Told of every effect (the dashboard). */
  readonly effectSeen: (effect: Effect) => void;
}

/**
 * Subscribes the loop; `finished` resolves when it ends: with `undefined` once the sources stopped
 * and every effect is done, with the error that ended it otherwise (then nothing more is handled).
 */
export function run(main: Main, drivers: Drivers, parts: RunParts): { readonly subscription: Subscription; readonly finished: Promise<unknown> } {
  const { durable, logger, metrics, health, topics, effectSeen } = parts;
  const isCommand = topicFilter(topics.commands);
  /**
   * When the command whose reply or device command this is began (for the latency metric). The
   * MQTT driver reports every publish done or failed, in the order it was given them, which
   * removes it (`InFlight`: no Map churned per command, lib/base/in-flight.ts).
   */
  const started = new InFlight<Effect, number>();
  const { handling } = durable;

  const seeEffect = (effect: Effect): void => {
    effectSeen(effect);
    if (effect.type === 'mqtt.publish' && handling.event?.type === 'mqtt.message' && isCommand(handling.event.topic)) started.add(effect, handling.since);
    if (effect.type === 'log') logger[effect.level](effect.msg);
    durable.effect(effect);
  };

  const report = (r: SinkReport): void => {
    switch (r.kind) {
      case 'done': {
        durable.settled(r.effect);
        metrics.effectsOut.add(r.sink);
        if (r.effect.type === 'mqtt.publish') {
          const t0 = started.take(r.effect);
          if (t0 !== undefined) {
            metrics.commandLatency.observe(r.effect.topic === topics.deviceCommand ? 'device_command' : 'reply', (performance.now() - t0) / 1000);
          }
        }
        return;
      }
      case 'failed':
        durable.settled(r.effect);
        if (r.effect.type === 'mqtt.publish') started.take(r.effect);
        metrics.errors.add(`sink.${r.sink}`);
        logger.warn({ sink: r.sink, effect: r.effect.type }, `${r.sink}: ${r.error}`);
        return;
      case 'alert':
        metrics.errors.add(`alert.${r.sink}`);
        if (r.sink === 'firestore' || r.sink === 'rtdb') {
          health.set(r.sink, r.level === 'error' ? { up: false, reason: r.text } : { up: true });
        }
        health.alert(r.level, r.text);
        return;
      case 'event':
        health.feed(r.event);
        return;
    }
  };

  const event$ = drivers.sources.pipe(durable.intake(parts.seen));
  // The recovered effects go first (already counted by the checkpoint tracker). They are there
  // at once, so every driver subscribes before the effects start (`connect()` below).
  const effect$ = connectable(concat(from(parts.recovered), main(event$).pipe(tap(seeEffect))), { connector: () => new Subject<Effect>(), resetOnDisconnect: false });
  let subscription!: Subscription;
  const finished = new Promise<unknown>((resolve) => {
    subscription = merge(drivers.sinks(effect$), drivers.beside ?? []).subscribe({
      next: report,
      error: (err: unknown) => {
        logger.error({ err }, 'the pipeline stopped on an error');
        resolve(err ?? new Error('the pipeline stopped on an error'));
      },
      complete: () => resolve(undefined),
    });
  });
  // Every effect passes the tap before any driver: a tap on the connectable's single source.
  subscription.add(effect$.connect());
  return { subscription, finished };
}
