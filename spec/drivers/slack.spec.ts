import { expect } from 'chai';
import { IncomingWebhookHTTPError } from '@slack/webhook';
import { NEVER, concat, defer, from, interval, lastValueFrom, map, take, throwError, timer, toArray, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { silentLogger } from '../../lib/base/log.js';
import { makeSlackDriver, summary, throttleAlerts, type PostText, type SlackOptions } from '../../lib/drivers/slack.js';
import type { SinkReport } from '../../lib/drivers/report.js';
import type { Effect } from '../../lib/core/protocol/effects.js';
import { testScheduler } from '../support/marbles.js';
import { captureLogs, startServer, type TestServer } from '../support/http.js';

const alert = (text: string): Effect => ({ type: 'slack.alert', text });

/** A `post` on virtual time that takes 10 ms and records what it was asked, and when. */
function recordingPost(scheduler: TestScheduler, answer: (n: number) => Observable<unknown> = () => timer(10)) {
  const posts: [number, string][] = [];
  const post: PostText = (text) =>
    defer(() => {
      posts.push([scheduler.now(), text]);
      return answer(posts.length - 1);
    });
  return { post, posts };
}

/** Runs the driver on virtual time until `until` ms; returns its reports with their times. */
function drive(
  scheduler: TestScheduler,
  options: Partial<SlackOptions>,
  effect$: () => Observable<Effect>,
  post: PostText | undefined,
  until: number,
  logger = silentLogger,
): [number, SinkReport][] {
  const reports: [number, SinkReport][] = [];
  scheduler.run(() => {
    const driver = makeSlackDriver({ webhookUrl: undefined, ...options }, logger, scheduler, post);
    const sub = driver(effect$()).subscribe((r) => reports.push([scheduler.now(), r]));
    scheduler.schedule(() => sub.unsubscribe(), until);
  });
  return reports;
}

describe('throttleAlerts (virtual time)', () => {
  it('passes the first of identical alerts, then one summary a window while they repeat', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const S = summary('a', 1, 5);
      expect(S).to.equal('a (repeated 1 time in 5 ms)');
      expectObservable(hot('a-a-b-a---------a').pipe(throttleAlerts(5))).toBe('a---bS----T-----a', { a: 'a', b: 'b', S, T: S });
    });
  });

  it('passes pending summaries when the alerts end, and tears its timers down', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const text$ = hot('a-a-a-|');
      expectObservable(text$.pipe(throttleAlerts(60_000))).toBe('a-----(s|)', { a: 'a', s: summary('a', 2, 60_000) });
      expectSubscriptions(text$.subscriptions).toBe('^-----!');
    });
  });
});

