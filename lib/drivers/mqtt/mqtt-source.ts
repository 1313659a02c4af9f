/**
 * MQTT source: the messages on the inbound topics (SPEC 2) as `mqtt.message` events.
 *
 * Subscribes at QoS 1 on the shared persistent connection (`lib/drivers/mqtt/connection.ts`), and again
 * after every CONNACK that says the broker lost the session (`sessionPresent: false`) or while
 * the last SUBSCRIBE is unconfirmed. Reconnecting (with backoff) is the connection's job.
 * Unsubscribing removes the listener but keeps the broker-side subscriptions: the persistent
 * session goes on queueing QoS 1 messages for the next run.
 *
 * Retained messages (RETAIN=1 on delivery: stored state handed out because we (re)subscribed,
 * not a live publication) are dropped unless their topic matches `acceptRetained`. Duplicates
 * (DUP=1, a QoS 1 redelivery) are emitted like any message: at-least-once, as MQTT 3.1.1 4.3.2
 * requires of a QoS 1 receiver. See docs/mqtt.md.
 *
 * Acknowledgement: by default a message is acknowledged (PUBACK) once it has been emitted. With
 * `manualAck`, it is acknowledged only when the consumer calls `acknowledge(event)`, e.g. once
 * the event is in the service's journal; until then mqtt.js reads nothing more (one message in
 * hand at a time) and the broker keeps the message for the session.
 */
import type { QoS } from 'async-mqtt';
import {
  EMPTY, Observable, catchError, concatMap, defer, filter, ignoreElements, merge, switchMap, tap,
} from 'rxjs';
import { topicFilter } from '../../core/protocol/topics.js';
import type { MqttMessage } from '../../core/protocol/events.js';
import type { MqttConnection } from './connection.js';
import { errorText } from '../../base/error-text.js';

export interface MqttSourceOptions {
  /** Subscription QoS; default 1. */
  readonly qos?: QoS;
  /** Topic filters whose retained messages are state worth taking (e.g. `data/smarthome/status`). */
  readonly acceptRetained?: readonly string[];
  /** Default false. True: each message is acknowledged only by `acknowledge(event)`. */
  readonly manualAck?: boolean;
}

/** How a message came (`manualAck`): its packet id, and DUP=1 when the broker sends it again. */
export interface Delivery {
  readonly messageId?: number;
  readonly dup: boolean;
}

/**
 * The emitted messages that wait for `acknowledge` (`manualAck`), oldest first. mqtt.js hands
 * over one message at a time and reads the next only after the PUBACK, so this holds one or two:
 * a list is cheaper per message than a map.
 */
const pendingAcks: Array<{ readonly event: MqttMessage; readonly ack: () => void; readonly delivery: Delivery; readonly owner: object }> = [];

function pendingIndex(event: object): number {
  for (let i = 0; i < pendingAcks.length; i++) if (pendingAcks[i]!.event === event) return i;
  return -1;
}

/** Lets mqtt.js acknowledge `event` to the broker (a no-op for anything else, or when done already). */
export function acknowledge(event: object): void {
  const i = pendingIndex(event);
  if (i < 0) return;
  const { ack } = pendingAcks[i]!;
  pendingAcks.splice(i, 1);
  ack();
}

/** The delivery of a message not acknowledged yet (`manualAck`). */
export const deliveryOf = (event: object): Delivery | undefined => pendingAcks[pendingIndex(event)]?.delivery;

/** One test for a list of filters, each compiled once. */
function anyFilter(filters: readonly string[]): (topic: string) => boolean {
  const tests = filters.map(topicFilter);
  return (topic) => {
    for (const test of tests) if (test(topic)) return true;
    return false;
  };
}

/** Messages on `topics` (MQTT filters, from config), payload decoded as UTF-8. */
export function fromMqtt(
  connection$: Observable<MqttConnection>,
  topics: readonly string[],
  options: MqttSourceOptions = {},
): Observable<MqttMessage> {
  const qos = options.qos ?? 1;
  const ours = anyFilter(topics);
  const retainedTaken = anyFilter(options.acceptRetained ?? []);

  return connection$.pipe(switchMap((connection) => {
    const { client } = connection;
    const logger = connection.logger.child({ source: 'mqtt' });

    const message$ = new Observable<MqttMessage>((subscriber) => {
      const unset = connection.onPublish((packet, ack) => {
        const { topic, retain } = packet;
        // the persistent session may still hold subscriptions of an older configuration
        if (!ours(topic)) return ack();
        if (retain && !retainedTaken(topic)) {
          logger.debug({ topic }, 'mqtt: retained message skipped');
          return ack();
        }
        const payload = typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
        const event: MqttMessage = { type: 'mqtt.message', topic, payload };
        if (options.manualAck !== true) {
          subscriber.next(event);
          return ack();
        }
        // the packet is the delivery (its `messageId` and `dup`): no object of our own per message
        pendingAcks.push({ event, ack, delivery: packet, owner: subscriber });
        subscriber.next(event);
      });
      return () => {
        unset();
        // never acknowledged: the broker hands them to the next session
        for (let i = pendingAcks.length - 1; i >= 0; i--) if (pendingAcks[i]!.owner === subscriber) pendingAcks.splice(i, 1);
      };
    });

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
