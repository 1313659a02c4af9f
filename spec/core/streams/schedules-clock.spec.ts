/**
 * Schedules through the real pipeline across a restart and across clock changes (issue 13,
 * items 2 and 6): the whole `pipeline()` on a virtual clock with a tick every second, a
 * previous run's durable state in `deps.resume`, and the zone of the home.
 */
import { expect } from 'chai';
import { Observable } from 'rxjs';
import { isoLocal } from '../../../lib/core/protocol/local-time.js';
import { EpochVirtualScheduler } from '../../../lib/durability/replay.js';
import type { Deps } from '../../../lib/core/streams/deps.js';
import type { Resume } from '../../../lib/core/protocol/resume.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { pipeline } from '../../../lib/core/streams/pipeline.js';
import { doc, makeDeps, status, testScheduler, tick } from '../../support/marbles.js';

interface Run {
  readonly tz: string;
  /** ISO instant the run starts at (the service's start). */
  readonly start: string;
  readonly seconds: number;
  /** Events at ISO instants (delivered before the tick of the same second). */
  readonly events: ReadonlyArray<readonly [string, Event]>;
  readonly resume?: Partial<Resume>;
}

/**
 * Effects that leave the service (no logs, no state), each with its local time. On the replay's
 * epoch clock, one pending action at a time as the replay does: `interval` on a virtual
 * scheduler chains every tick's action to the one before and stalls after about 2,000 ticks.
 */
function runPipeline({ tz, start, seconds, events, resume }: Run): Array<{ at: string; effect: Effect }> {
  const t0 = Date.parse(start);
  const scheduler = new EpochVirtualScheduler(t0, seconds * 1000);
  const deps: Deps = { ...makeDeps(testScheduler(), { resume, settings: { tz } }), scheduler };
  const out: Array<{ at: string; effect: Effect }> = [];
  const ticks = Array.from({ length: seconds }, (_, i): readonly [number, Event] => [t0 + (i + 1) * 1000, tick]);
  const timeline = [...events.map(([at, event]): readonly [number, Event] => [Date.parse(at), event]), ...ticks].sort((a, b) => a[0] - b[0]);
  const event$ = new Observable<Event>((subscriber) => {
    const emitFrom = (i: number): void => {
      const item = timeline[i];
      if (item === undefined) return subscriber.complete();
      scheduler.schedule(() => {
        subscriber.next(item[1]);
        emitFrom(i + 1);
      }, item[0] - scheduler.now());
    };
    emitFrom(0);
  });
  const sub = pipeline(event$, deps).subscribe((effect) => {
    if (effect.type !== 'log' && !effect.type.startsWith('state.')) out.push({ at: isoLocal(scheduler.now(), tz), effect });
  });
  scheduler.flush();
  sub.unsubscribe();
  return out;
}

const SEOUL = 'Asia/Seoul';
const NEW_YORK = 'America/New_York';
const EVERY_DAY = [true, true, true, true, true, true, true];

/** As the Android app saves a schedule: `activeDate`/`name` null on a repeating one. */
const daily = (startTime: string, over: Record<string, unknown> = {}) => ({
  title: 'wake', name: null, enabled: true, startTime, repeat: true, daysOfWeek: EVERY_DAY, activeDate: null, modeNum: 0,
  airconEnable: 2, lightEnable: true, lightBrightness: 5, lightColor: 2, lightMode: 0, windowOpen: 2, gasValveEnable: 2, ...over,
});
const oneOff = (startTime: string, activeDate: string) => daily(startTime, { repeat: false, daysOfWeek: null, activeDate });

const commandsSent = (out: ReturnType<typeof runPipeline>) =>
  out.filter(({ effect }) => effect.type === 'mqtt.publish' && effect.topic === 'webos/smarthome/info').map(({ at, effect }) => [at, (effect as { payload: string }).payload]);
const deletes = (out: ReturnType<typeof runPipeline>) =>
  out.filter(({ effect }) => effect.type === 'firestore.delete').map(({ at, effect }) => [at, (effect as { id: string }).id]);

