import { expect } from 'chai';
import { warning } from '../../../lib/core/streams/alerts.js';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { weather$ } from '../../../lib/core/streams/weather-sensor.js';
import { observe } from '../../../lib/core/streams/world.js';
import { makeDeps, testScheduler } from '../../support/marbles.js';

const current = {
  coord: { lon: 126.9778, lat: 37.5683 },
  weather: [{ id: 500, main: 'Rain', description: '실 비', icon: '10d' }],
  main: { temp: 293.15, feels_like: 293.0, humidity: 80 },
  name: 'Seoul',
};
const air = { coord: { lon: 126.9778, lat: 37.5683 }, list: [{ main: { aqi: 2 }, components: { pm2_5: 20.1 } }] };
const ok: Event = { type: 'weather.result', current, air };
const expected: Effect = {
  type: 'rtdb.set',
  path: 'sensor/openweather',
  value: { description: '실 비', icon: '10d', temp: '20.0', air_level: 2, update: '2021.9.22.19.0.0' },
};

// The alert text comes from the codec (checked in spec/protocol); here it matters that it is one.
const failure = warning(
  DEFAULT_TOPICS,
  'weather poll failed: weather body: value: expected { coord: { lat: number, lon: number }, weather: non-empty weather list, main: { temp: number } }, got "garbage" (the last good weather is kept)',
);

describe('streams/weather', () => {
  it('maps a poll to sensor/openweather (Celsius with one decimal, aqi, poll time)', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      expectObservable(weather$(hot<Event>('-a-', { a: ok }).pipe(observe(DEFAULT_TOPICS)), makeDeps(ts))).toBe('-w-', { w: expected });
    });
  });

  it('reports a failing poll once, keeps quiet while it keeps failing, and says when it works again', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      const event$ = cold<Event>('abcde', {
        a: { type: 'weather.failure', reason: 'HTTP 500' },
        b: { type: 'weather.failure', reason: 'timeout after 10 s' },
        c: { type: 'weather.result', current: { cod: 401 }, air },
        d: ok,
        e: { type: 'weather.failure', reason: 'HTTP 502' },
      });
      weather$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e) => out.push(e));
    });
    const alerts = out.filter((e) => e.type !== 'log');
    expect(alerts.map((e) => e.type)).to.deep.equal(['mqtt.publish', 'slack.alert', 'rtdb.set', 'slack.alert', 'mqtt.publish', 'slack.alert']);
    expect(alerts[0]).to.deep.equal({ type: 'mqtt.publish', topic: 'data/error/warning', payload: 'weather poll failed: HTTP 500 (the last good weather is kept)' });
    expect(alerts[3]).to.deep.equal({ type: 'slack.alert', text: 'weather poll works again' });
    expect(out.filter((e) => e.type === 'log')).to.deep.equal([
      { type: 'log', level: 'warn', msg: 'weather poll failed again: timeout after 10 s' },
      { type: 'log', level: 'warn', msg: 'weather poll failed again: weather body: coord: expected { lat: number, lon: number }, got nothing; weather: expected non-empty weather list, got nothing; main: expected { temp: number }, got nothing' },
      { type: 'log', level: 'info', msg: 'weather poll works again' },
    ]);
  });

  it('survives a poison body: -a-x-b gives -A-E-B', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('-a-x----b-', { a: ok, x: { type: 'weather.result', current: 'garbage', air: null }, b: ok });
      expectObservable(weather$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts))).toBe('-A-(EF)-(BGH)-', {
        A: expected,
        E: failure[0]!,
        F: failure[1]!,
        B: expected,
        G: { type: 'slack.alert', text: 'weather poll works again' },
        H: { type: 'log', level: 'info', msg: 'weather poll works again' },
      });
    });
  });

  it('counts a poll whose air pollution body does not decode as failed, keeping the last good weather', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      weather$(cold<Event>('ab', { a: ok, b: { type: 'weather.result', current, air: { list: [] } } }).pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e) => out.push(e));
    });
    expect(out.map((e) => e.type)).to.deep.equal(['rtdb.set', 'mqtt.publish', 'slack.alert']);
    expect((out[1] as { topic: string }).topic).to.equal('data/error/warning');
    expect((out[1] as { payload: string }).payload).to.match(/^weather poll failed: .*\(the last good weather is kept\)$/);
  });
});
