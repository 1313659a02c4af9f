import { expect } from 'chai';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { recommend, recommendation$ } from '../../../lib/core/streams/recommendation.js';
import { observe } from '../../../lib/core/streams/world.js';
import { code, control, makeDeps, rtdb, status, testScheduler } from '../../support/marbles.js';

const set = (value: string): Effect => ({ type: 'rtdb.set', path: 'server/notification', value });
const OPEN = code('000000010');
const base = { status: OPEN, rain: 0, weatherIcon: '01d', airLevel: 1 };

/** Runs the recommendation over a hot marble of events and checks its writes. */
function expectWrites(events: string, values: Record<string, Event>, expected: string, writes: Record<string, Effect>): void {
  const ts = testScheduler();
  ts.run(({ hot, expectObservable }) => {
    expectObservable(recommendation$(hot<Event>(events, values).pipe(observe(DEFAULT_TOPICS)), makeDeps(ts))).toBe(expected, writes);
  });
}

describe('streams/recommendation', () => {
  it('follows SPEC 7, first matching rule wins', () => {
    expect(recommend({ ...base, status: code('000000011'), rain: 1 })).to.equal('가스벨브가 열려있어요.');
    expect(recommend({ ...base, rain: 1 })).to.equal('비가오니 창문을 닫아주세요.');
    expect(recommend({ ...base, rain: '1', weatherIcon: '13n' })).to.equal('비가오니 창문을 닫아주세요.');
    for (const icon of ['09d', '09n', '10d', '10n', '11d', '11n']) {
      expect(recommend({ ...base, weatherIcon: icon, airLevel: 5 })).to.equal('비 소식이 있으니 창문을 닫아주세요.');
    }
    for (const icon of ['13d', '13n']) {
      expect(recommend({ ...base, weatherIcon: icon, airLevel: 5 })).to.equal('눈 소식이 있으니 창문을 닫아주세요.');
    }
    expect(recommend({ ...base, airLevel: 2 })).to.equal('대기질이 나쁘니 창문을 닫아주세요.');
    expect(recommend({ ...base, airLevel: '3' })).to.equal('대기질이 나쁘니 창문을 닫아주세요.');
    expect(recommend(base)).to.equal('none');
  });

  it('needs the window open for every rule but the gas one', () => {
    const closed = code('000000000');
    expect(recommend({ status: closed, rain: 1, weatherIcon: '10d', airLevel: 5 })).to.equal('none');
    expect(recommend({ status: closed, rain: 0, weatherIcon: '13d', airLevel: 5 })).to.equal('none');
  });

  it('writes only when the value changes, and survives a poison sensor value', () => {
    expectWrites('-a-b-x-c-d-e-', {
      a: status('000000000'),
      b: control('022222221'),
      x: rtdb('sensor/hometemp/rain', { nonsense: true }),
      c: rtdb('sensor/hometemp/temp', '23'),
      d: control('022222220'),
      e: rtdb('sensor/hometemp', { rain: '1', temp: '20' }),
    }, '-A-B-----C---', {
      A: set('none'),
      B: set('가스벨브가 열려있어요.'),
      C: set('none'),
    });
  });

  it('reacts to weather written at any granularity and leaves an equal value alone', () => {
    expectWrites('-n-a-b-c-', {
      n: rtdb('server/notification', 'none'),
      a: status('000000010'),
      b: rtdb('sensor/openweather', { icon: '13d', air_level: 1 }),
      c: rtdb('sensor/openweather/icon', '01d'),
    }, '-----B-C-', {
      B: set('눈 소식이 있으니 창문을 닫아주세요.'),
      C: set('none'),
    });
  });

  it('reads the rain from sensor/hometemp/rain and the air level from sensor/openweather/air_level', () => {
    expectWrites('-a-r-n-l-', {
      a: status('000000010'),
      r: rtdb('sensor/hometemp/rain', 1),
      n: rtdb('sensor/hometemp/rain', 0),
      l: rtdb('sensor/openweather/air_level', 3),
    }, '-A-R-N-L-', {
      A: set('none'),
      R: set('비가오니 창문을 닫아주세요.'),
      N: set('none'),
      L: set('대기질이 나쁘니 창문을 닫아주세요.'),
    });
  });

  it('recomputes only when the status or a sensor changes: another writer, an invalid or a no-op control alone write nothing', () => {
    expectWrites('-n-a-x-b-c-d-', {
      n: rtdb('server/notification', 'none'),
      a: status('000000000'),
      x: rtdb('server/notification', '창문'),
      b: control('0xx'),
      c: control('000000000'),
      d: rtdb('sensor/hometemp/temp', '20'),
    }, '-----------D-', { D: set('none') });
  });
});
