/**
 * The Firestore source's own logic on virtual time: events per snapshot, re-establishing a
 * failed listener with backoff (and reporting it), deletions that happened while it was down,
 * teardown. The listener is a `DocumentStore` whose n-th `watch` plays the n-th cold script;
 * the source against real stores (local, Firestore emulator) is in spec/store/contract.spec.ts.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { silentLogger } from '../../../lib/base/log.js';
import { fromFirestore } from '../../../lib/drivers/firebase/firestore-source.js';
import type { DocSnapshot, DocumentStore } from '../../../lib/store/types.js';
import type { FirestoreDoc } from '../../../lib/core/protocol/events.js';

function scripted(scripts: Record<string, Observable<DocSnapshot>[]>): DocumentStore {
  const used: Record<string, number> = {};
  const unsupported = (): Promise<never> => Promise.reject(new Error('not in this script'));
  return {
    commit: unsupported,
    set: unsupported,
    merge: unsupported,
    delete: unsupported,
    get: unsupported,
    watch: (collection, onSnapshot, onError) => {
      const n = used[collection] ?? 0;
      used[collection] = n + 1;
      const script = scripts[collection]?.[n];
      if (!script) throw new Error(`no script ${n} for ${collection}`);
      const subscription = script.subscribe({ next: onSnapshot, error: onError });
      return () => subscription.unsubscribe();
    },
  };
}

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => {
  expect(actual).to.deep.equal(expected);
});
const doc = (collection: string, id: string, data: FirestoreDoc['data']): FirestoreDoc => ({ type: 'firestore.doc', collection, id, data });

describe('fromFirestore', () => {
  it('emits the documents of each snapshot, initial state first', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const modes = cold<DocSnapshot>('a 9ms b', {
        a: { initial: true, changes: [{ id: '1', data: { modeNum: 1 } }, { id: '2', data: { modeNum: 2 } }] },
        b: { initial: false, changes: [{ id: '1', data: null }] },
      });
      const users = cold<DocSnapshot>('5ms u', { u: { initial: true, changes: [] } });
      const docs = scripted({ modes: [modes], user_account: [users] });
      expectObservable(fromFirestore(docs, ['modes', 'user_account'], { logger: silentLogger }), '^ 20ms !').toBe('(xy) 6ms z', {
        x: doc('modes', '1', { modeNum: 1 }),
        y: doc('modes', '2', { modeNum: 2 }),
        z: doc('modes', '1', null),
      });
    });
  });

  it('re-establishes a failed listener after the backoff, reports it, and reports deletions it missed', () => {
    const logs: string[] = [];
    const outage: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(line) });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold<DocSnapshot>('a 9ms b 9ms #', {
        a: { initial: true, changes: [{ id: 'x', data: { n: 1 } }, { id: 'y', data: { n: 2 } }] },
        b: { initial: false, changes: [{ id: 'z', data: { n: 3 } }] },
      }, new Error('listen stream broke'));
      const second = cold<DocSnapshot>('c', { c: { initial: true, changes: [{ id: 'x', data: { n: 1 } }, { id: 'z', data: { n: 3 } }] } });
      const docs = scripted({ appliance_alarm: [first, second] });
      const source = fromFirestore(docs, ['appliance_alarm'], {
        logger,
        backoff: (n) => n * 10,
        onDown: (what, reason) => outage.push(`down: ${what}: ${reason}`),
        onUp: (what) => outage.push(`up: ${what}`),
      });
      expectObservable(source, '^ 39ms !').toBe('(xy) 6ms z 19ms (xzd)', {
        x: doc('appliance_alarm', 'x', { n: 1 }),
        y: doc('appliance_alarm', 'y', { n: 2 }),
        z: doc('appliance_alarm', 'z', { n: 3 }),
        d: doc('appliance_alarm', 'y', null),
      });
      expectSubscriptions(first.subscriptions).toBe('^ 19ms !');
      expectSubscriptions(second.subscriptions).toBe('30ms ^ 9ms !');
    });
    expect(logs).to.have.length(1);
    expect(JSON.parse(logs[0] ?? '{}')).to.deep.include({ listener: 'Firestore appliance_alarm', attempt: 1, retryInMs: 10, err: 'listen stream broke' });
    expect(outage).to.deep.equal(['down: Firestore appliance_alarm: listen stream broke', 'up: Firestore appliance_alarm']);
  });

  it('keeps retrying with growing delays, and never errors', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const failing = cold<DocSnapshot>('#', undefined, new Error('unavailable'));
      const healthy = cold<DocSnapshot>('a', { a: { initial: true, changes: [{ id: 'u1', data: { name: 'kim' } }] } });
      const docs = scripted({ user_account: [failing, failing, failing, healthy] });
      // Retries after 10, 20 and 40 ms: the fourth listener starts at 70 ms.
      expectObservable(fromFirestore(docs, ['user_account'], { logger: silentLogger, backoff: (n) => 10 * 2 ** (n - 1) }), '^ 100ms !')
        .toBe('70ms a', { a: doc('user_account', 'u1', { name: 'kim' }) });
    });
  });
});
