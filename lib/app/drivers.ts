/**
 * The sink drivers: each receives the effects of its types only (one lookup per effect, not
 * every driver's filter for every effect; issue 26), their reports merged. What the service does
 * with each report is `run`'s (lib/app/run.ts).
 */
import { merge, Observable } from 'rxjs';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import type { Metrics } from '../http/metrics.js';
import type { MqttConnection } from '../drivers/mqtt/connection.js';
import { byType, Router } from '../base/router.js';
import { EFFECT_TYPES, type Effect, type EffectType } from '../core/protocol/effects.js';
import type { Resume } from '../core/protocol/resume.js';
import { makeFaceDriver } from '../drivers/face.js';
import { makeFirestoreDriver } from '../drivers/firebase/firestore-sink.js';
import { makeMqttDriver } from '../drivers/mqtt/mqtt-driver.js';
import type { SinkReport } from '../drivers/report.js';
import { makeRtdbDriver } from '../drivers/firebase/rtdb-sink.js';
import { makeSlackDriver } from '../drivers/slack.js';
import { makeStateDriver } from '../drivers/state-sink.js';
import type { Database } from '../store/database.js';
import type { Store } from '../store/open-store.js';

export function sinkDrivers(
  config: Config, connection$: Observable<MqttConnection>, store: Store, db: Database, resume: Resume, metrics: Metrics, logger: Logger,
): (effect$: Observable<Effect>) => Observable<SinkReport> {
  return (effect$) => new Observable<SinkReport>((subscriber) => {
    // `log` effects have no driver: run's effect tap writes them (lib/app/run.ts).
    const router = new Router<Effect, EffectType>(EFFECT_TYPES, byType);
    const reports = merge(
      makeMqttDriver(connection$, {
        qos: config.mqtt.qos,
        queueSize: config.mqtt.queueSize,
        onQueueSize: metrics.queueSizeOf('mqtt'),
      })(router.of(['mqtt.publish'])),
      makeFirestoreDriver(store, { logger, onPending: metrics.queueSizeOf('firestore') })(router.of(['firestore.set', 'firestore.delete'])),
      makeRtdbDriver(store, { logger, onPending: metrics.queueSizeOf('rtdb') })(router.of(['rtdb.set'])),
      makeSlackDriver({ webhookUrl: config.slack.webhookUrl, windowMs: config.slack.windowS * 1000 }, logger)(router.of(['slack.alert'])),
      makeFaceDriver({ ...config.face, timeoutMs: config.face.timeoutS * 1000 }, logger)(router.of(['face.run'])),
      makeStateDriver({ db, resume }, logger)(router.of(['state.schedule', 'state.status'])),
    ).subscribe(subscriber);
    // After every driver has subscribed, so an effect that is there at once reaches its driver.
    reports.add(effect$.subscribe(router));
    return reports;
  });
}
