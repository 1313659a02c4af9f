/**
 * The backend's one MQTT connection (async-mqtt on mqtt.js 4), shared by the MQTT source and the
 * MQTT sink: a persistent session (`clean: false`, stable client id), credentials and TLS from
 * options, reconnection with capped exponential backoff, the retained `online`/`offline` status
 * with its last will, and the connection state for a health endpoint.
 *
 * `connectMqtt` is cold: each subscription creates one client and emits it at once (before any
 * network I/O, so listeners attached synchronously miss nothing); unsubscribing publishes
 * `offline` and disconnects. Share it between the source and the sink with `shareMqttConnection`.
 */
import type { AsyncMqttClient, IClientOptions, IConnackPacket, IPublishPacket, QoS } from 'async-mqtt';
import type { MqttClient } from 'mqtt';
import {
  EMPTY, Observable, asyncScheduler, defer, distinctUntilChanged, fromEvent, map, merge, of, scan,
  shareReplay, startWith, switchMap, timer, type SchedulerLike,
} from 'rxjs';
import { exponentialBackoff } from '../../base/backoff.js';
import { silentLogger, type Logger } from '../../base/log.js';
import { DEFAULT_TOPICS } from '../../core/protocol/topics.js';
import { errorText } from '../../base/error-text.js';
import { loadMqtt } from './quiet-debug.js';

// Loaded at run time, not imported: so that mqtt.js gets debug loggers that cost nothing (quiet-debug.ts).
const { mqtt, asyncMqtt } = loadMqtt();

export type ConnectionState = 'up' | 'down';

/** Delay before reconnect attempt n (1-based): `initialMs * factor^(n-1)`, at most `maxMs`. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor?: number;
}

/** TLS settings for `mqtts://` and `wss://` (PEM strings or buffers). */
export interface MqttTlsOptions {
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** Default true: the broker's certificate must chain to `ca` (or the system roots). */
  readonly rejectUnauthorized?: boolean;
  readonly servername?: string;
}

/** The retained status the backend announces: `online` after each connect, `offline` as last will. */
export interface MqttStatusOptions {
  readonly topic: string;
  readonly online: string;
  readonly offline: string;
}

export interface MqttConnectionOptions {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://`. Credentials in the URL are used but never logged. */
  readonly url: string;
  /** Client id of the persistent session (SPEC 11 `MQTT_CLIENT_ID`). */
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  /** Default false: the broker keeps subscriptions and queues QoS 1 messages while we are away. */
  readonly clean?: boolean;
  readonly keepaliveS?: number;
  readonly connectTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  readonly tls?: MqttTlsOptions;
  /** Default `webos/server/status` with `online` / `offline`; `false` for no status and no will. */
  readonly status?: MqttStatusOptions | false;
  readonly logger?: Logger;
  /** Where the reconnect timers run (tests). */
  readonly scheduler?: SchedulerLike;
  /**
   * Default false: a message that arrives while no `onPublish` handler is set is acknowledged
   * and dropped. True: it waits (unacknowledged, so the broker keeps it) until a handler is set.
   */
  readonly holdUnhandled?: boolean;
}

/**
 * Told of each inbound PUBLISH; `ack()` lets mqtt.js send the PUBACK (QoS 1) and read the next
 * packet. mqtt.js hands over one message at a time: until `ack()`, nothing more is read, unless
 * the message is read ahead with `readAhead` (the connection's stream at the time).
 */
export type PublishHandler = (packet: IPublishPacket, ack: () => void, readAhead: ReadAhead) => void;

/** Most messages read ahead at once on a connection: past it, mqtt.js waits for acknowledgements again. */
export const MAX_READ_AHEAD = 256;

