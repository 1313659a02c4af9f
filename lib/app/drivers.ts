/**
 * The sinks: each driver receives the effects of its kinds (one lookup per effect, not every
 * driver's filter for every effect; issue 26), their reports merged, and
 * what the service does with each report: a done or failed effect settles the checkpoint (and
 * counts for the metrics: sink, latency of a command's reply), an alert goes to the operators
 * (and marks the Firebase store up or down), an event goes back into the pipeline.
 */
import { merge, Observable } from 'rxjs';
import type { InFlight } from '../base/in-flight.js';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import type { Metrics } from '../http/metrics.js';
import type { MqttConnection } from '../drivers/mqtt/connection.js';
import { Router } from '../base/router.js';
import { EFFECT_TYPES, type Effect, type EffectType } from '../core/protocol/effects.js';
import type { Resume } from '../core/protocol/resume.js';
import { makeFaceDriver } from '../drivers/face.js';
import { makeFirestoreDriver } from '../drivers/firebase/firestore-sink.js';
import { makeMqttDriver } from '../drivers/mqtt/mqtt-sink.js';
import type { SinkReport } from '../drivers/report.js';
import { makeRtdbDriver } from '../drivers/firebase/rtdb-sink.js';
import { makeSlackDriver } from '../drivers/slack.js';
import { makeStateDriver } from '../drivers/state-sink.js';
import type { Database } from '../store/database.js';
import type { Store } from '../store/open-store.js';
import type { ServiceHealth } from './health.js';

export function sinkReports(
  effect$: Observable<Effect>, config: Config, connection$: Observable<MqttConnection>, store: Store, db: Database, resume: Resume, metrics: Metrics, logger: Logger,
): Observable<SinkReport> {
  return new Observable<SinkReport>((subscriber) => {
    // `log` effects have no driver: the effect tap writes them (lib/app/intake.ts).
    const router = new Router<Effect, EffectType>(EFFECT_TYPES, (effect) => effect.type);
    const reports = merge(
      makeMqttDriver(connection$, {
        qos: config.mqtt.qos,
        queueSize: config.mqtt.queueSize,
        onQueueSize: (n) => metrics.queueSize.set({ queue: 'mqtt' }, n),
      })(router.of(['mqtt.publish'])),
      makeFirestoreDriver(store, { logger, onPending: (n) => metrics.queueSize.set({ queue: 'firestore' }, n) })(router.of(['firestore.set', 'firestore.delete'])),
      makeRtdbDriver(store, { logger, onPending: (n) => metrics.queueSize.set({ queue: 'rtdb' }, n) })(router.of(['rtdb.set'])),
      makeSlackDriver({ webhookUrl: config.slack.webhookUrl, windowMs: config.slack.windowS * 1000 }, logger)(router.of(['slack.alert'])),
      makeFaceDriver({ ...config.face, timeoutMs: config.face.timeoutS * 1000 }, logger)(router.of(['face.run'])),
      makeStateDriver({ db, resume }, logger)(router.of(['state.schedule', 'state.status'])),
    ).subscribe(subscriber);
    // After every driver has subscribed, so an effect that is there at once reaches its driver.
    reports.add(effect$.subscribe(router));
    return reports;
  });
}

export interface ReportParts {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: ServiceHealth;
  /** When each command's effect began (from `intake`). */
  readonly started: InFlight<Effect, number>;
  /** The journal's `settled` (the checkpoint, the recovered writes). */
  readonly settled: (effect: Effect) => void;
}

/** What the service does with each sink report (one per effect done or failed, alerts, events). */
export function reportHandler(parts: ReportParts): (r: SinkReport) => void {
  const { logger, metrics, health, started, settled } = parts;
  const { topics } = parts.config;
  return function handleReport(r: SinkReport): void {
    switch (r.kind) {
      case 'done': {
        settled(r.effect);
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
        settled(r.effect);
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
}
