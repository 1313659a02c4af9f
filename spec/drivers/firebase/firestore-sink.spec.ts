/**
 * The Firestore sink's delivery logic: order, batches, retries with backoff, the one alert on a
 * sustained failure and the one on recovery, permanent failures, the durable outbox across a
 * crash. It runs on the real local store; faults are injected by wrapping the store's `commit`
 * (down: a transient error; hung: no answer until released; poison: a permanent rejection).
 * The same driver against the Firestore emulator is in spec/store/contract.spec.ts.
 */
import { expect } from 'chai';
import { EMPTY, Subject, firstValueFrom, from, toArray } from 'rxjs';
import { silentLogger } from '../../../lib/base/log.js';
import { makeFirestoreDriver } from '../../../lib/drivers/firebase/firestore-sink.js';
import type { SinkReport } from '../../../lib/drivers/report.js';
import { Database } from '../../../lib/store/database.js';
import { openLocalStore, type LocalStore } from '../../../lib/store/local.js';
import { StoreError, type DocWrite, type DocumentStore } from '../../../lib/store/types.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import { record, removeDir, sleep, tempDir, waitFor } from '../../store/helpers.js';

type Mode = 'up' | 'down' | 'hung';

/** The real store's documents, with faults on demand. */
function faulty(store: LocalStore) {
  let mode: Mode = 'up';
  const held: (() => void)[] = [];
  const commits: DocWrite[][] = [];
  const docs: DocumentStore = {
    ...store.docs,
    commit: (writes) => {
      commits.push([...writes]);
      if (writes.some((w) => w.id === 'poison')) return Promise.reject(new StoreError('INVALID_ARGUMENT: poison', true));
      if (mode === 'down') return Promise.reject(new StoreError('14 UNAVAILABLE: No connection established', false));
      if (mode === 'hung') return new Promise<void>((resolve, reject) => held.push(() => void store.docs.commit(writes).then(resolve, reject)));
      return store.docs.commit(writes);
    },
  };
  return {
    docs,
    commits,
    set mode(m: Mode) {
      mode = m;
      if (m === 'up') held.splice(0).forEach((release) => release());
    },
  };
}

const alarm = (id: string, n = 0): Effect => ({ type: 'firestore.set', collection: 'appliance_alarm', id, data: { icon: 'light_icon', n } });
const remove = (id: string): Effect => ({ type: 'firestore.delete', collection: 'appliance_alarm', id });
const kinds = (reports: readonly SinkReport[], kind: SinkReport['kind']): SinkReport[] => reports.filter((r) => r.kind === kind);
const doneEffects = (reports: readonly SinkReport[]): Effect[] => reports.flatMap((r) => (r.kind === 'done' ? [r.effect] : []));
const options = { logger: silentLogger, backoff: () => 20, alertAfterMs: 200 };