describe('makeSlackDriver (virtual time)', () => {
  it('turns 1,000 identical alerts in a minute into two posts, the second counting the repeats', () => {
    const scheduler = testScheduler();
    const { post, posts } = recordingPost(scheduler);
    const alerts = () => concat(interval(60).pipe(take(1000), map(() => alert('boiler: no answer'))), NEVER);
    const reports = drive(scheduler, {}, alerts, post, 30 * 60_000);
    // The first alert arrives at 60 ms, the last at 60 s; the window ends 10 min after the first.
    expect(posts).to.deep.equal([
      [60, 'boiler: no answer'],
      [600_060, 'boiler: no answer (repeated 999 times in 10 min)'],
    ]);
    expect(reports.map(([, r]) => r.kind)).to.deep.equal(['done', 'done']);
  });

  it('posts at most once every minIntervalMs; alerts that waited meanwhile go out together in the next post', () => {
    const scheduler = testScheduler();
    const { post, posts } = recordingPost(scheduler);
    drive(scheduler, {}, () => interval(300).pipe(take(5), map((i) => alert('abcde'[i] ?? ''))), post, 10_000);
    expect(posts).to.deep.equal([[300, 'a'], [1310, 'b\nc\nd'], [2320, 'e']]);
  });

  it('retries a failed post with backoff, then gives up with a failed report and goes on', () => {
    const scheduler = testScheduler();
    const failing = (n: number) => (n < 5 ? throwError(() => new Error('A request error occurred: fetch failed')) : timer(10));
    const { post, posts } = recordingPost(scheduler, failing);
    const reports = drive(scheduler, { retries: 3 }, () => from([alert('first'), alert('second')]), post, 20_000);
    expect(posts).to.deep.equal([
      [0, 'first'],
      [1000, 'first'],
      [3000, 'first'],
      [7000, 'first'],
      [8000, 'second'],
      [9000, 'second'],
    ]);
    expect(reports).to.deep.equal([
      [7000, { kind: 'failed', sink: 'slack', effect: alert('first'), error: 'slack post failed: A request error occurred: fetch failed' }],
      [9010, { kind: 'done', sink: 'slack', effect: alert('second') }],
    ]);
  });

  it('does not retry what Slack refuses (4xx other than 429)', () => {
    const scheduler = testScheduler();
    const refused = () => throwError(() => new IncomingWebhookHTTPError(400, 'Bad Request', 'invalid_payload'));
    const { post, posts } = recordingPost(scheduler, refused);
    const reports = drive(scheduler, {}, () => from([alert('x')]), post, 20_000);
    expect(posts).to.have.length(1);
    expect(reports.map(([t, r]) => [t, r.kind])).to.deep.equal([[0, 'failed']]);
  });

  it('bounds its queue: while Slack hangs, the oldest waiting alert is dropped, never the new one, and the next post says how many', () => {
    const scheduler = testScheduler();
    const logs = captureLogs();
    const { post, posts } = recordingPost(scheduler, (n) => (n === 0 ? timer(5_000) : timer(10)));
    const texts = Array.from({ length: 10 }, (_, i) => alert(`alert ${i}`));
    const reports = drive(scheduler, { maxQueue: 3 }, () => concat(from(texts), NEVER), post, 60_000, logs.logger);
    expect(posts).to.deep.equal([
      [0, 'alert 0'],
      [6_000, 'alert 7\nalert 8\nalert 9\n(6 older alerts were dropped: the Slack queue was full)'],
    ]);
    expect(reports.map(([t, r]) => [t, r.kind, 'effect' in r ? r.effect : null])).to.deep.equal([
      ...texts.slice(1, 7).map((e) => [0, 'failed', e]),
      [5_000, 'done', texts[0]],
      ...texts.slice(7).map((e) => [6_010, 'done', e]),
    ]);
    expect(logs.lines().filter((l) => String(l.msg).startsWith('slack queue full'))).to.have.length(1);
  });

  it('keeps one timer and a bounded number of windows whatever the number of distinct alerts', () => {
    const scheduler = testScheduler();
    const out: string[] = [];
    let timers = 0;
    scheduler.run(() => {
      const texts = concat(from(['x', 'x']), from(Array.from({ length: 10_000 }, (_, i) => `unknown UID u${i}`)), from(['real alert']), NEVER);
      texts.pipe(throttleAlerts(60_000, scheduler, 100)).subscribe((t) => out.push(t));
      timers = scheduler.actions.length;
    });
    expect(timers).to.equal(1);
    // every distinct text passed, the repeats of x were summarised when its window was pushed out, and the real alert passed
    expect(out).to.have.length(10_003);
    expect(out[100]).to.equal(summary('x', 1, 60_000));
    expect(out.at(-1)).to.equal('real alert');
  });

  it('only logs alerts, still summarised, when no webhook URL is set', () => {
    const scheduler = testScheduler();
    const logs = captureLogs();
    const alerts = () => concat(from(['x', 'x', 'x', 'y'].map(alert)), NEVER);
    const reports = drive(scheduler, { windowMs: 1000 }, alerts, undefined, 5000, logs.logger);
    expect(reports).to.deep.equal([]);
    expect(logs.lines().map((l) => [l.level, l.msg])).to.deep.equal([
      [30, 'slack alerts off (SLACK_WEBHOOK_URL unset): alerts are only logged'],
      [40, 'alert: x'],
      [40, 'alert: y'],
      [40, 'alert: x (repeated 2 times in 1 s)'],
    ]);
  });

  it('ignores effects that are not Slack alerts', () => {
    const scheduler = testScheduler();
    const { post, posts } = recordingPost(scheduler);
    const effects: Effect[] = [{ type: 'face.run' }, { type: 'mqtt.publish', topic: 't', payload: 'p' }, alert('only me')];
    drive(scheduler, {}, () => from(effects), post, 5000);
    expect(posts.map(([, text]) => text)).to.deep.equal(['only me']);
  });
});

