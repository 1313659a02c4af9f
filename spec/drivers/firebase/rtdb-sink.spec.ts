/**
 * The RTDB sink's own logic: coalescing writes to the same path, batches of non-overlapping
 * paths, the outbox across a crash (coalesced on restart too), invalid paths. It runs on the
 * real local store with faults injected around `commit`; retries and alerts are the shared
 * delivery logic (spec/sinks/firestore.spec.ts), and the driver against firebase-server is in
 * spec/store/contract.spec.ts.
 */
import { expect } from 'chai';
import { EMPTY, Subject, firstValueFrom, from, toArray } from 'rxjs';
import { silentLogger } from '../../../lib/base/log.js';
import { makeRtdbDriver } from '../../../lib/drivers/firebase/rtdb-sink.js';
import type { SinkReport } from '../../../lib/drivers/report.js';
import { pathsOverlap } from '../../../lib/store/data.js';
import { Database } from '../../../lib/store/database.js';
import { openLocalStore, type LocalStore } from '../../../lib/store/local.js';
import { StoreError, type TreeStore, type TreeWrite } from '../../../lib/store/types.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import { record, removeDir, sleep, tempDir, waitFor } from '../../store/helpers.js';

function faulty(store: LocalStore) {
  let mode: 'up' | 'down' | 'hung' = 'up';
  const held: (() => void)[] = [];
  const commits: TreeWrite[][] = [];
  const tree: TreeStore = {
    ...store.tree,
    commit: (writes) => {
      commits.push([...writes]);
      if (mode === 'down') return Promise.reject(new StoreError('disconnected', false));
      if (mode === 'hung') return new Promise<void>((resolve, reject) => held.push(() => void store.tree.commit(writes).then(resolve, reject)));
      return store.tree.commit(writes);
    },
  };
  return {
    tree,
    commits,
    set mode(m: 'up' | 'down' | 'hung') {
      mode = m;
      if (m === 'up') held.splice(0).forEach((release) => release());
    },
  };
}

const set = (p: string, value: unknown): Effect => ({ type: 'rtdb.set', path: p, value });
const done = (reports: readonly SinkReport[]): Effect[] => reports.flatMap((r) => (r.kind === 'done' ? [r.effect] : []));
const options = { logger: silentLogger, backoff: () => 20, alertAfterMs: 5_000 };

describe('RTDB sink', function () {
  this.timeout(10_000);
  let dir: string;
  let store: LocalStore;
  let db: Database;
  beforeEach(async () => {
    dir = await tempDir();
    db = await Database.open(dir, silentLogger);
    store = openLocalStore(db, { logger: silentLogger });
  });
  afterEach(async () => {
    await store.close();
    await db.close();
    await removeDir(dir);
  });

  it('writes rtdb.set effects and reports each; null removes', async () => {
    const effects = [set('server/notification', 'none'), set('sensor/openweather', { icon: '10d', air_level: 2 }), set('sensor/openweather/icon', null)];
    const reports = await firstValueFrom(makeRtdbDriver(store, options)(from(effects)).pipe(toArray()));
    expect(done(reports)).to.deep.equal(effects);
    expect(await store.tree.get('')).to.deep.equal({ server: { notification: 'none' }, sensor: { openweather: { air_level: 2 } } });
  });

  it('replaces a waiting write by a newer one to the same path, and reports both done', async () => {
    const f = faulty(store);
    f.mode = 'hung';
    const input = new Subject<Effect>();
    const reports = record(makeRtdbDriver({ tree: f.tree, outbox: undefined }, options)(input));
    input.next(set('server/notification', 'n0'));
    await waitFor(() => f.commits.length === 1, 'the first write in flight');
    for (let i = 1; i <= 50; i++) input.next(set('server/notification', `n${i}`));
    input.next(set('smarthome/status', '000000000'));
    await sleep(20);
    f.mode = 'up';
    await waitFor(() => reports.values.length === 52, 'every effect reported');
    expect(f.commits.flat().map((w) => w.value)).to.deep.equal(['n0', 'n50', '000000000']);
    expect(done(reports.values)).to.have.deep.members([...Array.from({ length: 51 }, (_, i) => set('server/notification', `n${i}`)), set('smarthome/status', '000000000')]);
    expect(await store.tree.get('server/notification')).to.equal('n50');
    reports.subscription.unsubscribe();
  });

  it('never puts overlapping paths in one commit, and keeps their order', async () => {
    const f = faulty(store);
    const effects = [set('smarthome', { status: '000000000', gas: { enabled: false } }), set('smarthome/status', '011000000'), set('sensor/hometemp/temp', 20), set('smarthome/gas', null)];
    await firstValueFrom(makeRtdbDriver({ tree: f.tree, outbox: undefined }, options)(from(effects)).pipe(toArray()));
    for (const commit of f.commits) {
      for (const [i, a] of commit.entries()) for (const b of commit.slice(i + 1)) expect(pathsOverlap(a.path, b.path), `${a.path} with ${b.path}`).to.equal(false);
    }
    expect(await store.tree.get('')).to.deep.equal({ smarthome: { status: '011000000' }, sensor: { hometemp: { temp: 20 } } });
  });

  it('reports an invalid path as failed at once', async () => {
    const reports = await firstValueFrom(makeRtdbDriver(store, options)(from([set('sensor/home.temp', 1), set('sensor/x', 1)])).pipe(toArray()));
    expect(reports[0]).to.deep.include({ kind: 'failed', sink: 'rtdb', effect: set('sensor/home.temp', 1) });
    expect(done(reports)).to.deep.equal([set('sensor/x', 1)]);
  });

  it('after a crash, delivers what the outbox holds, coalesced per path', async () => {
    const outbox = db;
    const f = faulty(store);
    f.mode = 'down';
    const input = new Subject<Effect>();
    const first = record(makeRtdbDriver({ tree: f.tree, outbox }, options)(input));
    input.next(set('sensor/hometemp/temp', 1));
    await waitFor(() => f.commits.length >= 1, 'a first attempt');
    for (let i = 2; i <= 5; i++) input.next(set('sensor/hometemp/temp', i));
    input.next(set('server/notification', 'none'));
    await sleep(50);
    first.subscription.unsubscribe(); // the crash
    await sleep(20);

    f.mode = 'up';
    const before = f.commits.length;
    const second = await firstValueFrom(makeRtdbDriver({ tree: f.tree, outbox }, options)(EMPTY).pipe(toArray()));
    expect(f.commits.slice(before).flat()).to.deep.equal([{ path: 'sensor/hometemp/temp', value: 5 }, { path: 'server/notification', value: 'none' }]);
    expect(done(second)).to.have.length.at.least(2);
    expect(await store.tree.get('')).to.deep.equal({ sensor: { hometemp: { temp: 5 } }, server: { notification: 'none' } });
  });
});
