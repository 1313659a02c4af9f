/**
 * JSON commands on `webos/server/#` (SPEC 4): sign-up, sign-in, the face-recognition exchange,
 * schedules, and every error path. Users come from the folded `user_account` collection, which
 * includes the backend's own writes at once.
 */
import * as E from 'fp-ts/lib/Either.js';
import { COMMAND_NAMES, decodeCommand, decodeEnvelope, type Command, type Envelope } from '../protocol/commands.js';
import { truncate } from '../protocol/errors.js';
import { deviceTopic, topicMatches, type Topics } from '../protocol/topics.js';
import { deviceError, log, warning } from './alerts.js';
import { DEFAULT_PRODUCERS, type Limits, type Producers } from './deps.js';
import type { Effect } from '../protocol/effects.js';
import { countUnknownUid, documentRefusal, limitsOf, refused, type UnknownUidWindows } from './limits.js';
import { stream, type ObservedOf } from './stream.js';
import { react, type Doc, type World } from './world.js';

interface State {
  /** A face recognition runs; only one at a time (the camera and recogniser are single). */
  readonly facerBusy: boolean;
  /** `start_facer` requests waiting for the running one to end (as the original: one after the other). */
  readonly facerWaiting: number;
  /** Unknown-UID sign-ins answered per Producer this minute (limits.ts). */
  readonly unknownUid: UnknownUidWindows;
}

/** What a command is handled with besides the world: the clock and the limits. */
interface Context {
  readonly topics: Topics;
  readonly limits: Limits;
  readonly now: number;
  /** Sign-in reply payloads kept per user doc, for this pipeline (see `signinReply`). */
  readonly signinReplies: WeakMap<Doc, string>;
}

/** How many `start_facer` may wait behind the running one; more are refused (bounded memory). */
export const FACER_QUEUE = 3;

const CAMERA_TOPIC_DEVICE = 'camera';
const CAR_DEVICE = 'car';

export const commands$ = stream(['mqtt.command', 'face.result'], (observed$, deps) => {
  const { topics } = deps.settings;
  const limits = limitsOf(deps.settings);
  const signinReplies = new WeakMap<Doc, string>();
  const isOwn = ownProducers(topics);
  return observed$.pipe(
    // Stryker disable next-line StringLiteral: the stream's name, text of the crash message only (no valid or invalid input makes this step throw)
    react<State, ObservedOf<'mqtt.command' | 'face.result'>>('commands', topics, { facerBusy: false, facerWaiting: 0, unknownUid: new Map() }, (state, { event, world }) => {
      if (event.type === 'face.result') return finishFacer(state, event.result, world, topics);
      const envelope = decodeEnvelope(event.payload);
      if (E.isLeft(envelope)) return [state, warning(topics, `ignored message on ${event.topic}: ${envelope.left.message}`)];
      const { envelope: env, body } = envelope.right;
      if (isOwn(env.Producer)) {
        return [state, warning(topics, `ignored ${truncate(JSON.stringify(env.command), 60)} from Producer ${env.Producer}: its reply topic is one of the system's own`)];
      }
      const refused = refusal(env, deps.settings.producers ?? DEFAULT_PRODUCERS);
      if (refused !== undefined) return [state, deviceError(topics, env.Producer, refused)];
      const command = decodeCommand(env, body);
      if (E.isLeft(command)) return [state, deviceError(topics, env.Producer, command.left.message)];
      return run(state, env, command.right, world, { topics, limits, now: deps.scheduler.now(), signinReplies });
    }),
  );
});

/**
 * A Producer whose reply or error topic is one the system itself listens to or commands the home
 * on (`server` -> webos/server/info feeds our own input; `smarthome` -> webos/smarthome/info is
 * the device command topic): answering it would publish JSON there. Derived from the topics, so
 * it stays right when they are configured otherwise.
 */
function ownTopic(producer: string, topics: Topics): boolean {
  // Stryker disable next-line StringLiteral: a fast path: an own filter '' matches no reply or error topic, so leaving a disabled status topic in changes nothing
  const own = [topics.commands, topics.controls, topics.deviceCommand, ...(topics.status === '' ? [] : [topics.status])];
  return [topics.reply, topics.deviceError].some((template) => {
    const topic = deviceTopic(template, producer);
    return own.some((filter) => topicMatches(filter, topic));
  });
}

/** Why `env.Producer` may not send `env.command` (the Producer table), or undefined if it may. */
function refusal(env: Envelope, producers: Producers): string | undefined {
  if (!(COMMAND_NAMES as readonly string[]).includes(env.command)) return undefined; // unknown: decodeCommand says so
  const allowed = producers[env.command] ?? [];
  if (allowed.includes('*') || allowed.includes(env.Producer)) return undefined;
  const from = allowed.length === 0 ? 'from no device' : `only from ${allowed.join(', ')}`;
  return `${env.command} is not accepted from ${env.Producer} (accepted ${from})`;
}

/**
 * `ownTopic` per Producer, remembered: it matches eight topic pairs, and the same few Producers
 * send every command (issue 17's profile: ~7 us a command). Bounded, since a Producer is a string
 * any client chooses: past `OWN_CACHE` names the memory starts again.
 */
const OWN_CACHE = 64;

function ownProducers(topics: Topics): (producer: string) => boolean {
  const known = new Map<string, boolean>();
  return (producer) => {
    let own = known.get(producer);
    if (own === undefined) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator,CallExpression: the memo's bound: cleared early, late or never, the memo gives the same answers (memory only)
      if (known.size >= OWN_CACHE) known.clear();
      own = ownTopic(producer, topics);
      // Stryker disable next-line CallExpression: a memo: unremembered, ownTopic is recomputed with the same answer
      known.set(producer, own);
    }
    return own;
  };
}

