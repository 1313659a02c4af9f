/**
 * The MQTT driver (issue 26): what comes in on the inbound topics (SPEC 2) and what goes out, on
 * the one shared connection (`connection.ts`: reconnects with backoff, the retained `online`
 * status and its `offline` last will).
 *
 * In: the messages on the inbound topics as `mqtt.message` events. Subscribes at QoS 1, and again
 * after every CONNACK that says the broker lost the session (`sessionPresent: false`) or while
 * the last SUBSCRIBE is unconfirmed. Unsubscribing removes the listener but keeps the broker-side
 * subscriptions: the persistent session goes on queueing QoS 1 messages for the next run.
 * Retained messages (RETAIN=1 on delivery: stored state handed out because we (re)subscribed,
 * not a live publication) are dropped unless their topic matches `acceptRetained`. Duplicates
 * (DUP=1, a QoS 1 redelivery) are emitted like any message: at-least-once, as MQTT 3.1.1 4.3.2
 * requires of a QoS 1 receiver. See docs/mqtt.md.
 * - `fromMqtt`: each message is acknowledged (PUBACK) once it has been emitted.
 * - `deliveriesFromMqtt`: each message comes as an `MqttDelivery` that carries its own `ack`; the
 *   PUBACK goes only when the consumer calls it (the durability operator, once the message is
 *   journaled). Until then mqtt.js reads nothing more (one message in hand at a time), unless the
 *   consumer reads on (`readOn`: the PUBACKs wait in the corked connection instead), and the
 *   broker keeps the message for the session.
 *
 * Out (`makeMqttDriver`): publishes `mqtt.publish` effects, in order. While the connection is
 * down, publishes wait in a bounded queue; on overflow the oldest are dropped and, when the
 * connection is back, ONE `alert` report says how many. Queued publishes go out in order on
 * reconnect, after the ones mqtt.js still held in flight. A `done` report follows the broker's
 * PUBACK (QoS 1) or the write (QoS 0); an invalid topic (wildcards, empty, `$...`) or a publish
 * mqtt.js refuses gives a `failed` report, and the effects after it go on. Nothing here throws.
 */
import type { QoS } from 'async-mqtt';
import {
  EMPTY, Observable, catchError, concatMap, defer, filter, ignoreElements, map, merge, switchMap, take, tap,
  type MonoTypeOperatorFunction,
} from 'rxjs';
import { errorText } from '../../base/error-text.js';
import type { Effect, MqttPublish } from '../../core/protocol/effects.js';
import type { MqttMessage } from '../../core/protocol/events.js';
import { topicFilter } from '../../core/protocol/topics.js';
import type { SinkReport } from '../report.js';
import type { ConnectionState, MqttConnection, ReadAhead } from './connection.js';

// ---- in ----

export interface MqttSourceOptions {
  /** Subscription QoS; default 1. */
  readonly qos?: QoS;
  /** Topic filters whose retained messages are state worth taking (e.g. `data/smarthome/status`). */
  readonly acceptRetained?: readonly string[];
}

/**
 * A message whose PUBACK waits for its consumer: `ack()` lets it go (once it is safe: journaled).
 * Until then mqtt.js reads nothing more, unless the consumer calls `readOn()`: then mqtt.js reads
 * the next message at once, and this one's PUBACK waits in the corked connection until every
 * message read on is acknowledged (`ReadAhead`, connection.ts). `messageId` and `dup` are how it
 * came (DUP=1: the broker sends it again).
 */
export interface MqttDelivery {
  readonly type: 'mqtt.delivery';
  readonly event: MqttMessage;
  readonly messageId?: number;
  readonly dup: boolean;
  readOn(): void;
  ack(): void;
}

/** In hand (mqtt.js waits for it), read on (its PUBACK corked), acknowledged. */
const IN_HAND = 0;
const READ_ON = 1;
const ACKED = 2;

class Delivery implements MqttDelivery {
  readonly type = 'mqtt.delivery';
  private state = IN_HAND;

  constructor(
    readonly event: MqttMessage,
    readonly messageId: number | undefined,
    readonly dup: boolean,
    /** mqtt.js's callback: the PUBACK, and the next message read. */
    private readonly callback: () => void,
    private readonly readAhead: ReadAhead,
  ) {}

  readOn(): void {
    if (this.state !== IN_HAND || !this.readAhead.take()) return;
    this.state = READ_ON;
    this.callback();
  }

  ack(): void {
    if (this.state === READ_ON) this.readAhead.give();
    else if (this.state === IN_HAND) this.callback();
    this.state = ACKED;
  }
}

