/**
 * The replay format (SPEC 10): recorded events in, effect lines out. A line is one JSON object;
 * `at` is ISO-8601 with an offset. A weather failure is recorded as `{"source":"weather","error":…}`.
 * A Firestore line may carry `writtenAt`, the document's write time in epoch ms (SPEC 6 dates a
 * one-off without `activeDate` by it); a line without one was written when it was recorded (`at`).
 *
 * Two more kinds of line, both written by the event journal (docs/storage.md):
 * - `{"resume":{"at":…,"seq":…,"scheduleFired":{…},"lastTickAt":…,"status":"…"}}`, only as the
 *   first line: the durable state the service started from (`seq` numbers the first event after it);
 * - `{"at":…,"source":"clock"}`: the service was running and ticking at `at` (one a minute, so a
 *   replay ticks as long as the service did, and fires the same schedules).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { formatErrors, truncate, type DecodeError } from './errors.js';
import type { Resume } from './resume.js';
import type { Event } from './events.js';
import type { Effect } from './effects.js';

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export const Instant = new t.Type<number, string, unknown>(
  'ISO-8601 time with offset',
  (u): u is number => typeof u === 'number',
  (u, c) => {
    if (typeof u !== 'string' || !ISO_WITH_OFFSET.test(u)) return t.failure(u, c);
    const ms = Date.parse(u);
    // Date.parse rolls "2021-02-30" over into March instead of rejecting it.
    const [year, month, day] = u.slice(0, 10).split('-').map(Number) as [number, number, number];
    const realDay = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
    return Number.isNaN(ms) || !realDay ? t.failure(u, c) : t.success(ms);
  },
  (ms) => new Date(ms).toISOString(),
);

const Head = t.type({ at: Instant, source: t.keyof({ mqtt: null, rtdb: null, firestore: null, weather: null, face: null, clock: null }) });
const DocData = t.union([t.UnknownRecord, t.null]);
/** Any JSON value, `null` included, but present: a missing body is a broken line, not `undefined`. */
const Present = new t.Type<unknown, unknown, unknown>(
  'a JSON value',
  // Stryker disable next-line ArrowFunction,ConditionalExpression,EqualityOperator: never called, io-ts asks only decode of the codecs holding Present, never is
  (u): u is unknown => u !== undefined,
  (u, c) => (u === undefined ? t.failure(u, c) : t.success(u)),
  t.identity,
);
const WeatherResultBody = t.type({ current: Present, air: Present });
const WeatherFailureBody = t.type({ error: t.string });

const bodies = {
  mqtt: t.type({ topic: t.string, payload: t.string }),
  rtdb: t.type({ path: t.string, value: t.unknown }),
  // `writtenAt` (epoch ms) came later: older recordings and journals have none.
  firestore: t.intersection([t.type({ collection: t.string, id: t.string, data: DocData }), t.partial({ writtenAt: t.number })]),
  weather: t.union([WeatherFailureBody, WeatherResultBody]),
  face: t.type({ result: t.string }),
  clock: t.type({}),
} as const;

export interface Recorded {
  readonly at: number;
  readonly event: Event;
}

function toEvent(source: keyof typeof bodies, json: unknown): E.Either<DecodeError, Event> {
  switch (source) {
    case 'mqtt':
      return E.map((b: t.TypeOf<typeof bodies.mqtt>): Event => ({ type: 'mqtt.message', topic: b.topic, payload: b.payload }))(
        formatErrors('mqtt line', bodies.mqtt.decode(json)),
      );
    case 'rtdb':
      return E.map((b: t.TypeOf<typeof bodies.rtdb>): Event => ({ type: 'rtdb.value', path: b.path, value: b.value ?? null }))(
        formatErrors('rtdb line', bodies.rtdb.decode(json)),
      );
    case 'firestore':
      return E.map(
        (b: t.TypeOf<typeof bodies.firestore>): Event => ({
          type: 'firestore.doc', collection: b.collection, id: b.id, data: b.data, ...(b.writtenAt === undefined ? {} : { writtenAt: b.writtenAt }),
        }),
      )(formatErrors('firestore line', bodies.firestore.decode(json)));
    case 'weather':
      // A decoded body is the input object itself, so ask the failure codec which branch it is.
      return E.map(
        (b: t.TypeOf<typeof bodies.weather>): Event =>
          WeatherFailureBody.is(b) ? { type: 'weather.failure', reason: b.error } : { type: 'weather.result', current: b.current, air: b.air },
      )(formatErrors('weather line', bodies.weather.decode(json)));
    case 'face':
      return E.map((b: t.TypeOf<typeof bodies.face>): Event => ({ type: 'face.result', result: b.result }))(
        formatErrors('face line', bodies.face.decode(json)),
      );
    case 'clock':
      return E.right({ type: 'clock.tick' });
  }
}

/** The first line of a journal file: where its events start from. */
export interface ResumeHeader {
  /** When the state was taken (epoch ms); a replay's clock starts here. */
  readonly at: number;
  /** The journal sequence number of the first event after the header. */
  readonly seq: number;
  readonly resume: Resume;
}

const ResumeBody = t.type({
  resume: t.intersection([
    t.type({ at: Instant, seq: t.number, scheduleFired: t.record(t.string, t.number) }),
    t.partial({ lastTickAt: t.number, status: t.string }),
  ]),
});

