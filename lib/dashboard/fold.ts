/**
 * The dashboard's state (issue 15): a fold over what the pipeline sees and does. `inputsOf`
 * turns an observed item (event + tracked status) or an effect into a few plain inputs, and
 * `fold` applies one input to the state. Both are pure functions of their arguments and of the
 * instant they are given, so a spec drives them on virtual time; the service feeds them live.
 *
 * Like the pipeline's world (`core/streams/world.ts`) the state is updated in place: the fold runs
 * for every event whether or not a page is open, so it must cost next to nothing. Most events
 * (JSON commands, replies, ticks) give no input at all; the view (`view.ts`) is only computed
 * when a page is open.
 */
import * as E from 'fp-ts/lib/Either.js';
import { Observable } from 'rxjs';
import { confirms } from '../core/protocol/apply.js';
import { decodeSchedule } from '../core/protocol/documents.js';
import { decode, type HomeCode } from '../core/protocol/home-code.js';
import { topicMatches, type Topics } from '../core/protocol/topics.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Deps } from '../core/streams/deps.js';
import { touches, valueAt, type Doc, type Observed, type StatusChange } from '../core/streams/world.js';

export const MAX_COMMANDS = 100;
export const MAX_ALERTS = 20;
export const HISTORY_MS = 24 * 3600_000;
/** Points kept per temperature line (a reading a minute for a day is 1440). */
export const MAX_POINTS = 2000;
/**
 * Reports kept to confirm the listed commands with (a ring): a command followed by more reports
 * than this before one confirms it shows as unconfirmed. Far beyond a real home's rate.
 */
export const MAX_REPORTS = 4096;
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
  | { readonly type: 'control'; readonly at: number; readonly topic: string; readonly code: HomeCode; readonly text: string }
  | { readonly type: 'doc'; readonly at: number; readonly collection: string; readonly id: string; readonly data: Doc | null; readonly writtenAt: number }
  | { readonly type: 'rtdb'; readonly at: number; readonly path: RtdbPath; readonly value: unknown }
  | { readonly type: 'outdoor'; readonly at: number; readonly celsius: number }
  | { readonly type: 'sent'; readonly at: number; readonly code: string }
  | { readonly type: 'origin'; readonly at: number; readonly code: string; readonly origin: string }
  | { readonly type: 'fired'; readonly at: number; readonly id: string; readonly occurrence: number }
  | { readonly type: 'alert'; readonly at: number; readonly level: string; readonly text: string };

export type CommandState = 'confirmed' | 'pending' | 'unchecked';

/** A listed command as the view reads it (built from the rings below when a page asks). */
export interface CommandRow {
  readonly seq: number;
  readonly at: number;
  readonly code: string;
  readonly topic: string;
  readonly origin: string;
  readonly state: CommandState;
  /** When the home confirmed it (`at` itself when the last report already agreed). */
  readonly confirmedAt?: number;
  /** When an unconfirmed command raises its alert. */
  readonly deadline?: number;
  readonly parsed: HomeCode;
}

/**
 * The last MAX_COMMANDS controls as parallel rings (slot = seq % MAX_COMMANDS), and the last
 * MAX_REPORTS reports likewise: a control or a report costs a few array writes and allocates
 * nothing that lives on. Which report confirmed a command is found when a page asks
 * (`recentCommands`), scanning only the reports that came since it last looked.
 */
interface CommandRings {
  readonly at: Float64Array;
  readonly code: Array<HomeCode | undefined>;
  readonly text: string[];
  readonly topic: string[];
  readonly origin: string[];
  /** Reports seen before the command (0: none, so it cannot be checked). */
  readonly reportsBefore: Float64Array;
  /** When a report confirmed it, NaN while none has. */
  readonly confirmedAt: Float64Array;
  /** Reports already looked through for it. */
  readonly scanned: Float64Array;
}

interface ReportRing {
  readonly at: Float64Array;
  readonly code: Array<HomeCode | undefined>;
  /** Reports seen in all. */
  count: number;
}

