/**
 * What a stream can read, and what the pipeline routes an observed event by (issue 26).
 *
 * Kinds are the event types, with MQTT messages told apart by what they are to the backend: a
 * command (`mqtt.command`, on the command topics but not its own status topic) or a status report
 * or control (`mqtt.status`, valid or not: what the world fold reads the status from). So a
 * sign-in reaches the command stream only, and a control only the streams that watch the status.
 *
 * A message could be both, where the topics are configured to overlap: its route key says so,
 * and it reaches the readers of either kind, as it did when every stream filtered every event.
 */
import type { EventOf, EventType, MqttMessage } from '../protocol/events.js';

export type Kind = Exclude<EventType, 'mqtt.message'> | 'mqtt.command' | 'mqtt.status';

/** The kinds of one observed event, as one key (`mqtt.other`: none, e.g. the backend's own status). */
export type RouteKey = Kind | 'mqtt.command+status' | 'mqtt.other';

/** The event a kind carries. */
export type EventOfKind<K extends Kind> = K extends 'mqtt.command' | 'mqtt.status' ? MqttMessage : EventOf<Exclude<K, 'mqtt.command' | 'mqtt.status'>>;

/** Per kind, the route keys that carry it (a record, so a new event type must be added here). */
export const KEYS_OF: Readonly<Record<Kind, readonly RouteKey[]>> = {
  'mqtt.command': ['mqtt.command', 'mqtt.command+status'],
  'mqtt.status': ['mqtt.status', 'mqtt.command+status'],
  'rtdb.value': ['rtdb.value'],
  'firestore.doc': ['firestore.doc'],
  'weather.result': ['weather.result'],
  'weather.failure': ['weather.failure'],
  'face.result': ['face.result'],
  'clock.tick': ['clock.tick'],
  'service.alert': ['service.alert'],
};

export const ROUTE_KEYS: readonly RouteKey[] = [...new Set([...Object.values(KEYS_OF).flat(), 'mqtt.other' as const])];

/** The route key of an MQTT message: whether it is a command, and whether the fold read a status from it. */
export function mqttKey(command: boolean, status: boolean): RouteKey {
  if (command) return status ? 'mqtt.command+status' : 'mqtt.command';
  return status ? 'mqtt.status' : 'mqtt.other';
}
