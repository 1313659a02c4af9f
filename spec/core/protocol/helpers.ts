/** Shared bits of the protocol specs: Either unwrapping and arbitraries for 9-digit codes. */
import { expect } from 'chai';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type { Digit, HomeCode, Tri } from '../../../lib/core/protocol/home-code.js';

/** The value of a Right; fails the test (showing the error) on a Left. */
export function rightOf<L, A>(e: E.Either<L, A>): A {
  if (E.isLeft(e)) expect.fail(`expected a Right, got Left ${JSON.stringify(e.left)}`);
  return e.right;
}

/** The error of a Left; fails the test (showing the value) on a Right. */
export function leftOf<L, A>(e: E.Either<L, A>): L {
  if (E.isRight(e)) expect.fail(`expected a Left, got Right ${JSON.stringify(e.right)}`);
  return e.left;
}

export const DIGITS: readonly Digit[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
export const digitArb: fc.Arbitrary<Digit> = fc.constantFrom(...DIGITS);
export const triArb: fc.Arbitrary<Tri> = fc.constantFrom<Tri>(0, 1, 2);
export const onOffArb: fc.Arbitrary<Tri> = fc.constantFrom<Tri>(0, 1);

/** Any valid code: a command (state digits 0/1/2) or a status. */
export const homeCodeArb: fc.Arbitrary<HomeCode> = fc.record({
  mode: digitArb,
  airconState: triArb,
  airconPower: digitArb,
  lightState: triArb,
  lightBrightness: digitArb,
  lightColor: digitArb,
  lightMode: digitArb,
  window: triArb,
  gas: triArb,
});

/** A status as the home reports it: every state digit 0 or 1. */
export const statusArb: fc.Arbitrary<HomeCode> = fc.record({
  mode: digitArb,
  airconState: onOffArb,
  airconPower: digitArb,
  lightState: onOffArb,
  lightBrightness: digitArb,
  lightColor: digitArb,
  lightMode: digitArb,
  window: onOffArb,
  gas: onOffArb,
});

/** The highest digit each position allows (SPEC 3), written out independently of the codec. */
export const MAX_AT = [9, 2, 9, 2, 9, 9, 9, 2, 2] as const;
