/**
 * The 9-character appliance protocol (SPEC 3): one digit per position, e.g. `016222222`.
 * `decode` is the only way in from the wire; `encode` the only way out.
 */
import * as E from 'fp-ts/lib/Either.js';

/** A state digit: 0 off/closed, 1 on/open, 2 keep. */
export type Tri = 0 | 1 | 2;
/** A detail digit: 0-9 (power, brightness: d * 10 %). */
export type Digit = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

export interface HomeCode {
  readonly mode: Digit;
  readonly airconState: Tri;
  readonly airconPower: Digit;
  readonly lightState: Tri;
  readonly lightBrightness: Digit;
  readonly lightColor: Digit;
  readonly lightMode: Digit;
  readonly window: Tri;
  readonly gas: Tri;
}

export type Field = keyof HomeCode;

/** The fields in wire order, with the highest digit each position allows. */
export const POSITIONS: ReadonlyArray<{ readonly field: Field; readonly max: 2 | 9; readonly name: string }> = [
  { field: 'mode', max: 9, name: 'mode' },
  { field: 'airconState', max: 2, name: 'air-con state' },
  { field: 'airconPower', max: 9, name: 'air-con power' },
  { field: 'lightState', max: 2, name: 'light state' },
  { field: 'lightBrightness', max: 9, name: 'light brightness' },
  { field: 'lightColor', max: 9, name: 'light colour' },
  { field: 'lightMode', max: 9, name: 'light mode' },
  { field: 'window', max: 2, name: 'window' },
  { field: 'gas', max: 2, name: 'gas valve' },
];

export const CODE_LENGTH = 9;

export interface ProtocolError {
  readonly _tag: 'ProtocolError';
  readonly reason: 'type' | 'length' | 'non-digit' | 'out-of-range';
  /** 0-based position of the offending character (absent for type and length errors). */
  readonly position?: number;
  readonly message: string;
}

const MAX_SHOWN = 40;

/** Shows untrusted text in an error message: quoted, and cut so a flood cannot reach the logs. */
export function quote(text: string, max = MAX_SHOWN): string {
  const shown = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(shown);
}

function fail(reason: ProtocolError['reason'], message: string, position?: number): E.Either<ProtocolError, never> {
  return E.left(position === undefined ? { _tag: 'ProtocolError', reason, message } : { _tag: 'ProtocolError', reason, position, message });
}

const MAX = POSITIONS.map((p) => p.max);

/** Parses a 9-character code; the error says which position is wrong and why. */
export function decode(text: unknown): E.Either<ProtocolError, HomeCode> {
  if (typeof text !== 'string') {
    return fail('type', `expected a 9-character string, got ${text === null ? 'null' : typeof text}`);
  }
  if (text.length !== CODE_LENGTH) {
    return fail('length', `expected 9 characters, got ${text.length} in ${quote(text)}`);
  }
  const d: number[] = [];
  // Stryker disable next-line EqualityOperator: the length is checked above: a 10th round reads NaN, which fails neither check, and the destructuring below drops it
  for (let i = 0; i < CODE_LENGTH; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) {
      return fail('non-digit', `position ${i} (${POSITIONS[i]!.name}): ${quote(text[i]!)} is not a digit in ${quote(text)}`, i);
    }
    if (c > MAX[i]!) {
      return fail('out-of-range', `position ${i} (${POSITIONS[i]!.name}): ${c} is out of range 0-${MAX[i]} in ${quote(text)}`, i);
    }
    d.push(c);
  }
  // Every digit was checked against its position's range just above.
  const [mode, airconState, airconPower, lightState, lightBrightness, lightColor, lightMode, window, gas] = d as [Digit, Tri, Digit, Tri, Digit, Digit, Digit, Tri, Tri];
  return E.right({ mode, airconState, airconPower, lightState, lightBrightness, lightColor, lightMode, window, gas });
}

export function encode(code: HomeCode): string {
  return (
    String(code.mode) +
    code.airconState +
    code.airconPower +
    code.lightState +
    code.lightBrightness +
    code.lightColor +
    code.lightMode +
    code.window +
    code.gas
  );
}

/** A command that changes nothing: manual mode, every appliance kept. */
export const KEEP_ALL: HomeCode = {
  mode: 0,
  airconState: 2,
  airconPower: 2,
  lightState: 2,
  lightBrightness: 2,
  lightColor: 2,
  lightMode: 2,
  window: 2,
  gas: 2,
};
