/**
 * JSON commands on `webos/server/#` (SPEC 4): sign-up, sign-in, the face-recognition exchange,
 * schedules, and every error path. Users come from the folded `user_account` collection, which
 * includes the backend's own writes at once.
 */
import { filter, type Observable } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { decodeCommand, decodeEnvelope, type Command, type Envelope } from '../protocol/commands.js';
import { topicMatches } from '../protocol/topics.js';
import { deviceError, log, warning } from './alerts.js';
import { deviceTopic, type Deps, type Limits, type Topics } from './deps.js';
import type { Effect } from './effects.js';
import { countUnknownUid, documentRefusal, limitsOf, refused, type UnknownUidWindows } from './limits.js';
import { react } from './react.js';
import type { Doc, Observed, World } from './world.js';

interface State {
  /** A face recognition runs; only one at a time (the camera and recogniser are single). */
  readonly facerBusy: boolean;
  /** Unknown-UID sign-ins answered per Producer this minute (limits.ts). */
  readonly unknownUid: UnknownUidWindows;
}

/** What a command is handled with besides the world: the clock and the limits. */
interface Context {
  readonly topics: Topics;
  readonly limits: Limits;
  readonly now: number;
}

const CAMERA_TOPIC_DEVICE = 'camera';
const CAR_DEVICE = 'car';

export function commands$(observed$: Observable<Observed>, deps: Deps): Observable<Effect> {
  const { topics } = deps.settings;
  const limits = limitsOf(deps.settings);
  return observed$.pipe(
    filter(
      ({ event }) =>
        (event.type === 'mqtt.message' && event.topic !== topics.serverStatus && topicMatches(topics.commands, event.topic)) ||
        event.type === 'face.result',
    ),
    react<State, Observed>('commands', topics, { facerBusy: false, unknownUid: new Map() }, (state, { event, world }) => {
      if (event.type === 'face.result') return finishFacer(state, event.result, world, topics);
      if (event.type !== 'mqtt.message') return [state, []];
      const envelope = decodeEnvelope(event.payload);
      if (E.isLeft(envelope)) return [state, warning(topics, `ignored message on ${event.topic}: ${envelope.left.message}`)];
      const { envelope: env, body } = envelope.right;
      const command = decodeCommand(env, body);
      if (E.isLeft(command)) return [state, deviceError(topics, env.Producer, command.left.message)];
      return run(state, env, command.right, world, { topics, limits, now: deps.scheduler.now() });
    }),
  );
}

function reply(topics: Topics, device: string, payload: string): Effect {
  return { type: 'mqtt.publish', topic: deviceTopic(topics.reply, device), payload };
}

/**
 * The payload of a sign-in reply: the user doc's fields plus Producer and command. Kept per doc
 * object (the same users sign in again and again); a changed doc is a new object, never one
 * changed in place, so a kept payload is always the doc's current one.
 */
const signinReplies = new WeakMap<Doc, string>();

export function signinReply(user: Doc): string {
  let payload = signinReplies.get(user);
  if (payload === undefined) {
    payload = JSON.stringify({ ...user, Producer: 'server', command: 'return_name' });
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
      return [state, [reply(topics, env.Producer, signinReply(user))]];
    }
    case 'start_facer':
      if (state.facerBusy) {
        return [state, deviceError(topics, env.Producer, 'start_facer: a face recognition is already running; try again when it ends')];
      }
      return [{ ...state, facerBusy: true }, [reply(topics, CAMERA_TOPIC_DEVICE, JSON.stringify(facerSign('start'))), { type: 'face.run' }]];
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
  return [{ ...state, facerBusy: false }, effects];
}
