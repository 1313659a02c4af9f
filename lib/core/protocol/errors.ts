/** Readable io-ts errors: "where: at path: expected X, got Y", cut to 200 characters. */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';

export interface DecodeError {
  readonly _tag: 'DecodeError';
  readonly message: string;
}

export const MAX_ERROR_LENGTH = 200;

/** Cuts a message that may embed untrusted input, so it stays readable in Slack and MQTT. */
export function truncate(text: string, max = MAX_ERROR_LENGTH): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function isMemberOf(parent: t.Decoder<unknown, unknown> | undefined): boolean {
  return parent instanceof t.IntersectionType || parent instanceof t.UnionType;
}

function describe(error: t.ValidationError): string {
  // The context runs from the root codec to the failing one. Its keys are path parts, except the
  // member indices that intersections and unions add (they are not in the data).
  const path = error.context
    .filter((c, i) => c.key !== '' && !isMemberOf(error.context[i - 1]?.type))
    .map((c) => c.key)
    .join('.');
  const expected = error.context[error.context.length - 1]?.type.name ?? 'a valid value';
  const message = error.message ? ` (${error.message})` : '';
  return `${path === '' ? 'value' : path}: expected ${expected}, got ${show(error.value)}${message}`;
}

/** Turns an io-ts result into one readable error naming what was decoded. */
export function formatErrors<A>(what: string, result: t.Validation<A>): E.Either<DecodeError, A> {
  return E.mapLeft((errors: t.Errors) => {
    // Union codecs report one error per branch; the first few are enough to act on.
    const parts = [...new Set(errors.map(describe))].slice(0, 3);
    return { _tag: 'DecodeError' as const, message: truncate(`${what}: ${parts.join('; ')}`) };
  })(result);
}

/** Decodes untrusted input with a codec into an Either with a readable error. */
export function decodeWith<A, O>(codec: t.Type<A, O, unknown>, what: string) {
  return (input: unknown): E.Either<DecodeError, A> => formatErrors(what, codec.decode(input));
}
