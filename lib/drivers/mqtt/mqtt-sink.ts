/**
 * MQTT sink: publishes `mqtt.publish` effects, in order, on the shared connection
 * (`lib/drivers/mqtt/connection.ts`, which also announces the retained `online` status and
 * carries the `offline` last will). Other effect types are ignored.
 *
 * While the connection is down, publishes wait in a bounded queue; on overflow the oldest are
 * dropped and, when the connection is back, ONE `alert` report says how many. Queued publishes
 * go out in order on reconnect, after the ones mqtt.js still held in flight.
 * A `done` report follows the broker's PUBACK (QoS 1) or the write (QoS 0); an invalid topic
 * (wildcards, empty, `$...`) or a publish mqtt.js refuses gives a `failed` report, and the
 * effects after it go on. Nothing here throws.
 */
import type { QoS } from 'async-mqtt';
import { Observable, map, switchMap } from 'rxjs';
import type { MqttConnection, ConnectionState } from './connection.js';
import type { Effect, MqttPublish } from '../../core/protocol/effects.js';
import type { SinkReport } from '../report.js';
import { errorText } from '../../base/error-text.js';

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