/** Whether a line is a resume header (cheap: the journal's event lines start with `{"at"`). */
export const isResumeLine = (line: string): boolean => line.startsWith('{"resume"');

export function decodeResumeLine(line: string): E.Either<DecodeError, ResumeHeader> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    return E.left({ _tag: 'DecodeError', message: truncate(`not JSON (${(e as Error).message})`) });
  }
  return E.map(({ resume: { at, seq, ...resume } }: t.TypeOf<typeof ResumeBody>): ResumeHeader => ({ at, seq, resume }))(
    formatErrors('resume line', ResumeBody.decode(json)),
  );
}

export function encodeResumeLine(header: ResumeHeader, at: string): string {
  const { scheduleFired, lastTickAt, status } = header.resume;
  return JSON.stringify({
    // Stryker disable next-line ConditionalExpression: `-> false` writes lastTickAt/status: undefined, which JSON.stringify drops (the `-> true` twins are killed by the specs)
    resume: { at, seq: header.seq, scheduleFired, ...(lastTickAt === undefined ? {} : { lastTickAt }), ...(status === undefined ? {} : { status }) },
  });
}

/** The once-a-minute line that says the service was ticking at `at`. */
export const encodeClockLine = (at: string): string => `{"at":${JSON.stringify(at)},"source":"clock"}`;

/** One recording line -> its instant and event, or a readable reason. */
export function decodeRecordedLine(line: string): E.Either<DecodeError, Recorded> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    return E.left({ _tag: 'DecodeError', message: truncate(`not JSON (${(e as Error).message})`) });
  }
  return E.chain((head: t.TypeOf<typeof Head>) => E.map((event: Event) => ({ at: head.at, event }))(toEvent(head.source, json)))(
    formatErrors('recorded line', Head.decode(json)),
  );
}

/** The last topic `topicJson` was asked for, and its JSON form. */
// Stryker disable next-line StringLiteral: the initial cache entry is read only for a first message on the topic it names, and MQTT forbids the empty topic
let lastTopic = '';
// Stryker disable next-line StringLiteral: the initial cache entry is read only for a first message on the topic it names, and MQTT forbids the empty topic
let lastTopicJson = '""';

/** `JSON.stringify(topic)`, kept for the last topic (messages come on a few topics, mostly one after another on the same). */
function topicJson(topic: string): string {
  // Stryker disable next-line ConditionalExpression: a cache: `-> true` computes the same JSON every time (its `-> false` twin is killed by the specs)
  if (topic !== lastTopic) {
    lastTopicJson = JSON.stringify(topic);
    lastTopic = topic;
  }
  return lastTopicJson;
}

/**
 * An inbound event as a recording line (ticks are not recorded: a replay makes its own). `mid`,
 * an MQTT message's packet id, is kept by the event journal (replays ignore it).
 */
export function encodeEventLine(event: Event, at: string, mid?: number): string | null {
  switch (event.type) {
    case 'mqtt.message':
      // By hand, as JSON.stringify of the object would write it: this runs for every message
      // journaled. `at` goes in as it is: a readable line's `at` is ISO-8601 (`Instant` above:
      // digits, "-", "T", ":", ".", "+", "Z"), which JSON never escapes. The topic is one of a
      // few, so its JSON form is kept from the line before (`topicJson`): one JSON.stringify a
      // message instead of three (each a call into V8's C++).
      return `{"at":"${at}","source":"mqtt","topic":${topicJson(event.topic)},"payload":${JSON.stringify(event.payload)}` +
        `${mid === undefined ? '' : `,"mid":${mid}`}}`;
    case 'rtdb.value':
      return JSON.stringify({ at, source: 'rtdb', path: event.path, value: event.value });
    case 'firestore.doc':
      return JSON.stringify({
        // Stryker disable next-line ConditionalExpression: `-> false` writes writtenAt: undefined, which JSON.stringify drops (its `-> true` twin is killed by the specs)
        at, source: 'firestore', collection: event.collection, id: event.id, data: event.data, ...(event.writtenAt === undefined ? {} : { writtenAt: event.writtenAt }),
      });
    case 'weather.result':
      return JSON.stringify({ at, source: 'weather', current: event.current, air: event.air });
    case 'weather.failure':
      return JSON.stringify({ at, source: 'weather', error: event.reason });
    case 'face.result':
      return JSON.stringify({ at, source: 'face', result: event.result });
    case 'clock.tick':
    case 'service.alert':
      return null;
  }
}

/** An effect as a replay output line; internal effects (logs, state) have none. */
export function encodeEffectLine(effect: Effect, at: string): string | null {
  switch (effect.type) {
    case 'mqtt.publish':
      return JSON.stringify({ at, sink: 'mqtt', topic: effect.topic, payload: effect.payload });
    case 'rtdb.set':
      return JSON.stringify({ at, sink: 'rtdb', path: effect.path, value: effect.value });
    case 'firestore.set':
      return JSON.stringify({ at, sink: 'firestore', collection: effect.collection, id: effect.id, data: effect.data });
    case 'firestore.delete':
      return JSON.stringify({ at, sink: 'firestore', collection: effect.collection, id: effect.id, data: null });
    case 'slack.alert':
      return JSON.stringify({ at, sink: 'slack', text: effect.text });
    case 'face.run':
      return JSON.stringify({ at, sink: 'face', run: true });
    case 'log':
    case 'state.schedule':
    case 'state.status':
      return null;
  }
}
