/**
 * The whole behaviour of the backend: events in, effects out, no I/O (SPEC 4-8).
 *
 * The events are folded once into the world (`world.ts`) and every stream reads the result.
 * The backend's own Firestore and RTDB writes are folded back in at once (as the events their
 * listeners would deliver), so a sign-in right after a sign-up finds the user, and the later
 * echo from the real listener sets the same value again, which changes nothing. MQTT publishes
 * are not folded back: the broker's echo on the control topic is the truth about their order.
 *
 * The loop-back is a small queue in front of the fold: a write made while handling an event
 * is folded only after every stream has seen that event.
 *
 * Each stream declares the event kinds it reads (`stream.ts`), and the router hands each folded
 * event only to the streams that read its kind (kinds.ts), in the order of `STREAMS` (so the effects of one
 * event come out in the same order as when every stream filtered every event). Observers (the
 * dashboard) see every event, after the streams.
 *
 * A stream that errors (`react` turns an exception in a step into an alert; anything around it
 * can still throw) is resubscribed in its place and with its state, at most MAX_RESUBSCRIBES
 * times in a run, each time reported as a system error; then it is given up, and that reported
 * too (`supervise`). An event the fold throws on (a bug) is skipped and reported as a system
 * error. An input that fails ends the pipeline with its error.
 */
import { catchError, concat, defer, isObservable, merge, Observable, of, tap, type Observer, type Subscriber } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { decode, type HomeCode } from '../protocol/home-code.js';
import { alarms$ } from './alarms.js';
import { systemError } from './alerts.js';
import { commands$ } from './server-commands.js';
import { checkOfWork$ } from './check-of-work.js';
import { modes$ } from './modes.js';
import type { Deps } from './deps.js';
import type { Effect } from '../protocol/effects.js';
import type { Event } from '../protocol/events.js';
import { recommendation$ } from './recommendation.js';
import { schedules$ } from './schedules.js';
import { serviceAlerts$ } from './service-alerts.js';
import { status$ } from './status.js';
import { weather$ } from './weather-sensor.js';
import { folder, type Observed } from './world.js';
import { errorText } from '../../base/error-text.js';
import { Router } from '../../base/router.js';
import { ROUTE_KEYS, type Kind, type RouteKey } from './kinds.js';
import { keysOf, type ObservedOf, type Stream } from './stream.js';

/**
 * Makes one stream from the observed events; called once per pipeline (its state lives inside).
 * A `Stream` (stream.ts) receives only the kinds it reads; a plain function every event.
 */
export type StreamFactory = ((observed$: Observable<Observed>, deps: Deps) => Observable<Effect>) | Stream;

export const STREAMS: Readonly<Record<string, StreamFactory>> = {
  commands: commands$,
  status: status$,
  alarms: alarms$,
  recommendation: recommendation$,
  schedules: schedules$,
  weather: weather$,
  confirm: checkOfWork$,
  modes: modes$,
  service: serviceAlerts$,
};

/** The event an own write would produce at its listener. */
export function echoOf(effect: Effect): Event | undefined {
  switch (effect.type) {
    case 'firestore.set':
      return { type: 'firestore.doc', collection: effect.collection, id: effect.id, data: effect.data };
    case 'firestore.delete':
      return { type: 'firestore.doc', collection: effect.collection, id: effect.id, data: null };
    case 'rtdb.set':
      return { type: 'rtdb.value', path: effect.path, value: effect.value };
    // Stryker disable next-line ConditionalExpression: without its return, the function returns undefined after the switch all the same
    default:
      return undefined;
  }
}

/** The status a previous run tracked, if it left a valid one. */
function resumedStatus(deps: Deps): HomeCode | undefined {
  const code = deps.resume.status === undefined ? undefined : decode(deps.resume.status);
  return code !== undefined && E.isRight(code) ? code.right : undefined;
}

/**
 * Runs every stream over the events; completes when the events complete and the streams settle.
 * `observers` (the dashboard) see every event after the streams; their output is merged too.
 */
