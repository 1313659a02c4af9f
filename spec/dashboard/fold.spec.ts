/**
 * The dashboard's fold, driven through the real pipeline on virtual time: events in as hot
 * marbles, the dashboard's stream added to the pipeline's, its effects folded as the service
 * does. Then the view's words are checked (what the page shows).
 */
import { expect } from 'chai';
import { tap } from 'rxjs';
import { foldEffect, foldObserved } from '../../lib/dashboard/fold.js';
import { emptyState, fold, HISTORY_MS, MAX_COMMANDS, MAX_REPORTS, recentCommands, type DashboardState } from '../../lib/dashboard/fold.js';
import { sectionView, nextOccurrence } from '../../lib/dashboard/view.js';
import { decodeSchedule } from '../../lib/core/protocol/documents.js';
import * as E from 'fp-ts/lib/Either.js';
import { pipeline, STREAMS } from '../../lib/core/streams/pipeline.js';
import type { Event } from '../../lib/core/protocol/events.js';
import { code, command, control, doc, makeDeps, mqtt, status, T0, testScheduler, tick, TZ } from '../support/marbles.js';

const SETTINGS = { tz: TZ, staleS: 600, commandConfirmS: 30 };

/** Runs the events (a marble diagram with values) through the pipeline; returns the folded state. */
function run(marbles: string, values: Record<string, Event>, frames = '5m'): DashboardState {
  const ts = testScheduler();
  const state = emptyState();
  ts.run(({ hot, expectObservable }) => {
    const deps = makeDeps(ts);
    const settings = { topics: deps.settings.topics, commandConfirmS: deps.settings.commandConfirmS };
    const effects$ = pipeline(hot(marbles, values), deps, { ...STREAMS, dashboard: foldObserved(state, settings) }).pipe(
      tap((effect) => foldEffect(state, settings, effect, deps.scheduler.now())),
    );
    // Only to drive the run: the effects themselves are other specs' business.
    expectObservable(effects$, `^ ${frames} !`);
  });
  return state;
}

type Rows = Array<Record<string, unknown>>;
const rows = (state: DashboardState, now = T0 + 600_000): Rows => (sectionView('commands', state, now, SETTINGS) as { rows: Rows }).rows;

