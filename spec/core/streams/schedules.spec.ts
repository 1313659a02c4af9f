import { expect } from 'chai';
import { filter, interval, map, merge, take } from 'rxjs';
import { warning } from '../../../lib/core/streams/alerts.js';
import type { Resume } from '../../../lib/core/protocol/resume.js';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import * as E from 'fp-ts/lib/Either.js';
import { decodeSchedule } from '../../../lib/core/protocol/documents.js';
import { localParts } from '../../../lib/core/protocol/local-time.js';
import { latestOccurrence, schedules$ } from '../../../lib/core/streams/schedules.js';
import { observe } from '../../../lib/core/streams/world.js';
import { doc, makeDeps, status, testScheduler, tick, TZ } from '../../support/marbles.js';

/** Wednesday 2021-09-22 in Seoul. */
const at = (hhmmss: string, date = '2021-09-22') => Date.parse(`${date}T${hhmmss}+09:00`);
const WEEKDAYS = [false, true, true, true, true, true, false];

const wake = (over: Record<string, unknown> = {}) => ({
  enabled: true,
  startTime: '0730',
  repeat: true,
  daysOfWeek: WEEKDAYS,
  modeNum: 0,
  airconEnable: false,
  lightEnable: true,
  lightBrightness: 5,
  lightColor: '2',
  lightMode: 0,
  windowOpen: 2,
  gasValveEnable: 2,
  ...over,
});

interface Run {
  start: number;
  seconds: number;
  /** Marble of events on top of the ticks (which start at 1 s). */
  events?: string;
  values?: Record<string, Event>;
  resume?: Partial<Resume>;
  graceS?: number;
  /** Keep the logs too. */
  logs?: boolean;
}

/** Effects (logs left out unless asked for) with the local time they happened at. */
function run({ start, seconds, events = '', values = {}, resume, graceS, logs = false }: Run): Array<[string, Effect]> {
  const ts = testScheduler();
  const out: Array<[string, Effect]> = [];
  ts.run(({ hot }) => {
    const deps = makeDeps(ts, { start, resume, settings: graceS === undefined ? {} : { scheduleGraceS: graceS } });
    const ticks$ = interval(1000, ts).pipe(take(seconds), map(() => tick));
    schedules$(merge(hot<Event>(events, values), ticks$).pipe(observe(DEFAULT_TOPICS)), deps).subscribe((e) => {
      if (e.type === 'log' && !logs) return;
      const time = new Date(deps.scheduler.now() + 9 * 3600_000).toISOString().slice(11, 19);
      out.push([time, e]);
    });
  });
  return out;
}

const publishes = (out: Array<[string, Effect]>) =>
  out.filter(([, e]) => e.type === 'mqtt.publish').map(([t, e]) => [t, (e as { topic: string; payload: string }).topic, (e as { payload: string }).payload]);

const withSchedule = (data: Record<string, unknown>, extra: Record<string, Event> = {}) => ({ events: 's', values: { s: doc('schedule_mode', 'wake', data), ...extra } });

