/**
 * The dashboard's state (issue 15): a fold over what the pipeline sees and does. `inputsOf`
 * turns an observed item (event + tracked status) or an effect into a few plain inputs, and
 * `fold` applies one input to the state. Both are pure functions of their arguments and of the
 * instant they are given, so a spec drives them on virtual time; the service feeds them live.
 *
 * Like the pipeline's world (`streams/world.ts`) the state is updated in place: the fold runs
 * for every event whether or not a page is open, so it must cost next to nothing. Most events
 * (JSON commands, replies, ticks) give no input at all; the view (`view.ts`) is only computed
 * when a page is open.
 */
import * as E from 'fp-ts/lib/Either.js';
import { confirms } from '../protocol/apply.js';
import { decodeSchedule } from '../protocol/documents.js';
import { decode, encode, type HomeCode } from '../protocol/home-code.js';
import { topicMatches } from '../protocol/topics.js';
import type { Topics } from '../streams/deps.js';
import type { Effect } from '../streams/effects.js';
import { touches, valueAt, type Doc, type Observed, type StatusChange } from '../streams/world.js';

export const MAX_COMMANDS = 100;
export const MAX_ALERTS = 20;
export const HISTORY_MS = 24 * 3600_000;
/** Points kept per temperature line (a reading a minute for a day is 1440). */
export const MAX_POINTS = 2000;
/** Own device commands waiting for the broker's echo longer than this are forgotten. */
const ECHO_WAIT_MS = 60_000;

export const APPLIANCES = ['aircon', 'light', 'window', 'gas'] as const;
export type Appliance = (typeof APPLIANCES)[number];
const STATE_FIELD = { aircon: 'airconState', light: 'lightState', window: 'window', gas: 'gas' } as const;

/** The RTDB paths the dashboard shows (their values are read from the folded tree). */
export const RTDB_PATHS = ['sensor/hometemp', 'sensor/openweather', 'server/notification'] as const;
type RtdbPath = (typeof RTDB_PATHS)[number];

/** What the dashboard folds: small plain values, each with the instant it happened at. */
export type Input =
  | { readonly type: 'status'; readonly at: number; readonly status: HomeCode }
  | { readonly type: 'report'; readonly at: number; readonly code: HomeCode }
  | { readonly type: 'control'; readonly at: number; readonly topic: string; readonly code: HomeCode }
  | { readonly type: 'doc'; readonly at: number; readonly collection: string; readonly id: string; readonly data: Doc | null }
  | { readonly type: 'rtdb'; readonly at: number; readonly path: RtdbPath; readonly value: unknown }
  | { readonly type: 'outdoor'; readonly at: number; readonly celsius: number }
  | { readonly type: 'sent'; readonly at: number; readonly code: string }
  | { readonly type: 'origin'; readonly at: number; readonly code: string; readonly origin: string }
  | { readonly type: 'fired'; readonly at: number; readonly id: string; readonly occurrence: number }
  | { readonly type: 'alert'; readonly at: number; readonly level: string; readonly text: string };

export type CommandState = 'confirmed' | 'pending' | 'unchecked';

export interface CommandRow {
  readonly seq: number;
  readonly at: number;
  readonly code: string;
  readonly topic: string;
  origin: string;
  state: CommandState;
  /** When the home confirmed it (`at` itself when the last report already agreed). */
  confirmedAt?: number;
  /** When an unconfirmed command raises its alert. */
  readonly deadline?: number;
  readonly parsed: HomeCode;
}

export interface ScheduleRow {
  readonly data: Doc;
  readonly error?: string;
  /** The last occurrence handled, in local wall-clock minutes (see `schedules.ts`). */
  lastFired?: number;
}

export type Point = readonly [at: number, value: number];

export type Section = 'home' | 'commands' | 'history' | 'alarms' | 'schedules' | 'weather' | 'alerts';

