import { expect } from 'chai';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import {
  DetailField,
  DeviceName,
  DocId,
  EnableField,
  ModeNumField,
  NonEmptyString,
  SensorNumber,
  digitField,
} from '../../../lib/core/protocol/fields.js';
import { decodeWith } from '../../../lib/core/protocol/errors.js';
import { leftOf, rightOf } from './helpers.js';

const accepts = (codec: t.Decoder<unknown, unknown>, input: unknown): boolean => E.isRight(codec.decode(input));

describe('fields', () => {
  describe('EnableField', () => {
    it('booleans become 1 and 0', () => {
      expect(rightOf(EnableField.decode(true))).to.equal(1);
      expect(rightOf(EnableField.decode(false))).to.equal(0);
    });

    it('0/1/2 as numbers or numeric strings become the digit', () => {
      expect([0, 1, 2, '0', '1', '2', ' 2 '].map((u) => rightOf(EnableField.decode(u)))).to.deep.equal([0, 1, 2, 0, 1, 2, 2]);
    });

    it('rejects 3, -1, 1.5, "true", "", null and objects', () => {
      for (const u of [3, -1, 1.5, 'true', '', '1.0', null, {}, [1]]) {
        expect(accepts(EnableField, u), JSON.stringify(u)).to.equal(false);
      }
    });
  });

  describe('DetailField and ModeNumField', () => {
    it('accept 0-9 as numbers or numeric strings', () => {
      expect([0, 9, '5', '09'].map((u) => rightOf(DetailField.decode(u)))).to.deep.equal([0, 9, 5, 9]);
      expect(rightOf(ModeNumField.decode('3'))).to.equal(3);
    });

    it('reject 10, negatives, fractions, booleans and words', () => {
      for (const u of [10, '10', -1, 2.5, '2.5', true, 'five', '', [3], ['3'], null]) {
        expect(accepts(DetailField, u), JSON.stringify(u)).to.equal(false);
      }
      expect(accepts(ModeNumField, 10)).to.equal(false);
    });

    it('digitField(max) takes its range and names it', () => {
      const hour = digitField(23);
      expect(accepts(hour, 23)).to.equal(true);
      expect(accepts(hour, 24)).to.equal(false);
      expect(hour.name).to.equal('digit 0-23');
    });
  });

  describe('SensorNumber', () => {
    it('accepts finite numbers and numeric strings (the ESP32 writes both)', () => {
      expect([23.5, '23.5', '-4', ' 60 ', 0].map((u) => rightOf(SensorNumber.decode(u)))).to.deep.equal([23.5, 23.5, -4, 60, 0]);
    });

    it('rejects blanks, words, infinities and null', () => {
      for (const u of ['', '  ', 'abc', Infinity, NaN, null, true]) {
        expect(accepts(SensorNumber, u), String(u)).to.equal(false);
      }
    });
  });

  describe('DocId, DeviceName, NonEmptyString', () => {
    it('DocId takes ordinary titles and rejects what Firestore forbids', () => {
      expect(accepts(DocId, 'wake up 07:00')).to.equal(true);
      for (const u of ['', 'a/b', '.', '..', '__id__', 'x'.repeat(501), 7]) {
        expect(accepts(DocId, u), String(u).slice(0, 20)).to.equal(false);
      }
      // Up to 500 characters; only ids wholly of the form __x__ are reserved.
      for (const u of ['x'.repeat(500), 'a__id__', '__id__a', '_x_']) expect(accepts(DocId, u), u.slice(0, 20)).to.equal(true);
    });

    it('DeviceName takes car/android/camera and rejects MQTT wildcards, separators and spaces', () => {
      for (const ok of ['car', 'android', 'camera', 'esp32_home-1']) expect(accepts(DeviceName, ok), ok).to.equal(true);
      for (const bad of ['', 'a/b', 'car#', 'car+', 'my car', 'x'.repeat(65)]) expect(accepts(DeviceName, bad), bad).to.equal(false);
    });

    it('NonEmptyString rejects blank text', () => {
      expect(accepts(NonEmptyString, ' x ')).to.equal(true);
      expect(accepts(NonEmptyString, '   ')).to.equal(false);
    });

    it('errors name what a sensor reading and a non-empty string must be', () => {
      expect(leftOf(decodeWith(SensorNumber, 'temp')('warm')).message).to.equal('temp: value: expected number or numeric string, got "warm"');
      expect(leftOf(decodeWith(NonEmptyString, 'text')(' ')).message).to.equal('text: value: expected non-empty string, got " "');
    });
  });

  describe('is: exactly the normalised values, the ones decode returns unchanged', () => {
    // Edge values of every spelling, and anything else fast-check makes up.
    const edges = [0, 1, 2, 3, 9, 10, 11, -1, 0.5, 1.5, NaN, Infinity, -Infinity, -0, '0', '1', '2', ' 1 ', '', true, false, null, undefined, [1], { n: 1 }];
    const inputs = fc.oneof(fc.constantFrom(...edges), fc.anything(), fc.double(), fc.integer({ min: -3, max: 12 }));
    const codecs: ReadonlyArray<[string, t.Decoder<unknown, unknown> & { is: (u: unknown) => boolean }]> = [
      ['EnableField', EnableField],
      ['DetailField', DetailField],
      ['ModeNumField', ModeNumField],
      ['digitField(5)', digitField(5)],
      ['SensorNumber', SensorNumber],
    ];
    for (const [name, codec] of codecs) {
      it(`${name}: is(u) holds exactly when decode(u) gives u back`, () => {
        const law = (u: unknown): void => {
          const r = codec.decode(u);
          expect(codec.is(u), JSON.stringify(u)).to.equal(E.isRight(r) && Object.is(r.right, u));
          if (E.isRight(r)) expect(codec.is(r.right), JSON.stringify(u)).to.equal(true);
        };
        for (const u of edges) law(u);
        fc.assert(fc.property(inputs, law));
      });
    }
  });
});