export interface ScheduleRow {
  readonly data: Doc;
  /** When the document was written: a one-off without `activeDate` runs on that day (SPEC 6). */
  readonly writtenAt: number;
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
  readonly commands: CommandRings;
  /** Commands seen in all (the newest is `seq`). */
  seq: number;
  readonly reports: ReportRing;
  /** Some listed command may still be waiting: a report may change the commands section. */
  waiting: boolean;
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
    commands: {
      at: new Float64Array(MAX_COMMANDS),
      code: new Array<HomeCode | undefined>(MAX_COMMANDS).fill(undefined),
      text: new Array<string>(MAX_COMMANDS).fill(''),
      topic: new Array<string>(MAX_COMMANDS).fill(''),
      origin: new Array<string>(MAX_COMMANDS).fill(''),
      reportsBefore: new Float64Array(MAX_COMMANDS),
      confirmedAt: new Float64Array(MAX_COMMANDS).fill(NaN),
      scanned: new Float64Array(MAX_COMMANDS),
    },
    seq: 0,
    reports: { at: new Float64Array(MAX_REPORTS), code: new Array<HomeCode | undefined>(MAX_REPORTS).fill(undefined), count: 0 },
    waiting: false,
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

/** Where inputs go (the fold), one at a time: no array per event. */
export type Emit = (input: Input) => void;
/** The instant, asked only when an item gives an input (most give none). */
export interface Clock {
  now(): number;
}

/** The inputs of one observed item: the tracked status after it, what it did, what it carried. */
export function inputsOf(item: Pick<Observed, 'event' | 'change' | 'statusBefore'>, status: HomeCode | undefined, tree: unknown, clock: Clock, emit: Emit): void {
  const { event, change } = item;
  switch (event.type) {
    case 'mqtt.message':
      statusInputs(change, item.statusBefore, status, event.topic, event.payload, clock, emit);
      return;
    case 'rtdb.value': {
      statusInputs(change, item.statusBefore, status, '', '', clock, emit);
      for (const path of RTDB_PATHS) if (touches(event.path, path)) emit({ type: 'rtdb', at: clock.now(), path, value: valueAt(tree, path) });
      return;
    }
    case 'firestore.doc':
      if (event.collection === 'schedule_mode' || event.collection === 'modes' || event.collection === 'appliance_alarm') {
        emit({ type: 'doc', at: clock.now(), collection: event.collection, id: event.id, data: event.data, writtenAt: event.writtenAt ?? clock.now() });
      }
      return;
    case 'weather.result': {
      const celsius = kelvinToCelsius(event.current);
      if (celsius !== undefined) emit({ type: 'outdoor', at: clock.now(), celsius });
      return;
    }
    default:
      return;
  }
}

function statusInputs(change: StatusChange, before: HomeCode | undefined, status: HomeCode | undefined, topic: string, text: string, clock: Clock, emit: Emit): void {
  // The usual case (a JSON command, a reply's echo): nothing for the dashboard.
  if (change.kind !== 'report' && change.kind !== 'control' && (status === undefined || status === before)) return;
  const at = clock.now();
  if (change.kind === 'report') emit({ type: 'report', at, code: change.code });
  if (change.kind === 'control') emit({ type: 'control', at, topic, code: change.code, text });
  if (status !== undefined && status !== before) emit({ type: 'status', at, status });
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
    case 'status': {
      const before = state.status;
      state.status = input.status;
      state.statusAt = input.at;
      // Most changes are of power, brightness or colour: the on/off bands only move with a state digit.
      const same = before !== undefined && before.airconState === input.status.airconState && before.lightState === input.status.lightState &&
        before.window === input.status.window && before.gas === input.status.gas;
      if (!same) recordBands(state, input.status, input.at);
      v.home++;
      return;
    }
    case 'report':
      state.lastReport = input.code;
      state.lastReportAt = input.at;
      {
        const r = state.reports;
        const slot = r.count % MAX_REPORTS;
        r.at[slot] = input.at;
        r.code[slot] = input.code;
        r.count++;
      }
      if (state.waiting) v.commands++;
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
      const c = state.commands;
      for (let seq = state.seq; own === undefined && seq > 0 && seq > state.seq - MAX_COMMANDS; seq--) {
        const slot = seq % MAX_COMMANDS;
        if (c.text[slot] === input.code && c.origin[slot] === OWN && input.at - c.at[slot]! < ECHO_WAIT_MS) {
          c.origin[slot] = input.origin;
          v.commands++;
          break;
        }
      }
      return;
    }
    case 'doc':
      foldDoc(state, input.collection, input.id, input.data, input.writtenAt);
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
  const code = input.text;
  const i = input.topic === settings.topics.deviceCommand && state.sent.length > 0 ? state.sent.findIndex((s) => s.code === code) : -1;
  let origin: string;
  if (i >= 0) {
    origin = state.sent[i]!.origin ?? OWN;
    state.sent.splice(i, 1);
  } else {
    origin = controlOrigin(input.topic, settings.topics);
  }
  const c = state.commands;
  const slot = ++state.seq % MAX_COMMANDS;
  c.at[slot] = input.at;
  c.code[slot] = input.code;
  c.text[slot] = code;
  c.topic[slot] = input.topic;
  c.origin[slot] = origin;
  c.reportsBefore[slot] = state.reports.count;
  c.scanned[slot] = state.reports.count;
  // As the check of work does (core/streams/check-of-work.ts): a control the last report already agrees
  // with is confirmed at once.
  const report = state.lastReport;
  const atOnce = report !== undefined && confirms(report, input.code);
  c.confirmedAt[slot] = atOnce ? input.at : NaN;
  if (report !== undefined && !atOnce) state.waiting = true;
}

