import { expect } from 'chai';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { decodeEnvelope } from '../../../lib/core/protocol/commands.js';
import { decodeSchedule } from '../../../lib/core/protocol/documents.js';
import { decodeWith, formatErrors, MAX_ERROR_LENGTH, truncate } from '../../../lib/core/protocol/errors.js';
import { decode } from '../../../lib/core/protocol/home-code.js';
import { decodeRecordedLine } from '../../../lib/core/protocol/recording.js';
import { decodeCurrentWeather } from '../../../lib/core/protocol/openweather.js';
import { leftOf, rightOf } from './helpers.js';

const Point = t.type({ name: t.string, at: t.type({ x: t.number, tags: t.array(t.string) }) });

describe('errors', () => {
  describe('formatErrors', () => {
    it('names what was decoded, the path, the expected type and the value', () => {
      const err = leftOf(formatErrors('point', Point.decode({ name: 'p', at: { x: '1', tags: [] } })));
      expect(err).to.deep.equal({ _tag: 'DecodeError', message: 'point: at.x: expected number, got "1"' });
    });

    it('array indices are path parts; a missing value is "nothing"', () => {
      expect(leftOf(formatErrors('point', Point.decode({ name: 'p', at: { x: 1, tags: ['a', 2] } }))).message).to.equal(
        'point: at.tags.1: expected string, got 2',
      );
      expect(leftOf(formatErrors('point', Point.decode({ at: { x: 1, tags: [] } }))).message).to.equal('point: name: expected string, got nothing');
    });

    it('a failure at the root says "value"', () => {
      expect(leftOf(formatErrors('count', t.number.decode('three'))).message).to.equal('count: value: expected number, got "three"');
    });

    it('the member indices of intersections and unions are not part of the path', () => {
      const Doc = t.intersection([t.type({ a: t.number }), t.partial({ b: t.union([t.string, t.null]) })]);
      expect(leftOf(formatErrors('doc', Doc.decode({ a: 'x', b: 3 }))).message).to.equal(
        'doc: a: expected number, got "x"; b: expected string, got 3; b: expected null, got 3',
      );
      expect(leftOf(decodeSchedule({ enabled: true, startTime: '2460', repeat: false, activeDate: '2021.09.22' })).message).to.equal(
        'schedule: startTime: expected start time "HHMM", got "2460"',
      );
    });

    it('reports at most three problems, without repeats', () => {
      const Many = t.type({ a: t.string, b: t.string, c: t.string, d: t.string });
      const message = leftOf(formatErrors('many', Many.decode({}))).message;
      expect(message.split('; ')).to.have.length(3);
      const Same = t.union([t.type({ a: t.string }), t.type({ a: t.string })]);
      expect(leftOf(formatErrors('same', Same.decode({}))).message).to.equal('same: a: expected string, got nothing');
    });

    it('right values pass through; decodeWith is formatErrors over a codec', () => {
      expect(rightOf(formatErrors('n', t.number.decode(4)))).to.equal(4);
      expect(leftOf(decodeWith(t.string, 'name')(5)).message).to.equal('name: value: expected string, got 5');
    });

    it('shows long values cut to 40 characters and does not throw on values JSON cannot show', () => {
      const long = leftOf(formatErrors('n', t.number.decode('y'.repeat(1000)))).message;
      expect(long).to.equal(`n: value: expected number, got "${'y'.repeat(39)}...`);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      expect(leftOf(formatErrors('n', t.number.decode(circular))).message).to.equal('n: value: expected number, got [object Object]');
      expect(leftOf(formatErrors('n', t.number.decode(10n))).message).to.equal('n: value: expected number, got 10');
    });

    it('a value whose JSON is exactly 40 characters is shown whole; 41 are cut', () => {
      expect(leftOf(formatErrors('n', t.number.decode('y'.repeat(38)))).message).to.equal(`n: value: expected number, got "${'y'.repeat(38)}"`);
      expect(leftOf(formatErrors('n', t.number.decode('y'.repeat(39)))).message).to.equal(`n: value: expected number, got "${'y'.repeat(39)}...`);
    });

    it("a codec's own failure message is shown in parentheses", () => {
      const Warm = new t.Type<number, number, unknown>('temperature', t.number.is, (u, c) => t.failure(u, c, 'too cold'), t.identity);
      expect(leftOf(formatErrors('room', Warm.decode(-5))).message).to.equal('room: value: expected temperature, got -5 (too cold)');
    });

    it('errors made by hand, without a root entry or any context, still read', () => {
      const noRoot: t.Errors = [{ value: 'x', context: [{ key: 'a', type: t.number, actual: 'x' }] }];
      expect(leftOf(formatErrors('doc', E.left(noRoot))).message).to.equal('doc: a: expected number, got "x"');
      expect(leftOf(formatErrors('doc', E.left([{ value: 1, context: [] }]))).message).to.equal('doc: value: expected a valid value, got 1');
    });
  });

  describe('truncate', () => {
    it('keeps texts of up to 200 characters and cuts longer ones to 200 ending in "..."', () => {
      expect(truncate('x'.repeat(200))).to.equal('x'.repeat(200));
      const cut = truncate('x'.repeat(201));
      expect(cut).to.have.length(MAX_ERROR_LENGTH);
      expect(cut.endsWith('...')).to.equal(true);
    });
  });

  describe('every decoder keeps its message within 200 characters, even for huge inputs', () => {
    const huge = fc.string({ minLength: 300, maxLength: 5000 });

    it('the 9-digit decoder, the envelope and the recorded line', () => {
      fc.assert(
        fc.property(huge, (s) => {
          expect(leftOf(decode(s)).message.length).to.be.at.most(MAX_ERROR_LENGTH);
          expect(leftOf(decodeEnvelope(s)).message.length).to.be.at.most(MAX_ERROR_LENGTH);
          expect(leftOf(decodeRecordedLine(s)).message.length).to.be.at.most(MAX_ERROR_LENGTH);
        }),
        { numRuns: 50 },
      );
    });

    it('codec errors with many long keys and values', () => {
      fc.assert(
        fc.property(fc.array(huge, { minLength: 3, maxLength: 6 }), (values) => {
          const body = Object.fromEntries(values.map((v, i) => [`${'k'.repeat(300)}${i}`, v]));
          const envelope = JSON.stringify({ Producer: values[0], command: values[1], ...body });
          expect(leftOf(decodeEnvelope(envelope)).message.length).to.be.at.most(MAX_ERROR_LENGTH);
          expect(leftOf(decodeCurrentWeather({ coord: values, weather: values, main: { temp: values[2] } })).message.length).to.be.at.most(
            MAX_ERROR_LENGTH,
          );
          const schedule = { enabled: values[0], startTime: values[1], repeat: values[2], title: 5 };
          expect(leftOf(decodeSchedule(schedule)).message.length).to.be.at.most(MAX_ERROR_LENGTH);
        }),
        { numRuns: 30 },
      );
    });
  });
});