describe('streams/schedules', () => {
  it('survives a poison document in a marble: -a-x-t fires a, warns about x once', () => {
    const poison = warning(
      DEFAULT_TOPICS,
      'schedule bad: enabled: expected boolean, got "sometimes"; startTime: expected start time "HHMM", got nothing; repeat: expected boolean, got nothing; the schedule will not run until it is fixed',
    );
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('-a-x----t-t-', {
        a: doc('schedule_mode', 'wake', wake()),
        x: doc('schedule_mode', 'bad', { enabled: 'sometimes' }),
        t: tick,
      });
      const deps = makeDeps(ts, { start: at('07:30:00') });
      expectObservable(schedules$(event$.pipe(observe(DEFAULT_TOPICS)), deps).pipe(filter((e) => e.type !== 'log'))).toBe('---(wk)-(fp)-', {
        w: poison[0]!,
        k: poison[1]!,
        f: { type: 'state.schedule', id: 'wake', occurrence: Date.UTC(2021, 8, 22, 7, 30) / 60000 },
        p: { type: 'mqtt.publish', topic: 'webos/smarthome/info', payload: '000152022' },
      });
    });
  });

  it('fires at the first tick of its start minute, once', () => {
    const out = run({ start: at('07:29:50'), seconds: 200, ...withSchedule(wake()) });
    expect(publishes(out)).to.deep.equal([['07:30:00', 'webos/smarthome/info', '000152022']]);
    expect(out.filter(([, e]) => e.type === 'state.schedule')).to.have.length(1);
  });

  it('fires in the minute after when it only learns of the schedule then, not later', () => {
    expect(publishes(run({ start: at('07:31:20'), seconds: 5, ...withSchedule(wake()) }))).to.have.length(1);
    expect(publishes(run({ start: at('07:32:00'), seconds: 5, ...withSchedule(wake()) }))).to.deep.equal([]);
  });

  it('fires on the edge minutes 00:00 and 23:59, and across midnight for the day before', () => {
    expect(publishes(run({ start: at('23:59:59', '2021-09-21'), seconds: 3, ...withSchedule(wake({ startTime: '0000' })) }))).to.deep.equal([
      ['00:00:00', 'webos/smarthome/info', '000152022'],
    ]);
    // Friday 23:59 occurrence, first seen on Saturday at 00:00:30 (the minute after).
    expect(publishes(run({ start: at('00:00:29', '2021-09-25'), seconds: 3, ...withSchedule(wake({ startTime: '2359' })) }))).to.have.length(1);
    // Saturday is not active: nothing at Saturday 23:59, nor for it at Sunday 00:00.
    expect(publishes(run({ start: at('23:58:59', '2021-09-25'), seconds: 120, ...withSchedule(wake({ startTime: '2359' })) }))).to.deep.equal([]);
  });

  it('does not fire when disabled, on a wrong weekday, or for a one-off on another date', () => {
    expect(publishes(run({ start: at('07:29:59'), seconds: 5, ...withSchedule(wake({ enabled: false })) }))).to.deep.equal([]);
    expect(publishes(run({ start: at('07:29:59', '2021-09-26'), seconds: 5, ...withSchedule(wake()) }))).to.deep.equal([]);
    const once = wake({ repeat: false, daysOfWeek: undefined, activeDate: '2021.09.23' });
    expect(publishes(run({ start: at('07:29:59'), seconds: 5, ...withSchedule(once) }))).to.deep.equal([]);
  });

  it('fires a one-off on its date and then deletes it', () => {
    const once = wake({ repeat: false, daysOfWeek: undefined, activeDate: '2021.09.22' });
    const out = run({ start: at('07:29:59'), seconds: 90, ...withSchedule(once) });
    expect(out.map(([t, e]) => [t, e.type])).to.deep.equal([
      ['07:30:00', 'state.schedule'],
      ['07:30:00', 'mqtt.publish'],
      ['07:30:00', 'firestore.delete'],
    ]);
  });

  it('deletes a one-off after its occurrence even when it sent nothing', () => {
    const once = wake({ repeat: false, daysOfWeek: undefined, activeDate: '2021.09.22' });
    const out = run({ start: at('07:29:58'), seconds: 5, events: 'as', values: { a: status('000152000'), s: doc('schedule_mode', 'wake', once) } });
    expect(out.map(([, e]) => e.type)).to.deep.equal(['state.schedule', 'firestore.delete']);
  });

  it('sends nothing when the target would change nothing, but still handles the occurrence', () => {
    const out = run({ start: at('07:29:58'), seconds: 100, events: 'as', values: { a: status('002152000'), s: doc('schedule_mode', 'wake', wake()) } });
    expect(out.map(([, e]) => e.type)).to.deep.equal(['state.schedule']);
    const changed = run({ start: at('07:29:58'), seconds: 5, events: 'as', values: { a: status('002151000'), s: doc('schedule_mode', 'wake', wake()) } });
    expect(publishes(changed)).to.have.length(1);
  });

  it("uses mode n's fields and mode digit for a mode-based schedule, and warns when mode n is missing", () => {
    const mode = doc('modes', 'away', { modeNum: 3, modeName: '외출', airconEnable: 0, lightEnable: '0', windowOpen: false, gasValveEnable: false });
    const out = run({ start: at('07:29:59'), seconds: 3, events: 'ms', values: { m: mode, s: doc('schedule_mode', 'wake', wake({ modeNum: 3 })) } });
    expect(publishes(out)).to.deep.equal([['07:30:00', 'webos/smarthome/info', '300000000']]);
    const missing = run({ start: at('07:29:59'), seconds: 3, ...withSchedule(wake({ modeNum: 4 })) });
    expect(publishes(missing).map(([, topic]) => topic)).to.deep.equal(['data/error/warning']);
  });

  it('warns once per malformed document version, not once per tick, and survives it', () => {
    const bad = wake({ startTime: '7:30' });
    const out = run({
      start: at('07:29:00'),
      seconds: 120,
      events: 'a 9s b 9s c 9s d',
      values: {
        a: doc('schedule_mode', 'wake', bad),
        b: doc('schedule_mode', 'wake', bad),
        c: doc('schedule_mode', 'wake', { ...bad, lightBrightness: 7 }),
        d: doc('schedule_mode', 'other', wake()),
      },
    });
    const p = publishes(out);
    expect(p.map(([, topic]) => topic)).to.deep.equal(['data/error/warning', 'data/error/warning', 'webos/smarthome/info']);
    expect(p[0]![2]).to.match(/schedule wake: startTime: expected start time "HHMM", got "7:30"/);
  });

  it('does not repeat an occurrence handled before a restart', () => {
    const occurrence = Date.UTC(2021, 8, 22, 7, 30) / 60000;
    const out = run({ start: at('07:30:20'), seconds: 60, resume: { scheduleFired: { wake: occurrence } }, ...withSchedule(wake()) });
    expect(out).to.deep.equal([]);
  });

  it('fires late an occurrence missed while down within the grace period, and skips older ones', () => {
    const down = { lastTickAt: at('07:29:59') };
    expect(publishes(run({ start: at('07:34:30'), seconds: 3, resume: down, ...withSchedule(wake()) }))).to.have.length(1);
    const late = run({ start: at('07:35:30'), seconds: 3, resume: down, ...withSchedule(wake()) });
    expect(late.map(([, e]) => e.type)).to.deep.equal(['state.schedule']);
    // Not missed while down (the process was up at 07:30): not fired late.
    expect(run({ start: at('07:34:30'), seconds: 3, resume: { lastTickAt: at('07:31:00') }, ...withSchedule(wake()) })).to.deep.equal([]);
  });
  describe('a one-off without activeDate runs on the day its document was written (SPEC 6)', () => {
    /** As the Android app saves a one-off for "today": `activeDate` null. */
    const today = (over: Record<string, unknown> = {}) => wake({ repeat: false, daysOfWeek: null, activeDate: null, ...over });
    const written = (data: Record<string, unknown>, writtenAt?: number, id = 'wake'): Event => doc('schedule_mode', id, data, writtenAt);
    const kinds = (out: Array<[string, Effect]>) => out.map(([t, e]) => [t, e.type]);
    const PAST = 'schedule wake: its one-off time 2021-09-22 07:30 had passed when the service learned of it; it will not run';

    it('fires at its time on the day it was written, and deletes it', () => {
      const out = run({ start: at('07:29:58'), seconds: 90, events: 's', values: { s: written(today(), at('07:00:00')) } });
      expect(kinds(out)).to.deep.equal([['07:30:00', 'state.schedule'], ['07:30:00', 'mqtt.publish'], ['07:30:00', 'firestore.delete']]);
      expect(out[0]![1]).to.deep.equal({ type: 'state.schedule', id: 'wake', occurrence: Date.UTC(2021, 8, 22, 7, 30) / 60000 });
    });

    it('takes the write time from the event, not the moment it arrives: written yesterday, it does not run today', () => {
      const out = run({ start: at('07:29:58'), seconds: 90, events: 's', values: { s: written(today(), at('06:00:00', '2021-09-21')) } });
      expect(publishes(out).map(([, topic]) => topic)).to.deep.equal(['data/error/warning']);
      expect(publishes(out)[0]![2]).to.equal('schedule wake: its one-off time 2021-09-21 07:30 had passed when the service learned of it; it will not run');
      expect(out.filter(([, e]) => e.type === 'firestore.delete' || e.type === 'state.schedule')).to.deep.equal([]);
    });

    it('without a write time on the event, the moment it arrives counts (a recording line without writtenAt: its `at`)', () => {
      const out = run({ start: at('07:29:58'), seconds: 5, events: 's', values: { s: written(today()) } });
      expect(publishes(out)).to.deep.equal([['07:30:00', 'webos/smarthome/info', '000152022']]);
    });

    it('a start time already past on that day is "after its time": one warning per document version, not run, not deleted', () => {
      const saved = today();
      const out = run({
        start: at('08:00:00'),
        seconds: 120,
        // the document, the same again (a listener re-established), then a new version
        events: 'a 9s b 9s c',
        values: { a: written(saved, at('07:59:00')), b: written(saved, at('07:59:00')), c: written({ ...saved, lightBrightness: 7 }, at('08:00:18')) },
      });
      expect(publishes(out)).to.deep.equal([['08:00:01', 'data/error/warning', PAST], ['08:00:19', 'data/error/warning', PAST]]);
      expect(out.map(([, e]) => e.type)).to.deep.equal(['mqtt.publish', 'slack.alert', 'mqtt.publish', 'slack.alert']);
    });

    it('written within its minute or the minute after, it still fires, as any schedule added then', () => {
      expect(publishes(run({ start: at('07:31:30'), seconds: 3, events: 's', values: { s: written(today(), at('07:31:30')) } }))).to.have.length(1);
    });

    it('written while the service was down: fires late if written before its time, warns if written after it', () => {
      const down = { lastTickAt: at('07:25:00') };
      const before = run({ start: at('07:33:00'), seconds: 3, resume: down, events: 's', values: { s: written(today(), at('07:20:00')) } });
      expect(publishes(before)).to.deep.equal([['07:33:01', 'webos/smarthome/info', '000152022']]);
      const after = run({ start: at('07:33:00'), seconds: 3, resume: down, events: 's', values: { s: written(today(), at('07:32:00')) } });
      expect(publishes(after)).to.deep.equal([['07:33:01', 'data/error/warning', PAST]]);
    });

    it('survives a poison document in a marble: -a-x-t fires a, warns about x once', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const event$ = hot<Event>('-a-x----t-t-', {
          a: written(today(), at('07:00:00')),
          x: written(today({ activeDate: '2021.02.30' }), at('07:00:00'), 'bad'),
          t: tick,
        });
        const deps = makeDeps(ts, { start: at('07:30:00') });
        const poison = warning(DEFAULT_TOPICS, 'schedule bad: activeDate: expected date "YYYY.MM.DD", got "2021.02.30"; the schedule will not run until it is fixed');
        expectObservable(schedules$(event$.pipe(observe(DEFAULT_TOPICS)), deps).pipe(filter((e) => e.type !== 'log'))).toBe('---(wk)-(fpd)-', {
          w: poison[0]!,
          k: poison[1]!,
          f: { type: 'state.schedule', id: 'wake', occurrence: Date.UTC(2021, 8, 22, 7, 30) / 60000 },
          p: { type: 'mqtt.publish', topic: 'webos/smarthome/info', payload: '000152022' },
          d: { type: 'firestore.delete', collection: 'schedule_mode', id: 'wake' },
        });
      });
    });
  });

  describe('a one-off already handled but still stored is deleted without firing again (SPEC 6)', () => {
    const occurrence = Date.UTC(2021, 8, 22, 7, 30) / 60000;
    const handled = { scheduleFired: { wake: occurrence } };
    const once = wake({ repeat: false, daysOfWeek: null, activeDate: '2021.09.22' });
    const deletion: Effect = { type: 'firestore.delete', collection: 'schedule_mode', id: 'wake' };

    it('deletes it once at the first tick, not on every tick, and never fires it', () => {
      const out = run({ start: at('07:30:20'), seconds: 100, resume: handled, ...withSchedule(once) });
      expect(out).to.deep.equal([['07:30:21', deletion]]);
    });

    it('deletes it again, once, when the app saves it again', () => {
      const out = run({ start: at('07:40:00'), seconds: 100, resume: handled, events: 'a 29s b', values: { a: doc('schedule_mode', 'wake', once), b: doc('schedule_mode', 'wake', once) } });
      expect(out).to.deep.equal([['07:40:01', deletion], ['07:40:30', deletion]]);
    });

    it('also one without activeDate, dated by its write (a crash after it fired)', () => {
      const today = doc('schedule_mode', 'wake', { ...once, activeDate: null }, at('07:00:00'));
      expect(run({ start: at('07:45:00'), seconds: 60, resume: handled, events: 's', values: { s: today } })).to.deep.equal([['07:45:01', deletion]]);
    });

    it('an earlier one-off under the id of a later handled occurrence is a new one: warned about as past, not deleted', () => {
      const later = { scheduleFired: { wake: occurrence + 30 } };
      const out = run({ start: at('07:40:00'), seconds: 60, resume: later, ...withSchedule(once) });
      expect(out.map(([, e]) => e.type)).to.deep.equal(['mqtt.publish', 'slack.alert']);
    });

    it('survives a poison document in a marble: -a-x-t-t deletes a once, warns about x once', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const event$ = hot<Event>('-a-x----t-t-', {
          a: doc('schedule_mode', 'wake', once),
          x: doc('schedule_mode', 'bad', { ...once, startTime: 'soon' }),
          t: tick,
        });
        const deps = makeDeps(ts, { start: at('07:31:00'), resume: handled });
        const poison = warning(DEFAULT_TOPICS, 'schedule bad: startTime: expected start time "HHMM", got "soon"; the schedule will not run until it is fixed');
        expectObservable(schedules$(event$.pipe(observe(DEFAULT_TOPICS)), deps).pipe(filter((e) => e.type !== 'log'))).toBe('---(wk)-d---', {
          w: poison[0]!,
          k: poison[1]!,
          d: deletion,
        });
      });
    });
  });
  describe('rules at their edges', () => {
    const minuteOf = (date: string) => Date.parse(`${date}T07:30:00Z`) / 60000;
    const types = (out: Array<[string, Effect]>) => out.map(([, e]) => e.type);
    const logs = (out: Array<[string, Effect]>) => out.flatMap(([, e]) => (e.type === 'log' ? [`${e.level} ${e.msg}`] : []));
    const once = (over: Record<string, unknown> = {}) => wake({ repeat: false, daysOfWeek: undefined, activeDate: '2021.09.22', ...over });

    it('looks a full week back for the latest occurrence of a once-a-week schedule; an undated one-off has none', () => {
      const decoded = decodeSchedule(wake({ daysOfWeek: [false, false, false, true, false, false, false] }));
      if (E.isLeft(decoded)) throw new Error(decoded.left.message);
      expect(latestOccurrence(decoded.right, localParts(at('07:00:00'), TZ))).to.equal(minuteOf('2021-09-15'));
      expect(latestOccurrence(decoded.right, localParts(at('07:30:00'), TZ))).to.equal(minuteOf('2021-09-22'));
      const undated = decodeSchedule(once({ activeDate: null }));
      if (E.isLeft(undated)) throw new Error(undated.left.message);
      expect(latestOccurrence(undated.right, localParts(at('08:00:00'), TZ))).to.equal(undefined);
    });

    it('a repeating schedule handled yesterday fires again today', () => {
      const out = run({ start: at('07:29:59'), seconds: 3, resume: { scheduleFired: { wake: minuteOf('2021-09-21') } }, ...withSchedule(wake()) });
      expect(publishes(out)).to.deep.equal([['07:30:00', 'webos/smarthome/info', '000152022']]);
    });

    it('an occurrence first seen exactly two minutes after its time does not fire', () => {
      expect(run({ start: at('07:31:59'), seconds: 3, ...withSchedule(wake()) })).to.deep.equal([]);
    });

    it('uses the modes document whose modeNum is n, whichever comes first, and names what is wrong with it', () => {
      const mode = (modeNum: unknown, over: Record<string, unknown> = {}) => ({ modeNum, modeName: 'm', airconEnable: 0, lightEnable: '0', windowOpen: false, gasValveEnable: false, ...over });
      const out = run({
        start: at('07:29:59'),
        seconds: 3,
        events: '(abcs)',
        values: { a: doc('modes', 'bad', mode('x')), b: doc('modes', 'one', mode(1, { lightEnable: '1' })), c: doc('modes', 'three', mode(3)), s: doc('schedule_mode', 'wake', wake({ modeNum: 3 })) },
      });
      expect(publishes(out)).to.deep.equal([['07:30:00', 'webos/smarthome/info', '300000000']]);
      const missing = run({ start: at('07:29:59'), seconds: 3, events: '(bs)', values: { b: doc('modes', 'one', mode(1)), s: doc('schedule_mode', 'wake', wake({ modeNum: 4 })) } });
      expect(publishes(missing)).to.deep.equal([['07:30:00', 'data/error/warning', 'schedule wake uses mode 4: no document in modes defines mode 4; nothing sent']]);
      const broken = run({ start: at('07:29:59'), seconds: 3, events: '(cs)', values: { c: doc('modes', 'three', mode(3, { windowOpen: 'ajar' })), s: doc('schedule_mode', 'wake', wake({ modeNum: 3 })) } });
      expect(publishes(broken)).to.deep.equal([['07:30:00', 'data/error/warning', 'schedule wake uses mode 3: modes/three: windowOpen: expected boolean or 0/1/2, got "ajar"; nothing sent']]);
    });

    it('an occurrence at the previous run\'s last tick was the previous run\'s to fire: not fired late', () => {
      expect(run({ start: at('07:33:00'), seconds: 3, resume: { lastTickAt: at('07:30:00') }, ...withSchedule(wake()) })).to.deep.equal([]);
    });

    it('an occurrence at the very instant this run started was missed while down: fired late', () => {
      const out = run({ start: at('07:30:00'), seconds: 182, resume: { lastTickAt: at('07:20:00') }, events: '3m s', values: { s: doc('schedule_mode', 'wake', wake()) } });
      expect(publishes(out)).to.deep.equal([['07:33:00', 'webos/smarthome/info', '000152022']]);
    });

    it('fires late exactly the grace period after, skips later, and logs which', () => {
      const down = { lastTickAt: at('07:29:59') };
      const late = run({ start: at('07:34:59'), seconds: 1, resume: down, logs: true, ...withSchedule(wake()) });
      expect(types(late)).to.deep.equal(['state.schedule', 'log', 'mqtt.publish', 'log']);
      expect(logs(late)).to.deep.equal(['info schedule wake: firing the occurrence at 2021-09-22 07:30 late, after a restart', 'info schedule wake: sent 000152022']);
      const skipped = run({ start: at('07:35:00'), seconds: 1, resume: down, logs: true, ...withSchedule(wake()) });
      expect(types(skipped)).to.deep.equal(['state.schedule', 'log']);
      expect(logs(skipped)).to.deep.equal(['warn schedule wake: skipped the occurrence at 2021-09-22 07:30, missed while the service was down']);
    });

    it('logs what it sent, what it left alone and which handled one-off it deletes', () => {
      const unchanged = run({ start: at('07:29:59'), seconds: 1, logs: true, events: 'as', values: { a: status('002152000'), s: doc('schedule_mode', 'wake', wake()) } });
      expect(logs(unchanged)).to.deep.equal(['info schedule wake: 000152022 would change nothing; not sent']);
      const handled = run({ start: at('07:31:00'), seconds: 1, logs: true, resume: { scheduleFired: { wake: minuteOf('2021-09-22') } }, ...withSchedule(once()) });
      expect(logs(handled)).to.deep.equal(['info schedule wake: its one-off at 2021-09-22 07:30 was handled already; deleting it']);
    });

    it('a deleted schedule never fires, and its deletion warns of nothing', () => {
      const out = run({ start: at('07:29:00'), seconds: 120, events: 'a 9s d', values: { a: doc('schedule_mode', 'wake', wake()), d: doc('schedule_mode', 'wake', null) } });
      expect(out).to.deep.equal([]);
    });

    it('a schedule replaced by a malformed version does not fire: one warning, nothing else', () => {
      const out = run({ start: at('07:29:00'), seconds: 120, events: 'a 9s b', values: { a: doc('schedule_mode', 'wake', wake()), b: doc('schedule_mode', 'wake', wake({ startTime: '7:30' })) } });
      expect(types(out)).to.deep.equal(['mqtt.publish', 'slack.alert']);
      expect(publishes(out).map(([, topic]) => topic)).to.deep.equal(['data/error/warning']);
    });

    it('the same malformed schedule written twice warns once; deleted and written again, it warns again', () => {
      const bad = doc('schedule_mode', 'wake', wake({ startTime: '7:30' }));
      expect(types(run({ start: at('07:00:00'), seconds: 30, events: 'a 9s b', values: { a: bad, b: bad } }))).to.deep.equal(['mqtt.publish', 'slack.alert']);
      const again = run({ start: at('07:00:00'), seconds: 30, events: 'a 9s d 9s b', values: { a: bad, d: doc('schedule_mode', 'wake', null), b: bad } });
      expect(types(again)).to.deep.equal(['mqtt.publish', 'slack.alert', 'mqtt.publish', 'slack.alert']);
    });

    it('a one-off reported as past, deleted, and saved again is reported again', () => {
      const o = doc('schedule_mode', 'wake', once());
      const out = run({ start: at('08:00:00'), seconds: 30, events: 'a 9s d 9s b', values: { a: o, d: doc('schedule_mode', 'wake', null), b: o } });
      expect(publishes(out).map(([t, topic]) => [t, topic])).to.deep.equal([
        ['08:00:01', 'data/error/warning'],
        ['08:00:19', 'data/error/warning'],
      ]);
    });

    it('a one-off reported as past and then made repeating is not reported again for its passed time', () => {
      const out = run({ start: at('08:00:00'), seconds: 30, events: 'a 9s b', values: { a: doc('schedule_mode', 'wake', once()), b: doc('schedule_mode', 'wake', wake()) } });
      expect(types(out)).to.deep.equal(['mqtt.publish', 'slack.alert']);
    });
  });
});