describe('Firestore sink', function () {
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

  it('writes set and delete effects in order, ignores other effects, and completes when its input does', async () => {
    const effects: Effect[] = [alarm('1', 1), { type: 'slack.alert', text: 'not for me' }, alarm('2', 2), remove('1'), alarm('2', 3)];
    const reports = await firstValueFrom(makeFirestoreDriver(store, options)(from(effects)).pipe(toArray()));
    expect(reports).to.deep.equal([effects[0], effects[2], effects[3], effects[4]].map((effect) => ({ kind: 'done', sink: 'firestore', effect })));
    expect(await store.docs.get('appliance_alarm', '1')).to.equal(null);
    expect(await store.docs.get('appliance_alarm', '2')).to.deep.equal({ icon: 'light_icon', n: 3 });
  });

  it('sends a burst in batches of at most 100 writes, in order', async () => {
    const f = faulty(store);
    const effects = Array.from({ length: 250 }, (_, i) => alarm(`a${i}`, i));
    const reports = await firstValueFrom(makeFirestoreDriver({ docs: f.docs, outbox: undefined }, options)(from(effects)).pipe(toArray()));
    expect(doneEffects(reports)).to.deep.equal(effects);
    expect(f.commits.length).to.be.at.least(3);
    expect(f.commits.every((c) => c.length <= 100)).to.equal(true);
    expect(f.commits.flat().map((w) => w.id)).to.deep.equal(effects.map((_, i) => `a${i}`));
  });

  it('reports an effect it can never write as failed at once, and goes on', async () => {
    const f = faulty(store);
    const bad: Effect = { type: 'firestore.set', collection: 'appliance_alarm', id: 'a/b', data: {} };
    const reports = await firstValueFrom(makeFirestoreDriver({ docs: f.docs, outbox: undefined }, options)(from([bad, alarm('ok')])).pipe(toArray()));
    expect(reports[0]).to.deep.include({ kind: 'failed', sink: 'firestore', effect: bad });
    expect((reports[0] as { error: string }).error).to.match(/must not contain "\/"/);
    expect(doneEffects(reports)).to.deep.equal([alarm('ok')]);
    expect(f.commits.flat().map((w) => w.id)).to.deep.equal(['ok']);
  });

  it('finds the write the server rejects in a batch, reports it failed, and delivers the others in order', async () => {
    const f = faulty(store);
    const effects = [alarm('1'), alarm('2'), alarm('poison'), alarm('3')];
    const reports = await firstValueFrom(makeFirestoreDriver({ docs: f.docs, outbox: undefined }, options)(from(effects)).pipe(toArray()));
    expect(kinds(reports, 'failed').map((r) => (r.kind === 'failed' ? r.effect : undefined))).to.deep.equal([alarm('poison')]);
    expect(doneEffects(reports)).to.deep.equal([alarm('1'), alarm('2'), alarm('3')]);
    expect(await store.docs.get('appliance_alarm', '3')).to.not.equal(null);
  });

  it('retries a failed write with backoff until it goes through, keeping the order', async () => {
    const f = faulty(store);
    f.mode = 'down';
    const input = new Subject<Effect>();
    const reports = record(makeFirestoreDriver({ docs: f.docs, outbox: undefined }, { ...options, alertAfterMs: 10_000 })(input));
    input.next(alarm('1'));
    input.next(alarm('2'));
    await sleep(100);
    expect(f.commits.length).to.be.at.least(2); // retried every 20 ms
    expect(reports.values).to.deep.equal([]);
    f.mode = 'up';
    input.next(alarm('3'));
    await waitFor(() => reports.values.length === 3, 'the three writes');
    expect(doneEffects(reports.values)).to.deep.equal([alarm('1'), alarm('2'), alarm('3')]);
    reports.subscription.unsubscribe();
  });

  it('raises ONE alert when writes fail for alertAfterMs, and ONE when they recover', async () => {
    const f = faulty(store);
    f.mode = 'down';
    const input = new Subject<Effect>();
    const reports = record(makeFirestoreDriver({ docs: f.docs, outbox: undefined }, options)(input));
    const started = Date.now();
    input.next(alarm('1'));
    input.next(alarm('2'));
    await waitFor(() => kinds(reports.values, 'alert').length === 1, 'the alert');
    expect(Date.now() - started).to.be.at.least(195);
    await sleep(300); // still down: no second alert
    const [alert] = kinds(reports.values, 'alert');
    expect(alert).to.deep.include({ kind: 'alert', sink: 'firestore', level: 'error' });
    expect((alert as { text: string }).text).to.match(/^Firestore: 2 write\(s\) not delivered for \d+ s \(last error: 14 UNAVAILABLE/);
    f.mode = 'up';
    await waitFor(() => kinds(reports.values, 'done').length === 2, 'the writes');
    expect(kinds(reports.values, 'alert')).to.have.length(2);
    expect(kinds(reports.values, 'alert')[1]).to.deep.include({ kind: 'alert', sink: 'firestore', level: 'warning' });
    expect((kinds(reports.values, 'alert')[1] as { text: string }).text).to.match(/^Firestore: writes are getting through again/);
    // Healthy again: a later outage alerts again.
    f.mode = 'down';
    input.next(alarm('3'));
    await waitFor(() => kinds(reports.values, 'alert').length === 3, 'the second alert');
    reports.subscription.unsubscribe();
  });

  it('also alerts when a write gets no answer at all', async () => {
    const f = faulty(store);
    f.mode = 'hung';
    const input = new Subject<Effect>();
    const reports = record(makeFirestoreDriver({ docs: f.docs, outbox: undefined }, options)(input));
    input.next(alarm('1'));
    await waitFor(() => kinds(reports.values, 'alert').length === 1, 'the alert');
    expect((kinds(reports.values, 'alert')[0] as { text: string }).text).to.match(/no answer yet/);
    f.mode = 'up';
    await waitFor(() => kinds(reports.values, 'alert').length === 2 && kinds(reports.values, 'done').length === 1, 'recovery');
    reports.subscription.unsubscribe();
  });

  it('keeps accepted writes in the outbox: after a crash the next run delivers them first', async () => {
    const outbox = db;
    const f = faulty(store);
    f.mode = 'down';
    const input = new Subject<Effect>();
    const first = record(makeFirestoreDriver({ docs: f.docs, outbox }, options)(input));
    input.next(alarm('1', 1));
    input.next(remove('0'));
    input.next(alarm('2', 2));
    await waitFor(() => (db.sql.prepare(`SELECT count(*) AS n FROM outbox WHERE sink = 'firestore'`).get() as { n: number }).n === 3, 'the outbox rows');
    first.subscription.unsubscribe(); // the crash
    await sleep(20);

    f.mode = 'up';
    const input2 = new Subject<Effect>();
    const second = record(makeFirestoreDriver({ docs: f.docs, outbox }, options)(input2));
    input2.next(alarm('3', 3));
    input2.complete();
    await waitFor(second.completed, 'the second run to finish');
    expect(doneEffects(second.values)).to.deep.equal([alarm('1', 1), remove('0'), alarm('2', 2), alarm('3', 3)]);
    expect(await store.docs.get('appliance_alarm', '2')).to.deep.equal({ icon: 'light_icon', n: 2 });
    // Nothing waits any more: a third run has nothing to do.
    const third = await firstValueFrom(makeFirestoreDriver({ docs: f.docs, outbox }, options)(EMPTY).pipe(toArray()));
    expect(third).to.deep.equal([]);
  });
});
