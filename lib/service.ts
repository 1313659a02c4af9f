/**
 * The long-running service (issue 7): sources -> pipeline -> sinks, wired once, with one
 * `subscribe` at the root. Everything with a lifetime (broker, store, HTTP endpoint) is opened
 * here and closed by `stop()`.
 *
 * The root has one Subject, `feedback`: what the sinks hand back to the pipeline as events (the
 * face recogniser's answer, a sink's alert) and what the service notices about its sources.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import {
  asyncScheduler, concat, connectable, distinctUntilChanged, from, ignoreElements, interval, map, merge, Observable, race, retry, skip,
  skipWhile, Subject, take, takeUntil, tap, timer, type MonoTypeOperatorFunction, type Subscription,
} from 'rxjs';
import pkg from '../package.json' with { type: 'json' };
import { startBroker, type EmbeddedBroker } from './broker.js';
import { openBrokerWarning } from './config/checks.js';
import type { Config } from './config/codec.js';
import { accessProblem, startDashboard } from './dashboard/index.js';
import { startHttp, type HttpEndpoint, type SourceState } from './http/endpoint.js';
import { defaultBackoff } from './base/backoff.js';
import type { Logger } from './base/log.js';
import { CheckpointTracker, keepCheckpoint } from './journal/checkpoint.js';
import { deliveryKey, EventJournal } from './journal/events.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { recover, storeEvents } from './recovery.js';
import { isoLocal } from './protocol/local-time.js';
import { encodeEventLine } from './protocol/recording.js';
import { topicMatches } from './protocol/topics.js';
import { makeFaceDriver } from './sinks/face.js';
import { makeFirestoreDriver } from './sinks/firestore.js';
import { makeMqttDriver } from './sinks/mqtt.js';
import type { SinkReport } from './sinks/report.js';
import { makeRtdbDriver } from './sinks/rtdb.js';
import { makeSlackDriver } from './sinks/slack.js';
import { loadState, makeStateDriver } from './sinks/state.js';
import { COLLECTIONS, fromFirestore } from './sources/firestore.js';
import { acknowledge, deliveryOf, fromMqtt } from './sources/mqtt.js';
import { connectionState, redactUrl, shareMqttConnection } from './mqtt/connection.js';
import { fromRtdb, PATHS } from './sources/rtdb.js';
import { firstState } from './sources/store-loaded.js';
import { fromWeather } from './sources/weather.js';
import { openStore, type Store } from './store/index.js';
import { lockDir, LockedError } from './store/lock.js';
import type { Deps } from './streams/deps.js';
import type { Effect } from './protocol/effects.js';
import type { Event } from './protocol/events.js';
import { pipeline, STREAMS } from './streams/pipeline.js';
import { errorText } from './base/error-text.js';

export interface ServiceOptions {
  /** Append every inbound event to this file as replay lines (SPEC 10). */
  readonly recordTo?: string;
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

/** A failure that stops start-up (the port of the embedded broker is taken, the store is locked...). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

const TICK: Event = { type: 'clock.tick' };
const VERSION = pkg.version;

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

/** How long MQTT messages wait for the store's first state before they are let through anyway. */
const STORE_LOAD_WAIT_MS = 30_000;

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

