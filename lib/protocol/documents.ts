/**
 * Firestore documents the backend reads (SPEC 4-6): users, modes and schedules, decoded from
 * untrusted data into normalised values. Schedules are checked beyond their shape: a repeating
 * schedule needs its 7 weekdays, a one-off one its date.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { ApplianceFields } from './appliance.js';
import { formatErrors, type DecodeError } from './errors.js';
import { ModeNumField } from './fields.js';
import type { Digit } from './home-code.js';

/** `user_account/{UID}`: the name, plus whatever else the apps keep there (echoed on sign-in). */
export const UserDoc = t.type({ name: t.string });
export type UserDoc = t.TypeOf<typeof UserDoc>;

/** `modes/*`: a numbered preset of appliance fields. */
export const ModeDoc = t.intersection([
  t.type({ modeNum: ModeNumField }),
  t.partial({ modeName: t.string }),
  ApplianceFields,
]);
export type ModeDoc = t.TypeOf<typeof ModeDoc>;

/** "HHMM" local time (a number such as 730 is read as "0730"). */
export const StartTime = new t.Type<{ hour: number; minute: number }, string, unknown>(
  'start time "HHMM"',
  (u): u is { hour: number; minute: number } => typeof u === 'object' && u !== null && 'hour' in u && 'minute' in u,
  (u, c) => {
    const s = typeof u === 'number' && Number.isInteger(u) ? String(u).padStart(4, '0') : u;
    if (typeof s !== 'string' || !/^\d{4}$/.test(s)) return t.failure(u, c);
    const hour = Number(s.slice(0, 2));
    const minute = Number(s.slice(2));
    return hour < 24 && minute < 60 ? t.success({ hour, minute }) : t.failure(u, c);
  },
  ({ hour, minute }) => String(hour).padStart(2, '0') + String(minute).padStart(2, '0'),
);

/** "YYYY.MM.DD": only its digits count (SPEC 6), so "2021-09-22" and "20210922" work too. */
export const ActiveDate = new t.Type<string, string, unknown>(
  'date "YYYY.MM.DD"',
  (u): u is string => typeof u === 'string' && /^\d{8}$/.test(u),
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c);
    const digits = u.replace(/\D/g, '');
    if (digits.length !== 8) return t.failure(u, c);
    const year = Number(digits.slice(0, 4));
    const month = Number(digits.slice(4, 6));
    const day = Number(digits.slice(6));
    // Day 0 of the next month is the last day of this one; a one-off on "2021.02.30" would never fire.
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth ? t.success(digits) : t.failure(u, c);
  },
  t.identity,
);

const Weekdays = t.refinement(t.array(t.boolean), (a) => a.length === 7, '7 booleans (Sunday first)');

export const ScheduleFields = t.intersection([
  t.type({ enabled: t.boolean, startTime: StartTime, repeat: t.boolean }),
  t.partial({ daysOfWeek: Weekdays, activeDate: ActiveDate, modeNum: ModeNumField, title: t.string }),
  ApplianceFields,
]);

/** A decoded schedule: either repeating on weekdays or once on a date (`YYYYMMDD`). */
export type Schedule = Omit<t.TypeOf<typeof ScheduleFields>, 'daysOfWeek' | 'activeDate' | 'modeNum'> & {
  readonly modeNum: Digit;
  readonly when: { readonly repeat: true; readonly daysOfWeek: readonly boolean[] } | { readonly repeat: false; readonly date: string };
};

export function decodeSchedule(input: unknown, what = 'schedule'): E.Either<DecodeError, Schedule> {
  return E.chain((doc: t.TypeOf<typeof ScheduleFields>): E.Either<DecodeError, Schedule> => {
    const { daysOfWeek, activeDate, modeNum, ...rest } = doc;
    if (doc.repeat) {
      return daysOfWeek === undefined
        ? E.left({ _tag: 'DecodeError', message: `${what}: daysOfWeek: expected 7 booleans (Sunday first) when repeat is true, got nothing` })
        : E.right({ ...rest, modeNum: modeNum ?? 0, when: { repeat: true, daysOfWeek } });
    }
    return activeDate === undefined
      ? E.left({ _tag: 'DecodeError', message: `${what}: activeDate: expected date "YYYY.MM.DD" when repeat is false, got nothing` })
      : E.right({ ...rest, modeNum: modeNum ?? 0, when: { repeat: false, date: activeDate } });
  })(formatErrors(what, ScheduleFields.decode(input)));
}