describe('makeSlackDriver against a local webhook (loopback HTTP)', function () {
  this.timeout(10_000);
  let server: TestServer;
  let webhookUrl: string;
  beforeEach(async () => {
    server = await startServer(() => ({ status: 200, body: 'ok', contentType: 'text/html' }));
    webhookUrl = `${server.origin}/services/TLOCAL000/BLOCAL000/l0calS3cretT0ken`;
  });
  afterEach(() => server.close());

  const run = (options: Partial<SlackOptions>, effect$: Observable<Effect>, logger = silentLogger) =>
    lastValueFrom(makeSlackDriver({ webhookUrl, minIntervalMs: 20, ...options }, logger)(effect$).pipe(toArray()));
  const posted = () => server.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);
  const noSecret = (text: string) => expect(text).not.to.include('l0calS3cretT0ken').and.not.to.include(server.origin);

  it('posts 1,000 identical alerts as two messages, the second counting the repeats', async () => {
    const logs = captureLogs();
    const burst = from(Array.from({ length: 1000 }, () => alert('water leak <kitchen> & bath')));
    const started = Date.now();
    const reports = await run({ windowMs: 300 }, concat(burst, timer(500).pipe(map(() => alert('done')))), logs.logger);
    expect(posted()).to.deep.equal([
      'water leak &lt;kitchen&gt; &amp; bath',
      'water leak &lt;kitchen&gt; &amp; bath (repeated 999 times in 300 ms)',
      'done',
    ]);
    // The summary goes out when the 300 ms window that the first alert opened ends.
    expect(server.requests[1]!.at - started).to.be.within(300, 1500);
    expect(server.requests[0]!.headers['content-type']).to.equal('application/json');
    expect(reports.map((r) => r.kind)).to.deep.equal(['done', 'done', 'done']);
    expect(Date.now() - started).to.be.below(2000);
    noSecret(logs.text());
  });

  it('retries a webhook answering 500, then reports the failure without the URL', async () => {
    server.handler = () => ({ status: 500, body: 'internal_error' });
    const logs = captureLogs();
    const reports = await run({ retries: 2 }, from([alert('sensor offline')]), logs.logger);
    expect(server.count()).to.equal(3);
    expect(reports).to.have.length(1);
    const [report] = reports;
    expect(report!.kind).to.equal('failed');
    expect(report!.kind === 'failed' && report!.error).to.equal('slack post failed: An HTTP protocol error occurred: statusCode = 500');
    noSecret(logs.text());
    noSecret(JSON.stringify(reports));
  });

  it('gives up on a hanging webhook after its timeout and posts the next alert', async () => {
    server.handler = () => (server.count() === 1 ? 'hang' : { status: 200, body: 'ok' });
    const started = Date.now();
    const reports = await run({ retries: 0, timeoutMs: 200 }, from([alert('first'), alert('second')]));
    expect(reports.map((r) => r.kind)).to.deep.equal(['failed', 'done']);
    expect(reports[0]!.kind === 'failed' && reports[0]!.error).to.match(/^slack post failed: A request error occurred: .*(timeout|abort)/i);
    expect(posted()).to.deep.equal(['first', 'second']);
    expect(Date.now() - started).to.be.below(2000);
  });

  it('reports an unreachable webhook without the URL', async () => {
    await server.down();
    const logs = captureLogs();
    const reports = await run({ retries: 1 }, from([alert('x')]), logs.logger);
    expect(reports.map((r) => r.kind)).to.deep.equal(['failed']);
    expect(reports[0]!.kind === 'failed' && reports[0]!.error).to.match(/ECONNREFUSED/);
    noSecret(logs.text());
    noSecret(JSON.stringify(reports));
  });
});
