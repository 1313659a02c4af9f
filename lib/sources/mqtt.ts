/**
 * MQTT source: the messages on the inbound topics (SPEC 2) as `mqtt.message` events.
 *
 * Subscribes at QoS 1 on the shared persistent connection (`mqtt-connection.ts`), and again
 * after every CONNACK that says the broker lost the session (`sessionPresent: false`) or while
 * the last SUBSCRIBE is unconfirmed. Reconnecting (with backoff) is the connection's job.
 * Unsubscribing removes the listener but keeps the broker-side subscriptions: the persistent
 * session goes on queueing QoS 1 messages for the next run.
 *
 * Retained messages (RETAIN=1 on delivery: stored state handed out because we (re)subscribed,
 * not a live publication) are dropped unless their topic matches `acceptRetained`. Duplicates
 * (DUP=1, a QoS 1 redelivery) are emitted like any message: at-least-once, as MQTT 3.1.1 4.3.2
 * requires of a QoS 1 receiver. See docs/mqtt.md.
 */
import type { IPublishPacket, QoS } from 'async-mqtt';
import {
  EMPTY, catchError, concatMap, defer, filter, fromEvent, ignoreElements, map, merge, switchMap, tap,
  type Observable,
} from 'rxjs';
import { topicMatches } from '../protocol/topics.js';
import type { MqttMessage } from '../protocol/events.js';
import type { MqttConnection } from '../mqtt/connection.js';

export interface MqttSourceOptions {
  /** Subscription QoS; default 1. */
  readonly qos?: QoS;
  /** Topic filters whose retained messages are state worth taking (e.g. `data/smarthome/status`). */
  readonly acceptRetained?: readonly string[];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Messages on `topics` (MQTT filters, from config), payload decoded as UTF-8. */
export function fromMqtt(
  connection$: Observable<MqttConnection>,
  topics: readonly string[],
  options: MqttSourceOptions = {},
): Observable<MqttMessage> {
  const qos = options.qos ?? 1;
  const acceptRetained = options.acceptRetained ?? [];
  const ours = (topic: string): boolean => topics.some((f) => topicMatches(f, topic));

  return connection$.pipe(switchMap((connection) => {
    const { client } = connection;
    const logger = connection.logger.child({ source: 'mqtt' });

    const message$ = fromEvent(
      client, 'message',
      (topic: string, payload: Buffer, packet: IPublishPacket) => ({ topic, payload, retain: packet.retain }),
    ).pipe(
      // the persistent session may still hold subscriptions of an older configuration
      filter(({ topic }) => ours(topic)),
      filter(({ topic, retain }) => {
        const take = !retain || acceptRetained.some((f) => topicMatches(f, topic));
        if (!take) logger.debug({ topic }, 'mqtt: retained message skipped');
        return take;
      }),
      map(({ topic, payload }): MqttMessage => ({ type: 'mqtt.message', topic, payload: payload.toString('utf8') })),
    );

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