describe('schedules through the pipeline: restarts and clock changes', function () {
  this.timeout(20_000);

  describe('catch-up only for the time the service was down (item 2)', () => {
    // The previous run stopped yesterday evening; this one starts at 09:00.
    const resume = { lastTickAt: Date.parse('2021-09-21T20:00:00+09:00') };
    const home: readonly [string, Event] = ['2021-09-22T09:00:00+09:00', status('000000000')];

    it('does not fire a daily 09:07 schedule enabled at 09:10, in a run that started after a restart', () => {
      const out = runPipeline({
        tz: SEOUL, start: '2021-09-22T09:00:00+09:00', seconds: 12 * 60, resume,
        events: [
          home,
          ['2021-09-22T09:00:01+09:00', doc('schedule_mode', 'wake', daily('0907', { enabled: false }))],
          ['2021-09-22T09:10:00+09:00', doc('schedule_mode', 'wake', daily('0907'))],
        ],
      });
      expect(commandsSent(out)).to.deep.equal([]);
    });

    it('does not delete, nor run, a one-off created at 09:10 for 08:30 in a run that started at 08:00: it warns once', () => {
      const out = runPipeline({
        tz: SEOUL, start: '2021-09-22T08:00:00+09:00', seconds: 72 * 60, resume,
        events: [['2021-09-22T08:00:00+09:00', status('000000000')], ['2021-09-22T09:10:00+09:00', doc('schedule_mode', 'late', oneOff('0830', '2021.09.22'))]],
      });
      expect(commandsSent(out)).to.deep.equal([]);
      expect(deletes(out)).to.deep.equal([]);
      const warnings = out.filter(({ effect }) => effect.type === 'mqtt.publish' && effect.topic === 'data/error/warning');
      expect(warnings.map(({ at, effect }) => [at, (effect as { payload: string }).payload])).to.deep.equal([
        ['2021-09-22T09:10:00.000+09:00', 'schedule late: its one-off time 2021-09-22 08:30 had passed when the service learned of it; it will not run'],
      ]);
    });

    it('fires late, once, an occurrence that fell due while it was down, and deletes the one-off', () => {
      const out = runPipeline({
        tz: SEOUL, start: '2021-09-22T08:32:00+09:00', seconds: 120, resume: { lastTickAt: Date.parse('2021-09-22T08:00:00+09:00') },
        events: [
          ['2021-09-22T08:32:00+09:00', status('000000000')],
          ['2021-09-22T08:32:00+09:00', doc('schedule_mode', 'once', oneOff('0830', '2021.09.22'))],
        ],
      });
      expect(commandsSent(out)).to.deep.equal([['2021-09-22T08:32:01.000+09:00', '020152022']]);
      expect(deletes(out)).to.deep.equal([['2021-09-22T08:32:01.000+09:00', 'once']]);
    });
  });

  describe('clock changes (item 6), in New York', () => {
    it('fires a daily 02:30 once at 03:00:00 on the night the clock skips 02:00-02:59', () => {
      const out = runPipeline({
        tz: NEW_YORK, start: '2021-03-14T01:58:00-05:00', seconds: 6 * 60,
        events: [['2021-03-14T01:58:00-05:00', status('000000000')], ['2021-03-14T01:58:00-05:00', doc('schedule_mode', 'wake', daily('0230'))]],
      });
      expect(commandsSent(out)).to.deep.equal([['2021-03-14T03:00:00.000-04:00', '020152022']]);
    });

    it('fires and deletes a one-off set inside the skipped hour, never leaving it behind', () => {
      const out = runPipeline({
        tz: NEW_YORK, start: '2021-03-14T01:59:00-05:00', seconds: 180,
        events: [['2021-03-14T01:59:00-05:00', status('000000000')], ['2021-03-14T01:59:00-05:00', doc('schedule_mode', 'gap', oneOff('0215', '2021.03.14'))]],
      });
      expect(commandsSent(out)).to.deep.equal([['2021-03-14T03:00:00.000-04:00', '020152022']]);
      expect(deletes(out)).to.deep.equal([['2021-03-14T03:00:00.000-04:00', 'gap']]);
    });

    it('fires a daily 01:30 once on the night the clock shows 01:00-01:59 twice', () => {
      const out = runPipeline({
        tz: NEW_YORK, start: '2021-11-07T01:28:00-04:00', seconds: 66 * 60,
        events: [['2021-11-07T01:28:00-04:00', status('000000000')], ['2021-11-07T01:28:00-04:00', doc('schedule_mode', 'wake', daily('0130'))]],
      });
      expect(commandsSent(out)).to.deep.equal([['2021-11-07T01:30:00.000-04:00', '020152022']]);
    });

    it('fires a one-off in the repeated hour once and deletes it', () => {
      const out = runPipeline({
        tz: NEW_YORK, start: '2021-11-07T01:28:00-04:00', seconds: 66 * 60,
        events: [['2021-11-07T01:28:00-04:00', status('000000000')], ['2021-11-07T01:28:00-04:00', doc('schedule_mode', 'twice', oneOff('0130', '2021.11.07'))]],
      });
      expect(commandsSent(out)).to.deep.equal([['2021-11-07T01:30:00.000-04:00', '020152022']]);
      expect(deletes(out)).to.deep.equal([['2021-11-07T01:30:00.000-04:00', 'twice']]);
    });

    it('a schedule saved in the second pass of the repeated hour fires in that pass, at its wall-clock minute or the next', () => {
      // 01:30 EDT is an hour gone; on the wall clock it is 01:30 (EST) again, and the schedule is new.
      for (const [saved, fired] of [['01:29:30', '01:30:00'], ['01:30:30', '01:30:31'], ['01:31:30', '01:31:31']]) {
        const out = runPipeline({
          tz: NEW_YORK, start: `2021-11-07T${saved}-05:00`, seconds: 90,
          events: [[`2021-11-07T${saved}-05:00`, status('000000000')], [`2021-11-07T${saved}-05:00`, doc('schedule_mode', 'wake', daily('0130'))]],
        });
        expect(commandsSent(out), saved).to.deep.equal([[`2021-11-07T${fired}.000-05:00`, '020152022']]);
      }
    });

    it('counts a skipped hour the service was down across as down time: the jump is when it fell due', () => {
      // Down from 01:50 EST to 03:02 EDT (12 real minutes): 02:30 fell due at the jump, 2 minutes ago.
      const out = runPipeline({
        tz: NEW_YORK, start: '2021-03-14T03:02:00-04:00', seconds: 5, resume: { lastTickAt: Date.parse('2021-03-14T01:50:00-05:00') },
        events: [['2021-03-14T03:02:00-04:00', status('000000000')], ['2021-03-14T03:02:00-04:00', doc('schedule_mode', 'wake', daily('0230'))]],
      });
      expect(commandsSent(out)).to.deep.equal([['2021-03-14T03:02:01.000-04:00', '020152022']]);
    });
  });
});
