import { expect } from 'chai';
import { interval, map, merge, take } from 'rxjs';
import { checkOfWork$ } from '../../../lib/core/streams/check-of-work.js';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { observe } from '../../../lib/core/streams/world.js';
import { control, makeDeps, rtdb, status, testScheduler, tick } from '../../support/marbles.js';

/**
 * Runs the check of work for `seconds` of ticks plus timed events; returns [second, text] of the
 * alerts (their MQTT half; anything else it emits but their Slack half is listed as JSON, so a
 * spec sees it).
 */
function alertsOf(events: string, values: Record<string, Event>, seconds = 40): Array<[number, string]> {
  const ts = testScheduler();
  const out: Array<[number, string]> = [];
  ts.run(({ hot }) => {
    const ticks$ = interval(1000, ts).pipe(take(seconds), map(() => tick));
    checkOfWork$(merge(hot<Event>(events, values), ticks$).pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e: Effect) => {
      if (e.type === 'mqtt.publish') out.push([Math.floor(ts.now() / 1000), e.payload]);
      else if (e.type !== 'slack.alert') out.push([Math.floor(ts.now() / 1000), JSON.stringify(e)]);
    });
  });
  return out;
}

describe('streams/check of work', () => {
  it('survives a poison control in a marble: -a-x-b-t gives the alert for b only', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('a-x-b 30s t', { a: status('000000000'), x: control('x'), b: control('016222222'), t: tick });
      const deps = makeDeps(ts, { settings: { commandConfirmS: 30 } });
      expectObservable(checkOfWork$(event$.pipe(observe(DEFAULT_TOPICS)), deps)).toBe('----- 30s (ms)', {
        m: { type: 'mqtt.publish', topic: 'data/error/error', payload: 'the home did not confirm control 016222222 within 30 s' },
        s: { type: 'slack.alert', text: 'error: the home did not confirm control 016222222 within 30 s' },
      });
    });
  });

  it('alerts once when a control stays unconfirmed for COMMAND_CONFIRM_S', () => {
    expect(alertsOf('a 999ms b', { a: status('000000000'), b: control('016222222') })).to.deep.equal([
      [31, 'the home did not confirm control 016222222 within 30 s'],
    ]);
  });

  it('is cancelled by a later report that agrees on every position the control sets', () => {
    expect(alertsOf('a 999ms b 9s c', { a: status('000000000'), b: control('016222222'), c: status('016000001') })).to.deep.equal([]);
  });

  it('is not cancelled by a report that disagrees on a set position, and survives a poison control', () => {
    const alerts = alertsOf('a 999ms b 999ms x 9s c', {
      a: status('000000000'),
      b: control('022152022'),
      x: control('nonsense'),
      c: status('001140000'),
    });
    expect(alerts).to.deep.equal([[31, 'the home did not confirm control 022152022 within 30 s']]);
  });

  it('checks nothing before the home has reported a status', () => {
    expect(alertsOf('b', { b: control('016222222') })).to.deep.equal([]);
  });

  it('counts a control the last report already agrees with as confirmed', () => {
    expect(alertsOf('a 999ms b', { a: status('016000000'), b: control('016222222') })).to.deep.equal([]);
  });

  it('waits once for a control sent twice, from the first send', () => {
    expect(alertsOf('a 999ms b 4s b', { a: status('000000000'), b: control('000000001') })).to.deep.equal([
      [31, 'the home did not confirm control 000000001 within 30 s'],
    ]);
  });

  it('checks the deadlines on clock ticks only, not on other events', () => {
    expect(alertsOf('a 999ms b 40s c 1s d', { a: status('000000000'), b: control('016222222'), c: rtdb('sensor/hometemp/temp', '20'), d: control('x') }, 0)).to.deep.equal([]);
  });
});
