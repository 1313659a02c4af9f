/**
 * `run(main, drivers)`: what its `finished` says when the loop ends. An end on an error is how
 * the service learns that it would stay up handling nothing (main.ts then exits 1 for its unit to
 * restart it); a plain end, once the sources stopped and every effect is done, is a stop.
 * The durability operator is the real one, on a journal and a database in a temporary DATA_DIR.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { asyncScheduler, map, of, scheduled, type Observable } from 'rxjs';
import { Lifetime } from '../../lib/base/lifetime.js';
import { silentLogger } from '../../lib/base/log.js';
import type { Effect } from '../../lib/core/protocol/effects.js';
import type { Event } from '../../lib/core/protocol/events.js';
import { DEFAULT_TOPICS } from '../../lib/core/protocol/topics.js';
import { log } from '../../lib/core/streams/alerts.js';
import type { SinkReport } from '../../lib/drivers/report.js';
import { createMetrics } from '../../lib/http/metrics.js';
import { openDurable } from '../support/durable-parts.js';
import { ServiceHealth } from '../../lib/app/health.js';
import { run } from '../../lib/app/run.js';

describe('app/run', () => {
  let dir: string;
  let lifetime: Lifetime;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'smarthome-run-'));
    lifetime = new Lifetime(silentLogger);
  });
  afterEach(async () => {
    await lifetime.closeAll();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** The loop over `sources`, with a pipeline that logs each event and `sinks` as the one driver. */
  async function loop(sources: Observable<Event>, sinks: (effect$: Observable<Effect>) => Observable<SinkReport>): Promise<{ finished: Promise<unknown>; effects: Effect[] }> {
    const durability = await openDurable(dir, lifetime);
    const effects: Effect[] = [];
    const main = (event$: Observable<Event>): Observable<Effect> => event$.pipe(map((event) => log('info', `handled ${event.type}`)));
    const { finished } = run(main, { sources, sinks }, {
      durable: durability, recovered: [], topics: DEFAULT_TOPICS, logger: silentLogger, metrics: createMetrics(), health: new ServiceHealth(),
      seen: () => undefined, effectSeen: (effect) => effects.push(effect),
    });
    return { finished, effects };
  }

  const done = (effect: Effect): SinkReport => ({ kind: 'done', sink: 'state', effect });
  const message = (payload: string): Event => ({ type: 'mqtt.message', topic: 'webos/server/info', payload });

  it('finishes with nothing once the sources ended and every effect is done', async () => {
    const { finished, effects } = await loop(of(message('a'), message('b')), (effect$) => effect$.pipe(map(done)));
    expect(await finished).to.equal(undefined);
    expect(effects.map((e) => (e.type === 'log' ? e.msg : e.type))).to.deep.equal(['handled mqtt.message', 'handled mqtt.message']);
  });

  it('finishes with the error that ended the loop (a driver that throws), so that the service can exit', async () => {
    const bug = new Error('a driver bug');
    let n = 0;
    // each event in its own turn, as a real source's (a synchronous one would run to its end first)
    const { finished, effects } = await loop(scheduled([message('a'), message('b'), message('c')], asyncScheduler), (effect$) => effect$.pipe(map((effect) => {
      if (++n === 2) throw bug;
      return done(effect);
    })));
    expect(await finished).to.equal(bug);
    expect(effects, 'nothing is handled after the error').to.have.length(2);
  });
});
