/**
 * A stream and the event kinds it reads (issue 26; STYLE.md, "Routing"): the pipeline delivers
 * only those kinds to it, already narrowed, so an event reaches the streams that read it and no
 * other (redux-observable's `ofType`, with the kinds declared up front instead of filtered in).
 */
import { filter, type Observable, type OperatorFunction } from 'rxjs';
import type { Effect } from '../protocol/effects.js';
import type { Deps } from './deps.js';
import { KEYS_OF, type EventOfKind, type Kind, type RouteKey } from './kinds.js';
import type { Observed } from './world.js';

/** Observed events of the kinds K (kinds.ts), their event narrowed to those kinds. */
export type ObservedOf<K extends Kind> = Observed<EventOfKind<K>>;

/** The route keys that carry any of `kinds`. */
export const keysOf = (kinds: readonly Kind[]): RouteKey[] => [...new Set(kinds.flatMap((kind) => KEYS_OF[kind]))];

/** Keeps the observed events of `kinds`, narrowed. */
export function ofType<K extends Kind>(...kinds: K[]): OperatorFunction<Observed, ObservedOf<K>> {
  const keys = keysOf(kinds);
  return filter((o): o is ObservedOf<K> => keys.includes(o.key));
}

/**
 * A stream that reads the kinds K. The pipeline hands `body` the routed events; called alone
 * (specs, tools), it picks its kinds from all the observed events with `ofType`.
 */
export interface Stream<K extends Kind = Kind> {
  (observed$: Observable<Observed>, deps: Deps): Observable<Effect>;
  readonly reads: readonly K[];
  /** A method, so a `Stream<K>` is a `Stream` (the pipeline routes any K). */
  body(observed$: Observable<ObservedOf<K>>, deps: Deps): Observable<Effect>;
}

export function stream<K extends Kind>(reads: readonly K[], body: (observed$: Observable<ObservedOf<K>>, deps: Deps) => Observable<Effect>): Stream<K> {
  const alone = (observed$: Observable<Observed>, deps: Deps): Observable<Effect> => body(observed$.pipe(ofType(...reads)), deps);
  // Stryker disable next-line ObjectLiteral: the pipeline then calls the stream plainly, which picks the same kinds (ofType) from every event
  return Object.assign(alone, { reads, body });
}