function reply(topics: Topics, device: string, payload: string): Effect {
  return { type: 'mqtt.publish', topic: deviceTopic(topics.reply, device), payload };
}

/**
 * The payload of a sign-in reply: the user doc's fields plus Producer and command. Kept per doc
 * object (the same users sign in again and again); a changed doc is a new object, never one
 * changed in place, so a kept payload is always the doc's current one.
 */
export function signinReply(user: Doc, signinReplies = new WeakMap<Doc, string>()): string {
  let payload = signinReplies.get(user);
  if (payload === undefined) {
    payload = JSON.stringify({ ...user, Producer: 'server', command: 'return_name' });
    // Stryker disable next-line CallExpression: a memo: unremembered, the payload is recomputed the same
    signinReplies.set(user, payload);
  }
  return payload;
}

function run(state: State, env: Envelope, command: Command, world: World, context: Context): readonly [State, readonly Effect[]] {
  const { topics, limits } = context;
  switch (command.command) {
    case 'signup': {
      const users = world.docs.user_account;
      const refusal = documentRefusal('user', { name: command.name }, users.has(command.UID), users.size, limits);
      if (refusal) return [state, refused(topics, env.Producer, `signup: ${refusal.toSender}`, `${env.Producer}: ${refusal.toOperator}`)];
      return [
        state,
        [
          { type: 'firestore.set', collection: 'user_account', id: command.UID, data: { name: command.name } },
          log('info', `${env.Producer} signed up user ${command.UID}`),
        ],
      ];
    }
    case 'signin': {
      const user = world.docs.user_account.get(command.UID);
      if (user === undefined) return unknownUid(state, env.Producer, command.UID, context);
      return [state, [reply(topics, env.Producer, signinReply(user, context.signinReplies))]];
    }
    case 'start_facer':
      if (!state.facerBusy) return [{ ...state, facerBusy: true }, startFacer(topics)];
      if (state.facerWaiting >= FACER_QUEUE) {
        return [state, deviceError(topics, env.Producer, `start_facer: a face recognition runs and ${FACER_QUEUE} more wait; try again later`)];
      }
      return [
        { ...state, facerWaiting: state.facerWaiting + 1 },
        [log('info', `start_facer from ${env.Producer} waits for the running recognition (${state.facerWaiting + 1} waiting)`)],
      ];
    case 'add_schedule': {
      const schedules = world.docs.schedule_mode;
      const refusal = documentRefusal('schedule', command.doc, schedules.has(command.title), schedules.size, limits);
      if (refusal) return [state, refused(topics, env.Producer, `add_schedule: ${refusal.toSender}`, `${env.Producer}: ${refusal.toOperator}`)];
      return [
        state,
        [
          { type: 'firestore.set', collection: 'schedule_mode', id: command.title, data: command.doc },
          log('info', `${env.Producer} added schedule ${command.title}`),
        ],
      ];
    }
    case 'delete_schedule':
      return [
        state,
        [
          { type: 'firestore.delete', collection: 'schedule_mode', id: command.title },
          log('info', `${env.Producer} deleted schedule ${command.title}`),
        ],
      ];
    case 'test':
    case 'alert':
      return [state, [log('info', `${command.command} from ${env.Producer}: ${JSON.stringify(command.body)}`)]];
  }
}

/**
 * An unknown UID is answered with an error, up to `unknownUidPerMin` a minute per Producer: a
 * client guessing UIDs gets one "too many" error, then silence until the minute ends.
 */
function unknownUid(state: State, producer: string, uid: string, { topics, limits, now }: Context): readonly [State, readonly Effect[]] {
  const { windows, verdict } = countUnknownUid(state.unknownUid, producer, now, limits.unknownUidPerMin);
  const next = { ...state, unknownUid: windows };
  switch (verdict) {
    case 'answer':
      return [next, deviceError(topics, producer, `signin: unknown UID ${JSON.stringify(uid)}`)];
    case 'limit':
      return [next, refused(
        topics,
        producer,
        `signin: more than ${limits.unknownUidPerMin} unknown UIDs this minute; further sign-ins with unknown UIDs get no answer until the minute ends`,
        `${producer}: more than ${limits.unknownUidPerMin} sign-ins with unknown UIDs in a minute (LIMIT_UNKNOWN_UID_PER_MIN); the rest of the minute's are not answered`,
      )];
    case 'silent':
      return [next, []];
  }
}

function facerSign(sign: 'start' | 'end'): Record<string, unknown> {
  return { Producer: 'server', command: 'facer_sign', sign };
}

function startFacer(topics: Topics): Effect[] {
  return [reply(topics, CAMERA_TOPIC_DEVICE, JSON.stringify(facerSign('start'))), { type: 'face.run' }];
}

function finishFacer(state: State, result: string, world: World, topics: Topics): readonly [State, readonly Effect[]] {
  if (!state.facerBusy) return [state, [log('warn', `face result ${JSON.stringify(result)} arrived with no recognition running; ignored`)]];
  const user = world.docs.user_account.get(result);
  const name = typeof user?.name === 'string' ? user.name : 'fail';
  const effects: Effect[] = [
    { type: 'mqtt.publish', topic: deviceTopic(topics.reply, CAMERA_TOPIC_DEVICE), payload: JSON.stringify(facerSign('end')) },
    {
      type: 'mqtt.publish',
      topic: deviceTopic(topics.reply, CAR_DEVICE),
      payload: JSON.stringify({ Producer: 'server', command: 'return_facer', result, name }),
    },
  ];
  // The next waiting request starts as this one's answer goes out.
  if (state.facerWaiting > 0) return [{ ...state, facerWaiting: state.facerWaiting - 1 }, [...effects, ...startFacer(topics)]];
  return [{ ...state, facerBusy: false }, effects];
}
