import { expect } from 'chai';
import { concat, defer, EMPTY, filter, ignoreElements, map, merge, of, take, tap, throwError, type Observable } from 'rxjs';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import type { Kind } from '../../../lib/core/streams/kinds.js';
import { echoOf, MAX_RESUBSCRIBES, pipeline, STREAMS, type StreamFactory } from '../../../lib/core/streams/pipeline.js';
import { encode } from '../../../lib/core/protocol/home-code.js';
import { stream, type ObservedOf } from '../../../lib/core/streams/stream.js';
import { react } from '../../../lib/core/streams/world.js';
import { log } from '../../../lib/core/streams/alerts.js';
import { command, control, doc, makeDeps, mqtt, rtdb, status, testScheduler, tick } from '../../support/marbles.js';

const signup = command({ Producer: 'android', command: 'signup', UID: 'u1', name: 'Kim' });
const signin = command({ Producer: 'android', command: 'signin', UID: 'u1' });
const reply: Effect = { type: 'mqtt.publish', topic: 'webos/android/info', payload: '{"name":"Kim","Producer":"server","command":"return_name"}' };
const stored: Effect = { type: 'firestore.set', collection: 'user_account', id: 'u1', data: { name: 'Kim' } };
const logged: Effect = { type: 'log', level: 'info', msg: 'android signed up user u1' };

