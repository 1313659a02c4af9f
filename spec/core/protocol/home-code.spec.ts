import { expect } from 'chai';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { decode, encode, KEEP_ALL, POSITIONS, quote, type HomeCode } from '../../../lib/core/protocol/home-code.js';
import { homeCodeArb, leftOf, MAX_AT, rightOf } from './helpers.js';

describe('home-code', () => {
  describe('decode: the client captures of SPEC 2', () => {
    it('002222222 is manual mode, air-con off, everything else kept', () => {
      expect(rightOf(decode('002222222'))).to.deep.equal({
        mode: 0,
        airconState: 0,
        airconPower: 2,
        lightState: 2,
        lightBrightness: 2,
        lightColor: 2,
        lightMode: 2,
        window: 2,
        gas: 2,
      });
    });

    it('016222222 is air-con on at power 6', () => {
      const c = rightOf(decode('016222222'));
      expect(c).to.include({ mode: 0, airconState: 1, airconPower: 6, lightState: 2, window: 2, gas: 2 });
    });

    it('022022222 is light off, air-con kept', () => {
      const c = rightOf(decode('022022222'));
      expect(c).to.include({ airconState: 2, lightState: 0, window: 2, gas: 2 });
    });

    it('022152022 is light on, brightness 5, colour 2, light mode 0', () => {
      const c = rightOf(decode('022152022'));
      expect(c).to.include({ airconState: 2, lightState: 1, lightBrightness: 5, lightColor: 2, lightMode: 0, window: 2, gas: 2 });
    });

    it('022222220 closes and 022222221 opens the gas valve', () => {
      expect(rightOf(decode('022222220'))).to.include({ airconState: 2, lightState: 2, window: 2, gas: 0 });
      expect(rightOf(decode('022222221'))).to.include({ airconState: 2, lightState: 2, window: 2, gas: 1 });
    });

    it('reads the mode digit and the window digit (903156710)', () => {
      expect(rightOf(decode('903156710'))).to.deep.equal({
        mode: 9,
        airconState: 0,
        airconPower: 3,
        lightState: 1,
        lightBrightness: 5,
        lightColor: 6,
        lightMode: 7,
        window: 1,
        gas: 0,
      });
    });
  });

  describe('encode', () => {
    it('writes the fields in wire order', () => {
      const c: HomeCode = {
        mode: 3,
        airconState: 1,
        airconPower: 4,
        lightState: 0,
        lightBrightness: 5,
        lightColor: 6,
        lightMode: 7,
        window: 1,
        gas: 2,
      };
      expect(encode(c)).to.equal('314056712');
    });

    it('KEEP_ALL is manual mode with every appliance kept: 022222222', () => {
      expect(encode(KEEP_ALL)).to.equal('022222222');
    });

    it('decode(encode(c)) equals c for every valid code', () => {
      fc.assert(
        fc.property(homeCodeArb, (c) => {
          expect(rightOf(decode(encode(c)))).to.deep.equal(c);
        }),
      );
    });

    it('encode(decode(s)) equals s for every valid nine-digit string', () => {
      const validString = fc
        .tuple(...MAX_AT.map((max) => fc.integer({ min: 0, max })))
        .map((ds) => ds.join(''));
      fc.assert(fc.property(validString, (s) => encode(rightOf(decode(s))) === s));
    });
  });

  describe('decode: rejected codes', () => {
    it('too short: reason length, no position, the length in the message', () => {
      const err = leftOf(decode('00222222'));
      expect(err).to.include({ _tag: 'ProtocolError', reason: 'length' });
      expect(err.position).to.equal(undefined);
      expect(err.message).to.match(/9 characters, got 8/);
    });

    it('too long and empty are length errors', () => {
      expect(leftOf(decode('0022222220')).reason).to.equal('length');
      expect(leftOf(decode('')).reason).to.equal('length');
    });

    it('a huge input gives a short message', () => {
      const err = leftOf(decode('0'.repeat(100_000)));
      expect(err.reason).to.equal('length');
      expect(err.message.length).to.be.at.most(200);
    });

    it('a letter is a non-digit at its position, named in the message', () => {
      const err = leftOf(decode('0221x2022'));
      expect(err).to.include({ reason: 'non-digit', position: 4 });
      expect(err.message).to.include('position 4').and.to.include('light brightness');
    });

    it('characters next to the digits in ASCII ("/" and ":") and a full-width digit are non-digits', () => {
      expect(leftOf(decode('/22222222'))).to.include({ reason: 'non-digit', position: 0 });
      expect(leftOf(decode('02222222:'))).to.include({ reason: 'non-digit', position: 8 });
      expect(leftOf(decode('0\uFF112222222'))).to.include({ reason: 'non-digit', position: 1 });
      expect(leftOf(decode('022 22222'))).to.include({ reason: 'non-digit', position: 3 });
    });

    it("'3' in a state position is out of range there (air-con, light, window, gas)", () => {
      expect(leftOf(decode('032222222'))).to.include({ reason: 'out-of-range', position: 1 });
      expect(leftOf(decode('022322222'))).to.include({ reason: 'out-of-range', position: 3 });
      expect(leftOf(decode('022222232'))).to.include({ reason: 'out-of-range', position: 7 });
      const gas = leftOf(decode('022222229'));
      expect(gas).to.include({ reason: 'out-of-range', position: 8 });
      expect(gas.message).to.include('gas valve').and.to.include('0-2');
    });

    it('9 is fine in every detail position', () => {
      expect(E.isRight(decode('929299922'))).to.equal(true);
    });

    it('non-string input is a type error: number, null, undefined, array, object', () => {
      for (const input of [16222222, null, undefined, ['016222222'], { code: '016222222' }]) {
        const err = leftOf(decode(input));
        expect(err.reason, JSON.stringify(input)).to.equal('type');
        expect(err.position).to.equal(undefined);
      }
      expect(leftOf(decode(null)).message).to.include('null');
    });

    it('rejects every string that is not nine valid digits', () => {
      const valid = /^[0-9][0-2][0-9][0-2][0-9]{3}[0-2]{2}$/;
      const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[0-9]{7,11}$/));
      fc.assert(
        fc.property(anyString, (s) => {
          fc.pre(!valid.test(s));
          expect(E.isLeft(decode(s))).to.equal(true);
        }),
      );
    });

    it('for a nine-character string, reports the FIRST offending position and why', () => {
      // Each position: a valid digit, a digit above the position's range, or any other character.
      const charAt = (max: number): fc.Arbitrary<string> =>
        fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 0, max }).map(String) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map(String) },
          { weight: 1, arbitrary: fc.constantFrom('/', ':', ' ', 'a', '-', '+', '.', '\u0000', '\uFF10', '\u0669') },
        );
      const nine = fc.tuple(...MAX_AT.map(charAt)).map((cs) => cs.join(''));
      fc.assert(
        fc.property(nine, (s) => {
          const first = [...s].findIndex((ch, i) => !/^[0-9]$/.test(ch) || Number(ch) > MAX_AT[i]!);
          fc.pre(first >= 0);
          const err = leftOf(decode(s));
          expect(err.position).to.equal(first);
          expect(err.reason).to.equal(/^[0-9]$/.test(s[first]!) ? 'out-of-range' : 'non-digit');
        }),
      );
    });
  });
});