export async function startService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<Service> {
  const metrics = createMetrics();
  const feedback = new Subject<Event>();
  const alert = (level: 'error' | 'warning' | 'info', text: string): void => feedback.next({ type: 'service.alert', level, text });
  const health = new Map<string, SourceState>();
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.error({ err }, 'close failed'));
  };

  try {
    // A non-loopback endpoint without a token would show the home to the whole network.
    const access = accessProblem(config.httpHost, config.httpToken);
    if (access !== undefined) throw new StartupError(access);

    // ---- one process per DATA_DIR (a lock the OS releases when the process dies: lib/store/lock.ts) ----
    mkdirSync(config.dataDir, { recursive: true });
    const dataLock = await lockDir(config.dataDir, 'DATA_DIR').catch((err: unknown) => {
      throw err instanceof LockedError ? new StartupError(err.message) : err;
    });
    closers.push(() => dataLock.release());

    // ---- the broker ----
    let broker: EmbeddedBroker | undefined;
    let mqttUrl = config.mqtt.url;
    // With the embedded broker, the service's own connection proves itself with a secret made
    // now: nobody else can use its client id (and take its session over).
    let own = { username: config.mqtt.username, password: config.mqtt.password };
    if (mqttUrl === undefined) {
      const { mqtt } = config;
      const reserved = { clientId: mqtt.clientId, secret: randomBytes(32).toString('hex') };
      own = { username: mqtt.username ?? mqtt.clientId, password: reserved.secret };
      const warning = openBrokerWarning(config);
      if (warning !== undefined) {
        logger.warn(warning);
        alert('warning', warning);
      }
      broker = await startBroker({
        host: mqtt.embeddedHost,
        port: mqtt.embeddedPort,
        username: mqtt.username,
        password: mqtt.password,
        passwordFile: mqtt.embeddedPasswordFile,
        aclFile: mqtt.embeddedAclFile,
        reserved,
        ...(mqtt.embeddedTlsPort !== undefined && mqtt.embeddedTlsCertFile !== undefined && mqtt.embeddedTlsKeyFile !== undefined
          ? { mqtts: { port: mqtt.embeddedTlsPort, certFile: mqtt.embeddedTlsCertFile, keyFile: mqtt.embeddedTlsKeyFile } }
          : {}),
        maxMessagesPerSecond: mqtt.embeddedMaxMessagesPerS,
        onAlert: (text) => alert('warning', text),
        logger,
      }).catch((err: unknown) => {
        throw new StartupError(errorText(err));
      });
      closers.push(() => broker!.close());
      mqttUrl = broker.url;
    }

    // ---- the store ----
    const store: Store = await openStore({ dataDir: config.dataDir, firebase: config.firebase }, logger).catch((err: unknown) => {
      throw new StartupError(`cannot open the store: ${errorText(err)}`);
    });
    closers.push(() => store.close());
    health.set('store', { up: true });

    // ---- the event journal (docs/storage.md) ----
    const opened = await EventJournal.open(config.dataDir, {
      logger, tz: config.tz, fsyncMs: config.events.fsyncMs, retainDays: config.events.retainDays, maxBytes: config.events.maxMb * 1024 * 1024,
    }).catch((err: unknown) => {
      throw new StartupError(`cannot open the event journal: ${errorText(err)}`);
    });
    const { journal } = opened;
    closers.push(async () => journal.close());
    const saved = loadState(config.dataDir, logger);
    const tracker = new CheckpointTracker(opened.checkpoint);
    const settings = {
      tz: config.tz, commandConfirmS: config.commandConfirmS, scheduleGraceS: config.scheduleGraceS, topics: config.topics,
      limits: config.limits, producers: config.producers,
    };
    // ---- recovery: the events past the checkpoint are handled again (lib/recovery.ts) ----
    const recovered = opened.pending.length === 0
      ? undefined
      : recover(await storeEvents(store, logger, STORE_LOAD_WAIT_MS), opened.pending, opened.checkpoint, saved, settings);
    const resume = recovered === undefined ? saved : { ...saved, ...(recovered.status === undefined ? {} : { status: recovered.status }) };
    if (recovered !== undefined) {
      tracker.begin(opened.pending.at(-1)!.seq);
      for (const effect of recovered.effects) tracker.effect(effect);
      tracker.setStatus(recovered.status);
      tracker.end();
      logger.warn(
        { events: opened.pending.length, effects: recovered.effects.length, after: opened.checkpoint.seq },
        `handling again the ${opened.pending.length} journaled event(s) past the checkpoint (a crash cut them off)`,
      );
    }
    tracker.setStatus(resume.status);
    // The sources start once the recovered store writes are done (so that their first state has them).
    const unwritten = new Set<Effect>((recovered?.effects ?? []).filter((e) => e.type !== 'mqtt.publish'));
    let recoveryWritten: () => void = () => undefined;
    const recoveryWritten$ = race(
      from(new Promise<void>((resolve) => (unwritten.size === 0 ? resolve() : (recoveryWritten = resolve)))),
      timer(STORE_LOAD_WAIT_MS).pipe(tap(() => logger.warn(`the recovered store writes were not all done within ${STORE_LOAD_WAIT_MS / 1000} s; going on`))),
    ).pipe(take(1), ignoreElements());
    const scheduleFired: Record<string, number> = { ...resume.scheduleFired };
    journal.start(resume, Date.now(), opened.checkpoint.seq);
    let journalFailed = false;
    const checkpoints = keepCheckpoint(tracker, (c) => journal.saveCheckpoint(c), 1000, (err) =>
      logger.error({ err: errorText(err) }, 'event journal: cannot save the checkpoint'));
    closers.push(async () => checkpoints.stop());

    // ---- sources ----
    const { topics } = config;
    const connection$ = shareMqttConnection({
      url: mqttUrl,
      clientId: config.mqtt.clientId,
      username: own.username,
      password: own.password,
      status: { topic: topics.serverStatus, online: 'online', offline: 'offline' },
      logger,
      // a message is acknowledged once journaled, so one that comes before the source listens waits
      holdUnhandled: true,
    });
    const inbound = [topics.commands, topics.controls, ...(topics.status === '' ? [] : [topics.status])];
    const report = (text: string): void => alert('error', text);
    const stopSources = new Subject<void>();
    // The store's first state: every collection and path has delivered it into the pipeline.
    const first = firstState();
    // A store listener that fails: one alert, the source marked down, until it delivers again.
    const listeners = {
      logger,
      onLoaded: first.onLoaded,
      onDown: (what: string, reason: string) => {
        health.set(what, { up: false, reason });
        alert('error', `${what} listener failed (${reason}); re-establishing it`);
      },
      onUp: (what: string) => {
        health.delete(what);
        alert('info', `${what} listener works again`);
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
    const events$: Observable<Event> = concat(recoveryWritten$, merge(
      supervised('mqtt', fromMqtt(connection$, inbound, { qos: config.mqtt.qos, acceptRetained: topics.status === '' ? [] : [topics.status], manualAck: true }), report)
        .pipe(holdUntil(storeLoaded$)),
      supervised('firestore', fromFirestore(store.docs, COLLECTIONS, listeners), report),
      supervised('rtdb', fromRtdb(store.tree, PATHS, listeners), report),
      supervised('weather', fromWeather({ ...config.weather }, logger), report),
      ticks$,
    )).pipe(takeUntil(stopSources));

    // Health and outage alerts of the broker link: one alert when it goes down, one when it is
    // back (after the first connection, every change is news). Part of the root subscription.
    const mqttWatch$ = connectionState(connection$).pipe(
      distinctUntilChanged(),
      tap((state) => health.set('mqtt', state === 'up' ? { up: true } : { up: false, reason: `broker ${redactUrl(mqttUrl!)} unreachable` })),
      skipWhile((state) => state === 'down'),
      skip(1),
      tap((state) =>
        state === 'down'
          ? alert('error', `lost the MQTT broker ${redactUrl(mqttUrl!)}; reconnecting`)
          : alert('info', `the MQTT broker ${redactUrl(mqttUrl!)} is reachable again`),
      ),
      ignoreElements(),
      takeUntil(stopSources),
    );
    if (config.weather.apiKey !== undefined) health.set('weather', { up: true });

    // ---- recording ----
    let recording: WriteStream | undefined;
    if (options.recordTo !== undefined) {
      mkdirSync(dirname(options.recordTo), { recursive: true });
      recording = createWriteStream(options.recordTo, { flags: 'a' });
      closers.push(() => new Promise<void>((resolve) => recording!.end(resolve)));
    }

    // ---- the pipeline ----
    let commandStarted: number | undefined;
    // (a Map, not a WeakMap: cheaper per command; every publish is reported done or failed, which removes it)
    const started = new Map<Effect, number>();
    const event$ = new Observable<Event>((subscriber) => {
      const sub = merge(events$, feedback.pipe(takeUntil(stopSources))).subscribe({
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
            opened.redelivered.delete(deliveryKey(delivery.messageId, event.topic, event.payload))) {
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
            if (!journalFailed) alert('error', `cannot write the event journal (${errorText(err)}); events are handled without it`);
            journalFailed = true;
          }
          acknowledge(event);
          if (seq !== undefined) tracker.begin(seq, event);
          // Effects of a command are emitted while it is handled: mark them for the latency metric.
          commandStarted = event.type === 'mqtt.message' && topicMatches(topics.commands, event.topic) ? performance.now() : undefined;
          subscriber.next(event);
          commandStarted = undefined;
          tracker.end();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => sub.unsubscribe();
    });

    const deps: Deps = { scheduler: asyncScheduler, settings, resume };
    const dashboard = await startDashboard(config, () => health, logger);
    closers.push(async () => dashboard.close());
    // The recovered effects go first (already counted by the checkpoint tracker). They are there
    // at once, so every sink subscribes before the effects start (`connect()` below).
    const effect$ = connectable(concat(from(recovered?.effects ?? []), pipeline(event$, deps, { ...STREAMS, dashboard: dashboard.stream }).pipe(
      tap((effect) => {
        dashboard.effect(effect);
        if (commandStarted !== undefined && effect.type === 'mqtt.publish') started.set(effect, commandStarted);
        if (effect.type === 'log') logger[effect.level](effect.msg);
        if (effect.type === 'state.schedule') scheduleFired[effect.id] = effect.occurrence;
        tracker.effect(effect);
      }),
    )), { connector: () => new Subject<Effect>(), resetOnDisconnect: false });

    // ---- sinks ----
    const reports$: Observable<SinkReport> = merge(
      makeMqttDriver(connection$, {
        qos: config.mqtt.qos,
        queueSize: config.mqtt.queueSize,
        onQueueSize: (n) => metrics.queueSize.set({ queue: 'mqtt' }, n),
      })(effect$),
      makeFirestoreDriver(store, { logger, onPending: (n) => metrics.queueSize.set({ queue: 'firestore' }, n) })(effect$),
      makeRtdbDriver(store, { logger, onPending: (n) => metrics.queueSize.set({ queue: 'rtdb' }, n) })(effect$),
      makeSlackDriver({ webhookUrl: config.slack.webhookUrl, windowMs: config.slack.windowS * 1000 }, logger)(effect$),
      makeFaceDriver({ ...config.face, timeoutMs: config.face.timeoutS * 1000 }, logger)(effect$),
      makeStateDriver({ dataDir: config.dataDir, resume }, logger)(effect$),
    );

    const finished = new Promise<void>((resolve) => {
      const root: Subscription = merge(reports$, mqttWatch$).subscribe({
        next: (r) => handleReport(r),
        error: (err: unknown) => {
          logger.error({ err }, 'the pipeline stopped on an error');
          resolve();
        },
        complete: () => resolve(),
      });
      root.add(effect$.connect());
      closers.push(async () => root.unsubscribe());
    });

    function settled(effect: Effect): void {
      tracker.settled(effect);
      if (unwritten.delete(effect) && unwritten.size === 0) recoveryWritten();
    }

    function handleReport(r: SinkReport): void {
      switch (r.kind) {
        case 'done': {
          settled(r.effect);
          metrics.effectsOut.add(r.sink);
          const t0 = started.get(r.effect);
          if (t0 !== undefined) {
            started.delete(r.effect);
            const kind = r.effect.type === 'mqtt.publish' && r.effect.topic === topics.deviceCommand ? 'device_command' : 'reply';
            metrics.commandLatency.observe(kind, (performance.now() - t0) / 1000);
          }
          return;
        }
        case 'failed':
          settled(r.effect);
          started.delete(r.effect);
          metrics.errors.add(`sink.${r.sink}`);
          logger.warn({ sink: r.sink, effect: r.effect.type }, `${r.sink}: ${r.error}`);
          return;
        case 'alert':
          metrics.errors.add(`alert.${r.sink}`);
          if (r.sink === 'firestore' || r.sink === 'rtdb') {
            health.set(r.sink, r.level === 'error' ? { up: false, reason: r.text } : { up: true });
          }
          alert(r.level, r.text);
          return;
        case 'event':
          feedback.next(r.event);
          return;
      }
    }

    // ---- health and metrics ----
    const http: HttpEndpoint = await startHttp(config.httpHost, config.httpPort, () => health, metrics, dashboard.handler).catch((err: unknown) => {
      throw new StartupError(`cannot serve health and metrics on ${config.httpHost}:${config.httpPort}: ${(err as Error).message}`);
    });
    closers.push(() => http.close());

    // One Slack line at start and at stop, as the original's operators had (issue 13 item 7).
    const where = `MQTT ${redactUrl(mqttUrl)}${broker ? ' (embedded broker)' : ''}, ` +
      `store ${store.kind === 'local' ? `local in ${config.dataDir}` : `Firebase project ${config.firebase.projectId}`}`;
    alert('info', `smarthome backend ${VERSION} started: ${where}`);
    logger.info(
      `smarthome backend running: ${where}, ` +
        `weather ${config.weather.apiKey ? `every ${config.weather.intervalS} s for ${config.weather.city}` : 'off'}, ` +
        `Slack ${config.slack.webhookUrl ? 'on' : 'off'}, health http://${config.httpHost}:${http.port}/healthz`,
    );

    let stopping: Promise<void> | undefined;
    return {
      httpPort: http.port,
      mqttUrl: redactUrl(mqttUrl),
      metrics,
      reload: () => {
        const problems = broker?.reload() ?? [];
        for (const problem of problems) alert('error', `reload: ${problem}`);
        return problems;
      },
      stop: () => {
        stopping ??= (async () => {
          logger.info('stopping: sources first, then pending effects');
          alert('info', `smarthome backend ${VERSION} stopping: ${where}`);
          stopSources.next();
          const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownTimeoutS * 1000).unref());
          if ((await Promise.race([finished, timeout])) === 'timeout') {
            logger.warn(`pending effects did not finish within ${config.shutdownTimeoutS} s; stopping anyway`);
          }
          await checkpoints.flush();
          await closeAll();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** For `npm run record`: where to append the recording, from `--record FILE` or `record FILE`. */
export function recordTarget(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--record');
  return i >= 0 ? argv[i + 1] : undefined;
}
