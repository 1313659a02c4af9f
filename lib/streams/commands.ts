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
import { deviceTopic, type Deps, type Topics } from './deps.js';
import type { Effect } from './effects.js';
import { react } from './react.js';
import type { Doc, Observed, World } from './world.js';

interface State {
  /** A face recognition runs; only one at a time (the camera and recogniser are single). */
  readonly facerBusy: boolean;
}

const CAMERA_TOPIC_DEVICE = 'camera';
const CAR_DEVICE = 'car';

export function commands$(observed$: Observable<Observed>, deps: Deps): Observable<Effect> {
  const { topics } = deps.settings;
  return observed$.pipe(
    filter(
      ({ event }) =>
        (event.type === 'mqtt.message' && event.topic !== topics.serverStatus && topicMatches(topics.commands, event.topic)) ||
        event.type === 'face.result',
    ),
    react<State, Observed>('commands', topics, { facerBusy: false }, (state, { event, world }) => {
      if (event.type === 'face.result') return finishFacer(state, event.result, world, topics);
      if (event.type !== 'mqtt.message') return [state, []];
      const envelope = decodeEnvelope(event.payload);
      if (E.isLeft(envelope)) return [state, warning(topics, `ignored message on ${event.topic}: ${envelope.left.message}`)];
      const { envelope: env, body } = envelope.right;
      const command = decodeCommand(env, body);
      if (E.isLeft(command)) return [state, deviceError(topics, env.Producer, command.left.message)];
      return run(state, env, command.right, world, topics);
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

function run(state: State, env: Envelope, command: Command, world: World, topics: Topics): readonly [State, readonly Effect[]] {
  switch (command.command) {
    case 'signup':
      return [
        state,
        [
          { type: 'firestore.set', collection: 'user_account', id: command.UID, data: { name: command.name } },
          log('info', `${env.Producer} signed up user ${command.UID}`),
        ],
      ];
    case 'signin': {
      const user = world.docs.user_account.get(command.UID);
      if (user === undefined) return [state, deviceError(topics, env.Producer, `signin: unknown UID ${JSON.stringify(command.UID)}`)];
      return [state, [reply(topics, env.Producer, signinReply(user))]];
    }
    case 'start_facer':
      if (state.facerBusy) {
        return [state, deviceError(topics, env.Producer, 'start_facer: a face recognition is already running; try again when it ends')];
      }
      return [{ facerBusy: true }, [reply(topics, CAMERA_TOPIC_DEVICE, JSON.stringify(facerSign('start'))), { type: 'face.run' }]];
    case 'add_schedule':
      return [
        state,
        [
          { type: 'firestore.set', collection: 'schedule_mode', id: command.title, data: command.doc },
          log('info', `${env.Producer} added schedule ${command.title}`),
        ],
      ];
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
  return [{ facerBusy: false }, effects];
}
