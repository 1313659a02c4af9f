/**
 * What a stream can read, and what the pipeline routes an observed event by (issue 26).
 * Declarations only: the fold stamps each observed event with its route key (`routeKey`,
 * world.ts), the router hands it to the readers of that key.
 *
 * Kinds are the event types, with two of them told apart by what they are to the backend:
 * - an MQTT message is a command (`mqtt.command`, on the command topics but not its own status
 *   topic) or a status report or control (`mqtt.status`, valid or not: what the world fold reads
 *   the status from). So a sign-in reaches the command stream only, and a control only the
 *   streams that watch the status. A message could be both, where the topics are configured to
 *   overlap: its route key says so, and it reaches the readers of either kind, as it did when
 *   every stream filtered every event.
 * - a Firestore document is of its collection (`firestore.schedule_mode`, ...). So the echo of an
 *   alarm the backend wrote reaches no stream (they read alarms from the world), and a schedule
 *   only the schedule stream. A collection the backend does not read is `firestore.other`.
 */
import type { Collection, EventOf, EventType, FirestoreDoc, MqttMessage } from '../protocol/events.js';

/** A Firestore document of one collection. */
export type FirestoreKind = `firestore.${Collection}`;

export type Kind = Exclude<EventType, 'mqtt.message' | 'firestore.doc'> | 'mqtt.command' | 'mqtt.status' | FirestoreKind;

/** The kinds of one observed event, as one key (`mqtt.other`: none, e.g. the backend's own status). */
export type RouteKey = Kind | 'mqtt.command+status' | 'mqtt.other' | 'firestore.other';

/** The event a kind carries (a Firestore kind: the document, its collection narrowed). */
export type EventOfKind<K extends Kind> = K extends 'mqtt.command' | 'mqtt.status'
  ? MqttMessage
  : K extends `firestore.${infer C}`
    ? FirestoreDoc & { readonly collection: C }
    : K extends EventType
      ? EventOf<K>
      : never;

/** Per kind, the route keys that carry it (a record, so a new event type or collection must be added here). */
export const KEYS_OF: Readonly<Record<Kind, readonly RouteKey[]>> = {
  'mqtt.command': ['mqtt.command', 'mqtt.command+status'],
  'mqtt.status': ['mqtt.status', 'mqtt.command+status'],
  'rtdb.value': ['rtdb.value'],
  'firestore.user_account': ['firestore.user_account'],
  'firestore.modes': ['firestore.modes'],
  'firestore.schedule_mode': ['firestore.schedule_mode'],
  'firestore.appliance_alarm': ['firestore.appliance_alarm'],
  'weather.result': ['weather.result'],
  'weather.failure': ['weather.failure'],
  'face.result': ['face.result'],
  'clock.tick': ['clock.tick'],
  'service.alert': ['service.alert'],
};

export const ROUTE_KEYS: readonly RouteKey[] = [...new Set([...Object.values(KEYS_OF).flat(), 'mqtt.other' as const, 'firestore.other' as const])];
