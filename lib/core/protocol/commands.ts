/**
 * The JSON commands on `webos/server/#` (SPEC 4). Decoding happens in two steps so errors go to
 * the right place: the envelope (`Producer`, `command`) first, whose failure is a system warning;
 * then the command's own fields, whose failure is an error for the sending device.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { formatErrors, truncate, type DecodeError } from './errors.js';
import { DeviceName, DocId } from './fields.js';
import { decodeSchedule, type Schedule } from './documents.js';

export const Envelope = t.type({ Producer: DeviceName, command: t.string });
export type Envelope = t.TypeOf<typeof Envelope>;

export const Signup = t.type({ UID: DocId, name: t.string });
export const Signin = t.type({ UID: DocId });
export const DeleteSchedule = t.type({ title: DocId });

export type Command =
  | { readonly command: 'signup'; readonly UID: string; readonly name: string }
  | { readonly command: 'signin'; readonly UID: string }
  | { readonly command: 'start_facer' }
  | { readonly command: 'add_schedule'; readonly title: string; readonly schedule: Schedule; readonly doc: Record<string, unknown> }
  | { readonly command: 'delete_schedule'; readonly title: string }
  | { readonly command: 'test' | 'alert'; readonly body: Record<string, unknown> };

export const COMMAND_NAMES = ['signup', 'signin', 'start_facer', 'add_schedule', 'delete_schedule', 'test', 'alert'] as const;

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
  if (Envelope.is(body)) return E.right({ envelope: body, body });
  return E.map((envelope: Envelope) => ({ envelope, body }))(formatErrors('command envelope', Envelope.decode(body)));
}

/** Step 2: the command's own fields. */
export function decodeCommand(envelope: Envelope, body: Record<string, unknown>): E.Either<DecodeError, Command> {
  const what = envelope.command;
  switch (envelope.command) {
    case 'signup':
      if (Signup.is(body)) return E.right({ command: 'signup', UID: body.UID, name: body.name });
      return E.map((c: t.TypeOf<typeof Signup>) => ({ command: 'signup' as const, UID: c.UID, name: c.name }))(
        formatErrors(what, Signup.decode(body)),
      );
    case 'signin':
      if (Signin.is(body)) return E.right({ command: 'signin', UID: body.UID });
      return E.map((c: t.TypeOf<typeof Signin>) => ({ command: 'signin' as const, UID: c.UID }))(formatErrors(what, Signin.decode(body)));
    case 'start_facer':
      return E.right({ command: 'start_facer' });
    case 'add_schedule': {
      const title = formatErrors(what, t.type({ title: DocId }).decode(body));
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