/**
 * Reading ahead on one connection (issue 26, item 6). mqtt.js reads the next message only once the
 * one before is acknowledged (its PUBACK sent), so the service could journal one line per write(2).
 * A message taken here is acknowledged to mqtt.js at once, so it reads on, while the stream is
 * corked: its PUBACK, and every other byte written meanwhile, stays in this process until every
 * message taken is given back (its line journaled). A killed process takes those PUBACKs with it
 * and the broker sends the messages again: none is acknowledged before its line is written.
 */
export class ReadAhead {
  private taken = 0;

  constructor(readonly stream: unknown, private readonly max = MAX_READ_AHEAD) {}

  /** Takes one more message, corking the stream at the first; false when `max` are out (then it waits for its ack). */
  take(): boolean {
    if (this.taken >= this.max) return false;
    if (this.taken++ === 0) (this.stream as Corkable | undefined)?.cork?.();
    return true;
  }

  /** One taken message is journaled; the last one out uncorks the stream (the PUBACKs leave in one write). */
  give(): void {
    if (--this.taken === 0) (this.stream as Corkable | undefined)?.uncork?.();
  }
}

interface Corkable {
  cork?(): void;
  uncork?(): void;
}

/** The session part of a CONNACK. */
export interface Connack {
  readonly sessionPresent: boolean;
}

/** A live connection, as emitted by `connectMqtt`. */
export interface MqttConnection {
  readonly client: AsyncMqttClient;
  /** The broker URL without credentials, fit for logs. */
  readonly url: string;
  readonly clientId: string;
  /** Current state at subscription, then every change. Cold, never errors. */
  readonly state$: Observable<ConnectionState>;
  /** The current session's CONNACK if connected at subscription, then every later one. */
  readonly connack$: Observable<Connack>;
  readonly logger: Logger;
  /** Sets the one handler of inbound messages (replacing any other); the returned function unsets it. */
  onPublish(handler: PublishHandler): () => void;
  /**
   * Publishes with mqtt.js's own callback (after the PUBACK at QoS 1, the write at QoS 0): the
   * MQTT sink's way, without a promise and its reactions per publish.
   */
  publish(topic: string, payload: string, qos: QoS, done: (err?: Error | null) => void): void;
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2 };
export const defaultStatus: MqttStatusOptions = { topic: DEFAULT_TOPICS.serverStatus, online: 'online', offline: 'offline' };

const SUPPORTED_PROTOCOLS: readonly string[] = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/** How long a graceful disconnect may wait for in-flight publishes before it cuts the socket. */
const END_TIMEOUT_MS = 2_000;

export function backoffDelay(attempt: number, backoff: BackoffOptions = defaultBackoff): number {
  const factor = backoff.factor ?? 2;
  const n = Math.max(1, Math.floor(attempt));
  return exponentialBackoff(backoff.initialMs, backoff.maxMs, factor)(n);
}

/**
 * When to reconnect: after each `close`, wait `backoffDelay(n)` where n counts the closes since
 * the last successful `connect`, then emit n. Pure apart from the scheduler, so marble-testable.
 */
