/**
 * Schedules (SPEC 6, issues 7 and 13). A schedule fires once per occurrence: at the first tick
 * inside its start minute or the minute after, on an active day, if enabled. An occurrence that
 * fell due while the service was down (after `resume.lastTickAt` and before this run started)
 * fires late if it is at most SCHEDULE_GRACE_S old, else it is skipped and logged; one that
 * passed while this run was up never fires late. What each schedule last handled starts from
 * `resume.scheduleFired` and is emitted as `state.schedule` effects to persist.
 *
 * Times are compared on the local wall clock in minutes (see `wallMinutes`), so "07:30 every
 * Monday" means what the user sees on the clock. Clock changes: an occurrence in a skipped hour
 * is due when the clock jumps past it (`dueAt`), so it fires once at the first minute that
 * exists; an occurrence in a repeated hour is one wall-clock minute, handled once.
 *
 * One-offs (SPEC 6): one without `activeDate` runs on the local date its document was written
 * (`writtenAt` of its event, else the instant the event is handled); a start time already past
 * then is "after its time" (one warning, not run). A one-off whose occurrence is handled is
 * deleted, also when its document is seen again afterwards (a crash between the firing and the
 * delete, or the app saving it again), without firing again.
 */
import { defer } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { targetFrom, wouldChange } from '../protocol/appliance.js';
import { decodeMode, decodeSchedule, onWriteDate, type ModeDoc, type Schedule } from '../protocol/documents.js';
import type { DecodeError } from '../protocol/errors.js';
import { ModeNumField } from '../protocol/fields.js';
import { encode, type HomeCode } from '../protocol/home-code.js';
import { dueAt, localParts, wallMinutes, type LocalParts } from '../protocol/local-time.js';
import { log, warning } from './alerts.js';
import type { Deps } from './deps.js';
import type { Topics } from '../protocol/topics.js';
import type { Effect } from '../protocol/effects.js';
import { stream, type ObservedOf } from './stream.js';
import { react, type Doc, type World } from './world.js';

export const SCHEDULES = 'schedule_mode';
/** How many days back to look for a weekly schedule's latest occurrence. */
const LOOKBACK_DAYS = 7;

interface Known {
  /** Decoded, with a one-off's date set (`onWriteDate`). */
  readonly schedule: Schedule;
  /** For a one-off without `activeDate` only: when its document was written (it runs on that day). */
  readonly writtenAt?: number;
}

interface State {
  readonly schedules: ReadonlyMap<string, Known>;
  /** Per malformed schedule, the version already warned about (its JSON). */
  readonly warned: ReadonlyMap<string, string>;
  /** Per schedule, the latest occurrence handled (wall-clock minutes). */
  readonly handled: ReadonlyMap<string, number>;
  /** Per one-off schedule reported as past when learned of, the version reported (its JSON). */
  readonly past: ReadonlyMap<string, string>;
}

/** How long after it is due an occurrence still fires in a running service: its minute and the next. */
const WINDOW_MS = 120_000;

/** The latest occurrence at or before `now` (wall minutes), if any within the look-back. */
export function latestOccurrence(s: Schedule, now: LocalParts): number | undefined {
  const nowWall = wallMinutes(now) + now.second / 60;
  if (!s.when.repeat) {
    const d = s.when.date;
    if (d === undefined) return undefined; // dated by `onWriteDate` before it gets here
    const at = wallMinutes({ year: Number(d.slice(0, 4)), month: Number(d.slice(4, 6)), day: Number(d.slice(6)), ...s.startTime });
    return at <= nowWall ? at : undefined;
  }
  for (let back = 0; back <= LOOKBACK_DAYS; back++) {
    const day = new Date(Date.UTC(now.year, now.month - 1, now.day - back));
    if (s.when.daysOfWeek[day.getUTCDay()] !== true) continue;
    const at = wallMinutes({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), ...s.startTime });
    if (at <= nowWall) return at;
  }
  return undefined;
}