export function pipeline(
  event$: Observable<Event>, deps: Deps, streams: Readonly<Record<string, StreamFactory>> = STREAMS,
  observers: Readonly<Record<string, StreamFactory>> = {},
): Observable<Effect> {
  return defer(() => {
    const fold = folder(deps.settings.topics, resumedStatus(deps));
    const router = new Router<Observed, RouteKey>(ROUTE_KEYS, (o) => o.key);

    // Stryker disable next-line ArrayDeclaration: a bogus place has no release, and Subscription.add ignores an undefined teardown
    const places: Place[] = [];
    const outputs = [...Object.entries(streams), ...Object.entries(observers)].map(([name, stream]) => {
      const place = holdPlace(router, 'reads' in stream ? keysOf(stream.reads) : undefined);
      // Stryker disable next-line CallExpression: the router dies with the pipeline: a place not released at the end is handed no more events
      places.push(place);
      // The router hands a stream only the route keys of its kinds: what `ofType` narrows to.
      // Stryker disable next-line StringLiteral: a Stream called plainly picks the same kinds (ofType) from the same routed events
      const out: unknown = 'reads' in stream ? stream.body(place.input$ as Observable<ObservedOf<Kind>>, deps) : stream(place.input$, deps);
      if (!isObservable(out)) throw new TypeError(`stream "${name}" returned ${String(out)} instead of an Observable`);
      return supervise(name, out as Observable<Effect>, place, deps);
    });
    return new Observable<Effect>((subscriber) => {
      // Events and echoes of own writes go through one queue: an echo raised while an event is
      // being handled waits until every stream has seen that event (a trampoline, like the queue
      // scheduler, without an action object per event). Each is folded and routed by plain calls
      // (an operator for the fold and a subscriber for the router were three RxJS hops an event).
      // Stryker disable next-line ArrayDeclaration: a bogus first entry folds as an event of no type: it changes nothing and routes to no key
      const queue: Event[] = [];
      let draining = false;
      // Until the events are subscribed (below), an echo goes nowhere.
      let push: (event: Event) => void = () => undefined;
      const effects = merge(...outputs)
        .pipe(
          tap((effect) => {
            const event = echoOf(effect);
            if (event !== undefined) push(event);
          }),
        )
        .subscribe(subscriber);
      // Stryker disable next-line CallExpression: the router dies with the pipeline: a place not released at the end is handed no more events
      for (const place of places) effects.add(place.release);
      push = (event) => {
        queue.push(event);
        if (draining) return;
        draining = true;
        try {
          for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
            let observed: Observed;
            try {
              observed = fold(next);
            } catch (err) {
              // A bug (the fold decodes: bad input does not throw), reported as `react` reports a
              // step's: the event is skipped and the home goes on with the next one. Ending the
              // pipeline instead left a process up that handled nothing.
              for (const effect of systemError(deps.settings.topics, `the world fold failed on a ${next.type} event and skipped it: ${errorText(err)}`)) subscriber.next(effect);
              continue;
            }
            router.next(observed);
          }
        } finally {
          draining = false;
        }
      };
      // Every stream subscribes before the events start: a cold source that emits at once (a
      // replay, a benchmark) must reach all of them. An input that fails ends the pipeline with
      // its error: no stream failed, so none is resubscribed.
      effects.add(event$.subscribe({ next: (event) => push(event), error: (err: unknown) => subscriber.error(err), complete: () => router.complete() }));
      return effects;
    });
  });
}

/**
 * How many times the pipeline resubscribes a stream that errors before it gives the stream up for
 * the rest of the run (ngrx's `EffectsModule` resubscribes an effect 10 times, too).
 */
export const MAX_RESUBSCRIBES = 10;

/**
 * A stream's input: its place among the router's subscribers, taken when the stream is first
 * subscribed and held until the pipeline ends or gives the stream up. A resubscribed stream reads
 * on from the next event in the same place, so its effects for an event keep their order among
 * the other streams'. The place hands each event to the stream's subscribers as a Subject would
 * (and, ended, ends a late subscriber at once), by plain calls: it runs for every event of
 * every stream.
 */
interface Place {
  readonly input$: Observable<Observed>;
  readonly release: () => void;
}

function holdPlace(router: Router<Observed, RouteKey>, keys: readonly RouteKey[] | undefined): Place {
  /** The stream's subscribers (one, unless it reads its input twice); replaced, never changed in place. */
  let subscribers: ReadonlyArray<Subscriber<Observed>> = [];
  let ended: { readonly error?: unknown } | undefined;
  let held: (() => void) | undefined;
  const end = (how: { readonly error?: unknown }): void => {
    ended = how;
    const list = subscribers;
    // Stryker disable next-line ArrayDeclaration: after its end a place is handed no event, so the list is not read again
    subscribers = [];
    for (const subscriber of list) {
      // Stryker disable next-line StringLiteral,CallExpression: the pipeline never errors its router: a place only ends by completing
      if ('error' in how) subscriber.error(how.error);
      else subscriber.complete();
    }
  };
  const place: Observer<Observed> = {
    next: (observed) => {
      for (const subscriber of subscribers) subscriber.next(observed);
    },
    // Stryker disable next-line ArrowFunction,ObjectLiteral: the pipeline never errors its router: a place only ends by completing
    error: (err: unknown) => end({ error: err }),
    complete: () => end({}),
  };
  return {
    input$: new Observable<Observed>((subscriber) => {
      if (ended !== undefined) {
        // Stryker disable next-line StringLiteral,CallExpression: the pipeline never errors its router: a place only ends by completing
        if ('error' in ended) subscriber.error(ended.error);
        else subscriber.complete();
        return undefined;
      }
      subscribers = [...subscribers, subscriber];
      held ??= router.add(place, keys);
      // Stryker disable next-line BlockStatement: a subscriber left in the list is closed, and a closed subscriber ignores next
      return () => {
        subscribers = subscribers.filter((s) => s !== subscriber);
      };
    }),
    // Stryker disable next-line ArrowFunction: the router dies with the pipeline, and a given-up stream's place has no subscribers left: kept, it hands events to no one
    release: () => held?.(),
  };
}

/**
 * Last line of defence: a stream that errors anyway (`react` already turns an exception in a
 * step into an alert; an operator around it, or a stream's subscription, can still throw) is
 * reported and resubscribed, at most MAX_RESUBSCRIBES times in a run, then reported and given
 * up. Its state survives a resubscribe: `react` keeps it per stream, not per subscription.
 */
function supervise(name: string, effect$: Observable<Effect>, place: Place, deps: Deps): Observable<Effect> {
  const { topics } = deps.settings;
  let failures = 0;
  return effect$.pipe(
    catchError((err: unknown, caught) => {
      failures++;
      const reason = errorText(err);
      if (failures > MAX_RESUBSCRIBES) {
        // Stryker disable next-line CallExpression: a given-up stream's place has no subscribers left: kept in the router, it hands events to no one
        place.release();
        return of(...systemError(topics, `stream ${name} failed again after ${MAX_RESUBSCRIBES} restarts and is stopped for the rest of the run: ${reason}`));
      }
      return concat(of(...systemError(topics, `stream ${name} failed and was restarted (${failures} of ${MAX_RESUBSCRIBES}): ${reason}`)), caught);
    }),
  );
}