/** One test for a list of filters, each compiled once. */
function anyFilter(filters: readonly string[]): (topic: string) => boolean {
  const tests = filters.map(topicFilter);
  return (topic) => {
    for (const test of tests) if (test(topic)) return true;
    return false;
  };
}

/** Messages on `topics` (MQTT filters, from config), payload decoded as UTF-8, each acknowledged once emitted. */
export function fromMqtt(connection$: Observable<MqttConnection>, topics: readonly string[], options: MqttSourceOptions = {}): Observable<MqttMessage> {
  return messages(connection$, topics, options, (event, ack, subscriber: { next(m: MqttMessage): void }) => {
    subscriber.next(event);
    ack();
  });
}

/** Messages on `topics`, each with its own `ack` to call once it is safe (journaled). */
export function deliveriesFromMqtt(connection$: Observable<MqttConnection>, topics: readonly string[], options: MqttSourceOptions = {}): Observable<MqttDelivery> {
  return messages(connection$, topics, options, (event, ack, subscriber: { next(d: MqttDelivery): void }, packet, readAhead) => {
    // the packet's `messageId` and `dup` are the delivery; the ack travels with the message
    subscriber.next(new Delivery(event, packet.messageId, packet.dup, ack, readAhead));
  });
}

type Emit<T> = (
  event: MqttMessage, ack: () => void, subscriber: { next(item: T): void }, packet: { readonly messageId?: number; readonly dup: boolean }, readAhead: ReadAhead,
) => void;

function messages<T>(connection$: Observable<MqttConnection>, topics: readonly string[], options: MqttSourceOptions, emit: Emit<T>): Observable<T> {
  const qos = options.qos ?? 1;
  const ours = anyFilter(topics);
  const retainedTaken = anyFilter(options.acceptRetained ?? []);

  return connection$.pipe(switchMap((connection) => {
    const { client } = connection;
    const logger = connection.logger.child({ source: 'mqtt' });

    const message$ = new Observable<T>((subscriber) =>
      connection.onPublish((packet, ack, readAhead) => {
        const { topic, retain } = packet;
        // the persistent session may still hold subscriptions of an older configuration
        if (!ours(topic)) return ack();
        if (retain && !retainedTaken(topic)) {
          logger.debug({ topic }, 'mqtt: retained message skipped');
          return ack();
        }
        const payload = typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
        // a delivery never acknowledged (its consumer gone) stays with the broker for the next session
        emit({ type: 'mqtt.message', topic, payload }, ack, subscriber, packet, readAhead);
      }));

    // Whether the broker has confirmed our subscriptions in the current session.
    let subscribed = false;
    const subscribe$ = connection.connack$.pipe(
      tap((connack) => { if (!connack.sessionPresent) subscribed = false; }),
      filter(() => !subscribed && topics.length > 0),
      concatMap(() => defer(() => client.subscribe(Object.fromEntries(topics.map((t) => [t, { qos }])))).pipe(
        tap((granted) => {
          const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
          if (refused.length > 0) {
            logger.error({ refused }, 'mqtt: broker refused subscriptions');
          } else {
            subscribed = true;
            logger.info({ topics, qos }, 'mqtt: subscribed');
          }
        }),
        // not connected any more: the next CONNACK tries again
        catchError((err: unknown) => {
          logger.warn({ err: errorText(err) }, 'mqtt: subscribe failed; retrying after the next connect');
          return EMPTY;
        }),
      )),
      ignoreElements(),
    );

    // the message listener goes on first, so nothing delivered right after the SUBACK is missed
    return merge(message$, subscribe$);
  }));
}

/**
 * Holds the messages (in order) until `open$` emits, then lets them and all later ones through:
 * the service's commands wait for the store's first state. The source is subscribed at once, so
 * nothing it delivers meanwhile is lost (nor acknowledged: the acks travel with the held items).
 */