describe('streams/pipeline', () => {
  it('folds its own writes back at once: a sign-in right after the sign-up finds the user', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      expectObservable(pipeline(hot<Event>('-(ab)-', { a: signup, b: signin }), makeDeps(ts))).toBe('-(slr)-', { s: stored, l: logged, r: reply });
    });
  });

  it('takes the echo of its own write as harmless', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const echo: Event = { type: 'firestore.doc', collection: 'user_account', id: 'u1', data: { name: 'Kim' } };
      expectObservable(pipeline(hot<Event>('-a-e-b-', { a: signup, e: echo, b: signin }), makeDeps(ts))).toBe('-(sl)r-', {
        s: stored,
        l: logged,
        r: reply,
      });
    });
  });

  it('routes a Firestore document only to the streams that read its collection', () => {
    const seen: string[] = [];
    const label = (e: Event): string => (e.type === 'firestore.doc' ? `${e.collection}/${e.id}` : e.type);
    const reader = (name: string, kinds: Kind[]): StreamFactory =>
      stream(kinds, (observed$) => observed$.pipe(tap(({ event }) => seen.push(`${name} ${label(event)}`)), ignoreElements()));
    const all: StreamFactory = (observed$) => observed$.pipe(tap(({ event }) => seen.push(`observer ${label(event)}`)), ignoreElements());
    const events = [doc('appliance_alarm', 'a1', { icon: 'x' }), doc('schedule_mode', 's1', null), doc('modes', 'm1', null), doc('user_account', 'u1', null), doc('elsewhere', 'e1', {})];
    const streams = { schedules: reader('schedules', ['clock.tick', 'firestore.schedule_mode']), modes: reader('modes', ['firestore.modes']), users: reader('users', ['firestore.user_account']) };
    pipeline(of(...events), makeDeps(testScheduler()), streams, { all }).subscribe();
    expect(seen).to.deep.equal([
      'observer appliance_alarm/a1',
      'schedules schedule_mode/s1', 'observer schedule_mode/s1',
      'modes modes/m1', 'observer modes/m1',
      'users user_account/u1', 'observer user_account/u1',
      'observer elsewhere/e1',
    ]);
  });

  it('lets every stream see an event before the writes it caused are folded in', () => {
    // The status report raises an alarm (alarms) and a recommendation (recommendation); both
    // must see the same event; the second alarm in the same second must not reuse the id.
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      pipeline(cold<Event>('ab', { a: status('000000000'), b: control('011111111') }), makeDeps(ts)).subscribe((e) => out.push(e));
    });
    const ids = out.filter((e) => e.type === 'firestore.set').map((e) => (e as { id: string }).id);
    expect(ids).to.deep.equal(['8367695200', '8367695200_1', '8367695200_2', '8367695200_3']);
    expect(out.filter((e) => e.type === 'rtdb.set').map((e) => (e as { value: unknown }).value)).to.deep.equal(['none', '가스벨브가 열려있어요.']);
  });

  it('survives a poison message in the merged pipeline: -a-x-b gives -A-E-B', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('-a---x---b-', { a: signup, x: rtdb('smarthome/status', 42), b: signin });
      expectObservable(pipeline(event$, makeDeps(ts)).pipe(map((e) => e.type))).toBe('-(sl)(wa)b-', {
        s: 'firestore.set',
        l: 'log',
        w: 'mqtt.publish',
        a: 'slack.alert',
        b: 'mqtt.publish',
      });
    });
  });

  it('reads a cold source that emits at once only once, with every stream listening', () => {
    const ts = testScheduler();
    let subscriptions = 0;
    const source$ = defer(() => {
      subscriptions++;
      return of(status('000000000'), control('016222222'), signup, signin);
    });
    const types: string[] = [];
    pipeline(source$, makeDeps(ts)).subscribe((e) => types.push(e.type));
    expect(subscriptions).to.equal(1);
    // status$ persists the status, alarms$ raises the alarm, recommendation$ writes, commands$ answers.
    expect(types).to.include.members(['state.status', 'firestore.set', 'rtdb.set', 'mqtt.publish', 'log']);
  });

  it('completes when the events complete', () => {
    const ts = testScheduler();
    ts.run(({ cold, expectObservable }) => {
      expectObservable(pipeline(cold<Event>('-(a|)', { a: signin }), makeDeps(ts)).pipe(map((e) => e.type))).toBe('-(ab|)', {
        a: 'mqtt.publish',
        b: 'slack.alert',
      });
    });
  });

  it('names a stream that returned nothing', () => {
    const broken = { ...STREAMS, oops: (() => undefined) as unknown as StreamFactory };
    const ts = testScheduler();
    let error: unknown;
    pipeline(EMPTY, makeDeps(ts), broken).subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).to.match(/stream "oops" returned undefined instead of an Observable/);
  });

  it('reports a stream that errors and restarts it', () => {
    let calls = 0;
    const flaky: StreamFactory = (observed$) =>
      observed$.pipe(
        map((o): Effect => {
          calls++;
          if (calls === 1) throw new Error('boom');
          return { type: 'log', level: 'info', msg: o.event.type };
        }),
      ) as Observable<Effect>;
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      expectObservable(pipeline(hot<Event>('-a---b-', { a: signin, b: signin }), makeDeps(ts), { flaky })).toBe('-(ms)l-', {
        m: { type: 'mqtt.publish', topic: DEFAULT_TOPICS.error, payload: 'stream flaky failed and was restarted (1 of 10): boom' },
        s: { type: 'slack.alert', text: 'error: stream flaky failed and was restarted (1 of 10): boom' },
        l: { type: 'log', level: 'info', msg: 'mqtt.message' },
      });
    });
  });

  it("takes an own write's echo as the event its listener would deliver; a publish or a log has none", () => {
    expect(echoOf({ type: 'firestore.set', collection: 'modes', id: 'm1', data: { modeNum: 1 } })).to.deep.equal({ type: 'firestore.doc', collection: 'modes', id: 'm1', data: { modeNum: 1 } });
    expect(echoOf({ type: 'firestore.delete', collection: 'schedule_mode', id: 's1' })).to.deep.equal({ type: 'firestore.doc', collection: 'schedule_mode', id: 's1', data: null });
    expect(echoOf({ type: 'rtdb.set', path: 'sensor/x', value: 1 })).to.deep.equal({ type: 'rtdb.value', path: 'sensor/x', value: 1 });
    expect(echoOf({ type: 'mqtt.publish', topic: 't', payload: 'p' })).to.equal(undefined);
    expect(echoOf(log('info', 'x'))).to.equal(undefined);
  });

  it('folds an echo only after every stream and observer has seen the event that caused it', () => {
    const seen: string[] = [];
    const writer = stream(['clock.tick'], (observed$) => observed$.pipe(map((): Effect => ({ type: 'rtdb.set', path: 'sensor/x', value: 1 }))));
    const all: StreamFactory = (observed$) => observed$.pipe(tap(({ event, world }) => seen.push(`${event.type} ${JSON.stringify(world.tree)}`)), ignoreElements());
    pipeline(of(tick, tick), makeDeps(testScheduler()), { writer }, { all }).subscribe();
    expect(seen).to.deep.equal(['clock.tick null', 'rtdb.value {"sensor":{"x":1}}', 'clock.tick {"sensor":{"x":1}}', 'rtdb.value {"sensor":{"x":1}}']);
  });

  it('starts from the status a previous run left, if it is valid', () => {
    const before = (resumed: string | undefined): Array<string | undefined> => {
      const out: Array<string | undefined> = [];
      const all: StreamFactory = (observed$) => observed$.pipe(tap(({ statusBefore }) => out.push(statusBefore === undefined ? undefined : encode(statusBefore))), ignoreElements());
      pipeline(of(tick, control('1')), makeDeps(testScheduler(), { resume: resumed === undefined ? {} : { status: resumed } }), {}, { all }).subscribe();
      return out;
    };
    expect(before('016000000')).to.deep.equal(['016000000', '016000000']);
    expect(before('01600000x')).to.deep.equal([undefined, undefined]);
    expect(before(undefined)).to.deep.equal([undefined, undefined]);
  });

  it('skips an event it cannot fold with a system error, and goes on with the next one', () => {
    const unreadable = { type: 'rtdb.value', path: 42, value: 1 } as unknown as Event;
    const seen: unknown[] = [];
    const counting = stream(['rtdb.value'], (observed$) => observed$.pipe(tap(({ event }) => seen.push(event.value)), ignoreElements()));
    const out: Effect[] = [];
    let ended: string | undefined;
    const status = { type: 'rtdb.value', path: 'smarthome/status', value: '000000000' } as const;
    pipeline(of(unreadable, status), makeDeps(testScheduler()), { counting }).subscribe({
      next: (e) => out.push(e), error: () => (ended = 'error'), complete: () => (ended = 'complete'),
    });
    expect(seen, 'the stream saw only the readable event').to.deep.equal(['000000000']);
    expect(out.map((e) => (e.type === 'mqtt.publish' ? `${e.topic} ${e.payload}` : e.type))).to.deep.equal([
      'data/error/error the world fold failed on a rtdb.value event and skipped it: path.split is not a function',
      'slack.alert',
    ]);
    expect(ended).to.equal('complete');
  });

  it('hands each event to every subscriber of a stream that reads its input twice, also after one of them left', () => {
    const twice = stream(['clock.tick'], (observed$) => merge(observed$.pipe(take(1), map(() => log('info', 'first'))), observed$.pipe(map(() => log('info', 'each')))));
    const out: string[] = [];
    pipeline(of(tick, tick), makeDeps(testScheduler()), { twice }).subscribe((e) => out.push(e.type === 'log' ? e.msg : e.type));
    expect(out).to.deep.equal(['first', 'each', 'each']);
  });

  it('ends at once the input of a stream restarted after its input ended, so the pipeline completes', () => {
    let failed = false;
    const failsAtEnd = stream(['clock.tick'], (observed$) =>
      concat(observed$.pipe(ignoreElements()), defer(() => (failed ? EMPTY : ((failed = true), throwError(() => new Error('at the end')))))),
    );
    const out: string[] = [];
    let completed = false;
    pipeline(of(tick), makeDeps(testScheduler()), { failsAtEnd }).subscribe({ next: (e) => out.push(e.type === 'mqtt.publish' ? e.payload : e.type), complete: () => (completed = true) });
    expect(out).to.deep.equal(['stream failsAtEnd failed and was restarted (1 of 10): at the end', 'slack.alert']);
    expect(completed).to.equal(true);
  });

  describe(`a stream that errors: resubscribed at most ${MAX_RESUBSCRIBES} times, its state and its place kept`, () => {
    const at = (payload: string): Event => mqtt('webos/server/info', payload);
    /** Counts the commands it reads (its state, in `react`); throws outside `react` on "x". */
    const counting = stream(['mqtt.command'], (observed$, deps) =>
      observed$.pipe(
        tap(({ event }) => {
          if (event.payload === 'x') throw new Error('poison');
        }),
        react<number, ObservedOf<'mqtt.command'>>('counting', deps.settings.topics, 0, (n) => [n + 1, [log('info', `seen ${n + 1}`)]]),
      ),
    );
    /** Reads the same kind, after it in the pipeline's order. */
    const next = stream(['mqtt.command'], (observed$) => observed$.pipe(map(() => log('info', 'next'))));
    const restarted = (n: number, reason = 'poison'): Effect => ({
      type: 'mqtt.publish', topic: DEFAULT_TOPICS.error, payload: `stream counting failed and was restarted (${n} of ${MAX_RESUBSCRIBES}): ${reason}`,
    });
    const stopped = (reason = 'poison'): Effect => ({
      type: 'mqtt.publish', topic: DEFAULT_TOPICS.error,
      payload: `stream counting failed again after ${MAX_RESUBSCRIBES} restarts and is stopped for the rest of the run: ${reason}`,
    });
    const noSlack = filter((e: Effect) => e.type !== 'slack.alert');

    it('reads on after a failure from the state it had, in its place among the streams', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const event$ = hot<Event>('-a---x---b---x---c', { a: at('a'), x: at('x'), b: at('b'), c: at('c') });
        expectObservable(pipeline(event$, makeDeps(ts), { counting, next }).pipe(noSlack)).toBe('-(1n)(rn)(2n)(Rn)(3n)', {
          1: log('info', 'seen 1'),
          2: log('info', 'seen 2'),
          3: log('info', 'seen 3'),
          n: log('info', 'next'),
          r: restarted(1),
          R: restarted(2),
        });
      });
    });

    it(`gives up after ${MAX_RESUBSCRIBES} restarts and says so; the other streams go on`, () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        // One failure every 10 ms, one more than the restarts allowed, then a good command.
        const events = 'x 9ms '.repeat(MAX_RESUBSCRIBES + 1) + 'a';
        const alerts = 'abcdefghijklmnopqrstuvwxyz'.slice(0, MAX_RESUBSCRIBES);
        const expected = [...alerts].map((r) => `(${r}n) 6ms `).join('') + '(Sn) 6ms n';
        expectObservable(pipeline(hot<Event>(events, { x: at('x'), a: at('a') }), makeDeps(ts), { counting, next }).pipe(noSlack)).toBe(expected, {
          ...Object.fromEntries([...alerts].map((r, i) => [r, restarted(i + 1)])),
          S: stopped(),
          n: log('info', 'next'),
        });
      });
    });

    it('gives up on a stream that fails as it is subscribed, instead of resubscribing it forever', () => {
      const broken = stream(['mqtt.command'], () => throwError(() => new Error('broken')));
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        const alerts = 'abcdefghijklmnopqrstuvwxyz'.slice(0, MAX_RESUBSCRIBES);
        // All at once, as the pipeline starts; the other stream then reads the command at 20 ms.
        const expected = `(${alerts}S) ${20 - (alerts.length + 3)}ms n`;
        expectObservable(pipeline(hot<Event>('20ms a', { a: at('a') }), makeDeps(ts), { counting: broken, next }).pipe(noSlack)).toBe(expected, {
          ...Object.fromEntries([...alerts].map((r, i) => [r, restarted(i + 1, 'broken')])),
          S: stopped('broken'),
          n: log('info', 'next'),
        });
      });
    });

    it('ends with the error of an input that fails: no stream failed, none is resubscribed', () => {
      const ts = testScheduler();
      ts.run(({ hot, expectObservable }) => {
        expectObservable(pipeline(hot<Event>('-a---#', { a: at('a') }, new Error('source down')), makeDeps(ts), { counting, next })).toBe(
          '-(1n)#',
          { 1: log('info', 'seen 1'), n: log('info', 'next') },
          new Error('source down'),
        );
      });
    });
  });
});
