/**
 * The delivery queue on virtual time: batches, order, retries with backoff, the one stall note
 * and the recovery, finding a refused write in a batch, coalescing, completion and teardown.
 * Writes are strings; a write's coalescing key is its first letter and its tag is the write
 * itself, so a note reads like "delivered a1,b1". Commits answer with cold marbles: `-|` is a
 * commit that lands after 1 ms, `-#` one that fails. The shell around it (outbox, reports,
 * logs) is tested through the sinks in spec/sinks/firestore.spec.ts and spec/sinks/rtdb.spec.ts.
 */
import { expect } from 'chai';
import { filter, map, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { delivery, DeliveryState, type Job, type Note, type QueueRules } from '../../lib/store/delivery-queue.js';
import { StoreError } from '../../lib/store/types.js';
import { testScheduler } from '../support/marbles.js';

type W = string;
const jobs = (...writes: W[]): Job<W, W>[] => writes.map((write) => ({ write, tags: [write] }));
const rules: QueueRules<W> = { maxBatch: 2, alertAfterMs: 50, backoff: (n) => 10 * n };
const coalescing: QueueRules<W> = { ...rules, coalesceKey: (w) => w.slice(0, 1) };
const down = new StoreError('14 UNAVAILABLE', false);
const refused = new StoreError('INVALID_ARGUMENT: poison', true);

/** A note as a short line (the `waiting` counts are left out unless asked for). */
function line(note: Note<W, W>): string {
  const tags = (j: Job<W, W>): string => j.tags.join('+');
  switch (note.kind) {
    case 'waiting':
      return `waiting ${note.count}`;
    case 'replaced':
      return `replaced ${tags(note.job)}`;
    case 'delivered':
      return `delivered ${note.jobs.map(tags).join(',')}` + (note.attempts > 1 ? ` after ${note.attempts}` : '') +
        (note.recoveredAfterMs === undefined ? '' : ` recovered ${note.recoveredAfterMs}`);
    case 'rejected':
      return `rejected ${tags(note.job)}: ${note.error}`;
    case 'retrying':
      return `retrying ${note.attempt} in ${note.delayMs}: ${note.error}`;
    case 'stalled':
      return `stalled ${note.waiting} for ${note.stalledMs}: ${note.lastError ?? 'no answer'}`;
  }
}

/**
 * Runs the queue over `input`, answering the n-th commit with `answers[n]` (a marble; the last
 * one repeats), and records each commit as "frame: writes".
 */
function run(ts: TestScheduler, input: Observable<readonly Job<W, W>[]>, answers: string[], options: { rules?: QueueRules<W>; waiting?: boolean } = {}) {
  const commits: string[] = [];
  const errors = { d: down, r: refused };
  const commit = (writes: readonly W[]): Observable<unknown> => {
    const answer = answers[Math.min(commits.length, answers.length - 1)] as string;
    commits.push(`${ts.now()}: ${writes.join(',')}`);
    // A marble containing "r" fails with the permanent error, with "#" the transient one.
    const poisoned = answer.includes('r');
    return ts.createColdObservable(answer.replace('r', '#'), undefined, poisoned ? errors.r : errors.d);
  };
  const notes$ = input.pipe(delivery<W, W>(options.rules ?? rules, commit, ts));
  const out$ = notes$.pipe(
    filter((n) => options.waiting === true || n.kind !== 'waiting'),
    map(line),
  );
  return { notes$, out$, commits };
}

describe('delivery queue', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = testScheduler();
  });

  it('sends an admitted burst in order, in batches of at most maxBatch, one commit at a time, and completes once all landed', () => {
    let commits: string[] = [];
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('a|', { a: jobs('1', '2', '3', '4', '5') }), ['--|']);
      commits = r.commits;
      expectObservable(r.out$).toBe('--a-b-(c|)', { a: 'delivered 1,2', b: 'delivered 3,4', c: 'delivered 5' });
    });
    expect(commits).to.deep.equal(['0: 1,2', '2: 3,4', '4: 5']);
  });

  it('takes writes admitted during a commit into the next batch', () => {
    let commits: string[] = [];
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('abc|', { a: jobs('1'), b: jobs('2'), c: jobs('3') }), ['---|']);
      commits = r.commits;
      expectObservable(r.out$).toBe('---a--(b|)', { a: 'delivered 1', b: 'delivered 2,3' });
    });
    expect(commits).to.deep.equal(['0: 1', '3: 2,3']);
  });

  it('tells how many writes wait or are in flight whenever one is admitted or lands', () => {
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('ab|', { a: jobs('1'), b: jobs('2') }), ['--|'], { waiting: true });
      const counts = r.notes$.pipe(map((n) => (n.kind === 'delivered' ? `${line(n)}, ${n.waiting} left` : line(n))));
      expectObservable(counts).toBe('abc-(d|)', { a: 'waiting 1', b: 'waiting 2', c: 'delivered 1, 1 left', d: 'delivered 2, 0 left' });
    });
  });

  it('retries a failed commit after backoff(n), keeping the order and gathering what came meanwhile', () => {
    let commits: string[] = [];
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('a 4ms b|', { a: jobs('1'), b: jobs('2') }), ['-#', '-#', '-|']);
      commits = r.commits;
      // fails at 1, retried at 11, fails at 12, retried at 32, lands at 33
      expectObservable(r.out$).toBe('-a 10ms b 20ms (c|)', {
        a: 'retrying 1 in 10: 14 UNAVAILABLE',
        b: 'retrying 2 in 20: 14 UNAVAILABLE',
        c: 'delivered 1,2 after 3',
      });
    });
    expect(commits).to.deep.equal(['0: 1', '11: 1,2', '32: 1,2']);
  });

  it('gives ONE stall note after alertAfterMs without progress, and says when writes recover', () => {
    ts.run(({ hot, expectObservable }) => {
      // down for 5 tries (1 + 10 + 20 + 30 + 40 ms of waiting), then up
      const r = run(ts, hot('a', { a: jobs('1') }), ['-#', '-#', '-#', '-#', '-#', '-|']);
      const expected = '-a 10ms b 20ms c 16ms s 13ms d 40ms e 50ms f';
      expectObservable(r.out$, '^ 200ms !').toBe(expected, {
        a: 'retrying 1 in 10: 14 UNAVAILABLE',
        b: 'retrying 2 in 20: 14 UNAVAILABLE',
        c: 'retrying 3 in 30: 14 UNAVAILABLE',
        s: 'stalled 1 for 50: 14 UNAVAILABLE',
        d: 'retrying 4 in 40: 14 UNAVAILABLE',
        e: 'retrying 5 in 50: 14 UNAVAILABLE',
        f: 'delivered 1 after 6 recovered 156',
      });
    });
  });

  it('gives the stall note for a commit that never answers', () => {
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('a', { a: jobs('1', '2') }), ['-']);
      expectObservable(r.out$, '^ 100ms !').toBe('50ms s', { s: 'stalled 2 for 50: no answer' });
    });
  });

  it('measures the stall from the last progress, not from the first write', () => {
    ts.run(({ hot, expectObservable }) => {
      // 1 lands at 30; 2 then hangs: stalled 50 ms after 30.
      const r = run(ts, hot('a 9ms b', { a: jobs('1'), b: jobs('2') }), ['30ms |', '-']);
      expectObservable(r.out$, '^ 100ms !').toBe('30ms a 49ms s', { a: 'delivered 1', s: 'stalled 1 for 50: no answer' });
    });
  });

  it('goes through a refused batch one by one to find the bad write, and delivers the others in order', () => {
    let commits: string[] = [];
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('a|', { a: jobs('1', 'x', '2', '3') }), ['-r', '-|', '-r', '-|']);
      commits = r.commits;
      expectObservable(r.out$).toBe('--ab(c|)', { a: 'delivered 1', b: 'rejected x: INVALID_ARGUMENT: poison', c: 'delivered 2,3' });
    });
    expect(commits).to.deep.equal(['0: 1,x', '1: 1', '2: x', '3: 2,3']);
  });

  it('replaces a waiting write by a newer one with its key; the newer carries both tags', () => {
    let commits: string[] = [];
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('ab|', { a: jobs('a1'), b: jobs('a2', 'b1', 'a3') }), ['--|'], { rules: coalescing });
      commits = r.commits;
      // a1 is in flight when a2 comes; a3 then replaces the waiting a2
      expectObservable(r.out$).toBe('-ab-(c|)', { a: 'replaced a2', b: 'delivered a1', c: 'delivered b1,a2+a3' });
    });
    expect(commits).to.deep.equal(['0: a1', '2: b1,a3']);
  });

  it('drops a failed write that a newer one with its key replaced meanwhile', () => {
    ts.run(({ hot, expectObservable }) => {
      const r = run(ts, hot('a-b|', { a: jobs('a1'), b: jobs('a2') }), ['---#', '-|'], { rules: coalescing });
      expectObservable(r.out$).toBe('---(ab) 7ms (c|)', { a: 'replaced a1', b: 'retrying 1 in 10: 14 UNAVAILABLE', c: 'delivered a1+a2 after 2' });
    });
  });

  it('stops its timers when unsubscribed: no retry after the end', () => {
    let commits = 0;
    ts.run(({ hot, cold, expectObservable }) => {
      const answer = cold('-#', undefined, down);
      const out$ = hot('a', { a: jobs('1') }).pipe(delivery<W, W>(rules, () => (commits++, answer), ts), filter((n) => n.kind !== 'waiting'), map(line));
      expectObservable(out$, '^ 5ms !').toBe('-a', { a: 'retrying 1 in 10: 14 UNAVAILABLE' });
    });
    expect(commits).to.equal(1);
  });

  it('no longer listens to a commit under way when unsubscribed', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const answer = cold('--------|');
      const out$ = hot('a', { a: jobs('1') }).pipe(delivery<W, W>(rules, () => answer, ts), filter((n) => n.kind !== 'waiting'), map(line));
      expectObservable(out$, '^ 1ms !').toBe('');
      expectSubscriptions(answer.subscriptions).toBe('^-!');
    });
  });
});

describe('delivery state', () => {
  it('asks for the first commit at once and for nothing while it waits for the answer', () => {
    const state = new DeliveryState<W, W>(rules, 0);
    expect(state.admit(jobs('1'), 0).map((s) => s.kind)).to.deep.equal(['waiting', 'alarm', 'commit']);
    expect(state.admit(jobs('2'), 1).map((s) => s.kind)).to.deep.equal(['waiting']);
    expect(state.end()).to.deep.equal([]);
    expect(state.committed(2).map((s) => s.kind)).to.deep.equal(['delivered', 'commit']);
    expect(state.committed(3).map((s) => s.kind)).to.deep.equal(['delivered', 'complete']);
  });
});