export interface DashboardState {
  status?: HomeCode;
  statusAt?: number;
  lastReportAt?: number;
  lastReport?: HomeCode;
  readonly modes: Map<string, Doc>;
  readonly commands: CommandRow[];
  seq: number;
  /** The backend's own device commands, until the broker's echo on the control topic names them. */
  readonly sent: Array<{ at: number; code: string; origin?: string }>;
  readonly bands: Record<Appliance, Point[]>;
  readonly homeTemp: Point[];
  readonly outdoorTemp: Point[];
  readonly alarms: Map<string, Doc>;
  readonly schedules: Map<string, ScheduleRow>;
  readonly rtdb: Partial<Record<RtdbPath, unknown>>;
  readonly alerts: Array<{ at: number; level: string; text: string }>;
  /** Bumped when a section changes, so a sink sends only what changed. */
  readonly versions: Record<Section, number>;
}

export function emptyState(): DashboardState {
  return {
    modes: new Map(),
    commands: [],
    seq: 0,
    sent: [],
    bands: { aircon: [], light: [], window: [], gas: [] },
    homeTemp: [],
    outdoorTemp: [],
    alarms: new Map(),
    schedules: new Map(),
    rtdb: {},
    alerts: [],
    versions: { home: 0, commands: 0, history: 0, alarms: 0, schedules: 0, weather: 0, alerts: 0 },
  };
}

// ---- from the pipeline to inputs ----

const NO_INPUTS: readonly Input[] = [];

/** The inputs of one observed item: the tracked status after it, what it did, what it carried. */
export function inputsOf(item: Pick<Observed, 'event' | 'change' | 'statusBefore'>, status: HomeCode | undefined, tree: unknown, at: number): readonly Input[] {
  const { event, change } = item;
  switch (event.type) {
    case 'mqtt.message':
      return statusInputs(change, item.statusBefore, status, event.topic, at);
    case 'rtdb.value': {
      const inputs: Input[] = [...statusInputs(change, item.statusBefore, status, '', at)];
      for (const path of RTDB_PATHS) if (touches(event.path, path)) inputs.push({ type: 'rtdb', at, path, value: valueAt(tree, path) });
      return inputs;
    }
    case 'firestore.doc':
      return event.collection === 'schedule_mode' || event.collection === 'modes' || event.collection === 'appliance_alarm'
        ? [{ type: 'doc', at, collection: event.collection, id: event.id, data: event.data }]
        : NO_INPUTS;
    case 'weather.result': {
      const celsius = kelvinToCelsius(event.current);
      return celsius === undefined ? NO_INPUTS : [{ type: 'outdoor', at, celsius }];
    }
    default:
      return NO_INPUTS;
  }
}

function statusInputs(change: StatusChange, before: HomeCode | undefined, status: HomeCode | undefined, topic: string, at: number): readonly Input[] {
  // The usual case (a JSON command, a reply's echo): nothing for the dashboard, nothing allocated.
  if (change.kind !== 'report' && change.kind !== 'control' && (status === undefined || status === before)) return NO_INPUTS;
  const inputs: Input[] = [];
  if (change.kind === 'report') inputs.push({ type: 'report', at, code: change.code });
  if (change.kind === 'control') inputs.push({ type: 'control', at, topic, code: change.code });
  if (status !== undefined && status !== before) inputs.push({ type: 'status', at, status });
  return inputs;
}

function kelvinToCelsius(current: unknown): number | undefined {
  const temp = (current as { main?: { temp?: unknown } } | null)?.main?.temp;
  return typeof temp === 'number' && Number.isFinite(temp) ? Math.round((temp - 273.15) * 10) / 10 : undefined;
}

/** The schedules stream logs `schedule <id>: sent <code>` right after publishing a command. */
const SCHEDULE_SENT = /^schedule (.+): sent (\d{9})$/;

