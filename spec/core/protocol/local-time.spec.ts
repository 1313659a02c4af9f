import { expect } from 'chai';
import fc from 'fast-check';
import { alarmDate, checkZone, dueAt, isoLocal, localParts, offsetMinutes, systemZone, wallMinutes } from '../../../lib/core/protocol/local-time.js';

const SEOUL = 'Asia/Seoul';
const at = (iso: string): number => Date.parse(iso);
const ZONES = ['Asia/Seoul', 'UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns', 'Australia/Lord_Howe'];
/** 1990-2100, millisecond precision. */
const instantArb = fc.integer({ min: 631152000000, max: 4102444800000 });

describe('local-time', () => {
  describe('alarmDate', () => {
    it('is Y.M.D.H.M.S in the zone without zero padding: 2021.9.22.20.36.14', () => {
      expect(alarmDate(at('2021-09-22T20:36:14+09:00'), SEOUL)).to.equal('2021.9.22.20.36.14');
    });

    it('writes midnight as hour 0 and early January unpadded', () => {
      expect(alarmDate(at('2021-01-05T00:00:07+09:00'), SEOUL)).to.equal('2021.1.5.0.0.7');
    });

    it('uses the zone, not UTC: 15:00Z on the 21st is the 22nd in Seoul', () => {
      expect(alarmDate(at('2021-09-21T15:00:00Z'), SEOUL)).to.equal('2021.9.22.0.0.0');
      expect(alarmDate(at('2021-09-21T15:00:00Z'), 'UTC')).to.equal('2021.9.21.15.0.0');
    });
  });

  describe('isoLocal', () => {
    it('writes the zone offset and milliseconds: 2021-09-22T19:00:00.000+09:00', () => {
      expect(isoLocal(at('2021-09-22T10:00:00Z'), SEOUL)).to.equal('2021-09-22T19:00:00.000+09:00');
      expect(isoLocal(at('2021-09-22T10:00:00.042Z'), 'UTC')).to.equal('2021-09-22T10:00:00.042+00:00');
    });

    it('handles negative, half-hour and daylight-saving offsets', () => {
      expect(isoLocal(at('2021-01-01T00:00:00Z'), 'America/St_Johns')).to.equal('2020-12-31T20:30:00.000-03:30');
      expect(isoLocal(at('2021-01-01T00:00:00Z'), 'Asia/Kolkata')).to.equal('2021-01-01T05:30:00.000+05:30');
      expect(isoLocal(at('2021-07-01T12:00:00Z'), 'America/New_York')).to.equal('2021-07-01T08:00:00.000-04:00');
      expect(isoLocal(at('2021-12-01T12:00:00Z'), 'America/New_York')).to.equal('2021-12-01T07:00:00.000-05:00');
    });

    it('names the same instant in every zone: Date.parse(isoLocal(t, tz)) === t', () => {
      fc.assert(fc.property(instantArb, fc.constantFrom(...ZONES), (t, tz) => Date.parse(isoLocal(t, tz)) === t));
    });
  });

  describe('localParts', () => {
    it('gives the wall clock and weekday (0 = Sunday) in the zone', () => {
      expect(localParts(at('2021-09-22T20:36:14+09:00'), SEOUL)).to.deep.equal({
        year: 2021,
        month: 9,
        day: 22,
        hour: 20,
        minute: 36,
        second: 14,
        weekday: 3,
      });
      expect(localParts(at('2021-09-26T12:00:00+09:00'), SEOUL).weekday).to.equal(0);
      expect(localParts(at('2021-09-25T12:00:00+09:00'), SEOUL).weekday).to.equal(6);
    });

    it('the weekday follows the local date across midnight (Tuesday in UTC, Wednesday in Seoul)', () => {
      const t = at('2021-09-21T15:30:00Z');
      expect(localParts(t, 'UTC').weekday).to.equal(2);
      expect(localParts(t, SEOUL).weekday).to.equal(3);
    });

    it('agrees with Date in UTC for every instant', () => {
      fc.assert(
        fc.property(instantArb, (t) => {
          const d = new Date(t);
          expect(localParts(t, 'UTC')).to.deep.equal({
            year: d.getUTCFullYear(),
            month: d.getUTCMonth() + 1,
            day: d.getUTCDate(),
            hour: d.getUTCHours(),
            minute: d.getUTCMinutes(),
            second: d.getUTCSeconds(),
            weekday: d.getUTCDay(),
          });
        }),
      );
    });
  });

  describe('wallMinutes and offsets', () => {
    it('counts minutes of the wall clock since 1970-01-01T00:00', () => {
      expect(wallMinutes({ year: 1970, month: 1, day: 1, hour: 0, minute: 0 })).to.equal(0);
      expect(wallMinutes({ year: 1970, month: 1, day: 2, hour: 1, minute: 5 })).to.equal(1440 + 65);
      const before = wallMinutes({ year: 2021, month: 9, day: 30, hour: 23, minute: 59 });
      expect(wallMinutes({ year: 2021, month: 10, day: 1, hour: 0, minute: 0 }) - before).to.equal(1);
    });

    it('the wall minutes of an instant in a zone are its UTC minutes plus the offset', () => {
      fc.assert(
        fc.property(instantArb, fc.constantFrom(...ZONES), (t, tz) => {
          expect(wallMinutes(localParts(t, tz))).to.equal(Math.floor(t / 60000) + offsetMinutes(t, tz));
        }),
      );
    });

    it('offsetMinutes follows daylight saving (Berlin +60 in winter, +120 in summer)', () => {
      expect(offsetMinutes(at('2021-01-15T12:00:00Z'), 'Europe/Berlin')).to.equal(60);
      expect(offsetMinutes(at('2021-07-15T12:00:00Z'), 'Europe/Berlin')).to.equal(120);
      expect(offsetMinutes(at('2021-07-15T12:00:00Z'), SEOUL)).to.equal(540);
    });

    it('the offset belongs to the second: every millisecond of it has the same offset, before 1970 and in a zone whose offset had seconds', () => {
      // Monrovia kept -0:44:30 until 1972: the half minute is where a shifted instant would round the other way.
      const seconds = fc.constantFrom(Date.parse('1971-06-01T12:00:00Z'), Date.parse('1960-06-01T12:00:00Z'), Date.parse('2021-09-22T10:00:00Z'));
      fc.assert(
        fc.property(seconds, fc.integer({ min: 0, max: 999 }), fc.constantFrom('Africa/Monrovia', ...ZONES), (s, ms, tz) => {
          expect(offsetMinutes(s + ms, tz)).to.equal(offsetMinutes(s, tz));
        }),
      );
    });

    it('systemZone is the zone of the process (TZ), which checkZone accepts', () => {
      const saved = process.env.TZ;
      try {
        process.env.TZ = 'Asia/Seoul';
        expect(systemZone()).to.equal('Asia/Seoul');
        process.env.TZ = 'America/St_Johns';
        expect(systemZone()).to.equal('America/St_Johns');
        expect(() => checkZone(systemZone())).not.to.throw();
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
      }
    });

    it('checkZone accepts IANA zones and throws a RangeError for unknown ones', () => {
      expect(() => checkZone(SEOUL)).not.to.throw();
      expect(() => checkZone('Mars/Olympus_Mons')).to.throw(RangeError);
    });
  });

  describe('dueAt: when the wall clock first reads a minute', () => {
    const wall = (y: number, mo: number, d: number, h: number, mi: number) => Date.UTC(y, mo - 1, d, h, mi) / 60000;
    it('is the instant of that minute on an ordinary day', () => {
      expect(dueAt(wall(2021, 9, 22, 7, 30), 'Asia/Seoul')).to.equal(Date.parse('2021-09-22T07:30:00+09:00'));
    });
    it('is the jump itself for a minute the clock skips (spring forward)', () => {
      // New York, 14 March 2021: 01:59:59 EST is followed by 03:00:00 EDT.
      expect(dueAt(wall(2021, 3, 14, 2, 30), 'America/New_York')).to.equal(Date.parse('2021-03-14T03:00:00-04:00'));
      expect(dueAt(wall(2021, 3, 14, 2, 0), 'America/New_York')).to.equal(Date.parse('2021-03-14T03:00:00-04:00'));
      // Berlin, 28 March 2021: 02:00 CET becomes 03:00 CEST.
      expect(dueAt(wall(2021, 3, 28, 2, 59), 'Europe/Berlin')).to.equal(Date.parse('2021-03-28T03:00:00+02:00'));
    });
    it('is the first of the two for a minute the clock shows twice (fall back)', () => {
      expect(dueAt(wall(2021, 11, 7, 1, 30), 'America/New_York')).to.equal(Date.parse('2021-11-07T01:30:00-04:00'));
      expect(dueAt(wall(2021, 10, 31, 2, 15), 'Europe/Berlin')).to.equal(Date.parse('2021-10-31T02:15:00+02:00'));
    });
  });
});
