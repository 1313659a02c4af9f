import { expect } from 'chai';
import { startHttp, type Health, type SourceState } from '../../lib/http/endpoint.js';
import { createMetrics } from '../../lib/http/metrics.js';

describe('http: /healthz and /metrics', () => {
  const states = new Map<string, SourceState>([
    ['mqtt', { up: true }],
    ['store', { up: true }],
  ]);
  const metrics = createMetrics(false);
  let endpoint: Awaited<ReturnType<typeof startHttp>>;
  const url = (path: string) => `http://127.0.0.1:${endpoint.port}${path}`;

  before(async () => {
    endpoint = await startHttp('127.0.0.1', 0, (): Health => states, metrics);
  });
  after(() => endpoint.close());

  it('answers 200 with each source when all are up, 503 with the reason when one is down', async () => {
    let res = await fetch(url('/healthz'));
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ok', sources: { mqtt: 'up', store: 'up' } });
    states.set('mqtt', { up: false, reason: 'broker unreachable (ECONNREFUSED)' });
    res = await fetch(url('/healthz'));
    expect(res.status).to.equal(503);
    expect(await res.json()).to.deep.equal({ status: 'unavailable', sources: { mqtt: 'down: broker unreachable (ECONNREFUSED)', store: 'up' } });
    states.set('mqtt', { up: true });
  });

  it('serves the counters in the Prometheus text format', async () => {
    metrics.eventsIn.add('mqtt', 3);
    metrics.eventsIn.add('rtdb');
    metrics.commandLatency.observe('reply', 0.002);
    metrics.commandLatency.observe('reply', 0.001); // on a bound: in that bucket (le is inclusive)
    metrics.commandLatency.observe('reply', 7);
    const res = await fetch(url('/metrics'));
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    const text = await res.text();
    expect(text).to.match(/^# TYPE smarthome_events_in_total counter$/m);
    expect(text).to.match(/^smarthome_events_in_total\{source="mqtt"\} 3$/m);
    expect(text).to.match(/^smarthome_events_in_total\{source="rtdb"\} 1$/m);
    // counted at scrape time: a second scrape shows the same totals, not doubled ones
    metrics.eventsIn.add('mqtt');
    const again = await (await fetch(url('/metrics'))).text();
    expect(again).to.match(/^smarthome_events_in_total\{source="mqtt"\} 4$/m);
    expect(text).to.match(/^# TYPE smarthome_command_latency_seconds histogram$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_bucket\{le="0.0005",kind="reply"\} 0$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_bucket\{le="0.001",kind="reply"\} 1$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_bucket\{le="0.0025",kind="reply"\} 2$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_bucket\{le="2.5",kind="reply"\} 2$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_bucket\{le="\+Inf",kind="reply"\} 3$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_sum\{kind="reply"\} 7.003$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_count\{kind="reply"\} 3$/m);
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    expect((await fetch(url('/'))).status).to.equal(404);
    expect((await fetch(url('/healthz'), { method: 'POST' })).status).to.equal(405);
  });
});
