/**
 * Everything the pipeline asks the outside world to do. Sinks perform them; a replay prints
 * the first five kinds as `sink` lines (SPEC 10). `log` and `state.*` are internal: logs go to
 * the logger (stderr in a replay), state effects are persisted by the service.
 */
export type Effect =
  | MqttPublish
  | RtdbSet
  | FirestoreSet
  | FirestoreDelete
  | SlackAlert
  | FaceRun
  | Log
  | ScheduleHandled
  | StatusTracked;

export type EffectType = Effect['type'];
export type EffectOf<K extends EffectType> = Extract<Effect, { readonly type: K }>;

/** Every kind of effect, for routing to the drivers (a record, so a new kind must be added here). */
const KINDS: Readonly<Record<EffectType, true>> = {
  // Stryker disable next-line BooleanLiteral: Object.keys reads only the keys of this record, never its values
  'mqtt.publish': true, 'rtdb.set': true, 'firestore.set': true, 'firestore.delete': true, 'slack.alert': true,
  // Stryker disable next-line BooleanLiteral: Object.keys reads only the keys of this record, never its values
  'face.run': true, log: true, 'state.schedule': true, 'state.status': true,
};
export const EFFECT_TYPES = Object.keys(KINDS) as EffectType[];

export interface MqttPublish {
  readonly type: 'mqtt.publish';
  readonly topic: string;
  readonly payload: string;
}

export interface RtdbSet {
  readonly type: 'rtdb.set';
  readonly path: string;
  readonly value: unknown;
}

export interface FirestoreSet {
  readonly type: 'firestore.set';
  readonly collection: string;
  readonly id: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface FirestoreDelete {
  readonly type: 'firestore.delete';
  readonly collection: string;
  readonly id: string;
}

/** An operator alert. The Slack sink throttles and summarises repeats. */
export interface SlackAlert {
  readonly type: 'slack.alert';
  readonly text: string;
}

/** Run the face recogniser once; its answer comes back as a `face.result` event. */
export interface FaceRun {
  readonly type: 'face.run';
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Log {
  readonly type: 'log';
  readonly level: LogLevel;
  readonly msg: string;
}

/**
 * A schedule occurrence was handled (fired or skipped). `occurrence` is the occurrence's local
 * wall-clock time in minutes since 1970-01-01 (zone-free), so it survives restarts.
 */
export interface ScheduleHandled {
  readonly type: 'state.schedule';
  readonly id: string;
  readonly occurrence: number;
}

/** The tracked status changed (persisted so a restart starts from it). */
export interface StatusTracked {
  readonly type: 'state.status';
  readonly status: string;
}
