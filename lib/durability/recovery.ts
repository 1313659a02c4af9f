/**
 * After a crash (issue 12, item 2): the journaled events past the checkpoint are handled again,
 * by the same pipeline, on a virtual clock at their recorded instants (as `replay.ts` does), from
 * the state the checkpoint holds, so they cause the same effects as the first time:
 *
 * - the store's documents as they are now, except the appliance alarms that were not there at
 *   the checkpoint: those were written by the events handled again, which will write them again
 *   under the same ids (an id comes from the event's time and the ids already taken);
 * - the tracked status after the checkpoint's event, and the schedule occurrences already
 *   handled (the database's schedule_fired, written before a schedule's command is sent: none fires twice).
 *
 * No clock ticks are made (a schedule's occurrence is not the journal's to repeat) and the
 * recovery stops at the last event (so no confirmation timer runs out in it). Store writes are
 * idempotent (a set of the same value, a delete). Nothing is published again (issue 23): the only
 * publishes an event makes (device commands come from clock ticks) are replies and errors to a
 * device, and the app and the car take the first or oldest message of their queue as the answer
 * (SPEC 1), so a second or late answer would be read by the next sign-in, maybe someone else's. Alerts and log lines are not repeated, and a face recognition
 * whose result was not journaled is not run again (the car asks again).
 */
import { firstValueFrom, merge, Observable, filter, take, takeUntil, toArray, timer } from 'rxjs';
import type { Logger } from '../base/log.js';
import type { Checkpoint, JournaledEvent } from './event-journal.js';
import { EpochVirtualScheduler, onVirtualClock } from './replay.js';
import { COLLECTIONS } from '../core/protocol/events.js';
import { fromFirestore } from '../drivers/firebase/firestore-source.js';
import { fromRtdb, PATHS } from '../drivers/firebase/rtdb-source.js';
import { firstState } from '../drivers/firebase/store-loaded.js';
import type { Store } from '../store/types.js';
import { ALARMS } from '../core/streams/alarms.js';
import type { PipelineSettings } from '../core/streams/deps.js';
import type { Resume } from '../core/protocol/resume.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';
import { pipeline } from '../core/streams/pipeline.js';

/** The effects of events handled again that are performed again. */
const REDONE: ReadonlySet<Effect['type']> = new Set<Effect['type']>(['firestore.set', 'firestore.delete', 'rtdb.set', 'state.status']);

/** Everything the store holds now, as the events its listeners deliver first (waits at most `ms`). */
export async function storeEvents(store: Pick<Store, 'docs' | 'tree'>, logger: Logger, ms = 30_000): Promise<Event[]> {
  const first = firstState();
  const listeners = { logger, onLoaded: first.onLoaded };
  const events$: Observable<Event> = merge(fromFirestore(store.docs, COLLECTIONS, listeners), fromRtdb(store.tree, PATHS, listeners));
  const stop$ = merge(new Observable<void>((s) => void first.loaded.then(() => s.next())), timer(ms));
  return firstValueFrom(events$.pipe(takeUntil(stop$), toArray()));
}

export interface Recovered {
  /** What to perform again, in order. */
  readonly effects: Effect[];
  /** The tracked status after the last event. */
  readonly status?: string;
}

/** Runs `pending` through the pipeline from the checkpoint's state (see the module comment). */
export function recover(
  store: readonly Event[],
  pending: readonly JournaledEvent[],
  checkpoint: Checkpoint,
  resume: Resume,
  settings: PipelineSettings,
): Recovered {
  const first = pending[0];
  if (first === undefined) return { effects: [], ...(checkpoint.status === undefined ? {} : { status: checkpoint.status }) };
  const alarmsThen = new Set(checkpoint.alarms ?? []);
  const world = store.filter((e) => !(e.type === 'firestore.doc' && e.collection === ALARMS && !alarmsThen.has(e.id)));
  const events = pending.filter((p) => p.event.type !== 'clock.tick');
  const last = Math.max(...events.map((p) => p.at), first.at);
  const scheduler = new EpochVirtualScheduler(first.at, last - first.at);
  const event$ = onVirtualClock(scheduler, events, world);
  const { status: _later, ...rest } = resume;
  const effects: Effect[] = [];
  let status = checkpoint.status;
  const subscription = pipeline(event$, {
    scheduler,
    settings,
    resume: { ...rest, ...(checkpoint.status === undefined ? {} : { status: checkpoint.status }) },
  }).pipe(filter((effect) => REDONE.has(effect.type))).subscribe((effect) => {
    if (effect.type === 'state.status') status = effect.status;
    else effects.push(effect);
  });
  scheduler.flush();
  subscription.unsubscribe();
  return { effects, ...(status === undefined ? {} : { status }) };
}

/** Waits for `count` reports of `report$` (or `ms`), whichever comes first. */
export function settledWithin<T>(report$: Observable<T>, count: number, ms: number): Promise<T[]> {
  return firstValueFrom(report$.pipe(take(count), takeUntil(timer(ms)), toArray()));
}
