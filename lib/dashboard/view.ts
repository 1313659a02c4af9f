/**
 * What the page shows, section by section, computed from the dashboard's state only when a page
 * is open. Everything is put in words here (states, colours, modes, schedule times), so the page
 * only lays it out, and a spec can check the words without a browser.
 */
import * as E from 'fp-ts/lib/Either.js';
import { targetFrom } from '../core/protocol/appliance.js';
import { decodeSchedule, ModeDoc, onWriteDate, type Schedule } from '../core/protocol/documents.js';
import { encode, type HomeCode } from '../core/protocol/home-code.js';
import { localParts, wallMinutes } from '../core/protocol/local-time.js';
import type { Doc } from '../core/streams/world.js';
import { APPLIANCES, HISTORY_MS, recentCommands, type DashboardState, type Section } from './fold.js';

export interface ViewSettings {
  readonly tz: string;
  /** After this long without a report from the home, its age is shown as a warning. */
  readonly staleS: number;
  readonly commandConfirmS: number;
}

export const LABELS = { aircon: 'Air conditioner', light: 'Light', window: 'Window', gas: 'Gas valve' } as const;
/** What the ESP32 firmware shows for colour digits 0-7 (SPEC 3). */
const COLOURS = ['white', 'red', 'blue', 'green', 'yellow', 'purple', 'orange', 'sky blue'];
const LIGHT_MODES = ['normal', 'mood', 'sleep', 'party'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const percent = (d: number): string => `${d * 10} %`;
const colour = (d: number): string => COLOURS[d] ?? `colour ${d}`;
const lightMode = (d: number): string => LIGHT_MODES[d] ?? `mode ${d}`;

export interface ApplianceView {
  readonly key: string;
  readonly label: string;
  /** "on"/"off", "open"/"closed", or "keep" in a command. */
  readonly state: string;
  readonly on: boolean;
  readonly details: readonly string[];
}

/** The four appliances of a status (or of a command, where 2 reads "keep"). */
export function appliances(code: HomeCode): ApplianceView[] {
  const tri = (d: number, on: string, off: string): string => (d === 1 ? on : d === 0 ? off : 'keep');
  return [
    {
      key: 'aircon',
      label: LABELS.aircon,
      state: tri(code.airconState, 'on', 'off'),
      on: code.airconState === 1,
      details: code.airconState === 1 ? [`power ${percent(code.airconPower)}`] : [],
    },
    {
      key: 'light',
      label: LABELS.light,
      state: tri(code.lightState, 'on', 'off'),
      on: code.lightState === 1,
      details: code.lightState === 1 ? [`brightness ${percent(code.lightBrightness)}`, colour(code.lightColor), `${lightMode(code.lightMode)} mode`] : [],
    },
    { key: 'window', label: LABELS.window, state: tri(code.window, 'open', 'closed'), on: code.window === 1, details: [] },
    { key: 'gas', label: LABELS.gas, state: tri(code.gas, 'on', 'off'), on: code.gas === 1, details: [] },
  ];
}

/** "mode 2 (Sleep)", with the name from the `modes` documents when one defines it. */
export function modeLabel(n: number, modes: ReadonlyMap<string, Doc>): string {
  if (n === 0) return 'manual';
  for (const doc of modes.values()) {
    if (Number(doc.modeNum) === n && typeof doc.modeName === 'string') return `mode ${n} (${doc.modeName})`;
  }
  return `mode ${n}`;
}

/** What a command does, in words: "Air conditioner on (power 60 %), Window closed". */
export function describe(code: HomeCode): string {
  const parts = appliances(code)
    .filter((a) => a.state !== 'keep')
    .map((a) => `${a.label} ${a.state}${a.details.length > 0 ? ` (${a.details.join(', ')})` : ''}`);
  return parts.length > 0 ? parts.join(', ') : 'changes nothing';
}

const pad = (n: number): string => String(n).padStart(2, '0');
/** A local wall-clock minute (zone-free minutes since 1970) as `2021-09-22 07:30`. */
const wallLabel = (wall: number): string => new Date(wall * 60000).toISOString().slice(0, 16).replace('T', ' ');

/** The next occurrence at or after the current minute that has not been handled yet. */
export function nextOccurrence(s: Schedule, nowMs: number, tz: string, lastFired?: number): { wall: number; at: number } | undefined {
  const now = localParts(nowMs, tz);
  const nowMinute = wallMinutes(now);
  const toEpoch = (wall: number): number => nowMs + (wall - nowMinute) * 60000 - now.second * 1000;
  const after = Math.max(nowMinute - 1, lastFired ?? -Infinity);
  if (!s.when.repeat) {
    const d = s.when.date;
    if (d === undefined) return undefined; // dated by `onWriteDate` before it gets here
    const wall = wallMinutes({ year: Number(d.slice(0, 4)), month: Number(d.slice(4, 6)), day: Number(d.slice(6)), ...s.startTime });
    return wall > after ? { wall, at: toEpoch(wall) } : undefined;
  }
  for (let ahead = 0; ahead <= 7; ahead++) {
    const day = new Date(Date.UTC(now.year, now.month - 1, now.day + ahead));
    if (s.when.daysOfWeek[day.getUTCDay()] !== true) continue;
    const wall = wallMinutes({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), ...s.startTime });
    if (wall > after) return { wall, at: toEpoch(wall) };
  }
  return undefined;
}

