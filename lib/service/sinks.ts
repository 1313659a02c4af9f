/**
 * The sinks: every driver subscribed to the one stream of effects, their reports merged, and
 * what the service does with each report: a done or failed effect settles the checkpoint (and
 * counts for the metrics: sink, latency of a command's reply), an alert goes to the operators
 * (and marks the Firebase store up or down), an event goes back into the pipeline.
 */
import { merge, type Observable } from 'rxjs';
import type { InFlight } from '../base/in-flight.js';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import type { Metrics } from '../http/metrics.js';
import type { MqttConnection } from '../mqtt/connection.js';
import type { Effect } from '../protocol/effects.js';
import type { Resume } from '../protocol/resume.js';
import { makeFaceDriver } from '../sinks/face.js';
import { makeFirestoreDriver } from '../sinks/firestore.js';
import { makeMqttDriver } from '../sinks/mqtt.js';
import type { SinkReport } from '../sinks/report.js';
import { makeRtdbDriver } from '../sinks/rtdb.js';
import { makeSlackDriver } from '../sinks/slack.js';
import { makeStateDriver } from '../sinks/state.js';
import type { Database } from '../store/database.js';
import type { Store } from '../store/index.js';
import type { ServiceHealth } from './health.js';

export function sinkReports(
  effect$: Observable<Effect>, config: Config, connection$: Observable<MqttConnection>, store: Store, db: Database, resume: Resume, metrics: Metrics, logger: Logger,
): Observable<SinkReport> {
  return merge(
    makeMqttDriver(connection$, {
      qos: config.mqtt.qos,
      queueSize: config.mqtt.queueSize,
      onQueueSize: (n) => metrics.queueSize.set({ queue: 'mqtt' }, n),
    })(effect$),
    makeFirestoreDriver(store, { logger, onPending: (n) => metrics.queueSize.set({ queue: 'firestore' }, n) })(effect$),
    makeRtdbDriver(store, { logger, onPending: (n) => metrics.queueSize.set({ queue: 'rtdb' }, n) })(effect$),
    makeSlackDriver({ webhookUrl: config.slack.webhookUrl, windowMs: config.slack.windowS * 1000 }, logger)(effect$),
    makeFaceDriver({ ...config.face, timeoutMs: config.face.timeoutS * 1000 }, logger)(effect$),
    makeStateDriver({ db, resume }, logger)(effect$),
  );
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
