import { expect } from 'chai';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { ActiveDate, decodeMode, decodeSchedule, DecodedSchedule, ModeDoc, onWriteDate, StartTime, UserDoc, withoutNulls } from '../../../lib/core/protocol/documents.js';
import { formatErrors } from '../../../lib/core/protocol/errors.js';
import { leftOf, rightOf } from './helpers.js';

const WEEKDAYS = [false, true, true, true, true, true, false];

const repeating = {
  title: 'wake',
  enabled: true,
  startTime: '0730',
  repeat: true,
  daysOfWeek: WEEKDAYS,
  modeNum: 0,
  airconEnable: true,
  airconWindPower: 6,
  lightEnable: false,
  windowOpen: '1',
};

const oneOff = {
  title: 'trip',
  enabled: false,
  startTime: '2359',
  repeat: false,
  activeDate: '2021.09.22',
  modeNum: '2',
};

const withStartTime = (startTime: unknown): unknown => ({ ...repeating, startTime });

describe('documents', () => {
  describe('decodeSchedule', () => {
    it('decodes a repeating schedule: weekdays, start time, normalised appliance fields, modeNum', () => {
      const s = rightOf(decodeSchedule(repeating));
      expect(s.when).to.deep.equal({ repeat: true, daysOfWeek: WEEKDAYS });
      expect(s.startTime).to.deep.equal({ hour: 7, minute: 30 });
      expect(s).to.include({ enabled: true, repeat: true, modeNum: 0, title: 'wake', airconEnable: 1, airconWindPower: 6, lightEnable: 0, windowOpen: 1 });
    });

    it('decodes a one-off schedule: only the digits of activeDate count ("2021.09.22" -> "20210922")', () => {
      const s = rightOf(decodeSchedule(oneOff));
      expect(s.when).to.deep.equal({ repeat: false, date: '20210922' });
      expect(s).to.include({ enabled: false, modeNum: 2 });
      expect(s.startTime).to.deep.equal({ hour: 23, minute: 59 });
    });

    it('takes other date spellings with the same digits ("2021-09-22", "20210922")', () => {
      for (const activeDate of ['2021-09-22', '20210922', '2021/09/22']) {
        expect(rightOf(decodeSchedule({ ...oneOff, activeDate })).when).to.deep.equal({ repeat: false, date: '20210922' });
      }
    });

    it('modeNum defaults to 0', () => {
      const { modeNum: _m, ...rest } = repeating;
      expect(rightOf(decodeSchedule(rest)).modeNum).to.equal(0);
    });

    it('a repeating schedule without daysOfWeek is rejected, naming the field', () => {
      const { daysOfWeek: _d, ...rest } = repeating;
      expect(leftOf(decodeSchedule(rest)).message).to.match(/^schedule: daysOfWeek: .*repeat is true/);
    });

    it('a one-off schedule without activeDate (absent or null) has no date: the day its document is written gives it (SPEC 6)', () => {
      const { activeDate: _a, ...rest } = oneOff;
      expect(rightOf(decodeSchedule(rest, 'add_schedule')).when).to.deep.equal({ repeat: false });
      expect(rightOf(decodeSchedule({ ...oneOff, activeDate: null })).when).to.deep.equal({ repeat: false });
    });

    it('onWriteDate dates such a one-off by the local day of the write, and leaves the others alone', () => {
      const dateless = rightOf(decodeSchedule({ ...oneOff, activeDate: null }));
      // The day in the home's zone counts: 00:30 on the 23rd in Seoul is still the 22nd in UTC.
      const lateEvening = Date.parse('2021-09-22T23:30:00+09:00');
      expect(onWriteDate(dateless, lateEvening, 'Asia/Seoul').when).to.deep.equal({ repeat: false, date: '20210922' });
      expect(onWriteDate(dateless, Date.parse('2021-09-23T00:30:00+09:00'), 'Asia/Seoul').when).to.deep.equal({ repeat: false, date: '20210923' });
      expect(onWriteDate(dateless, Date.parse('2021-09-23T00:30:00+09:00'), 'UTC').when).to.deep.equal({ repeat: false, date: '20210922' });
      const dated = rightOf(decodeSchedule({ ...oneOff, activeDate: '2021.12.31' }));
      expect(onWriteDate(dated, lateEvening, 'Asia/Seoul')).to.equal(dated);
      const weekly = rightOf(decodeSchedule(repeating));
      expect(onWriteDate(weekly, lateEvening, 'Asia/Seoul')).to.equal(weekly);
    });

    it('daysOfWeek must be exactly 7 booleans', () => {
      expect(E.isLeft(decodeSchedule({ ...repeating, daysOfWeek: WEEKDAYS.slice(1) }))).to.equal(true);
      expect(E.isLeft(decodeSchedule({ ...repeating, daysOfWeek: [...WEEKDAYS, true] }))).to.equal(true);
      expect(E.isLeft(decodeSchedule({ ...repeating, daysOfWeek: [...WEEKDAYS.slice(1), 1] }))).to.equal(true);
    });

    it('rejects bad start times "2460", "7:30", "0760", "" and 7.5, naming startTime', () => {
      for (const bad of ['2460', '7:30', '0760', '', '07300', 7.5, null]) {
        const err = leftOf(decodeSchedule(withStartTime(bad)));
        expect(err.message, String(bad)).to.include('startTime').and.include('"HHMM"');
      }
    });

    it('reads a start time given as the number 730 as 07:30 (leading zeros lost in a number)', () => {
      expect(rightOf(decodeSchedule(withStartTime(730))).startTime).to.deep.equal({ hour: 7, minute: 30 });
      expect(rightOf(decodeSchedule(withStartTime(0))).startTime).to.deep.equal({ hour: 0, minute: 0 });
      expect(E.isLeft(decodeSchedule(withStartTime(2400)))).to.equal(true);
    });

    it('rejects dates without 8 digits or that are not on the calendar', () => {
      for (const bad of ['2021.9.22', '2021.13.01', '2021.00.10', '2021.09.00', '2021.09.31', '2021.02.29', 'tomorrow', 20210922]) {
        const err = leftOf(decodeSchedule({ ...oneOff, activeDate: bad }));
        expect(err.message, String(bad)).to.include('activeDate');
      }
      expect(rightOf(decodeSchedule({ ...oneOff, activeDate: '2024.02.29' })).when).to.deep.equal({ repeat: false, date: '20240229' });
    });

    it('enabled and repeat must be booleans; several problems are reported together', () => {
      const err = leftOf(decodeSchedule({ ...repeating, enabled: 'yes', airconEnable: 'on' }));
      expect(err.message).to.equal('schedule: enabled: expected boolean, got "yes"; airconEnable: expected boolean or 0/1/2, got "on"');
      expect(leftOf(decodeSchedule({ ...repeating, repeat: undefined })).message).to.include('repeat');
    });

    it('rejects a document that is not an object', () => {
      expect(E.isLeft(decodeSchedule(null))).to.equal(true);
      expect(E.isLeft(decodeSchedule('wake'))).to.equal(true);
    });
  });

  describe('null is absent (the Android app saves optional fields as null)', () => {
    it('decodes a repeating schedule as the app saves it: activeDate, name and unused fields null', () => {
      const saved = { ...repeating, name: null, activeDate: null, lightBrightness: null, lightColor: null, lightMode: null, gasValveEnable: null };
      const s = rightOf(decodeSchedule(saved));
      expect(s.when).to.deep.equal({ repeat: true, daysOfWeek: WEEKDAYS });
      expect([s.lightBrightness, s.lightColor, s.gasValveEnable]).to.deep.equal([undefined, undefined, undefined]);
    });

    it('decodes a one-off with daysOfWeek null, and a null modeNum as 0', () => {
      const s = rightOf(decodeSchedule({ ...oneOff, daysOfWeek: null, modeNum: null }));
      expect([s.when, s.modeNum]).to.deep.equal([{ repeat: false, date: '20210922' }, 0]);
    });

    it('reads daysOfWeek only when repeat is true and activeDate only when it is false', () => {
      expect(rightOf(decodeSchedule({ ...repeating, activeDate: 'someday' })).when.repeat).to.equal(true);
      expect(rightOf(decodeSchedule({ ...oneOff, daysOfWeek: 'weekends' })).when.repeat).to.equal(false);
      expect(leftOf(decodeSchedule({ ...repeating, daysOfWeek: null })).message).to.equal(
        'schedule: daysOfWeek: expected 7 booleans (Sunday first) when repeat is true, got nothing',
      );
      expect(leftOf(decodeSchedule({ ...oneOff, activeDate: '2021.02.30' })).message).to.equal(
        'schedule: activeDate: expected date "YYYY.MM.DD", got "2021.02.30"',
      );
    });

    it('decodes a mode with null fields, and names a field that is really wrong', () => {
      expect(rightOf(decodeMode({ modeNum: 2, modeName: '수면', lightColor: null, lightEnable: true }))).to.deep.equal({ modeNum: 2, modeName: '수면', lightEnable: 1 });
      expect(leftOf(decodeMode({ modeNum: 2, lightColor: 'red' }, 'modes/sleep')).message).to.equal('modes/sleep: lightColor: expected digit 0-9, got "red"');
    });
  });

  describe('ModeDoc', () => {
    it('decodes a mode with its number, name and normalised appliance fields', () => {
      const m = rightOf(ModeDoc.decode({ modeNum: '3', modeName: '외출모드', airconEnable: false, lightEnable: true, lightBrightness: '4' }));
      expect(m).to.deep.equal({ modeNum: 3, modeName: '외출모드', airconEnable: 0, lightEnable: 1, lightBrightness: 4 });
    });

    it('requires modeNum 0-9', () => {
      expect(E.isLeft(ModeDoc.decode({ modeName: 'x' }))).to.equal(true);
      expect(E.isLeft(ModeDoc.decode({ modeNum: 10 }))).to.equal(true);
    });
  });

  describe('rules at the edges', () => {
    it('a start time must be exactly 4 digits: 5 digits ("10059", 10059) and an array holding 4 digits are rejected', () => {
      for (const bad of ['10059', '00059', 10059, ['0000'], ['1230']]) {
        expect(leftOf(decodeSchedule(withStartTime(bad))).message, JSON.stringify(bad)).to.include('startTime');
      }
    });

    it('a date must have exactly 8 digits: "2021.09.0022" is rejected; January and December are months', () => {
      expect(leftOf(decodeSchedule({ ...oneOff, activeDate: '2021.09.0022' })).message).to.include('activeDate');
      expect(rightOf(decodeSchedule({ ...oneOff, activeDate: '2022.01.15' })).when).to.deep.equal({ repeat: false, date: '20220115' });
      expect(rightOf(decodeSchedule({ ...oneOff, activeDate: '2022.12.01' })).when).to.deep.equal({ repeat: false, date: '20221201' });
    });

    it('a one-off without activeDate and without modeNum runs mode 0', () => {
      const { activeDate: _a, modeNum: _m, ...rest } = oneOff;
      expect(rightOf(decodeSchedule(rest))).to.include({ modeNum: 0 });
      expect(rightOf(decodeSchedule(rest)).when).to.deep.equal({ repeat: false });
    });

    it('onWriteDate pads month and day to two digits (written on 5 January -> YYYY0105)', () => {
      const dateless = rightOf(decodeSchedule({ ...oneOff, activeDate: null }));
      expect(onWriteDate(dateless, Date.parse('2022-01-05T12:00:00Z'), 'UTC').when).to.deep.equal({ repeat: false, date: '20220105' });
    });

    it('errors are DecodeErrors naming the document: "schedule", "mode" unless told otherwise', () => {
      expect(leftOf(decodeSchedule({ ...repeating, daysOfWeek: undefined }))).to.deep.equal({
        _tag: 'DecodeError',
        message: 'schedule: daysOfWeek: expected 7 booleans (Sunday first) when repeat is true, got nothing',
      });
      expect(leftOf(decodeMode({ modeNum: 10 }))).to.deep.equal({ _tag: 'DecodeError', message: 'mode: modeNum: expected mode number 0-9, got 10' });
    });

    it('a mode name, when present, is a string', () => {
      expect(leftOf(decodeMode({ modeNum: 1, modeName: 5 })).message).to.equal('mode: modeName: expected string, got 5');
    });

    it('a document whose fields are all null is empty: the required fields are missing ("got nothing")', () => {
      expect(withoutNulls({ modeNum: null, modeName: null })).to.deep.equal({});
      expect(leftOf(decodeMode({ modeNum: null })).message).to.equal('mode: modeNum: expected mode number 0-9, got nothing');
    });
  });

  describe('the codecs\' other halves (is, encode), which a decoded schedule in a Command relies on', () => {
    const startTimes = fc.oneof(fc.integer({ min: -10, max: 3000 }), fc.string({ maxLength: 5 }), fc.stringMatching(/^\d{4}$/));
    const dates = fc.oneof(fc.stringMatching(/^\d{4}[.\-/]?\d{2}[.\-/]?\d{2}$/), fc.string({ maxLength: 12 }));

    it('StartTime: a decoded time is a StartTime, and encodes to the "HHMM" it came from', () => {
      fc.assert(
        fc.property(startTimes, (u) => {
          const r = StartTime.decode(u);
          if (E.isLeft(r)) return;
          expect(StartTime.is(r.right)).to.equal(true);
          expect(StartTime.encode(r.right)).to.equal(String(u).padStart(4, '0'));
          expect(rightOf(StartTime.decode(StartTime.encode(r.right)))).to.deep.equal(r.right);
        }),
      );
      expect(StartTime.encode({ hour: 7, minute: 5 })).to.equal('0705');
    });

    it('StartTime.is takes only {hour, minute} objects, not the "HHMM" text', () => {
      for (const u of ['0730', 730, null, { hour: 7 }, { minute: 30 }, []]) expect(StartTime.is(u), JSON.stringify(u)).to.equal(false);
    });

    it('ActiveDate: a decoded date is an ActiveDate (8 digits, YYYYMMDD) and decodes to itself', () => {
      fc.assert(
        fc.property(dates, (u) => {
          const r = ActiveDate.decode(u);
          if (E.isLeft(r)) return;
          expect(ActiveDate.is(r.right)).to.equal(true);
          expect(rightOf(ActiveDate.decode(ActiveDate.encode(r.right)))).to.equal(r.right);
        }),
      );
    });

    it('ActiveDate.is takes only 8 digits and nothing around them', () => {
      expect(ActiveDate.is('20210922')).to.equal(true);
      for (const u of ['2021.09.22', 'x20210922', '20210922x', '2021092', 20210922, null]) expect(ActiveDate.is(u), String(u)).to.equal(false);
    });

    it('DecodedSchedule holds exactly what decodeSchedule gives, not the document it came from', () => {
      const weekly = rightOf(decodeSchedule(repeating));
      const once = rightOf(decodeSchedule(oneOff));
      for (const s of [weekly, once, rightOf(decodeSchedule({ ...oneOff, activeDate: null }))]) expect(DecodedSchedule.is(s), JSON.stringify(s)).to.equal(true);
      expect(rightOf(DecodedSchedule.decode(weekly))).to.equal(weekly);
      const wrong: unknown[] = [
        repeating,
        { ...weekly, startTime: '0730' },
        { ...weekly, startTime: { hour: 7 } },
        { ...weekly, startTime: { minute: 30 } },
        { ...weekly, airconEnable: true },
        { ...weekly, airconWindPower: '6' },
        { ...once, when: { repeat: false, date: '2021.09.22' } },
        { ...once, when: { repeat: false, date: 'x20210922' } },
        { ...once, when: { repeat: false, date: '20210922x' } },
        { ...once, when: { repeat: false, date: 20210922 } },
        { ...once, when: {} },
        { ...once, when: { repeat: 'no' } },
        { ...weekly, when: { repeat: true, daysOfWeek: [true] } },
      ];
      for (const u of wrong) expect(DecodedSchedule.is(u), JSON.stringify(u)).to.equal(false);
      expect(leftOf(formatErrors('command', DecodedSchedule.decode(repeating))).message).to.match(/^command: value: expected decoded schedule, got /);
    });
  });

  describe('UserDoc', () => {
    it('requires a string name and keeps the other fields (echoed on sign-in)', () => {
      expect(rightOf(UserDoc.decode({ name: '홍길동', phone: '010' }))).to.deep.equal({ name: '홍길동', phone: '010' });
      expect(E.isLeft(UserDoc.decode({ name: 5 }))).to.equal(true);
      expect(E.isLeft(UserDoc.decode({}))).to.equal(true);
    });
  });
});