function when(s: Schedule): string {
  const time = `${pad(s.startTime.hour)}:${pad(s.startTime.minute)}`;
  if (!s.when.repeat) {
    const d = s.when.date;
    return d === undefined ? `once, on the day it was saved, at ${time}` : `once on ${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)} at ${time}`;
  }
  const days = s.when.daysOfWeek.flatMap((on, i) => (on ? [DAYS[i]!] : []));
  return days.length === 7 ? `every day at ${time}` : days.length === 0 ? `never (no day chosen) at ${time}` : `every ${days.join(', ')} at ${time}`;
}

function scheduleTarget(s: Schedule, modes: ReadonlyMap<string, Doc>): string {
  if (s.modeNum === 0) return describe(targetFrom(s, 0));
  for (const doc of modes.values()) {
    const mode = ModeDoc.decode(doc);
    if (E.isRight(mode) && mode.right.modeNum === s.modeNum) return `${modeLabel(s.modeNum, modes)}: ${describe(targetFrom(mode.right, s.modeNum))}`;
  }
  return `${modeLabel(s.modeNum, modes)} (no modes document defines it)`;
}

/** One section of the page, as JSON for its event stream. */
export function sectionView(section: Section, state: DashboardState, now: number, settings: ViewSettings): unknown {
  switch (section) {
    case 'home': {
      const rtdb = state.rtdb['sensor/hometemp'] as Record<string, unknown> | undefined;
      return {
        status: state.status === undefined ? null : appliances(state.status),
        code: state.status === undefined ? null : encode(state.status),
        mode: state.status === undefined ? null : modeLabel(state.status.mode, state.modes),
        lastReportAt: state.lastReportAt ?? null,
        staleAfterMs: settings.staleS * 1000,
        sensors: { temp: rtdb?.temp ?? null, humi: rtdb?.humi ?? null, rain: rtdb?.rain ?? null },
      };
    }
    case 'commands':
      return {
        confirmS: settings.commandConfirmS,
        rows: recentCommands(state, settings.commandConfirmS).map((r) => ({
          seq: r.seq,
          at: r.at,
          code: r.code,
          origin: r.origin,
          mode: r.parsed.mode === 0 ? null : modeLabel(r.parsed.mode, state.modes),
          what: describe(r.parsed),
          state: r.state,
          confirmedAt: r.confirmedAt ?? null,
          deadline: r.deadline ?? null,
        })),
      };
    case 'history':
      return {
        from: now - HISTORY_MS,
        to: now,
        bands: Object.fromEntries(APPLIANCES.map((a) => [a, { label: LABELS[a], points: state.bands[a] }])),
        homeTemp: state.homeTemp,
        outdoorTemp: state.outdoorTemp,
      };
    case 'alarms':
      // Ids sort newest first (SPEC 5), as the app lists them.
      return [...state.alarms].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, doc]) => ({ id, icon: doc.icon, date: doc.date, inform: doc.inform }));
    case 'schedules':
      return [...state.schedules].sort(([a], [b]) => a.localeCompare(b)).map(([id, row]) => {
        const decoded = decodeSchedule(row.data, `schedule ${id}`);
        const base = { id, lastFired: row.lastFired === undefined ? null : wallLabel(row.lastFired) };
        if (E.isLeft(decoded)) return { ...base, error: row.error ?? decoded.left.message };
        const s = onWriteDate(decoded.right, row.writtenAt, settings.tz);
        const next = s.enabled ? nextOccurrence(s, now, settings.tz, row.lastFired) : undefined;
        return {
          ...base,
          enabled: s.enabled,
          when: when(s),
          target: scheduleTarget(s, state.modes),
          next: next === undefined ? null : { label: wallLabel(next.wall), at: next.at },
          error: null,
        };
      });
    case 'weather': {
      const w = state.rtdb['sensor/openweather'] as Record<string, unknown> | undefined;
      const rec = state.rtdb['server/notification'];
      return {
        weather: w === undefined || w === null ? null : { description: w.description ?? null, icon: w.icon ?? null, temp: w.temp ?? null, airLevel: w.air_level ?? null, update: w.update ?? null },
        recommendation: rec === undefined || rec === null ? null : rec,
      };
    }
    case 'alerts':
      return state.alerts;
  }
}
