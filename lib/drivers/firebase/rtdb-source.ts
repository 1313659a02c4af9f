/**
 * RTDB source: the values at some paths as `rtdb.value` events, each path's current value
 * first (`null` when empty), then every new value. Works on any `TreeStore` (firebase-admin or
 * the local store). A listener that fails is logged and re-established after `backoff(n)`.
 * No decoding here: values are passed on as they are.
 */
import { defer, map, merge, Observable } from 'rxjs';
import type { TreeStore } from '../../store/types.js';
import type { RtdbValue } from '../../core/protocol/events.js';
import { relisten, tellLoaded, type ListenerOptions } from './firestore-source.js';

export type { ListenerOptions } from './firestore-source.js';

/** The paths the backend reads and writes (SPEC 1, 7, 8). */
export const PATHS = ['smarthome', 'sensor/hometemp', 'sensor/openweather', 'server/notification'] as const;

/** One path listener as a cold Observable; unsubscribing stops the listener. */
export const values = (tree: TreeStore, path: string): Observable<unknown> =>
  new Observable<unknown>((subscriber) =>
    tree.watch(path, (value) => subscriber.next(value), (err) => subscriber.error(err)));

export function fromRtdb(tree: TreeStore, paths: readonly string[], options: ListenerOptions): Observable<RtdbValue> {
  return merge(...paths.map((path) => defer(() => values(tree, path)).pipe(
    map((value): RtdbValue => ({ type: 'rtdb.value', path, value })),
    tellLoaded(`RTDB ${path}`, options.onLoaded),
    relisten(`RTDB ${path}`, options),
  )));
}
