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
    metrics.eventsIn.inc({ source: 'mqtt' }, 3);
    metrics.commandLatency.observe({ kind: 'reply' }, 0.002);
    const res = await fetch(url('/metrics'));
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    const text = await res.text();
    expect(text).to.match(/^smarthome_events_in_total\{source="mqtt"\} 3$/m);
    expect(text).to.match(/^smarthome_command_latency_seconds_count\{kind="reply"\} 1$/m);
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    expect((await fetch(url('/'))).status).to.equal(404);
    expect((await fetch(url('/healthz'), { method: 'POST' })).status).to.equal(405);
  });
});
