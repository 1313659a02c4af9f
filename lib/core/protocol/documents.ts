/**
 * Firestore documents the backend reads (SPEC 4-6): users, modes and schedules, decoded from
 * untrusted data into normalised values. Schedules are checked beyond their shape: a repeating
 * schedule needs its 7 weekdays; a one-off one's date, when it has one, must be a real day.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { ApplianceFields } from './appliance.js';
import { formatErrors, type DecodeError } from './errors.js';
import { ModeNumField } from './fields.js';
import type { Digit } from './home-code.js';
import { localParts } from './local-time.js';

/** `user_account/{UID}`: the name, plus whatever else the apps keep there (echoed on sign-in). */
export const UserDoc = t.type({ name: t.string });
export type UserDoc = t.TypeOf<typeof UserDoc>;

/**
 * The clients write optional fields as `null` (the Android app saves `activeDate: null` and
 * `name: null` on repeating schedules): SPEC 6 reads `null` as absent, so such keys are dropped
 * before a schedule or mode document is decoded.
 */
export function withoutNulls(input: unknown): unknown {
  // Stryker disable next-line ConditionalExpression: `typeof input !== 'object' -> false`: a string or number has no null entries and comes back unchanged (the other conditionals here are killed by the specs)
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const entries = Object.entries(input);
  // Stryker disable next-line ConditionalExpression: `v === null -> true` copies an object without nulls into an equal one (the other conditionals here are killed by the specs)
  return entries.some(([, v]) => v === null) ? Object.fromEntries(entries.filter(([, v]) => v !== null)) : input;
}

/** `modes/*`: a numbered preset of appliance fields. */
export const ModeDoc = t.intersection([
  t.type({ modeNum: ModeNumField }),
  t.partial({ modeName: t.string }),
  ApplianceFields,
]);
export type ModeDoc = t.TypeOf<typeof ModeDoc>;

export function decodeMode(input: unknown, what = 'mode'): E.Either<DecodeError, ModeDoc> {
  return formatErrors(what, ModeDoc.decode(withoutNulls(input)));
}

/** "HHMM" local time (a number such as 730 is read as "0730"). */
export const StartTime = new t.Type<{ hour: number; minute: number }, string, unknown>(
  'start time "HHMM"',
  (u): u is { hour: number; minute: number } => typeof u === 'object' && u !== null && 'hour' in u && 'minute' in u,
  (u, c) => {
    // Stryker disable next-line LogicalOperator,ConditionalExpression: `&& -> ||` and `typeof u === 'number' -> true`: a non-integer number fails the 4-digit test once padded too, and Number.isInteger of a non-number is false (the other conditionals here are killed by the specs)
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

/** Every field but the day fields, which are read according to `repeat` (SPEC 6). */
export const ScheduleFields = t.intersection([
  t.type({ enabled: t.boolean, startTime: StartTime, repeat: t.boolean }),
  t.partial({ modeNum: ModeNumField, title: t.string }),
  ApplianceFields,
]);

/**
 * A decoded schedule: either repeating on weekdays or once on a date (`YYYYMMDD`). A one-off
 * without `activeDate` has no `date` here: it runs on the day its document was written
 * (`onWriteDate`).
 */
export type Schedule = Omit<t.TypeOf<typeof ScheduleFields>, 'modeNum'> & {
  readonly modeNum: Digit;
  readonly when: { readonly repeat: true; readonly daysOfWeek: readonly boolean[] } | { readonly repeat: false; readonly date?: string };
};

/** The days of a decoded schedule (`Schedule['when']`). */
const When = t.union([
  t.type({ repeat: t.literal(true), daysOfWeek: Weekdays }),
  t.intersection([t.type({ repeat: t.literal(false) }), t.partial({ date: ActiveDate })]),
]);

const isDecodedSchedule = (u: unknown): u is Schedule => ScheduleFields.is(u) && When.is((u as { when?: unknown }).when);

/**
 * A schedule as `decodeSchedule` gives it, as a codec that checks that shape (a document is
 * decoded by `decodeSchedule`, not by this), so a type built from codecs can hold one (`Command`).
 */
export const DecodedSchedule = new t.Type<Schedule, Schedule, unknown>(
  'decoded schedule',
  isDecodedSchedule,
  (u, c) => (isDecodedSchedule(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/**
 * `daysOfWeek` is read only when `repeat` is true and `activeDate` only when it is false
 * (SPEC 6): whatever the other one holds does not matter.
 */
export function decodeSchedule(input: unknown, what = 'schedule'): E.Either<DecodeError, Schedule> {
  const doc = withoutNulls(input);
  return E.chain((fields: t.TypeOf<typeof ScheduleFields>): E.Either<DecodeError, Schedule> => {
    const { modeNum, ...rest } = fields;
    const days = doc as { daysOfWeek?: unknown; activeDate?: unknown };
    if (fields.repeat) {
      return E.map((daysOfWeek: readonly boolean[]) => ({ ...rest, modeNum: modeNum ?? 0, when: { repeat: true as const, daysOfWeek } }))(
        dayField(what, 'daysOfWeek', Weekdays, days.daysOfWeek, 'when repeat is true'),
      );
    }
    // No date is the Android app's "today": the day the document is written (SPEC 6).
    if (days.activeDate === undefined) return E.right({ ...rest, modeNum: modeNum ?? 0, when: { repeat: false as const } });
    return E.map((date: string) => ({ ...rest, modeNum: modeNum ?? 0, when: { repeat: false as const, date } }))(
      // Stryker disable next-line StringLiteral: `when` is read only for a missing value, and activeDate is present here (checked above); the line's 'activeDate' literal is killed by the specs
      dayField(what, 'activeDate', ActiveDate, days.activeDate, 'when repeat is false'),
    );
  })(formatErrors(what, ScheduleFields.decode(doc)));
}

/**
 * A one-off without `activeDate` is the one the Android app shows with today's date: it runs on
 * the local date (in `tz`) on which its document was written (SPEC 6). Others are returned as they are.
 */
export function onWriteDate(s: Schedule, writtenAt: number, tz: string): Schedule {
  if (s.when.repeat || s.when.date !== undefined) return s;
  const { year, month, day } = localParts(writtenAt, tz);
  const date = `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
  return { ...s, when: { repeat: false, date } };
}

function dayField<A>(what: string, name: string, codec: t.Type<A, unknown, unknown>, value: unknown, when: string): E.Either<DecodeError, A> {
  if (value === undefined) return E.left({ _tag: 'DecodeError', message: `${what}: ${name}: expected ${codec.name} ${when}, got nothing` });
  // Decoded inside an object so that the error names the field, like every other one.
  return E.map((r: Record<string, A>) => r[name] as A)(formatErrors(what, t.record(t.literal(name), codec).decode({ [name]: value })));
}