/** The inputs of one effect (the device commands the backend sends, schedule firings, alerts). */
export function inputsOfEffect(effect: Effect, topics: Topics, at: number): readonly Input[] {
  switch (effect.type) {
    case 'mqtt.publish':
      return effect.topic === topics.deviceCommand ? [{ type: 'sent', at, code: effect.payload }] : NO_INPUTS;
    case 'log': {
      const m = effect.level === 'info' ? SCHEDULE_SENT.exec(effect.msg) : null;
      return m === null ? NO_INPUTS : [{ type: 'origin', at, code: m[2]!, origin: `schedule ${m[1]!}` }];
    }
    case 'state.schedule':
      return [{ type: 'fired', at, id: effect.id, occurrence: effect.occurrence }];
    case 'slack.alert':
      return [{ type: 'alert', at, level: 'alert', text: effect.text }];
    default:
      return NO_INPUTS;
  }
}

// ---- the fold ----

export function fold(state: DashboardState, input: Input, settings: { readonly topics: Topics; readonly commandConfirmS: number }): void {
  const v = state.versions;
  switch (input.type) {
    case 'status':
      state.status = input.status;
      state.statusAt = input.at;
      recordBands(state, input.status, input.at);
      v.home++;
      return;
    case 'report':
      state.lastReport = input.code;
      state.lastReportAt = input.at;
      for (const row of state.commands) {
        if (row.state === 'pending' && confirms(input.code, row.parsed)) {
          row.state = 'confirmed';
          row.confirmedAt = input.at;
          v.commands++;
        }
      }
      v.home++;
      return;
    case 'control':
      addCommand(state, input, settings);
      v.commands++;
      return;
    case 'sent':
      state.sent.push({ at: input.at, code: input.code });
      dropOldSent(state, input.at);
      return;
    case 'origin': {
      const own = [...state.sent].reverse().find((s) => s.code === input.code && s.origin === undefined);
      if (own !== undefined) own.origin = input.origin;
      // The echo may already be in (a broker on the same loop answers fast): name the row then.
      const row = state.commands.find((r) => r.code === input.code && r.origin === OWN && input.at - r.at < ECHO_WAIT_MS);
      if (row !== undefined && own === undefined) {
        row.origin = input.origin;
        v.commands++;
      }
      return;
    }
    case 'doc':
      foldDoc(state, input.collection, input.id, input.data);
      return;
    case 'rtdb':
      state.rtdb[input.path] = input.value;
      if (input.path === 'sensor/hometemp') {
        const raw = (input.value as { temp?: unknown } | null)?.temp;
        const temp = typeof raw === 'number' || (typeof raw === 'string' && raw.trim() !== '') ? Number(raw) : NaN;
        if (Number.isFinite(temp) && addPoint(state.homeTemp, input.at, temp)) v.history++;
        v.home++;
      } else {
        v.weather++;
      }
      return;
    case 'outdoor':
      if (addPoint(state.outdoorTemp, input.at, input.celsius)) v.history++;
      return;
    case 'fired': {
      const row = state.schedules.get(input.id);
      if (row !== undefined) row.lastFired = input.occurrence;
      v.schedules++;
      return;
    }
    case 'alert':
      state.alerts.unshift({ at: input.at, level: input.level, text: input.text });
      if (state.alerts.length > MAX_ALERTS) state.alerts.length = MAX_ALERTS;
      v.alerts++;
      return;
  }
}

/** Origin of a command the backend sent itself, until its schedule (or other cause) is known. */
const OWN = 'this service';