/**
 * The commands, newest first, each with its confirmation: the first report after it that agrees
 * with every position it sets (found here, from where the last look stopped). Before any report
 * a command cannot be checked ("unchecked").
 */
export function recentCommands(state: DashboardState, commandConfirmS = 30): CommandRow[] {
  const c = state.commands;
  const r = state.reports;
  const rows: CommandRow[] = [];
  let waiting = false;
  for (let seq = state.seq; seq > 0 && seq > state.seq - MAX_COMMANDS; seq--) {
    const slot = seq % MAX_COMMANDS;
    const parsed = c.code[slot]!;
    const at = c.at[slot]!;
    const base = { seq, at, code: c.text[slot]!, topic: c.topic[slot]!, origin: c.origin[slot]!, parsed };
    if (c.reportsBefore[slot] === 0) {
      rows.push({ ...base, state: 'unchecked' });
      continue;
    }
    if (Number.isNaN(c.confirmedAt[slot])) {
      for (let n = Math.max(c.scanned[slot]!, r.count - MAX_REPORTS); n < r.count; n++) {
        if (confirms(r.code[n % MAX_REPORTS]!, parsed)) {
          c.confirmedAt[slot] = r.at[n % MAX_REPORTS]!;
          break;
        }
      }
      c.scanned[slot] = r.count;
    }
    const confirmedAt = c.confirmedAt[slot]!;
    if (Number.isNaN(confirmedAt)) {
      waiting = true;
      rows.push({ ...base, state: 'pending', deadline: at + commandConfirmS * 1000 });
    } else {
      rows.push({ ...base, state: 'confirmed', confirmedAt });
    }
  }
  state.waiting = waiting;
  return rows;
}

/**
 * Who sent a control the backend did not send: the car publishes on the device-command topic
 * itself (`webos/smarthome/info`), the Android app on `webos/smarthome` (SPEC 2).
 */
function controlOrigin(topic: string, topics: Topics): string {
  let origins = originsByTopics.get(topics);
  if (origins === undefined) originsByTopics.set(topics, (origins = new Map()));
  let origin = origins.get(topic);
  if (origin === undefined) {
    if (topic === topics.deviceCommand) origin = 'car control';
    else if (topicMatches(topics.controls, topic) && !topic.includes('/', topics.controls.replace(/\/?#$/, '').length + 1)) origin = 'app control';
    else origin = `control on ${topic}`;
    // Topics are few (a broker's client could invent many: then they are just not kept).
    if (origins.size < 100) origins.set(topic, origin);
  }
  return origin;
}
const originsByTopics = new WeakMap<Topics, Map<string, string>>();

function dropOldSent(state: DashboardState, now: number): void {
  while (state.sent.length > 0 && (now - state.sent[0]!.at > ECHO_WAIT_MS || state.sent.length > MAX_COMMANDS)) state.sent.shift();
}

function foldDoc(state: DashboardState, collection: string, id: string, data: Doc | null, writtenAt: number): void {
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
        state.schedules.set(id, { data, writtenAt, ...(E.isLeft(decoded) ? { error: decoded.left.message } : {}), ...(lastFired === undefined ? {} : { lastFired }) });
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

// ---- the two ways in: what the pipeline observes, and what it does (these run for every event) ----

type FoldSettings = { readonly topics: Topics; readonly commandConfirmS: number };

/** The pipeline stream that folds every observed item into `state` (emits nothing). */
export function foldObserved(state: DashboardState, settings: FoldSettings, changed: () => void = () => undefined) {
  // A bare subscriber rather than tap + ignoreElements, and one emit function rather than one per
  // event: this runs for every event, page or not.
  let folded = false;
  const emit = (input: Input): void => {
    fold(state, input, settings);
    folded = true;
  };
  return (observed$: Observable<Observed>, deps: Deps): Observable<Effect> =>
    new Observable<Effect>((subscriber) =>
      observed$.subscribe({
        next: (item) => {
          folded = false;
          inputsOf(item, item.world.status, item.world.tree, deps.scheduler, emit);
          if (folded) changed();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}

/** Folds one effect of the pipeline into `state`; true if it changed anything. */
export function foldEffect(state: DashboardState, settings: FoldSettings, effect: Effect, at: number): boolean {
  const inputs = inputsOfEffect(effect, settings.topics, at);
  for (const input of inputs) fold(state, input, settings);
  return inputs.length > 0;
}

/** The service's effect observer: folds each effect at the wall-clock instant, `changed` when it did. */
export function foldEffects(state: DashboardState, settings: FoldSettings, changed: () => void): (effect: Effect) => void {
  return (effect) => {
    if (foldEffect(state, settings, effect, Date.now())) changed();
  };
}
