/**
 * The limit on wrong dashboard tokens (issue 24) on the real HTTP endpoint and dashboard routes,
 * listening on 127.0.0.1 and guarded as on a network address (a token is required). Clients
 * come from different loopback addresses (127.0.0.2, ...), which Linux routes to lo, so "other
 * addresses" are real peers. The limiter's clock is moved instead of waiting five minutes.
 */
import { expect } from 'chai';
import http from 'node:http';
import { startHttp, type Health, type HttpEndpoint } from '../../lib/http/endpoint.js';
import { createMetrics } from '../../lib/http/metrics.js';
import { makeAccess } from '../../lib/dashboard/access.js';
import { Feed } from '../../lib/dashboard/feed.js';
import { emptyState } from '../../lib/dashboard/fold.js';
import { DEFAULT_LOGIN_LIMITS, addressKey, makeLoginLimiter } from '../../lib/dashboard/login-limit.js';
import { dashboardHandler } from '../../lib/dashboard/server.js';
import { captureLogs } from '../support/http.js';

const TOKEN = 'a-long-random-token-0f3e9b';
const MINUTE = 60_000;

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function ask(port: number, path: string, options: { from: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', localAddress: options.from, headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const login = (port: number, from: string, token: string, accept = 'text/html,application/xhtml+xml') =>
  ask(port, '/login', { from, method: 'POST', headers: { ...FORM, accept }, body: new URLSearchParams({ token }).toString() });

describe('dashboard login limit (lib/dashboard/login-limit.ts)', () => {
  let endpoint: HttpEndpoint;
  let clock: number;
  let logs: ReturnType<typeof captureLogs>;

  beforeEach(async () => {
    clock = Date.UTC(2021, 8, 22, 11, 0);
    logs = captureLogs();
    const feed = new Feed(emptyState(), { tz: 'UTC', staleS: 3600, commandConfirmS: 30 }, (): Health => new Map());
    const handler = dashboardHandler(makeAccess('0.0.0.0', TOKEN), feed, { loginLimits: { ...DEFAULT_LOGIN_LIMITS, now: () => clock }, logger: logs.logger });
    endpoint = await startHttp('127.0.0.1', 0, (): Health => new Map(), createMetrics(false), handler);
  });
  afterEach(() => endpoint.close());

  it('answers 429 with Retry-After after 5 wrong tokens in 5 minutes, even to the right one; other addresses log in', async () => {
    const { port } = endpoint;
    for (let i = 1; i <= 5; i++) {
      clock += 10_000;
      expect((await login(port, '127.0.0.2', `guess-${i}`)).status, `try ${i}`).to.equal(401);
    }
    const blocked = await login(port, '127.0.0.2', TOKEN);
    expect(blocked.status).to.equal(429);
    // the oldest failure was 40 s ago: it leaves the window in 260 s
    expect(blocked.headers['retry-after']).to.equal('260');
    expect(blocked.headers['set-cookie']).to.equal(undefined);
    expect(blocked.headers['content-type']).to.match(/^text\/html/);
    expect(blocked.body).to.include('Too many wrong tokens from this address: try again in 5 minutes.').and.include('<form');

    const json = await login(port, '127.0.0.2', 'x', 'application/json');
    expect([json.status, json.headers['content-type']]).to.deep.equal([429, 'application/json']);
    expect(JSON.parse(json.body)).to.deep.equal({ error: 'too many wrong tokens', retryAfterS: 260, message: 'Too many wrong tokens from this address: try again in 5 minutes.' });
    const text = await login(port, '127.0.0.2', 'x', '*/*');
    expect([text.status, text.body]).to.deep.equal([429, 'Too many wrong tokens from this address: try again in 5 minutes.\n']);

    const other = await login(port, '127.0.0.3', TOKEN);
    expect(other.status).to.equal(303);
    expect(other.headers['set-cookie']?.[0]).to.match(/^smarthome_dashboard=/);
    expect(logs.lines().map((l) => l.msg)).to.deep.equal(['dashboard: too many wrong tokens from 127.0.0.2; refused for 260 s']);

    // once the oldest failure is 5 minutes old, one more try is let through
    clock += 260_000 - 1;
    expect((await login(port, '127.0.0.2', TOKEN)).status).to.equal(429);
    clock += 1;
    expect((await login(port, '127.0.0.2', TOKEN)).status).to.equal(303);
  });

  it('counts wrong Bearer tokens too, and then refuses that address even the right one', async () => {
    const { port } = endpoint;
    const get = (from: string, token: string) => ask(port, '/metrics', { from, headers: { authorization: `Bearer ${token}` } });
    for (let i = 1; i <= 5; i++) expect((await get('127.0.0.4', `guess-${i}`)).status).to.equal(401);
    const blocked = await get('127.0.0.4', TOKEN);
    expect([blocked.status, blocked.headers['retry-after']]).to.deep.equal([429, '300']);
    // the form from the same address is refused as well; a request without any token is not a guess
    expect((await login(port, '127.0.0.4', TOKEN)).status).to.equal(429);
    expect((await ask(port, '/metrics', { from: '127.0.0.4' })).status).to.equal(401);
    expect((await get('127.0.0.5', TOKEN)).status).to.equal(200);
  });

  it('forgets the failures of an address that then logs in', async () => {
    const { port } = endpoint;
    for (let i = 1; i <= 4; i++) expect((await login(port, '127.0.0.6', `guess-${i}`)).status).to.equal(401);
    expect((await login(port, '127.0.0.6', TOKEN)).status).to.equal(303);
    for (let i = 1; i <= 5; i++) expect((await login(port, '127.0.0.6', `again-${i}`)).status).to.equal(401);
    expect((await login(port, '127.0.0.6', TOKEN)).status).to.equal(429);
  });

  it('counts an IPv4-mapped address as IPv4 and an IPv6 address by its /64', () => {
    expect(addressKey('::ffff:192.168.0.7')).to.equal('192.168.0.7');
    expect(addressKey('192.168.0.7')).to.equal('192.168.0.7');
    expect(addressKey('2001:db8:1:2::1')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('fe80::1%eth0')).to.equal('fe80:0:0:0::/64');
    expect(addressKey('::1')).to.equal('0:0:0:0::/64');
    expect(addressKey(undefined)).to.equal('unknown');
  });

  it('keeps at most maxAddresses addresses, forgetting the stalest first', () => {
    let now = 0;
    const limiter = makeLoginLimiter({ maxFailures: 1, windowMs: MINUTE, maxAddresses: 2, now: () => now });
    for (const address of ['a', 'b', 'c']) {
      now += 1000;
      expect(limiter.failed(address)).to.be.above(0);
    }
    expect(['a', 'b', 'c'].map((a) => limiter.blockedFor(a) > 0)).to.deep.equal([false, true, true]);
  });
});
