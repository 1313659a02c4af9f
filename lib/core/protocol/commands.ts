/**
 * The JSON commands on `webos/server/#` (SPEC 4). Decoding happens in two steps so errors go to
 * the right place: the envelope (`Producer`, `command`) first, whose failure is a system warning;
 * then the command's own fields, whose failure is an error for the sending device.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { formatErrors, truncate, type DecodeError } from './errors.js';
import { DeviceName, DocId } from './fields.js';
import { decodeSchedule, DecodedSchedule, type Schedule } from './documents.js';

export const Envelope = t.type({ Producer: DeviceName, command: t.string });
export type Envelope = t.TypeOf<typeof Envelope>;

/** A command of that name with these fields, read-only: one member of `Command`. */
const named = <N extends string, P extends t.Props>(command: N, props: P) => t.readonly(t.type({ command: t.literal(command), ...props }));

/**
 * Step 2's result, one codec per command. The body of a signup, a signin or a delete_schedule is
 * decoded with its codec (its other keys, `Producer` among them, are left out of the command);
 * an add_schedule's title likewise, its schedule by `decodeSchedule` and `doc` is the body
 * without `Producer` and `command`; test and alert carry the whole body.
 */
export const Signup = named('signup', { UID: DocId, name: t.string });
export const Signin = named('signin', { UID: DocId });
export const StartFacer = named('start_facer', {});
export const AddSchedule = named('add_schedule', { title: DocId, schedule: DecodedSchedule, doc: t.UnknownRecord });
export const DeleteSchedule = named('delete_schedule', { title: DocId });
export const Message = t.readonly(t.type({ command: t.keyof({ test: null, alert: null }), body: t.UnknownRecord }));

/** A decoded command: its type follows the codecs. */
export const Command = t.union([Signup, Signin, StartFacer, AddSchedule, DeleteSchedule, Message]);
export type Command = t.TypeOf<typeof Command>;

/** Every command's name (a record, so a command added to `Command` must be named here to compile). */
const NAMES: Readonly<Record<Command['command'], true>> = {
  // Stryker disable next-line BooleanLiteral: Object.keys reads only the keys of this record, never its values
  signup: true, signin: true, start_facer: true, add_schedule: true, delete_schedule: true, test: true, alert: true,
};
export const COMMAND_NAMES = Object.keys(NAMES) as readonly Command['command'][];

/** An add_schedule's title, decoded before its schedule. */
const Titled = t.type({ title: DocId });

/** Step 1: text -> JSON object with a valid envelope. */
export function decodeEnvelope(text: string): E.Either<DecodeError, { envelope: Envelope; body: Record<string, unknown> }> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left({ _tag: 'DecodeError', message: truncate(`not JSON (${(e as Error).message}): ${text}`) });
  }
  if (!t.UnknownRecord.is(json) || Array.isArray(json)) {
    return E.left({ _tag: 'DecodeError', message: truncate(`expected a JSON object with Producer and command, got: ${text}`) });
  }
  const body = json;
  // The usual case without io-ts's contexts and Eithers: `is` gives the same verdict, and `decode`
  // of these codecs returns the object itself (nothing to convert).
  // Stryker disable next-line ConditionalExpression: a fast path: the decode below gives the same verdict and value (its `-> true` twin is killed by the specs)
  if (Envelope.is(body)) return E.right({ envelope: body, body });
  // Stryker disable next-line ArrowFunction,ObjectLiteral: unreachable, decode succeeds only where the `is` fast path above has already returned
  return E.map((envelope: Envelope) => ({ envelope, body }))(formatErrors('command envelope', Envelope.decode(body)));
}

/** Step 2: the command's own fields. */
export function decodeCommand(envelope: Envelope, body: Record<string, unknown>): E.Either<DecodeError, Command> {
  const what = envelope.command;
  switch (envelope.command) {
    case 'signup':
      // Stryker disable next-line ConditionalExpression: a fast path: the decode below gives the same verdict and value (its `-> true` twin is killed by the specs)
      if (Signup.is(body)) return E.right({ command: 'signup', UID: body.UID, name: body.name });
      // Stryker disable next-line ArrowFunction,ObjectLiteral: unreachable, decode succeeds only where the `is` fast path above has already returned
      return E.map((c: t.TypeOf<typeof Signup>) => ({ command: 'signup' as const, UID: c.UID, name: c.name }))(
        formatErrors(what, Signup.decode(body)),
      );
    case 'signin':
      // Stryker disable next-line ConditionalExpression: a fast path: the decode below gives the same verdict and value (its `-> true` twin is killed by the specs)
      if (Signin.is(body)) return E.right({ command: 'signin', UID: body.UID });
      // Stryker disable next-line ArrowFunction,ObjectLiteral: unreachable, decode succeeds only where the `is` fast path above has already returned
      return E.map((c: t.TypeOf<typeof Signin>) => ({ command: 'signin' as const, UID: c.UID }))(formatErrors(what, Signin.decode(body)));
    case 'start_facer':
      return E.right({ command: 'start_facer' });
    case 'add_schedule': {
      const title = formatErrors(what, Titled.decode(body));
      if (E.isLeft(title)) return title;
      const { Producer: _p, command: _c, ...doc } = body;
      return E.map((schedule: Schedule) => ({ command: 'add_schedule' as const, title: title.right.title, schedule, doc }))(
        decodeSchedule(doc, what),
      );
    }
    case 'delete_schedule':
      return E.map((c: t.TypeOf<typeof DeleteSchedule>) => ({ command: 'delete_schedule' as const, title: c.title }))(
        formatErrors(what, DeleteSchedule.decode(body)),
      );
    case 'test':
    case 'alert':
      return E.right({ command: envelope.command, body });
    default:
      return E.left({
        _tag: 'DecodeError',
        message: truncate(`unknown command ${JSON.stringify(envelope.command)} (known: ${COMMAND_NAMES.join(', ')})`),
      });
  }
}