/** Local wall-clock label of an occurrence, for logs: `2021-09-22 07:30`. */
function label(wall: number): string {
  return new Date(wall * 60000).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * Mode n: the first `modes` document whose `modeNum` is n, decoded; a document with that number
 * but a bad field is an error naming the field, not a missing mode.
 */
function findMode(n: number, modes: ReadonlyMap<string, Doc>): E.Either<string, ModeDoc> {
  for (const [id, doc] of modes) {
    if (!E.isRight(ModeNumField.decode(doc.modeNum)) || Number(doc.modeNum) !== n) continue;
    return E.mapLeft((err: DecodeError) => err.message)(decodeMode(doc, `modes/${id}`));
  }
  return E.left(`no document in modes defines mode ${n}`);
}

export const schedules$ = stream(['clock.tick', 'firestore.schedule_mode'], (observed$, deps) => {
  const { topics, tz, scheduleGraceS } = deps.settings;
  const { lastTickAt } = deps.resume;
  const initial: State = {
    schedules: new Map(),
    warned: new Map(),
    handled: new Map(Object.entries(deps.resume.scheduleFired)),
    past: new Map(),
  };

  // The service was down from the previous run's last tick until this run started (the stream's
  // first subscription, kept when the pipeline resubscribes it): only occurrences due in between
  // are "missed while down" (SPEC 6), for the whole of this run.
  let startedAt: number | undefined;
  const missedWhileDown = (due: number): boolean => lastTickAt !== undefined && startedAt !== undefined && due > lastTickAt && due <= startedAt;
  return defer(() => {
    startedAt ??= deps.scheduler.now();
    return observed$;
  }).pipe(
    // Stryker disable next-line StringLiteral: the stream's name, read only in the text of a crash report that no step of this stream can raise
    react<State, ObservedOf<'clock.tick' | 'firestore.schedule_mode'>>('schedules', topics, initial, (state, { event, world }) => {
      if (event.type === 'firestore.doc') {
        return updateDoc(state, event.id, event.data, event.writtenAt ?? deps.scheduler.now(), deps.settings);
      }
      const nowMs = deps.scheduler.now();
      const now = localParts(nowMs, tz);
      const nowMinute = wallMinutes(now);
      let { handled, past } = state;
      const effects: Effect[] = [];
      // One-offs deleted on this tick are forgotten at once, as the delete's echo would make
      // them: so each is deleted once, not on every tick; a document that stays or comes back
      // arrives again as an event, and goes again.
      // Stryker disable next-line ArrayDeclaration: a bogus id in the list only copies the state and deletes no schedule
      const deleted: string[] = [];
      const deleteOneOff = (id: string): void => {
        effects.push({ type: 'firestore.delete', collection: SCHEDULES, id });
        deleted.push(id);
      };
      for (const [id, { schedule, writtenAt }] of state.schedules) {
        const at = latestOccurrence(schedule, now);
        if (at === undefined) continue;
        const last = handled.get(id);
        if (last !== undefined && at <= last) {
          if (schedule.when.repeat) continue;
          if (at === last) {
            // This very one-off handled, and its document still there (a crash between the
            // firing and the delete, or the app saved it again): it goes without firing again.
            effects.push(log('info', `schedule ${id}: its one-off at ${label(at)} was handled already; deleting it`));
            deleteOneOff(id);
            continue;
          }
          // An earlier one-off under the id of a later handled occurrence is a new one: the rules below.
        }
        if (!schedule.enabled) continue;
        // Its minute or the next on the wall clock; or, after the clock jumped over it, the
        // two minutes after the jump.
        const due = nowMinute - at <= 1 ? undefined : dueAt(at, tz);
        const inWindow = due === undefined || nowMs - due < WINDOW_MS;
        // A one-off dated by its write, written after its time: never due, so not missed while down either.
        const writtenLate = writtenAt !== undefined && due !== undefined && writtenAt - due >= WINDOW_MS;
        if (!inWindow && (writtenLate || !missedWhileDown(due!))) {
          // Passed while this run was up, before the schedule was known or enabled (or before a
          // one-off without a date was written): never late. A one-off's version includes its
          // date, which for one without `activeDate` is the day it was written.
          const version = schedule.when.repeat ? undefined : `${schedule.when.date} ${JSON.stringify(world.docs.schedule_mode.get(id) ?? null)}`;
          if (version !== undefined && past.get(id) !== version) {
            past = new Map(past).set(id, version);
            effects.push(...warning(topics, `schedule ${id}: its one-off time ${label(at)} had passed when the service learned of it; it will not run`));
          }
          continue;
        }
        handled = new Map(handled).set(id, at);
        effects.push({ type: 'state.schedule', id, occurrence: at });
        if (!inWindow && (nowMs - due!) / 1000 > scheduleGraceS) {
          effects.push(log('warn', `schedule ${id}: skipped the occurrence at ${label(at)}, missed while the service was down`));
        } else {
          if (!inWindow) effects.push(log('info', `schedule ${id}: firing the occurrence at ${label(at)} late, after a restart`));
          effects.push(...fire(id, schedule, world, topics));
        }
        if (!schedule.when.repeat) deleteOneOff(id);
      }
      if (handled === state.handled && past === state.past && deleted.length === 0) return [state, effects];
      const schedules = new Map(state.schedules);
      for (const id of deleted) schedules.delete(id);
      return [{ ...state, handled, past, schedules }, effects];
    }),
  );
});

function updateDoc(state: State, id: string, data: Doc | null, writtenAt: number, { topics, tz }: Deps['settings']): readonly [State, readonly Effect[]] {
  if (data === null && state.past.has(id)) {
    const past = new Map(state.past);
    past.delete(id);
    state = { ...state, past };
  }
  const schedules = new Map(state.schedules);
  if (data === null) {
    schedules.delete(id);
    const warned = new Map(state.warned);
    warned.delete(id);
    return [{ ...state, schedules, warned }, []];
  }
  const decoded = decodeSchedule(data, `schedule ${id}`);
  if (E.isRight(decoded)) {
    const { when } = decoded.right;
    const dateless = !when.repeat && when.date === undefined;
    schedules.set(id, { schedule: onWriteDate(decoded.right, writtenAt, tz), ...(dateless ? { writtenAt } : {}) });
    return [{ ...state, schedules }, []];
  }
  schedules.delete(id);
  const version = JSON.stringify(data);
  if (state.warned.get(id) === version) return [{ ...state, schedules }, []];
  return [
    { ...state, schedules, warned: new Map(state.warned).set(id, version) },
    warning(topics, `${decoded.left.message}; the schedule will not run until it is fixed`),
  ];
}

function fire(id: string, schedule: Schedule, world: World, topics: Topics): Effect[] {
  let target: HomeCode;
  if (schedule.modeNum === 0) {
    target = targetFrom(schedule, 0);
  } else {
    const mode = findMode(schedule.modeNum, world.docs.modes);
    if (E.isLeft(mode)) return warning(topics, `schedule ${id} uses mode ${schedule.modeNum}: ${mode.left}; nothing sent`);
    target = targetFrom(mode.right, schedule.modeNum);
  }
  if (world.status !== undefined && !wouldChange(world.status, target)) {
    return [log('info', `schedule ${id}: ${encode(target)} would change nothing; not sent`)];
  }
  return [
    { type: 'mqtt.publish', topic: topics.deviceCommand, payload: encode(target) },
    log('info', `schedule ${id}: sent ${encode(target)}`),
  ];
}