describe('home-code: the position table and error details', () => {
  /** Written out independently of the codec: the wire order, its fields and the names errors use. */
  const WIRE = [
    ['mode', 'mode'],
    ['airconState', 'air-con state'],
    ['airconPower', 'air-con power'],
    ['lightState', 'light state'],
    ['lightBrightness', 'light brightness'],
    ['lightColor', 'light colour'],
    ['lightMode', 'light mode'],
    ['window', 'window'],
    ['gas', 'gas valve'],
  ] as const;

  it('POSITIONS lists the fields in wire order with the highest digit of each (decode gives the same order)', () => {
    expect(POSITIONS.map((p) => p.field)).to.deep.equal(WIRE.map(([field]) => field));
    expect(POSITIONS.map((p) => p.max)).to.deep.equal([...MAX_AT]);
    expect(Object.keys(rightOf(decode('903156710')))).to.deep.equal(WIRE.map(([field]) => field));
  });

  it('a non-digit at any position names that position and its appliance: "position 3 (light state)"', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.constantFrom('x', '/', ':', ' '), (i, ch) => {
        const text = `${'0'.repeat(i)}${ch}${'0'.repeat(8 - i)}`;
        const err = leftOf(decode(text));
        expect(err).to.deep.equal({
          _tag: 'ProtocolError',
          reason: 'non-digit',
          position: i,
          message: `position ${i} (${WIRE[i]![1]}): ${JSON.stringify(ch)} is not a digit in ${JSON.stringify(text)}`,
        });
      }),
    );
  });

  it('an out-of-range digit names its position, the digit and the range', () => {
    expect(leftOf(decode('022322222'))).to.deep.equal({
      _tag: 'ProtocolError',
      reason: 'out-of-range',
      position: 3,
      message: 'position 3 (light state): 3 is out of range 0-2 in "022322222"',
    });
  });

  it('type and length errors carry no position key at all', () => {
    expect(leftOf(decode('00222222'))).to.deep.equal({
      _tag: 'ProtocolError',
      reason: 'length',
      message: 'expected 9 characters, got 8 in "00222222"',
    });
    expect(leftOf(decode(16222222))).to.deep.equal({
      _tag: 'ProtocolError',
      reason: 'type',
      message: 'expected a 9-character string, got number',
    });
    expect(leftOf(decode(null)).message).to.equal('expected a 9-character string, got null');
    expect(leftOf(decode(undefined)).message).to.equal('expected a 9-character string, got undefined');
  });

  it('quote shows up to 40 characters whole and cuts a longer text after 40 with "..."', () => {
    const forty = 'a'.repeat(40);
    expect(quote(forty)).to.equal(JSON.stringify(forty));
    expect(quote(`${forty}b`)).to.equal(JSON.stringify(`${forty}...`));
    expect(quote('abcdef', 3)).to.equal('"abc..."');
    expect(leftOf(decode('0'.repeat(41))).message).to.equal(`expected 9 characters, got 41 in "${'0'.repeat(40)}..."`);
  });
});