function addCommand(state: DashboardState, input: Extract<Input, { type: 'control' }>, settings: { readonly topics: Topics; readonly commandConfirmS: number }): void {
  const code = encode(input.code);
  const i = input.topic === settings.topics.deviceCommand ? state.sent.findIndex((s) => s.code === code) : -1;
  let origin: string;
  if (i >= 0) {
    origin = state.sent[i]!.origin ?? OWN;
    state.sent.splice(i, 1);
  } else {
    origin = controlOrigin(input.topic, settings.topics);
  }
  // As the check of work does (streams/confirm.ts): before any report nothing can be checked; a
  // control the last report already agrees with is confirmed at once.
  const report = state.lastReport;
  const row: CommandRow =
    report === undefined
      ? { seq: ++state.seq, at: input.at, code, topic: input.topic, origin, state: 'unchecked', parsed: input.code }
      : confirms(report, input.code)
        ? { seq: ++state.seq, at: input.at, code, topic: input.topic, origin, state: 'confirmed', confirmedAt: input.at, parsed: input.code }
        : { seq: ++state.seq, at: input.at, code, topic: input.topic, origin, state: 'pending', deadline: input.at + settings.commandConfirmS * 1000, parsed: input.code };
  state.commands.unshift(row);
  if (state.commands.length > MAX_COMMANDS) state.commands.length = MAX_COMMANDS;
}

/**
 * Who sent a control the backend did not send: the car publishes on the device-command topic
 * itself (`webos/smarthome/info`), the Android app on `webos/smarthome` (SPEC 2).
 */
function controlOrigin(topic: string, topics: Topics): string {
  if (topic === topics.deviceCommand) return 'car control';
  if (topicMatches(topics.controls, topic) && !topic.includes('/', topics.controls.replace(/\/?#$/, '').length + 1)) return 'app control';
  return `control on ${topic}`;
}

function dropOldSent(state: DashboardState, now: number): void {
  while (state.sent.length > 0 && (now - state.sent[0]!.at > ECHO_WAIT_MS || state.sent.length > MAX_COMMANDS)) state.sent.shift();
}

function foldDoc(state: DashboardState, collection: string, id: string, data: Doc | null): void {
  switch (collection) {
    case 'modes':
      if (data === null) state.modes.delete(id);
      else state.modes.set(id, data);
      state.versions.home++;
      state.versions.commands++;
      state.versions.schedules++;
      return;
    case 'appliance_alarm':
      if (data === null) state.alarms.delete(id);
      else state.alarms.set(id, data);
      state.versions.alarms++;
      return;
    case 'schedule_mode': {
      if (data === null) {
        state.schedules.delete(id);
      } else {
        const decoded = decodeSchedule(data, `schedule ${id}`);
        const lastFired = state.schedules.get(id)?.lastFired;
        state.schedules.set(id, { data, ...(E.isLeft(decoded) ? { error: decoded.left.message } : {}), ...(lastFired === undefined ? {} : { lastFired }) });
      }
      state.versions.schedules++;
      return;
    }
  }
}

/** Appends a transition of each appliance whose on/off state changed; drops what is older than a day. */
function recordBands(state: DashboardState, status: HomeCode, at: number): void {
  let changed = false;
  for (const appliance of APPLIANCES) {
    const digit = status[STATE_FIELD[appliance]];
    if (digit === 2) continue;
    const band = state.bands[appliance];
    if (band.at(-1)?.[1] === digit) continue;
    band.push([at, digit]);
    prune(band, at);
    changed = true;
  }
  if (changed) state.versions.history++;
}

/** Appends a point when the value changed; true if it did. */
function addPoint(points: Point[], at: number, value: number): boolean {
  if (points.at(-1)?.[1] === value) return false;
  points.push([at, value]);
  prune(points, at);
  if (points.length > MAX_POINTS) points.shift();
  return true;
}

/** Drops points older than a day, keeping the last one before the window (the state at its start). */
function prune(points: Point[], now: number): void {
  let drop = 0;
  while (drop + 1 < points.length && points[drop + 1]![0] <= now - HISTORY_MS) drop++;
  if (drop > 0) points.splice(0, drop);
}

/** The status a code stands for, decoded; for specs and the journal reader. */
export function codeOf(text: string): HomeCode | undefined {
  const decoded = decode(text);
  return E.isRight(decoded) ? decoded.right : undefined;
}