export function reconnectSchedule(
  close$: Observable<unknown>,
  connect$: Observable<unknown>,
  backoff: BackoffOptions = defaultBackoff,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<number> {
  return connect$.pipe(
    startWith(null),
    switchMap(() => close$.pipe(
      scan((attempt) => attempt + 1, 0),
      switchMap((attempt) => timer(backoffDelay(attempt, backoff), scheduler).pipe(map(() => attempt))),
    )),
  );
}

/** The URL without user info, query or fragment: what logs and errors may show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '<invalid MQTT URL>';
  }
}

/** Credentials given in the URL itself (`mqtt://user:pass@host`), decoded; options win over these. */
function urlCredentials(url: string): { username?: string; password?: string } {
  try {
    const u = new URL(url);
    return {
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    };
  } catch {
    return {};
  }
}

/** The URL mqtt.js should dial: without user info (passed as options instead). */
function dialUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

/** mqtt.js's current socket (a new one per connect); its typings leave `stream` out. */
function socketOf(client: MqttClient): { setNoDelay?(noDelay?: boolean): unknown; destroy(): void } | undefined {
  return (client as unknown as { stream?: { setNoDelay?(noDelay?: boolean): unknown; destroy(): void } }).stream;
}


/** One client per subscription; see the module comment. */
export function connectMqtt(options: MqttConnectionOptions): Observable<MqttConnection> {
  return new Observable<MqttConnection>((subscriber) => {
    const url = redactUrl(options.url);
    const logger = (options.logger ?? silentLogger).child({ component: 'mqtt', url, clientId: options.clientId });
    const status = options.status === undefined ? defaultStatus : options.status;
    let dial: string;
    try {
      dial = dialUrl(options.url);
    } catch {
      subscriber.error(new Error('MQTT URL is not a valid URL'));
      return undefined;
    }
    if (!SUPPORTED_PROTOCOLS.includes(new URL(dial).protocol)) {
      subscriber.error(new Error(`MQTT URL ${url}: use mqtt://, mqtts://, ws:// or wss://`));
      return undefined;
    }
    const fromUrl = urlCredentials(options.url);
    const username = options.username ?? fromUrl.username;
    const password = options.password ?? fromUrl.password;
    const tls = options.tls ?? {};

    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      clean: options.clean ?? false,
      keepalive: options.keepaliveS ?? 30,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      reconnectPeriod: 0, // reconnects are ours: capped exponential backoff, stores kept
      resubscribe: false, // the source resubscribes when the broker lost the session
      protocolVersion: 4,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(status ? { will: { topic: status.topic, payload: status.offline, qos: 1 as QoS, retain: true } } : {}),
      ...(tls.ca !== undefined ? { ca: tls.ca as string | Buffer | string[] | Buffer[] } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
    };

    logger.info('mqtt: connecting');
    // mqtt.js's client itself, wrapped by async-mqtt for promises: the wrapper hides the in-flight
    // stores, which a reconnect must keep so that unacknowledged QoS 1 publishes are sent again
    // (mqtt.js's own `reconnect()` would replace them), and the socket (TCP_NODELAY below).
    let inner: MqttClient;
    let client: AsyncMqttClient;
    try {
      inner = mqtt.connect(dial, clientOptions);
      client = new asyncMqtt.AsyncClient(inner);
    } catch (err) {
      // e.g. an unknown protocol: a configuration error, not a transport fault
      subscriber.error(new Error(`MQTT: cannot connect to ${url}: ${errorText(err)}`));
      return undefined;
    }
    let ending = false;
    let session: Connack | undefined;

    // mqtt.js's own hook for back-pressure (it emits 'message', then calls `handleMessage` and
    // sends the PUBACK only from its callback): the way to acknowledge a message only once it is
    // safe, e.g. in the service's event journal (docs/storage.md), without patching the library.
    let handler: PublishHandler | undefined;
    const held: Array<[IPublishPacket, () => void]> = [];
    // one per stream: mqtt.js makes a new one at each (re)connect
    let readAhead = new ReadAhead(socketOf(inner));
    const readAheadNow = (): ReadAhead => {
      const stream = socketOf(inner);
      if (readAhead.stream !== stream) readAhead = new ReadAhead(stream);
      return readAhead;
    };
    // (`callback` itself is the `ack`: called without an error it sends the PUBACK; no closure per message)
    inner.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
      if (handler !== undefined) handler(packet, callback, readAheadNow());
      else if (options.holdUnhandled === true) held.push([packet, callback]);
      else callback();
    };
    const onPublish = (next: PublishHandler): (() => void) => {
      handler = next;
      for (let item = held.shift(); item !== undefined && handler === next; item = held.shift()) next(...item, readAheadNow());
      return () => {
        if (handler === next) handler = undefined;
      };
    };

    const connect$ = fromEvent(client, 'connect', (packet: IConnackPacket) => packet);
    const close$ = fromEvent(client, 'close');

    const state$ = defer(() => merge(
      connect$.pipe(map((): ConnectionState => 'up')),
      close$.pipe(map((): ConnectionState => 'down')),
    ).pipe(
      startWith<ConnectionState>(client.connected ? 'up' : 'down'),
      distinctUntilChanged(),
    ));
    const connack$ = defer(() => merge(
      client.connected && session ? of(session) : EMPTY,
      connect$.pipe(map((p): Connack => ({ sessionPresent: p.sessionPresent }))),
    ));

    const onConnect = (packet: IConnackPacket): void => {
      // mqtt.js 4 leaves Nagle's algorithm on: a PUBACK followed by a reply PUBLISH would wait for
      // the broker's delayed ACK (up to 40 ms). Each (re)connect has a new socket; ws:// has none.
      socketOf(inner)?.setNoDelay?.(true);
      session = { sessionPresent: packet.sessionPresent };
      logger.info({ sessionPresent: packet.sessionPresent }, 'mqtt: connected');
      if (status) {
        client.publish(status.topic, status.online, { qos: 1, retain: true })
          .catch((err: unknown) => logger.warn({ err: errorText(err) }, 'mqtt: could not publish online status'));
      }
    };
    const onClose = (): void => {
      if (!ending) logger.warn('mqtt: connection closed');
    };
    const onError = (err: unknown): void => {
      // While ending, the broker may still deliver a message (our own `offline` status, when a
      // subscription covers it) whose PUBACK then meets the closed stream: expected, not news.
      if (ending) logger.debug({ err: errorText(err) }, 'mqtt: connection error while disconnecting');
      else logger.warn({ err: errorText(err) }, 'mqtt: connection error');
    };
    client.on('connect', onConnect);
    client.on('close', onClose);
    client.on('error', onError);

    const reconnects = reconnectSchedule(close$, connect$, options.backoff ?? defaultBackoff, options.scheduler)
      .subscribe((attempt) => {
        if (ending) return;
        logger.info({ attempt }, 'mqtt: reconnecting');
        client.reconnect({ incomingStore: inner.incomingStore, outgoingStore: inner.outgoingStore });
      });

    const publish = (topic: string, payload: string, qos: QoS, done: (err?: Error) => void): void => {
      inner.publish(topic, payload, { qos }, done);
    };
    subscriber.next({ client, url, clientId: options.clientId, state$, connack$, logger, onPublish, publish });

    return () => {
      ending = true;
      reconnects.unsubscribe();
      // Graceful: say `offline` (a clean DISCONNECT suppresses the will), let in-flight publishes
      // finish, DISCONNECT. Bounded: after END_TIMEOUT_MS the socket is cut (the will then fires).
      const cut = setTimeout(() => socketOf(inner)?.destroy(), END_TIMEOUT_MS);
      cut.unref();
      const goodbye = status && client.connected
        ? client.publish(status.topic, status.offline, { qos: 1, retain: true })
        : Promise.resolve();
      goodbye
        .catch(() => undefined)
        .then(() => client.end(!client.connected))
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(cut);
          client.removeListener('connect', onConnect);
          client.removeListener('close', onClose);
          client.removeListener('error', onError);
          client.on('error', () => undefined); // a late socket error must not crash the process
          logger.info('mqtt: disconnected');
        });
    };
  });
}

/** `connectMqtt` shared by every subscriber (source, sink, health), torn down with the last one. */
export function shareMqttConnection(options: MqttConnectionOptions): Observable<MqttConnection> {
  return connectMqtt(options).pipe(shareReplay({ bufferSize: 1, refCount: true }));
}

/** The connection state for a health endpoint: `down` until a connection exists and is up. */
export function connectionState(connection$: Observable<MqttConnection>): Observable<ConnectionState> {
  return connection$.pipe(
    switchMap((connection) => connection.state$),
    startWith<ConnectionState>('down'),
    distinctUntilChanged(),
  );
}