export function holdUntil<T>(open$: Observable<unknown>): MonoTypeOperatorFunction<T> {
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

// ---- out ----

export interface MqttDriverOptions {
  /** QoS per publish; default 1 (device commands, replies, errors). */
  readonly qos?: QoS | ((topic: string) => QoS);
  /** How many publishes may wait while disconnected; default 1000. */
  readonly queueSize?: number;
  /** Told how many publishes wait for the broker, whenever that changes (a metric). */
  readonly onQueueSize?: (count: number) => void;
}

export type MqttDriver = (effect$: Observable<Effect>) => Observable<SinkReport>;

export const defaultQueueSize = 1000;


/**
 * Why `topic` cannot be published to, if it cannot (MQTT 3.1.1 4.7). mqtt.js does not check:
 * the broker would drop the connection and mqtt.js would resend the same packet after every
 * reconnect, so one bad topic (say a `Producer` of `+`) would stall the link for good.
 */
export function publishTopicError(topic: string): string | undefined {
  if (topic.length === 0) return 'empty topic';
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in a publish topic';
  if (topic.includes('\u0000')) return 'NUL in topic';
  if (topic.charCodeAt(0) === 36 /* $ */) return 'topics starting with $ are reserved for the broker';
  // a UTF-16 unit is at most 3 UTF-8 bytes: only a long topic needs counting
  if (topic.length > 21_845 && Buffer.byteLength(topic, 'utf8') > 65_535) return 'topic longer than 65535 bytes';
  return undefined;
}

export function makeMqttDriver(connection$: Observable<MqttConnection>, options: MqttDriverOptions = {}): MqttDriver {
  const queueSize = Math.max(1, options.queueSize ?? defaultQueueSize);
  const qosOf = (topic: string): QoS => {
    const qos = options.qos ?? 1;
    return typeof qos === 'function' ? qos(topic) : qos;
  };

  return (effect$) => new Observable<SinkReport>((subscriber) => {
    const waiting: MqttPublish[] = [];
    let dropped = 0;
    let connection: MqttConnection | undefined;
    let inFlight = 0;
    let effectsComplete = false;
    // told only when the count changes (while connected it stays 0: a publish goes out at once)
    let reportedSize = 0;
    const queueSizeChanged = (): void => {
      if (waiting.length === reportedSize) return;
      reportedSize = waiting.length;
      options.onQueueSize?.(reportedSize);
    };

    const maybeComplete = (): void => {
      if (effectsComplete && waiting.length === 0 && inFlight === 0) subscriber.complete();
    };

    const publish = (conn: MqttConnection, effect: MqttPublish): void => {
      inFlight++;
      conn.publish(effect.topic, effect.payload, qosOf(effect.topic), (err) => {
        inFlight--;
        if (err) {
          conn.logger.warn({ topic: effect.topic, err: errorText(err) }, 'mqtt: publish failed');
          subscriber.next({ kind: 'failed', sink: 'mqtt', effect, error: errorText(err) });
        } else {
          subscriber.next({ kind: 'done', sink: 'mqtt', effect });
        }
        maybeComplete();
      });
    };

    // Hand everything waiting to mqtt.js while connected; it keeps order and, for QoS 1, keeps
    // unacknowledged publishes in its store across a reconnect.
    const drain = (): void => {
      const conn = connection;
      if (!conn || !conn.client.connected) return;
      if (dropped > 0) {
        const text = `MQTT: ${dropped} publish(es) dropped while the broker was unreachable (queue size ${queueSize}, oldest dropped first)`;
        conn.logger.error({ dropped, queueSize }, 'mqtt: queued publishes dropped');
        subscriber.next({ kind: 'alert', sink: 'mqtt', level: 'error', text });
        dropped = 0;
      }
      while (waiting.length > 0 && conn.client.connected) publish(conn, waiting.shift() as MqttPublish);
      maybeComplete();
    };

    const states = connection$.pipe(
      switchMap((conn) => conn.state$.pipe(map((state): [MqttConnection, ConnectionState] => [conn, state]))),
    ).subscribe({
      next: ([conn, state]) => {
        connection = conn;
        if (state === 'up') {
          drain();
          queueSizeChanged();
        }
      },
      error: (err: unknown) => subscriber.error(err),
    });

    const effects = effect$.subscribe({
      next: (effect) => {
        if (effect.type !== 'mqtt.publish') return;
        const invalid = publishTopicError(effect.topic);
        if (invalid !== undefined) {
          connection?.logger.warn({ topic: effect.topic.slice(0, 200), reason: invalid }, 'mqtt: publish refused');
          subscriber.next({ kind: 'failed', sink: 'mqtt', effect, error: `invalid topic: ${invalid}` });
          return;
        }
        waiting.push(effect);
        if (waiting.length > queueSize) {
          // reported, so that whoever waits for this effect (the event journal's checkpoint) stops waiting
          subscriber.next({ kind: 'failed', sink: 'mqtt', effect: waiting.shift() as MqttPublish, error: 'dropped: the queue is full' });
          dropped++;
        }
        drain();
        queueSizeChanged();
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => {
        effectsComplete = true;
        maybeComplete();
      },
    });

    return () => {
      effects.unsubscribe();
      states.unsubscribe();
    };
  });
}
