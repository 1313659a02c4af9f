import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { expect } from 'chai';
import { NEVER, defer, throwError, filter, finalize, tap, firstValueFrom, map, timer, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { silentLogger } from '../../lib/base/log.js';
import { callsPerDay, fromWeather, scrubSecret, type HttpGet, type HttpResponse, type WeatherEvent, type WeatherOptions } from '../../lib/drivers/weather-source.js';
import { testScheduler } from '../support/marbles.js';
import { captureLogs, ok, startServer, type TestServer } from '../support/http.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/openweather/${name}`, import.meta.url), 'utf8');
const CURRENT = fixture('current-seoul.json');
const AIR = fixture('air-pollution.json');
const KEY = 'k3y/SECRET+0123456789abcdef';
const RESULT: WeatherEvent = { type: 'weather.result', current: JSON.parse(CURRENT), air: JSON.parse(AIR) };


/** A virtual-time HTTP answer after `ms`. */
const answer = (ms: number, status: number, body: string): Observable<HttpResponse> =>
  timer(ms).pipe(map(() => ({ status, statusText: STATUS_CODES[status] ?? '', body })));

/** A `get` that answers by path: `/weather` and `/air_pollution`. */
const byPath =
  (routes: { weather: (n: number) => Observable<HttpResponse>; air?: (n: number) => Observable<HttpResponse> }): HttpGet & { calls: string[] } => {
    const calls: string[] = [];
    const get = (url: string) => {
      calls.push(url);
      const path = new URL(url).pathname;
      const n = calls.filter((u) => new URL(u).pathname === path).length - 1;
      return path.endsWith('/air_pollution') ? (routes.air ?? (() => answer(10, 200, AIR)))(n) : routes.weather(n);
    };
    return Object.assign(get, { calls });
  };

const options = (over: Partial<WeatherOptions> = {}): WeatherOptions => ({
  apiKey: KEY,
  city: 'Seoul',
  intervalS: 60,
  baseUrl: 'http://weather.invalid/data/2.5',
  timeoutMs: 1000,
  ...over,
});

/** Virtual times (ms) at which events arrive, with their kind. */
function timeline(scheduler: TestScheduler, source$: Observable<WeatherEvent>, until: number): [number, string][] {
  const seen: [number, string][] = [];
  scheduler.run(() => {
    const sub = source$.subscribe((e) => seen.push([scheduler.now(), e.type === 'weather.result' ? 'ok' : e.reason]));
    scheduler.schedule(() => sub.unsubscribe(), until);
  });
  return seen;
}

describe('fromWeather timing (virtual time)', () => {
  it('polls at subscription, then every interval: current weather, then air pollution', () => {
    const scheduler = testScheduler();
    const get = byPath({ weather: () => answer(100, 200, CURRENT), air: () => answer(100, 200, AIR) });
    scheduler.run(({ expectObservable }) => {
      const source$ = fromWeather(options(), silentLogger, scheduler, get);
      expectObservable(source$, '^ 150s !').toBe('200ms r 59999ms r 59999ms r', { r: RESULT });
    });
    expect(get.calls).to.have.length(6);
    const [current, air] = get.calls.map((u) => new URL(u));
    expect(current!.pathname).to.equal('/data/2.5/weather');
    expect(Object.fromEntries(current!.searchParams)).to.deep.equal({ q: 'Seoul', lang: 'kr', appid: KEY });
    expect(air!.pathname).to.equal('/data/2.5/air_pollution');
    expect(Object.fromEntries(air!.searchParams)).to.deep.equal({ lat: '37.5683', lon: '126.9778', appid: KEY });
  });

  it('turns every failed attempt into a failure event and retries with capped, doubling backoff', () => {
    const scheduler = testScheduler();
    const get = byPath({ weather: () => answer(10, 500, '{"cod":500,"message":"Internal error"}') });
    const seen = timeline(scheduler, fromWeather(options({ backoffMs: 2000, maxRetries: 4 }), silentLogger, scheduler, get), 61_000);
    // 2 s, 4 s, 8 s, then capped at a quarter of the 60 s interval; 4 retries, then the next poll.
    expect(seen.map(([t]) => t)).to.deep.equal([10, 2020, 6030, 14040, 29050, 60010]);
    expect(seen[0]![1]).to.equal('current weather: HTTP 500 Internal Server Error (Internal error)');
  });

  it('keeps retries inside the interval, so the next poll starts on time', () => {
    const scheduler = testScheduler();
    const get = byPath({ weather: () => answer(10, 503, '') });
    const seen = timeline(scheduler, fromWeather(options({ intervalS: 4, maxRetries: 10 }), silentLogger, scheduler, get), 4500);
    // Backoff capped at 1 s; a retry is only started if it (with its timeout) ends before 4 s.
    expect(seen.map(([t]) => t)).to.deep.equal([10, 1020, 2030, 4010]);
  });

  it('does not retry a client error (bad key, unknown city) or a body the codec rejects before the next poll', () => {
    const scheduler = testScheduler();
    const get = byPath({
      weather: (n) => (n === 0 ? answer(10, 401, fixture('401-invalid-key.json')) : answer(10, 200, fixture('current-missing-coord.json'))),
    });
    const seen = timeline(scheduler, fromWeather(options(), silentLogger, scheduler, get), 61_000);
    expect(seen.map(([t]) => t)).to.deep.equal([10, 60_010]);
    expect(seen[0]![1]).to.equal('current weather: HTTP 401 Unauthorized (Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.)');
    expect(seen[1]![1]).to.match(/^weather body: coord: expected /);
  });

  it('times a silent request out, tears it down, and reports the timeout', () => {
    const scheduler = testScheduler();
    let abandoned = 0;
    const get = byPath({ weather: () => answer(10, 200, CURRENT), air: () => NEVER.pipe(finalize(() => abandoned++)) });
    const seen = timeline(scheduler, fromWeather(options({ maxRetries: 0 }), silentLogger, scheduler, get), 2000);
    expect(seen).to.deep.equal([[1010, 'air pollution: no answer within 1000 ms']]);
    expect(abandoned).to.equal(1);
  });

  it('never overlaps polls: a tick that finds a poll running is skipped', () => {
    const scheduler = testScheduler();
    const spans: [number, number][] = [];
    const slow = () =>
      defer(() => {
        const start = scheduler.now();
        return answer(50_000, 200, CURRENT).pipe(tap(() => spans.push([start, scheduler.now()])));
      });
    const get = byPath({ weather: slow, air: () => slow().pipe(map((r) => ({ ...r, body: AIR }))) });
    const seen = timeline(scheduler, fromWeather(options({ timeoutMs: 90_000 }), silentLogger, scheduler, get), 230_000);
    expect(seen).to.deep.equal([
      [100_000, 'ok'],
      [220_000, 'ok'],
    ]);
    // The ticks at 60 s and 180 s found a poll running and were skipped; no request overlaps another.
    expect(spans).to.deep.equal([
      [0, 50_000],
      [50_000, 100_000],
      [120_000, 170_000],
      [170_000, 220_000],
    ]);
  });

  it('answers within one interval of a service coming back, after failing while it was down', () => {
    const scheduler = testScheduler();
    // Down (connection refused) from 60 s to 250 s.
    const down = (at: number) => at >= 60_000 && at < 250_000;
    const get = byPath({
      weather: () => (down(scheduler.now()) ? throwError(() => new Error('connect ECONNREFUSED')) : answer(10, 200, CURRENT)),
      air: () => answer(10, 200, AIR),
    });
    const seen = timeline(scheduler, fromWeather(options(), silentLogger, scheduler, get), 299_000);
    const failures = seen.filter(([, what]) => what !== 'ok');
    const results = seen.filter(([, what]) => what === 'ok').map(([t]) => t);
    // Polls at 60, 120 and 180 s fail with 4 retries each (2, 4, 8, 15 s); the one at 240 s
    // fails twice more, and its retry at 254 s finds the service back.
    expect(failures.map(([t]) => t)).to.deep.equal(
      [60_000, 120_000, 180_000].flatMap((t) => [t, t + 2000, t + 6000, t + 14_000, t + 29_000]).concat([240_000, 242_000, 246_000]),
    );
    expect(failures[0]![1]).to.equal('current weather: connect ECONNREFUSED');
    expect(results).to.deep.equal([20, 254_020]);
  });

  it('emits nothing and logs once when there is no API key', () => {
    const scheduler = testScheduler();
    const logs = captureLogs();
    const get = byPath({ weather: () => answer(10, 200, CURRENT) });
    scheduler.run(({ expectObservable }) => {
      expectObservable(fromWeather(options({ apiKey: undefined }), logs.logger, scheduler, get)).toBe('|');
    });
    expect(get.calls).to.deep.equal([]);
    expect(logs.lines().map((l) => l.msg)).to.deep.equal(['weather poll off: no OpenWeatherMap API key (OPENWEATHER_API_KEY unset)']);
  });

  it('warns when the interval would spend more than the free tier', () => {
    const warnings = (intervalS: number) => {
      const logs = captureLogs();
      const scheduler = testScheduler();
      scheduler.run(() => fromWeather(options({ intervalS }), logs.logger, scheduler, byPath({ weather: () => NEVER })).subscribe().unsubscribe());
      return logs.lines().filter((l) => l.level === 40).map((l) => l.msg);
    };
    expect(callsPerDay(900)).to.equal(192);
    expect(warnings(900)).to.deep.equal([]);
    expect(warnings(173)).to.deep.equal([]);
    expect(warnings(172)).to.have.length(1);
    expect(warnings(1)[0]).to.match(/172800 calls a day .* over the free tier's 1000/);
  });

  it('accepts any positive interval and rejects others', () => {
    for (const intervalS of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => fromWeather(options({ intervalS }), silentLogger)).to.throw(RangeError);
    }
    expect(() => fromWeather(options({ intervalS: 0.5 }), silentLogger)).not.to.throw();
  });

  it('scrubs the key in every spelling', () => {
    const url = `http://h/weather?${new URLSearchParams({ appid: KEY }).toString()}`;
    expect(scrubSecret(`request to ${url} failed; ${KEY}; ${encodeURIComponent(KEY)}`, KEY)).not.to.include('SECRET');
  });
});

describe('fromWeather against a local OpenWeatherMap (loopback HTTP)', function () {
  this.timeout(10_000);
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer((req) => (req.pathname.endsWith('/air_pollution') ? ok(AIR) : ok(CURRENT)));
  });
  afterEach(() => server.close());

  const live = (logger = silentLogger, over: Partial<WeatherOptions> = {}) =>
    fromWeather(options({ baseUrl: `${server.origin}/data/2.5/`, intervalS: 1, timeoutMs: 300, ...over }), logger);
  const firstFailure = (source$: Observable<WeatherEvent>) =>
    firstValueFrom(source$.pipe(filter((e): e is Extract<WeatherEvent, { type: 'weather.failure' }> => e.type === 'weather.failure')));

  it('fetches current weather for the city, then air pollution at its coordinates', async () => {
    const event = await firstValueFrom(live());
    expect(event).to.deep.equal(RESULT);
    expect(server.requests.map((r) => r.pathname)).to.deep.equal(['/data/2.5/weather', '/data/2.5/air_pollution']);
    expect(server.requests[0]!.query.get('appid')).to.equal(KEY);
    expect(server.requests[0]!.query.get('lang')).to.equal('kr');
    expect(server.requests[1]!.query.get('lat')).to.equal('37.5683');
  });

  const cases: [string, () => unknown, RegExp][] = [
    ['401', () => (server.handler = () => ({ status: 401, body: fixture('401-invalid-key.json') })), /^current weather: HTTP 401 Unauthorized \(Invalid API key/],
    ['500 on air pollution', () => (server.handler = (r) => (r.pathname.endsWith('/air_pollution') ? { status: 500, body: fixture('500-internal.json') } : ok(CURRENT))), /^air pollution: HTTP 500 Internal Server Error \(Internal error\)$/],
    ['a hang past the timeout', () => (server.handler = () => 'hang'), /^current weather: no answer within 300 ms$/],
    ['malformed JSON', () => (server.handler = () => ok(fixture('malformed-truncated.json'))), /^current weather: the body is not JSON \(/],
    ['a body the codec rejects', () => (server.handler = () => ok(fixture('current-missing-coord.json'))), /^weather body: coord: expected/],
    ['connection refused', () => server.down(), /^current weather: request failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/],
  ];
  for (const [what, arrange, reason] of cases) {
    it(`reports ${what} as a failure event without the key`, async () => {
      await arrange();
      const logs = captureLogs();
      const event = await firstFailure(live(logs.logger));
      expect(event.reason).to.match(reason);
      expect(event.reason).not.to.include('SECRET');
      expect(logs.text()).to.include(event.reason.slice(0, 20));
      expect(logs.text()).not.to.include('SECRET');
    });
  }

  it('fails while the service is down for three intervals and answers within one interval of its return', async () => {
    const logs = captureLogs();
    const events: [number, WeatherEvent][] = [];
    let downAt = 0;
    let upAt = 0;
    const recovered = new Promise<number>((resolve) => {
      const sub = live(logs.logger).subscribe((event) => {
        events.push([Date.now(), event]);
        if (event.type === 'weather.result' && upAt > 0) {
          sub.unsubscribe();
          resolve(Date.now());
        }
      });
    });
    await until(() => events.length === 1);
    downAt = Date.now();
    await server.down();
    await sleep(3000);
    await server.up();
    upAt = Date.now();
    const at = await recovered;

    const failures = events.filter(([t, e]) => e.type === 'weather.failure' && t >= downAt && t < upAt);
    expect(events[0]![1]).to.deep.equal(RESULT);
    expect(failures.length).to.be.at.least(3); // at least one a poll, plus retries
    expect(new Set(failures.map(([, e]) => (e.type === 'weather.failure' ? e.reason.replace(/\d+$/, '') : '')))).to.deep.equal(
      new Set(['current weather: request failed: connect ECONNREFUSED 127.0.0.1:']),
    );
    expect(at - upAt).to.be.at.most(1000 + 300);
    // One warning when it broke, one note when it came back; repeats go to debug.
    const messages = logs.lines().map((l) => `${l.level} ${String(l.msg).replace(/:.*$/, '')}`);
    expect(messages.filter((m) => m.endsWith(' weather poll failed'))).to.deep.equal(['40 weather poll failed']);
    expect(messages.filter((m) => m.endsWith(' weather poll failed again')).every((m) => m.startsWith('20 '))).to.equal(true);
    expect(messages.filter((m) => m === '30 weather poll works again')).to.have.length(1);
    expect(logs.text()).not.to.include('SECRET');
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}
