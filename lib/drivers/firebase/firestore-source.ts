/**
 * Firestore source: the documents of some collections as `firestore.doc` events, each
 * collection's initial state first, then every change (`data: null` = deleted). Works on any
 * `DocumentStore` (firebase-admin or the local store).
 *
 * A listener that fails is logged and re-established after `backoff(n)`; its new initial
 * snapshot is compared with what was seen before, so documents deleted meanwhile come out as
 * deletions. No decoding here: data is passed on as it is, with the document's write time
 * (`writtenAt`) when the store gives one.
 */
import { defer, from, map, merge, mergeMap, Observable, retry, tap, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import type { Logger } from '../../base/log.js';
import { defaultBackoff, type Backoff } from '../../base/backoff.js';
import { type DocSnapshot, type DocumentStore } from '../../store/types.js';
import type { FirestoreDoc } from '../../core/protocol/events.js';
import { errorText } from '../../base/error-text.js';


export interface ListenerOptions {
  readonly logger: Logger;
  readonly backoff?: Backoff;
  /** For the retry delays; the default is RxJS's async scheduler. */
  readonly scheduler?: SchedulerLike;
  /** Told once when a listener fails (`what` names it), and once when it delivers again. */
  readonly onDown?: (what: string, reason: string) => void;
  readonly onUp?: (what: string) => void;
  /** Told when a listener's first state has been emitted (after a re-listen too). */
  readonly onLoaded?: (what: string) => void;
}

/** Emits everything; once the first item has been passed on downstream, calls `onLoaded`. */
export function tellLoaded<T>(what: string, onLoaded: ((what: string) => void) | undefined): MonoTypeOperatorFunction<T> {
  return (source$) =>
    onLoaded === undefined
      ? source$
      : new Observable<T>((subscriber) => {
          let told = false;
          return source$.subscribe({
            next: (item) => {
              subscriber.next(item);
              if (told) return;
              told = true;
              onLoaded(what);
            },
            error: (err: unknown) => subscriber.error(err),
            complete: () => subscriber.complete(),
          });
        });
}

/**
 * Re-establishes a failing listener after `backoff(n)`, logging each failure and telling
 * `onDown` / `onUp` about the outage once each (shared by the Firestore and RTDB sources).
 */
export function relisten<T>(what: string, options: ListenerOptions): MonoTypeOperatorFunction<T> {
  const backoff = options.backoff ?? defaultBackoff;
  return (listener$) =>
    defer(() => {
      let down = false;
      return listener$.pipe(
        tap(() => {
          if (!down) return;
          down = false;
          options.onUp?.(what);
        }),
        retry({
          delay: (err: unknown, attempt: number) => {
            const ms = backoff(attempt);
            options.logger[attempt >= 5 ? 'error' : 'warn']({ listener: what, attempt, retryInMs: ms, err: errorText(err) }, `${what}: listener failed, re-establishing it`);
            if (!down) {
              down = true;
              options.onDown?.(what, errorText(err));
            }
            return options.scheduler ? timer(ms, options.scheduler) : timer(ms);
          },
          resetOnSuccess: true,
        }),
      );
    });
}

/** One collection listener as a cold Observable; unsubscribing stops the listener. */
export const snapshots = (docs: DocumentStore, collection: string): Observable<DocSnapshot> =>
  new Observable<DocSnapshot>((subscriber) =>
    docs.watch(collection, (snapshot) => subscriber.next(snapshot), (err) => subscriber.error(err)));

/** Events for one snapshot; `known` holds the ids present so far and is updated. */
function eventsOf(collection: string, snapshot: DocSnapshot, known: Set<string>): FirestoreDoc[] {
  const events: FirestoreDoc[] = snapshot.changes.map((c) => ({
    type: 'firestore.doc', collection, id: c.id, data: c.data, ...(c.writtenAt === undefined ? {} : { writtenAt: c.writtenAt }),
  }));
  if (snapshot.initial) {
    const present = new Set(snapshot.changes.filter((c) => c.data !== null).map((c) => c.id));
    for (const id of known) if (!present.has(id)) events.push({ type: 'firestore.doc', collection, id, data: null });
    known.clear();
    for (const id of present) known.add(id);
  } else {
    for (const c of snapshot.changes) {
      if (c.data === null) known.delete(c.id);
      else known.add(c.id);
    }
  }
  return events;
}

export function fromFirestore(docs: DocumentStore, collections: readonly string[], options: ListenerOptions): Observable<FirestoreDoc> {
  return merge(...collections.map((collection) => defer(() => {
    const known = new Set<string>();
    const what = `Firestore ${collection}`;
    return snapshots(docs, collection).pipe(
      map((snapshot) => eventsOf(collection, snapshot, known)),
      // The first snapshot's documents (maybe none) are all passed on before `onLoaded`.
      tellLoaded(what, options.onLoaded),
      mergeMap((events) => from(events)),
      relisten(what, options),
    );
  })));
}
