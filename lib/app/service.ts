/**
 * The long-running service (issue 7): everything with a lifetime (lock, broker, store, journal,
 * HTTP endpoint) is opened here, one step per concern in lib/app/, then the loop is started once
 * as `run(main, drivers)` (lib/app/run.ts: sources -> durability -> pipeline -> drivers, one
 * `subscribe`), and everything is closed by `stop()`.
 *
 * `ServiceHealth` (lib/app/health.ts) is the one owner of the health map and of the
 * feedback: what the sinks hand back to the pipeline as events (the face recogniser's answer, a
 * sink's alert) and what the service notices about its sources.
 */
import { asyncScheduler, Subject, type Observable } from 'rxjs';
import { Lifetime, StartupError, STORE_LOAD_WAIT_MS } from '../base/lifetime.js';
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';
import type { Deps } from '../core/streams/deps.js';
import { pipeline, STREAMS } from '../core/streams/pipeline.js';
import { accessProblem } from '../dashboard/dashboard.js';
import { redactUrl } from '../drivers/mqtt/connection.js';
import { loadState } from '../drivers/state-sink.js';
import { durable, openJournal } from '../durability/durable.js';
import { recover, storeEvents } from '../durability/recovery.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import { announceStart } from './banner.js';
import { openDatabase, openServiceStore } from './data-dir.js';
import { sinkDrivers } from './drivers.js';
import { ServiceHealth } from './health.js';
import { openDashboard, serveHttp } from './http-servers.js';
import { openMqttLink, watchMqttLink } from './mqtt-link.js';
import { openRecording } from './recorder.js';
import { run } from './run.js';
import { eventSources } from './sources.js';

export { StartupError };

export interface ServiceOptions {
  /** Append every inbound event to this file as replay lines (SPEC 10). */
  readonly recordTo?: string;
  /**
   * Told when the loop ends on an error while the service is not stopping: it would stay up and
   * handle nothing. `main.ts` stops it and exits 1, so that its unit restarts it (and recovery
   * handles the journaled events past the checkpoint).
   */
  readonly onFailure?: (err: unknown) => void;
}

export interface Service {
  readonly httpPort: number;
  readonly mqttUrl: string;
  readonly metrics: Metrics;
  /** SIGHUP: the embedded broker reads its password, ACL and TLS files again; returns the problems (empty: done). */
  reload(): string[];
  /** Stops the sources, lets in-flight effects finish (up to the shutdown timeout), closes everything. */
  stop(): Promise<void>;
}

export async function startService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<Service> {
  const metrics = createMetrics();
  const health = new ServiceHealth();
  const lifetime = new Lifetime(logger);
  const stopSources = new Subject<void>();

  try {
    // A non-loopback endpoint without a token would show the home to the whole network.
    const access = accessProblem(config.httpHost, config.httpToken);
    if (access !== undefined) throw new StartupError(access);

    // One process per DATA_DIR (its database is the lock); then the broker link, then the store.
    const db = await openDatabase(config, logger, lifetime);
    const mqtt = await openMqttLink(config, logger, health, lifetime);
    const store = await openServiceStore(config, db, logger, health, lifetime);

    // ---- the event journal; the events past its checkpoint are handled again (lib/durability/recovery.ts) ----
    const opened = await openJournal(config, db, logger, lifetime);
    const saved = loadState(db, logger);
    const settings = {
      tz: config.tz, commandConfirmS: config.commandConfirmS, scheduleGraceS: config.scheduleGraceS, topics: config.topics,
      limits: config.limits, producers: config.producers,
    };
    const recovered = opened.pending.length === 0
      ? undefined
      : recover(await storeEvents(store, logger, STORE_LOAD_WAIT_MS), opened.pending, opened.checkpoint, saved, settings);
    const durability = durable({ opened, db, saved, recovered, logger, lifetime, alert: (text) => health.alert('error', text), scheduler: asyncScheduler });

    // ---- run(main, drivers): sources -> durability -> pipeline -> drivers (lib/app/run.ts) ----
    const record = openRecording(options.recordTo, config.tz, lifetime);
    const dashboard = await openDashboard(config, logger, health, lifetime);
    const deps: Deps = { scheduler: asyncScheduler, settings, resume: durability.resume };
    const main = (event$: Observable<Event>): Observable<Effect> => pipeline(event$, deps, STREAMS, { dashboard: dashboard.stream });
    const { subscription, finished } = run(main, {
      sources: eventSources(config, mqtt.connection$, store, health, logger, durability.recoveryWritten$, stopSources, deps.scheduler),
      sinks: sinkDrivers(config, mqtt.connection$, store, db, durability.resume, metrics, logger),
      beside: watchMqttLink(mqtt, health, stopSources),
    }, {
      durable: durability, recovered: recovered?.effects ?? [], topics: config.topics, logger, metrics, health,
      seen: record === undefined ? metrics.countEvent : (event) => { metrics.countEvent(event); record(event); },
      effectSeen: dashboard.effect,
    });
    lifetime.add(async () => subscription.unsubscribe());
    let stopping: Promise<void> | undefined;
    void finished.then((err) => {
      if (err !== undefined && stopping === undefined) options.onFailure?.(err);
    });

    const http = await serveHttp(config, health, metrics, dashboard, lifetime);
    const announceStop = announceStart(config, { url: mqtt.url, embedded: mqtt.broker !== undefined }, store, http.port, health, logger);

    return {
      httpPort: http.port,
      mqttUrl: redactUrl(mqtt.url),
      metrics,
      reload: () => {
        const problems = mqtt.broker?.reload() ?? [];
        for (const problem of problems) health.alert('error', `reload: ${problem}`);
        return problems;
      },
      stop: () => {
        stopping ??= (async () => {
          logger.info('stopping: sources first, then pending effects');
          announceStop();
          stopSources.next();
          const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownTimeoutS * 1000).unref());
          if ((await Promise.race([finished, timeout])) === 'timeout') {
            logger.warn(`pending effects did not finish within ${config.shutdownTimeoutS} s; stopping anyway`);
          }
          await durability.flush();
          await lifetime.closeAll();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await lifetime.closeAll();
    throw err;
  }
}

/** For `npm run record`: where to append the recording, from `--record FILE` or `record FILE`. */
export function recordTarget(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--record');
  return i >= 0 ? argv[i + 1] : undefined;
}
