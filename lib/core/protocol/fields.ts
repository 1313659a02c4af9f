/**
 * io-ts building blocks for fields that arrive in several spellings: the apps send booleans,
 * numbers or numeric strings for the same thing. Each normalises to one type.
 */
import * as t from 'io-ts';
import type { Digit, Tri } from './home-code.js';

const isDigitString = (s: string): boolean => /^\s*\d+\s*$/.test(s);

/** `true`/`false`, 0/1/2 or "0"/"1"/"2" -> a state digit. */
export const EnableField = new t.Type<Tri, Tri, unknown>(
  'boolean or 0/1/2',
  (u): u is Tri => u === 0 || u === 1 || u === 2,
  (u, c) => {
    if (typeof u === 'boolean') return t.success(u ? 1 : 0);
    const n = typeof u === 'number' ? u : typeof u === 'string' && isDigitString(u) ? Number(u) : NaN;
    return n === 0 || n === 1 || n === 2 ? t.success(n) : t.failure(u, c);
  },
  t.identity,
);

/** A digit 0-9 given as a number or numeric string, or an integer in a range. */
export function digitField(max: number, name = `digit 0-${max}`): t.Type<number, number, unknown> {
  return new t.Type<number, number, unknown>(
    name,
    // Stryker disable next-line ConditionalExpression: `typeof u === 'number' -> true`: Number.isInteger of a non-number is false (the other conditionals here are killed by the specs)
    (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= max,
    (u, c) => {
      const n = typeof u === 'number' ? u : typeof u === 'string' && isDigitString(u) ? Number(u) : NaN;
      return Number.isInteger(n) && n >= 0 && n <= max ? t.success(n) : t.failure(u, c);
    },
    t.identity,
  );
}

export const DetailField = digitField(9) as unknown as t.Type<Digit, number, unknown>;
export const ModeNumField = digitField(9, 'mode number 0-9') as unknown as t.Type<Digit, number, unknown>;

/** A sensor reading: a finite number, or a string holding one (the ESP32 writes both). */
export const SensorNumber = new t.Type<number, number, unknown>(
  'number or numeric string',
  // Stryker disable next-line ConditionalExpression: Number.isFinite of a non-number is false, so the typeof test is redundant (the other conditionals here are killed by the specs)
  (u): u is number => typeof u === 'number' && Number.isFinite(u),
  (u, c) => {
    const n = typeof u === 'number' ? u : typeof u === 'string' && u.trim() !== '' ? Number(u) : NaN;
    return Number.isFinite(n) ? t.success(n) : t.failure(u, c);
  },
  t.identity,
);

/** A string that can be a Firestore document id (not empty, no '/', not '.' or '..', not too long). */
export const DocId = t.refinement(
  t.string,
  (s) => s.length > 0 && s.length <= 500 && !s.includes('/') && s !== '.' && s !== '..' && !/^__.*__$/.test(s),
  'document id (1-500 characters, no "/")',
);

/** A device name that is safe inside an MQTT topic (`webos/{Producer}/info`). */
export const DeviceName = t.refinement(t.string, (s) => /^[A-Za-z0-9_-]{1,64}$/.test(s), 'device name [A-Za-z0-9_-]{1,64}');

export const NonEmptyString = t.refinement(t.string, (s) => s.trim().length > 0, 'non-empty string');
