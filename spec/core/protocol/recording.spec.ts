import { expect } from 'chai';
import fc from 'fast-check';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import {
  decodeRecordedLine,
  decodeResumeLine,
  encodeClockLine,
  encodeEffectLine,
  encodeEventLine,
  encodeResumeLine,
  Instant,
  isResumeLine,
  type ResumeHeader,
} from '../../../lib/core/protocol/recording.js';
import { leftOf, rightOf } from './helpers.js';

const AT = '2021-09-22T19:00:00.000+09:00';
const AT_MS = Date.UTC(2021, 8, 22, 10, 0, 0);
const line = (fields: Record<string, unknown>): string => JSON.stringify({ at: AT, ...fields });

describe('recording', () => {
  describe('decodeRecordedLine: the SPEC 10 lines', () => {
    it('mqtt: the instant of `at` (offset applied) and the raw topic and payload', () => {
      const text =
        '{"at":"2021-09-22T19:00:00.000+09:00","source":"mqtt","topic":"webos/server/info","payload":"{\\"Producer\\":\\"android\\",\\"command\\":\\"signin\\",\\"UID\\":\\"u1\\"}"}';
      expect(rightOf(decodeRecordedLine(text))).to.deep.equal({
        at: AT_MS,
        event: { type: 'mqtt.message', topic: 'webos/server/info', payload: '{"Producer":"android","command":"signin","UID":"u1"}' },
      });
    });

    it('rtdb: path and value; a missing value reads as null (deleted)', () => {
      expect(rightOf(decodeRecordedLine(line({ source: 'rtdb', path: 'smarthome/status', value: '009060210' }))).event).to.deep.equal({
        type: 'rtdb.value',
        path: 'smarthome/status',
        value: '009060210',
      });
      expect(rightOf(decodeRecordedLine(line({ source: 'rtdb', path: 'sensor/hometemp/temp' }))).event).to.include({ value: null });
    });

    it('firestore: a document, and data null for a deleted one', () => {
      const data = { enabled: true, startTime: '0700', repeat: true };
      expect(rightOf(decodeRecordedLine(line({ source: 'firestore', collection: 'schedule_mode', id: 'wake', data }))).event).to.deep.equal({
        type: 'firestore.doc',
        collection: 'schedule_mode',
        id: 'wake',
        data,
      });
      expect(rightOf(decodeRecordedLine(line({ source: 'firestore', collection: 'schedule_mode', id: 'wake', data: null }))).event).to.include({
        data: null,
      });
    });

    it('firestore: the write time `writtenAt` (epoch ms) when the line has one; older lines have none', () => {
      const data = { enabled: true, startTime: '0700', repeat: false, activeDate: null };
      expect(rightOf(decodeRecordedLine(line({ source: 'firestore', collection: 'schedule_mode', id: 'once', data, writtenAt: AT_MS - 5000 }))).event)
        .to.deep.equal({ type: 'firestore.doc', collection: 'schedule_mode', id: 'once', data, writtenAt: AT_MS - 5000 });
      expect(rightOf(decodeRecordedLine(line({ source: 'firestore', collection: 'schedule_mode', id: 'once', data }))).event).not.to.have.property('writtenAt');
      expect(leftOf(decodeRecordedLine(line({ source: 'firestore', collection: 'schedule_mode', id: 'once', data, writtenAt: 'yesterday' }))).message)
        .to.equal('firestore line: writtenAt: expected number, got "yesterday"');
    });

    it('weather: the two raw bodies, or a failed poll recorded as error', () => {
      const current = { coord: { lat: 37.57, lon: 126.98 } };
      const air = { list: [] };
      expect(rightOf(decodeRecordedLine(line({ source: 'weather', current, air }))).event).to.deep.equal({ type: 'weather.result', current, air });
      expect(rightOf(decodeRecordedLine(line({ source: 'weather', error: 'HTTP 401' }))).event).to.deep.equal({
        type: 'weather.failure',
        reason: 'HTTP 401',
      });
    });

    it('face: the recogniser result', () => {
      expect(rightOf(decodeRecordedLine(line({ source: 'face', result: 'u1' })))).to.deep.equal({ at: AT_MS, event: { type: 'face.result', result: 'u1' } });
    });

    it('accepts Z and other offsets, with or without fractional seconds', () => {
      expect(rightOf(decodeRecordedLine(JSON.stringify({ at: '2021-09-22T10:00:00Z', source: 'face', result: 'x' }))).at).to.equal(AT_MS);
      expect(rightOf(decodeRecordedLine(JSON.stringify({ at: '2021-09-22T06:00:00.5-04:00', source: 'face', result: 'x' }))).at).to.equal(AT_MS + 500);
    });
  });

  describe('decodeRecordedLine: bad lines', () => {
    it('not JSON', () => {
      expect(leftOf(decodeRecordedLine('{"at": ')).message).to.match(/^not JSON \(/);
      expect(leftOf(decodeRecordedLine('{"at": '))._tag).to.equal('DecodeError');
    });

    it('missing at, or at without an offset, names `at`', () => {
      expect(leftOf(decodeRecordedLine('{"source":"face","result":"u1"}')).message).to.equal(
        'recorded line: at: expected ISO-8601 time with offset, got nothing',
      );
      expect(leftOf(decodeRecordedLine(JSON.stringify({ at: '2021-09-22T19:00:00', source: 'face', result: 'u1' }))).message).to.equal(
        'recorded line: at: expected ISO-8601 time with offset, got "2021-09-22T19:00:00"',
      );
    });

    it('an `at` that is not on the calendar (Feb 30, 25 o\'clock) is rejected, not rolled over', () => {
      for (const bad of ['2021-02-30T19:00:00+09:00', '2021-04-31T00:00:00Z', '2021-09-22T25:00:00+09:00', 1632304800000]) {
        expect(leftOf(decodeRecordedLine(JSON.stringify({ at: bad, source: 'face', result: 'u1' }))).message, String(bad)).to.match(
          /^recorded line: at: /,
        );
      }
    });

    it('an unknown source lists the known ones', () => {
      expect(leftOf(decodeRecordedLine(line({ source: 'camera' }))).message).to.equal(
        'recorded line: source: expected "mqtt" | "rtdb" | "firestore" | "weather" | "face" | "clock", got "camera"',
      );
    });

    it("a source's missing field is named: mqtt payload, firestore data, face result", () => {
      expect(leftOf(decodeRecordedLine(line({ source: 'mqtt', topic: 'a' }))).message).to.equal('mqtt line: payload: expected string, got nothing');
      expect(leftOf(decodeRecordedLine(line({ source: 'firestore', collection: 'modes', id: '1' }))).message).to.match(/^firestore line: data: /);
      expect(leftOf(decodeRecordedLine(line({ source: 'face', result: 7 }))).message).to.equal('face line: result: expected string, got 7');
    });

    it('a weather line with neither bodies nor a string error is rejected', () => {
      for (const fields of [{}, { current: {} }, { error: 5 }]) {
        const err = leftOf(decodeRecordedLine(line({ source: 'weather', ...fields })));
        expect(err.message, JSON.stringify(fields)).to.match(/^weather line: /);
      }
    });

    it('an `at` with anything before or after the time is rejected, even where Date.parse would read it', () => {
      for (const bad of ['2021-09-22T10:00:00Z\u0000', '2021-09-22(2021-09-22T10:00:00Z', ' 2021-09-22T10:00:00Z', '2021-09-22T10:00:00+09:00 ']) {
        expect(leftOf(decodeRecordedLine(JSON.stringify({ at: bad, source: 'face', result: 'u1' }))).message, JSON.stringify(bad)).to.match(/^recorded line: at: /);
      }
    });

    it('an `at` given as an array holding a time is a broken line, not a crash', () => {
      expect(leftOf(decodeRecordedLine(JSON.stringify({ at: ['2021-09-22T10:00:00Z'], source: 'face', result: 'u1' })))).to.deep.equal({
        _tag: 'DecodeError',
        message: 'recorded line: at: expected ISO-8601 time with offset, got ["2021-09-22T10:00:00Z"]',
      });
    });

    it('the error names the line\'s source and the missing weather bodies', () => {
      expect(leftOf(decodeRecordedLine(line({ source: 'rtdb', path: 5 }))).message).to.equal('rtdb line: path: expected string, got 5');
      expect(leftOf(decodeRecordedLine(line({ source: 'weather', current: {} }))).message).to.equal(
        'weather line: error: expected string, got nothing; air: expected a JSON value, got nothing',
      );
    });

    it('JSON that is not an object (array, null, string) is rejected', () => {
      for (const text of ['[]', 'null', '"x"']) expect(leftOf(decodeRecordedLine(text)).message, text).to.match(/^recorded line: /);
    });
  });

  describe('Instant', () => {
    it('is an epoch ms number; encode writes it as ISO-8601 UTC, which decodes back to the same instant', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), (ms) => {
          expect(Instant.is(ms)).to.equal(true);
          expect(rightOf(Instant.decode(Instant.encode(ms)))).to.equal(ms);
        }),
      );
      expect(Instant.encode(AT_MS)).to.equal('2021-09-22T10:00:00.000Z');
      for (const u of [AT, null, undefined]) expect(Instant.is(u), String(u)).to.equal(false);
    });
  });

  describe('the journal\'s clock and resume lines', () => {
    it('a clock line says the service ticked at `at`: it reads back as a clock tick', () => {
      const text = encodeClockLine(AT);
      expect(text).to.equal(`{"at":"${AT}","source":"clock"}`);
      expect(rightOf(decodeRecordedLine(text))).to.deep.equal({ at: AT_MS, event: { type: 'clock.tick' } });
      expect(isResumeLine(text)).to.equal(false);
    });

    it('a resume header reads back as itself, with and without lastTickAt and status', () => {
      const headers: ResumeHeader[] = [
        { at: AT_MS, seq: 42, resume: { scheduleFired: { wake: 27200000, trip: 27200100 } } },
        { at: AT_MS, seq: 0, resume: { scheduleFired: {}, lastTickAt: AT_MS - 60_000 } },
        { at: AT_MS, seq: 7, resume: { scheduleFired: { wake: 1 }, status: '009060210' } },
        { at: AT_MS, seq: 7, resume: { scheduleFired: {}, lastTickAt: AT_MS - 1000, status: '109060210' } },
      ];
      for (const header of headers) {
        const text = encodeResumeLine(header, AT);
        expect(isResumeLine(text), text).to.equal(true);
        expect(rightOf(decodeResumeLine(text))).to.deep.equal(header);
      }
      expect(encodeResumeLine(headers[3]!, AT)).to.equal(
        `{"resume":{"at":"${AT}","seq":7,"scheduleFired":{},"lastTickAt":${AT_MS - 1000},"status":"109060210"}}`,
      );
      expect(encodeResumeLine(headers[0]!, AT)).to.equal(`{"resume":{"at":"${AT}","seq":42,"scheduleFired":{"wake":27200000,"trip":27200100}}}`);
    });

    it('only a line that starts as a resume header is one; event lines are not', () => {
      expect(isResumeLine('{"resume":{}}')).to.equal(true);
      expect(isResumeLine(line({ source: 'face', result: 'u1' }))).to.equal(false);
      expect(isResumeLine('{"at":"x","resume":{}}')).to.equal(false);
      expect(isResumeLine('')).to.equal(false);
    });

    it('a broken resume header is a readable error: not JSON, or the field that is wrong', () => {
      expect(leftOf(decodeResumeLine('{"resume"')).message).to.match(/^not JSON \(/);
      expect(leftOf(decodeResumeLine('{"resume"'))._tag).to.equal('DecodeError');
      expect(leftOf(decodeResumeLine(JSON.stringify({ resume: { at: AT, scheduleFired: {} } })))).to.deep.equal({
        _tag: 'DecodeError',
        message: 'resume line: resume.seq: expected number, got nothing',
      });
      for (const resume of [
        { at: 'now', seq: 1, scheduleFired: {} },
        { at: AT, seq: 1 },
        { at: AT, seq: 1, scheduleFired: { wake: 'x' } },
        { at: AT, seq: 1, scheduleFired: {}, lastTickAt: 'x' },
        { at: AT, seq: 1, scheduleFired: {}, status: 5 },
      ]) {
        expect(leftOf(decodeResumeLine(JSON.stringify({ resume }))).message, JSON.stringify(resume)).to.match(/^resume line: resume\./);
      }
      expect(leftOf(decodeResumeLine('{}')).message).to.match(/^resume line: resume: /);
    });
  });

  describe('encodeEffectLine: the SPEC 10 effect lines', () => {
    const cases: ReadonlyArray<[Effect, string]> = [
      [
        { type: 'mqtt.publish', topic: 'webos/android/info', payload: '{"a":1}' },
        `{"at":"${AT}","sink":"mqtt","topic":"webos/android/info","payload":"{\\"a\\":1}"}`,
      ],
      [{ type: 'rtdb.set', path: 'server/notification', value: 'none' }, `{"at":"${AT}","sink":"rtdb","path":"server/notification","value":"none"}`],
      [
        { type: 'firestore.set', collection: 'appliance_alarm', id: '8367682800', data: { icon: 'aircon_icon' } },
        `{"at":"${AT}","sink":"firestore","collection":"appliance_alarm","id":"8367682800","data":{"icon":"aircon_icon"}}`,
      ],
      [
        { type: 'firestore.delete', collection: 'appliance_alarm', id: '8367682800' },
        `{"at":"${AT}","sink":"firestore","collection":"appliance_alarm","id":"8367682800","data":null}`,
      ],
      [{ type: 'slack.alert', text: 'gas open' }, `{"at":"${AT}","sink":"slack","text":"gas open"}`],
      [{ type: 'face.run' }, `{"at":"${AT}","sink":"face","run":true}`],
    ];
    it('mqtt, rtdb, firestore (set and delete as data null), slack and face effects give their sink lines, byte for byte', () => {
      for (const [effect, expected] of cases) expect(encodeEffectLine(effect, AT), effect.type).to.equal(expected);
    });

    it('internal effects (log, state.schedule, state.status) have no line', () => {
      expect(encodeEffectLine({ type: 'log', level: 'info', msg: 'x' }, AT)).to.equal(null);
      expect(encodeEffectLine({ type: 'state.schedule', id: 'wake', occurrence: 1 }, AT)).to.equal(null);
      expect(encodeEffectLine({ type: 'state.status', status: '009060210' }, AT)).to.equal(null);
    });
  });

  describe('encodeEventLine', () => {
    it('writes the SPEC 10 source lines; clock ticks are not recorded', () => {
      expect(encodeEventLine({ type: 'rtdb.value', path: 'smarthome/status', value: '009060210' }, AT)).to.equal(
        `{"at":"${AT}","source":"rtdb","path":"smarthome/status","value":"009060210"}`,
      );
      expect(encodeEventLine({ type: 'firestore.doc', collection: 'modes', id: '1', data: null }, AT)).to.equal(
        `{"at":"${AT}","source":"firestore","collection":"modes","id":"1","data":null}`,
      );
      expect(encodeEventLine({ type: 'weather.failure', reason: 'timeout' }, AT)).to.equal(`{"at":"${AT}","source":"weather","error":"timeout"}`);
      expect(encodeEventLine({ type: 'clock.tick' }, AT)).to.equal(null);
      expect(encodeEventLine({ type: 'service.alert', level: 'error', text: 'mqtt down' }, AT)).to.equal(null);
    });

    it('an MQTT message keeps its packet id as "mid" when it has one (the journal), and has none otherwise', () => {
      const message: Event = { type: 'mqtt.message', topic: 'webos/server/info', payload: '{"a":"b"}' };
      expect(encodeEventLine(message, AT)).to.equal(`{"at":"${AT}","source":"mqtt","topic":"webos/server/info","payload":"{\\"a\\":\\"b\\"}"}`);
      expect(encodeEventLine(message, AT, 17)).to.equal(`{"at":"${AT}","source":"mqtt","topic":"webos/server/info","payload":"{\\"a\\":\\"b\\"}","mid":17}`);
      expect(rightOf(decodeRecordedLine(encodeEventLine(message, AT, 17)!)).event).to.deep.equal(message);
    });

    it('every recorded event reads back as itself: decodeRecordedLine(encodeEventLine(e, at))', () => {
      const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
      const record = fc.dictionary(fc.string(), json);
      const event: fc.Arbitrary<Event> = fc.oneof(
        fc.record({ type: fc.constant('mqtt.message' as const), topic: fc.string(), payload: fc.string() }),
        fc.record({ type: fc.constant('rtdb.value' as const), path: fc.string(), value: json }),
        fc.record({ type: fc.constant('firestore.doc' as const), collection: fc.string(), id: fc.string(), data: fc.option(record, { nil: null }) }),
        fc.record({ type: fc.constant('firestore.doc' as const), collection: fc.string(), id: fc.string(), data: record, writtenAt: fc.integer({ min: 0 }) }),
        fc.record({ type: fc.constant('weather.result' as const), current: json, air: json }),
        fc.record({ type: fc.constant('weather.failure' as const), reason: fc.string() }),
        fc.record({ type: fc.constant('face.result' as const), result: fc.string() }),
      );
      fc.assert(
        fc.property(event, (e) => {
          const text = encodeEventLine(e, AT);
          if (text === null) expect.fail('no line');
          expect(rightOf(decodeRecordedLine(text))).to.deep.equal({ at: AT_MS, event: e });
        }),
      );
    });
  });
});
