/**
 * Everything the pipeline reacts to. Sources (and the replay reader) produce these; the
 * shapes map one to one onto the `source` lines of a recording (SPEC 10).
 * Payloads are raw: decoding happens in the streams, so a bad payload becomes an alert there.
 */
export type Event =
  | MqttMessage
  | RtdbValue
  | FirestoreDoc
  | WeatherResult
  | WeatherFailure
  | FaceResult
  | ClockTick
  | ServiceAlert;

export type EventType = Event['type'];
export type EventOf<K extends EventType> = Extract<Event, { readonly type: K }>;

/** Every kind of event, for routing (a record, so a new kind must be added here to compile). */
const KINDS: Readonly<Record<EventType, true>> = {
  // Stryker disable next-line BooleanLiteral: Object.keys reads only the keys of this record, never its values
  'mqtt.message': true, 'rtdb.value': true, 'firestore.doc': true, 'weather.result': true, 'weather.failure': true,
  // Stryker disable next-line BooleanLiteral: Object.keys reads only the keys of this record, never its values
  'face.result': true, 'clock.tick': true, 'service.alert': true,
};
export const EVENT_TYPES = Object.keys(KINDS) as EventType[];

/** A message received on a subscribed topic. */
export interface MqttMessage {
  readonly type: 'mqtt.message';
  readonly topic: string;
  readonly payload: string;
}

/** The value at an RTDB path (`null` when deleted); any granularity, `''` is the root. */
export interface RtdbValue {
  readonly type: 'rtdb.value';
  readonly path: string;
  readonly value: unknown;
}

/** The Firestore collections the backend reads (a `firestore.doc` may name another: it is kept out). */
export const COLLECTIONS = ['user_account', 'modes', 'schedule_mode', 'appliance_alarm'] as const;
export type Collection = (typeof COLLECTIONS)[number];

/** A Firestore document as it now is; `data: null` means it was deleted. */
export interface FirestoreDoc {
  readonly type: 'firestore.doc';
  readonly collection: string;
  readonly id: string;
  readonly data: Readonly<Record<string, unknown>> | null;
  /**
   * When the document was last written (epoch ms: Firestore's update time, the local store's
   * write time), if the source knows. A one-off schedule without a date runs on that day
   * (SPEC 6); without it, the instant the event is handled counts (a recording line's `at`).
   */
  readonly writtenAt?: number;
}

/** One successful weather poll: the raw OpenWeatherMap `/weather` and `/air_pollution` bodies. */
export interface WeatherResult {
  readonly type: 'weather.result';
  readonly current: unknown;
  readonly air: unknown;
}

/** A weather poll that failed (HTTP error, timeout, rejected body). `reason` holds no secret. */
export interface WeatherFailure {
  readonly type: 'weather.failure';
  readonly reason: string;
}

/** What the face recogniser answered: a UID, `"none"` (no recogniser) or `"fail"`. */
export interface FaceResult {
  readonly type: 'face.result';
  readonly result: string;
}

/** A clock tick (every second live and in replays); the time is the scheduler's `now()`. */
export interface ClockTick {
  readonly type: 'clock.tick';
}

/**
 * Something the service noticed about itself: a source down or back, a sink's sustained
 * failure or dropped messages. The pipeline reports it like its own alerts. Not recorded.
 */
export interface ServiceAlert {
  readonly type: 'service.alert';
  readonly level: 'error' | 'warning' | 'info';
  readonly text: string;
}