describe('dashboard fold (virtual time, real pipeline)', () => {
  it('shows the reported status as labelled appliances, the mode by name and the age of the report', () => {
    const state = run('a 9s b', {
      a: doc('modes', 'm2', { modeNum: 2, modeName: 'Sleep' }),
      b: status('216152010'),
    });
    const home = sectionView('home', state, T0 + 20_000, SETTINGS) as Record<string, unknown>;
    expect(home.code).to.equal('216152010');
    expect(home.mode).to.equal('mode 2 (Sleep)');
    expect(home.lastReportAt).to.equal(T0 + 9001); // `a` takes a frame
    expect(home.status).to.deep.equal([
      { key: 'aircon', label: 'Air conditioner', state: 'on', on: true, details: ['power 60 %'] },
      { key: 'light', label: 'Light', state: 'on', on: true, details: ['brightness 50 %', 'blue', 'normal mode'] },
      { key: 'window', label: 'Window', state: 'open', on: true, details: [] },
      { key: 'gas', label: 'Gas valve', state: 'off', on: false, details: [] },
    ]);
  });

  it('lists controls with their origin, and confirms one when a later report agrees (with how fast)', () => {
    const state = run('a 1s b 1s c 2s d 1s e', {
      a: status('000000000'),
      b: control('016222222', 'webos/smarthome'), // the app
      c: control('022222221'), // the car, on the device-command topic
      d: status('016000000'), // confirms the air-con, not the gas valve
      e: control('000000000', 'webos/smarthome'), // air-con off: not what the last report says
    });
    const [e, c, b] = rows(state);
    expect(b).to.include({ code: '016222222', origin: 'app control', state: 'confirmed', confirmedAt: T0 + 4003, what: 'Air conditioner on (power 60 %)' });
    expect(c).to.include({ code: '022222221', origin: 'car control', state: 'pending', deadline: T0 + 2002 + 30_000, what: 'Gas valve on' });
    expect(e).to.include({ code: '000000000', state: 'pending' });
  });

  it('marks a control before any report as unchecked, and one the last report already agrees with as confirmed at once', () => {
    const state = run('a 1s b 1s c', { a: control('022222221'), b: status('000000001'), c: control('022222221') });
    const [c, a] = rows(state);
    expect(a).to.include({ state: 'unchecked' });
    expect(c).to.include({ state: 'confirmed', confirmedAt: c!.at });
  });

  it('names the schedule behind a device command the service sent, after the broker echoes it', () => {
    // 2021-09-22 19:00 in Seoul is T0; the schedule starts at 19:01 every day.
    const wake = { enabled: true, startTime: '1901', repeat: true, daysOfWeek: [true, true, true, true, true, true, true], windowOpen: true };
    const values: Record<string, Event> = { s: status('000000000'), w: doc('schedule_mode', 'wake', wake), t: tick, e: control('020200012') };
    // Ticks every 10 s past 19:01, then the echo of the command the schedule sent.
    const state = run(`s w 59s t 9s t 1s e`, values);
    const [row] = rows(state);
    expect(row).to.include({ code: '020200012', origin: 'schedule wake', what: 'Window open', state: 'pending' });
    const [schedule] = sectionView('schedules', state, T0 + 75_000, SETTINGS) as Rows;
    expect(schedule).to.include({ id: 'wake', when: 'every day at 19:01', lastFired: '2021-09-22 19:01', target: 'Window open', error: null });
    expect(schedule!.next).to.deep.equal({ label: '2021-09-23 19:01', at: T0 + 60_000 + HISTORY_MS });
  });

  it('shows a malformed schedule with its validation error, and adds what a command names with its mode', () => {
    const state = run('a b c', {
      a: doc('schedule_mode', 'bad', { enabled: true, startTime: '9999', repeat: false }),
      b: status('000000000'),
      c: mqtt('webos/smarthome/info', '322222222'),
    });
    const [bad] = sectionView('schedules', state, T0, SETTINGS) as Rows;
    expect(bad!.error).to.match(/schedule bad: .*startTime/);
    expect(rows(state)[0]).to.include({ mode: 'mode 3', what: 'changes nothing' });
  });

  it('dates a one-off without activeDate by the day its document was written (SPEC 6)', () => {
    const once = { enabled: true, startTime: '1930', repeat: false, activeDate: null, windowOpen: true };
    const state = run('a b', {
      a: doc('schedule_mode', 'yesterday', once, T0 - 24 * 3600_000),
      b: doc('schedule_mode', 'today', once),
    });
    const [today, yesterday] = sectionView('schedules', state, T0, SETTINGS) as Rows;
    expect(yesterday).to.include({ id: 'yesterday', when: 'once on 2021-09-21 at 19:30', next: null, error: null });
    expect(today).to.include({ id: 'today', when: 'once on 2021-09-22 at 19:30', error: null });
    expect(today!.next).to.deep.equal({ label: '2021-09-22 19:30', at: T0 + 1800_000 });
  });

  it('ignores an invalid code and goes on (poison message)', () => {
    const state = run('a b c', { a: status('000000000'), b: control('9x'), c: control('012222222', 'webos/smarthome') });
    expect(rows(state).map((r) => r.code)).to.deep.equal(['012222222']);
  });

  it('keeps the JSON commands, replies and ticks out of the fold (no input, no version change)', () => {
    const state = run('a b c', { a: command({ Producer: 'android', command: 'signup', UID: 'u1', name: 'Kim' }), b: command({ Producer: 'android', command: 'signin', UID: 'u1' }), c: tick });
    expect(state.versions).to.deep.equal({ home: 0, commands: 0, history: 0, alarms: 0, schedules: 0, weather: 0, alerts: 0 });
  });

  it('draws a 24-hour timeline per appliance and temperature lines, dropping what is older than a day', () => {
    const state = emptyState();
    const settings = { topics: makeDeps(testScheduler()).settings.topics, commandConfirmS: 30 };
    const hour = 3600_000;
    fold(state, { type: 'status', at: T0, status: code('010000000') }, settings);
    fold(state, { type: 'status', at: T0 + hour, status: code('000000000') }, settings);
    fold(state, { type: 'status', at: T0 + 2 * hour, status: code('000150000') }, settings);
    fold(state, { type: 'rtdb', at: T0, path: 'sensor/hometemp', value: { temp: '21.5', humi: 40 } }, settings);
    fold(state, { type: 'outdoor', at: T0, celsius: 12.3 }, settings);
    // A day and a half later: the air-con's on/off before the window is gone, its state at the window's start stays.
    fold(state, { type: 'status', at: T0 + 36 * hour, status: code('010000000') }, settings);
    const history = sectionView('history', state, T0 + 36 * hour, SETTINGS) as { bands: Record<string, { points: number[][] }>; homeTemp: number[][]; outdoorTemp: number[][] };
    expect(history.bands.aircon!.points).to.deep.equal([[T0 + hour, 0], [T0 + 36 * hour, 1]]);
    expect(history.bands.light!.points).to.deep.equal([[T0 + 2 * hour, 1], [T0 + 36 * hour, 0]]);
    expect(history.homeTemp).to.deep.equal([[T0, 21.5]]);
    expect(history.outdoorTemp).to.deep.equal([[T0, 12.3]]);
  });

  it('keeps the last 100 commands', () => {
    const state = emptyState();
    const settings = { topics: makeDeps(testScheduler()).settings.topics, commandConfirmS: 30 };
    for (let i = 0; i < MAX_COMMANDS + 5; i++) fold(state, { type: 'control', at: T0 + i, topic: 'webos/smarthome', code: code('012222222'), text: '012222222' }, settings);
    const recent = recentCommands(state);
    expect(recent).to.have.length(MAX_COMMANDS);
    expect(recent.map((r) => r.seq)).to.deep.equal(Array.from({ length: MAX_COMMANDS }, (_, i) => MAX_COMMANDS + 5 - i));
  });

  it('finds the confirming report however many came between, whether or not a page looked meanwhile', () => {
    const settings = { topics: makeDeps(testScheduler()).settings.topics, commandConfirmS: 30 };
    for (const look of [false, true]) {
      const state = emptyState();
      fold(state, { type: 'report', at: T0, code: code('000000000') }, settings);
      fold(state, { type: 'control', at: T0 + 1, topic: 'webos/smarthome', code: code('012222222'), text: '012222222' }, settings);
      for (let i = 0; i < MAX_REPORTS + 10; i++) {
        fold(state, { type: 'report', at: T0 + 2 + i, code: code('000000000') }, settings);
        if (look && i % 1000 === 0) expect(recentCommands(state)[0]).to.include({ state: 'pending' });
      }
      fold(state, { type: 'report', at: T0 + 99_999, code: code('012000000') }, settings);
      expect(recentCommands(state)[0], `look ${look}`).to.include({ state: 'confirmed', confirmedAt: T0 + 99_999 });
    }
  });

  it('finds the next occurrence of a weekly and a one-off schedule', () => {
    const weekly = decodeSchedule({ enabled: true, startTime: '0730', repeat: true, daysOfWeek: [false, true, false, false, false, false, false] });
    const once = decodeSchedule({ enabled: true, startTime: '1830', repeat: false, activeDate: '2021.09.22' });
    if (E.isLeft(weekly) || E.isLeft(once)) throw new Error('test schedules must decode');
    // T0 is Wednesday 2021-09-22 19:00 in Seoul: next Monday 07:30 is 4 days and 12.5 hours on.
    expect(nextOccurrence(weekly.right, T0, TZ)?.at).to.equal(T0 + (4 * 24 + 12.5) * 3600_000);
    expect(nextOccurrence(once.right, T0, TZ)).to.equal(undefined);
    expect(nextOccurrence(once.right, T0 - 3600_000, TZ)?.at).to.equal(T0 - 1800_000);
  });
});
