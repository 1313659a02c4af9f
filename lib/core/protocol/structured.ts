/**
 * The RTDB's structured view of the home (SPEC 3): `aircon {enabled, fan_level}`,
 * `light {enabled, brightness, color, mod}`, `window {enabled}`, `gas {enabled}`.
 * Percentages are digit * 10; `color` and `mod` are the digit as a string ("0"-"9"), which keeps
 * the view lossless (the firmware's colour names cover only 0-7). A status has no "keep" state,
 * so a state digit 2 reads as not enabled; the mode digit is not part of the view.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import type { Digit, HomeCode } from './home-code.js';
import { formatErrors, type DecodeError } from './errors.js';

export interface StructuredView {
  readonly aircon: { readonly enabled: boolean; readonly fan_level: number };
  readonly light: { readonly enabled: boolean; readonly brightness: number; readonly color: string; readonly mod: string };
  readonly window: { readonly enabled: boolean };
  readonly gas: { readonly enabled: boolean };
}

export function toStructured(code: HomeCode): StructuredView {
  return {
    aircon: { enabled: code.airconState === 1, fan_level: code.airconPower * 10 },
    light: {
      enabled: code.lightState === 1,
      brightness: code.lightBrightness * 10,
      color: String(code.lightColor),
      mod: String(code.lightMode),
    },
    window: { enabled: code.window === 1 },
    gas: { enabled: code.gas === 1 },
  };
}

const Percent = t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0 && n <= 100, 'number 0-100');
const DigitString = t.refinement(t.string, (s) => /^[0-9]$/.test(s), 'digit string "0"-"9"');

const StructuredCodec = t.type({
  aircon: t.type({ enabled: t.boolean, fan_level: Percent }),
  light: t.type({ enabled: t.boolean, brightness: Percent, color: DigitString, mod: DigitString }),
  window: t.type({ enabled: t.boolean }),
  gas: t.type({ enabled: t.boolean }),
});

/** Percent to digit: rounded to the nearest ten, 100 % is the top digit 9 (90 %). */
function percentDigit(p: number): Digit {
  return Math.min(9, Math.round(p / 10)) as Digit;
}

/** Reads the structured view (untrusted: it comes from the RTDB) as a status code. */
export function fromStructured(input: unknown, mode: Digit = 0): E.Either<DecodeError, HomeCode> {
  return E.map((v: t.TypeOf<typeof StructuredCodec>) => ({
    mode,
    airconState: v.aircon.enabled ? 1 : 0,
    airconPower: percentDigit(v.aircon.fan_level),
    lightState: v.light.enabled ? 1 : 0,
    lightBrightness: percentDigit(v.light.brightness),
    lightColor: Number(v.light.color) as Digit,
    lightMode: Number(v.light.mod) as Digit,
    window: v.window.enabled ? 1 : 0,
    gas: v.gas.enabled ? 1 : 0,
  } as const))(formatErrors('structured view', StructuredCodec.decode(input)));
}
