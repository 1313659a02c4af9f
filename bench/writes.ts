/**
 * Writes: an alarm storm. 10,000 status changes reach the pipeline as fast as the event loop
 * delivers them (one per macrotask, as a busy socket or listener would), on the real clock,
 * and its effects go through the real Firestore and RTDB sinks into the local store in a fresh
 * DATA_DIR. Each change switches one appliance, so each raises exactly one alarm; from the 21st
 * on, each also deletes the oldest (SPEC 5 keeps 20).
 *
 * Reported: alarms per second (first change to the last alarm acknowledged by the store), all
 * writes per second, and the peak outbox size: the most writes accepted by the sinks and not yet
 * acknowledged. With the local store that queue is in memory (the store is durable itself); the
 * second run adds the durable outbox the sinks keep when the store is Firebase (each accepted
 * write committed to the `outbox` table of DATA_DIR's database and synced first) in front of the same local store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { asyncScheduler, merge, share, Subject } from 'rxjs';
import { silentLogger } from '../lib/base/log.js';
import { makeFirestoreDriver } from '../lib/drivers/firebase/firestore-sink.js';
import { makeRtdbDriver } from '../lib/drivers/firebase/rtdb-sink.js';
import { Database } from '../lib/store/database.js';
import { openStore, type DocumentStore } from '../lib/store/open-store.js';
import type { Deps } from '../lib/core/streams/deps.js';
import { DEFAULT_TOPICS } from '../lib/core/protocol/topics.js';
import type { Event } from '../lib/core/protocol/events.js';
import { pipeline } from '../lib/core/streams/pipeline.js';
import { median, sig } from './stats.js';

export interface StormResult {
  readonly status_changes: number;
  readonly alarms: number;
  readonly writes: number;
  readonly alarms_per_s: number;
  readonly writes_per_s: number;
  readonly peak_outbox: number;
  readonly commits: number;
  readonly seconds: number;
  readonly failed: number;
}

export interface WritesResult {
  /** The local store as the service uses it (no durable outbox); median of `runs`. */
  readonly local: StormResult;
  /** The same with the sinks' durable outbox in front (as with Firebase); median of `runs`. */
  readonly with_outbox: StormResult;
  readonly runs: number;
}

/** The storm's statuses: each switches one appliance (air-con, light, window, gas in turn) on, then off. */
function* stormStatuses(changes: number): Generator<string> {
  const digits = ['0', '0', '5', '0', '5', '1', '0', '0', '0'];
  const positions = [1, 3, 7, 8];
  yield digits.join(''); // the baseline, which raises nothing
  for (let k = 0; k < changes; k++) {
    digits[positions[k % 4]!] = Math.floor(k / 4) % 2 === 0 ? '1' : '0';
    yield digits.join('');
  }
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function storm(changes: number, outbox: boolean): Promise<StormResult> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'smarthome-bench-writes-'));
  const db = await Database.open(dataDir, silentLogger);
  const store = await openStore({ dataDir, database: db }, silentLogger);
  let commits = 0;
  const docs = store.docs;
  const counted: DocumentStore = {
    commit: (writes) => {
      commits++;
      return docs.commit(writes);
    },
    set: (c, id, data) => docs.set(c, id, data),
    merge: (c, id, data) => docs.merge(c, id, data),
    delete: (c, id) => docs.delete(c, id),
    get: (c, id) => docs.get(c, id),
    watch: (c, onSnapshot, onError) => docs.watch(c, onSnapshot, onError),
  };
  const outboxDb = outbox ? db : undefined;
  const deps: Deps = {
    scheduler: asyncScheduler,
    settings: { tz: 'Asia/Seoul', commandConfirmS: 30, scheduleGraceS: 300, topics: DEFAULT_TOPICS },
    resume: { scheduleFired: {} },
  };
  const pendingBy = { firestore: 0, rtdb: 0 };
  let peak = 0;
  const track = (sink: 'firestore' | 'rtdb') => (n: number): void => {
    pendingBy[sink] = n;
    peak = Math.max(peak, pendingBy.firestore + pendingBy.rtdb);
  };
  const source = new Subject<Event>();
  const effect$ = pipeline(source, deps).pipe(share());
  let alarms = 0;
  let writes = 0;
  let failed = 0;
  let lastDone = 0;
  const finished = new Promise<void>((resolve, reject) => {
    merge(
      makeFirestoreDriver({ docs: counted, outbox: outboxDb }, { logger: silentLogger, onPending: track('firestore') })(effect$),
      makeRtdbDriver({ tree: store.tree, outbox: outboxDb }, { logger: silentLogger, onPending: track('rtdb') })(effect$),
    ).subscribe({
      next: (r) => {
        if (r.kind === 'failed') failed++;
        if (r.kind !== 'done') return;
        writes++;
        lastDone = performance.now();
        if (r.effect.type === 'firestore.set' && r.effect.collection === 'appliance_alarm') alarms++;
      },
      error: reject,
      complete: resolve,
    });
  });
  const statuses = stormStatuses(changes);
  source.next({ type: 'rtdb.value', path: 'smarthome/status', value: statuses.next().value as string });
  await nextMacrotask();
  const start = performance.now();
  for (const status of statuses) {
    source.next({ type: 'rtdb.value', path: 'smarthome/status', value: status });
    await nextMacrotask();
  }
  source.complete();
  await finished;
  const seconds = (lastDone - start) / 1000;
  await store.close();
  await db.close();
  await rm(dataDir, { recursive: true, force: true });
  return {
    status_changes: changes,
    alarms,
    writes,
    alarms_per_s: sig(alarms / seconds),
    writes_per_s: sig(writes / seconds),
    peak_outbox: peak,
    commits,
    seconds: sig(seconds, 3),
    failed,
  };
}

function medianRun(runs: readonly StormResult[]): StormResult {
  // the run with the median alarm rate, so that its figures belong together
  const m = median(runs.map((r) => r.alarms_per_s));
  return [...runs].sort((a, b) => Math.abs(a.alarms_per_s - m) - Math.abs(b.alarms_per_s - m))[0]!;
}

export async function runWrites(options: { changes: number; runs: number }): Promise<WritesResult> {
  const local: StormResult[] = [];
  const withOutbox: StormResult[] = [];
  for (let i = 0; i < options.runs; i++) {
    local.push(await storm(options.changes, false));
    withOutbox.push(await storm(options.changes, true));
  }
  return { local: medianRun(local), with_outbox: medianRun(withOutbox), runs: options.runs };
}
