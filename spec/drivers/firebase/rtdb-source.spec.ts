/**
 * The RTDB source's own logic on virtual time: one event per value, re-establishing a failed
 * listener with backoff, teardown. The listener is a `TreeStore` whose n-th `watch` plays the
 * n-th cold script; the source against real stores is in spec/store/contract.spec.ts.
 */
import { expect } from 'chai';
import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { silentLogger } from '../../../lib/base/log.js';
import { fromRtdb, PATHS } from '../../../lib/drivers/firebase/rtdb-source.js';
import type { TreeStore } from '../../../lib/store/types.js';
import type { RtdbValue } from '../../../lib/core/protocol/events.js';

function scripted(scripts: Record<string, Observable<unknown>[]>): TreeStore {
  const used: Record<string, number> = {};
  const unsupported = (): Promise<never> => Promise.reject(new Error('not in this script'));
  return {
    commit: unsupported,
    set: unsupported,
    get: unsupported,
    watch: (path, onValue, onError) => {
      const n = used[path] ?? 0;
      used[path] = n + 1;
      const script = scripts[path]?.[n];
      if (!script) throw new Error(`no script ${n} for ${path}`);
      const subscription = script.subscribe({ next: onValue, error: onError });
      return () => subscription.unsubscribe();
    },
  };
}

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => {
  expect(actual).to.deep.equal(expected);
});
const value = (path: string, v: unknown): RtdbValue => ({ type: 'rtdb.value', path, value: v });

describe('fromRtdb', () => {
  it('knows the backend\'s paths', () => {
    expect(PATHS).to.deep.equal(['smarthome', 'sensor/hometemp', 'sensor/openweather', 'server/notification']);
  });

  it('emits each path\'s values, the current one first', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const status = cold('a 4ms b', { a: null, b: { status: '009060210' } });
      const note = cold('2ms n', { n: 'none' });
      const tree = scripted({ smarthome: [status], 'server/notification': [note] });
      expectObservable(fromRtdb(tree, ['smarthome', 'server/notification'], { logger: silentLogger }), '^ 10ms !').toBe('a 1ms n 2ms b', {
        a: value('smarthome', null),
        n: value('server/notification', 'none'),
        b: value('smarthome', { status: '009060210' }),
      });
    });
  });

  it('re-establishes a failed listener after the backoff; unsubscribing stops it', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('a 4ms #', { a: 1 }, new Error('permission_denied'));
      const second = cold('b 9ms c', { b: 2, c: 3 });
      const tree = scripted({ 'sensor/hometemp/rain': [first, second] });
      expectObservable(fromRtdb(tree, ['sensor/hometemp/rain'], { logger: silentLogger, backoff: () => 100 }), '^ 110ms !').toBe('a 104ms b', {
        a: value('sensor/hometemp/rain', 1),
        b: value('sensor/hometemp/rain', 2),
      });
      expectSubscriptions(first.subscriptions).toBe('^ 4ms !');
      expectSubscriptions(second.subscriptions).toBe('105ms ^ 5ms !');
    });
  });
});
