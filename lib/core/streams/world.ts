/**
 * The state every stream reads, folded once from the events (`scan`): the mirrored RTDB tree,
 * the Firestore collections the backend uses, and the tracked 9-character status (SPEC 5).
 *
 * Each item of `observed$` is an event together with the world right after it and what the event
 * did to the status, so streams never fold the same thing twice. The world is updated in place
 * for speed: read it synchronously while handling an item, never keep a reference to it.
 *
 * Every stream then reacts to the observed events with `react` (at the end): the world and the
 * operator that reads it are in one file, the two things each stream is built from.
 */
import { defer, map, Observable, type OperatorFunction } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { apply, sameCode } from '../protocol/apply.js';
import { decode, type HomeCode, type ProtocolError } from '../protocol/home-code.js';
import { topicFilter, topicMatches, type Topics } from '../protocol/topics.js';
import { COLLECTIONS, type Collection, type Event } from '../protocol/events.js';
import type { Effect } from '../protocol/effects.js';
import { errorText } from '../../base/error-text.js';
import { systemError } from './alerts.js';
import type { RouteKey } from './kinds.js';

export type Doc = Readonly<Record<string, unknown>>;

export const STATUS_PATH = 'smarthome/status';

export interface World {
  /** The RTDB as last seen (plain JSON; objects are replaced along a written path). */
  tree: unknown;
  readonly docs: Readonly<Record<Collection, Map<string, Doc>>>;
  /** The tracked status: the last report with every control seen since applied on top. */
  status: HomeCode | undefined;
  /** The last status the home itself reported. */
  report: HomeCode | undefined;
  /**
   * The written RTDB paths, split (they are few: the paths the backend listens to). Kept per
   * world, so each pipeline has its own and none outlives it.
   */
  readonly paths: Map<string, readonly string[]>;
}

/** What an event meant for the tracked status. */
export type StatusChange =
  | { readonly kind: 'none' }
  | { readonly kind: 'report'; readonly code: HomeCode }
  | { readonly kind: 'control'; readonly code: HomeCode }
  | { readonly kind: 'invalid'; readonly source: string; readonly raw: unknown; readonly error: ProtocolError };

export interface Observed<E extends Event = Event> {
  readonly event: E;
  readonly world: World;
  /** The status before this event; `statusBefore !== world.status` means it changed. */
  readonly statusBefore: HomeCode | undefined;
  readonly change: StatusChange;
  /** What the pipeline routes it by (kinds.ts). */
  readonly key: RouteKey;
}

/** A world that knows nothing yet, but the status a previous run tracked (not a report). */
export function emptyWorld(status?: HomeCode): World {
  return {
    tree: null,
    docs: { user_account: new Map(), modes: new Map(), schedule_mode: new Map(), appliance_alarm: new Map() },
    status,
    report: undefined,
    paths: new Map(),
  };
}

export function splitPath(path: string): readonly string[] {
  return path.split('/').filter((p) => p !== '');
}

/** `path` split, from the world's own kept forms (at most 1000 kept). */
function splitKept(world: World, path: string): readonly string[] {
  let parts = world.paths.get(path);
  if (parts === undefined) {
    parts = splitPath(path);
    // Stryker disable next-line ConditionalExpression,EqualityOperator,CallExpression: a cache of split paths: kept or not, the same parts come out
    if (world.paths.size < 1000) world.paths.set(path, parts);
  }
  return parts;
}

/** `a/b` for `/a/b/`, `a//b` and `a/b` alike (cheap when the path is already plain). */
function normalPath(path: string): string {
  return path.startsWith('/') || path.endsWith('/') || path.includes('//') ? splitPath(path).join('/') : path;
}

/** The value at a path of a JSON tree (a path or its parts, split once by the caller), or undefined. */
export function valueAt(tree: unknown, path: string | readonly string[]): unknown {
  let node = tree;
  for (const key of typeof path === 'string' ? splitPath(path) : path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Sets a value at a path, copying the objects along it (the old tree may still be read). */
export function setAt(tree: unknown, parts: readonly string[], value: unknown): unknown {
  if (parts.length === 0) return value;
  const [head, ...rest] = parts as [string, ...string[]];
  const node = typeof tree === 'object' && tree !== null && !Array.isArray(tree) ? (tree as Record<string, unknown>) : {};
  const child = setAt(node[head], rest, value);
  const copy = { ...node };
  if (child === null || child === undefined) delete copy[head];
  else copy[head] = child;
  return copy;
}

/** Whether writing at `path` can change the value at `target` (one contains the other). */
export function touches(path: string, target: string): boolean {
  const a = normalPath(path);
  return a === '' || target === a || target.startsWith(`${a}/`) || a.startsWith(`${target}/`);
}

function isCollection(name: string): name is Collection {
  return (COLLECTIONS as readonly string[]).includes(name);
}

/** Most events do nothing to the status: one shared (read-only) answer instead of one per event. */
const NONE: StatusChange = { kind: 'none' };
const RTDB_STATUS = `RTDB ${STATUS_PATH}`;
const STATUS_PARTS = splitPath(STATUS_PATH);

/** Folds one event into the world (in place) and says what it did to the status. */
export function foldEvent(world: World, event: Event, topics: Topics): StatusChange {
  switch (event.type) {
    case 'rtdb.value': {
      world.tree = setAt(world.tree, splitKept(world, event.path), event.value);
      if (!touches(event.path, STATUS_PATH)) return NONE;
      const raw = valueAt(world.tree, STATUS_PARTS);
      return raw === undefined || raw === null ? NONE : report(world, raw, RTDB_STATUS);
    }
    case 'firestore.doc': {
      if (!isCollection(event.collection)) return NONE;
      const docs = world.docs[event.collection];
      if (event.data === null) docs.delete(event.id);
      else docs.set(event.id, event.data);
      return NONE;
    }
    case 'mqtt.message':
      // Stryker disable next-line StringLiteral: a fast path: topicMatches('', topic) is false for every topic an MQTT message can have (never empty)
      if (topics.status !== '' && topicMatches(topics.status, event.topic)) {
        return report(world, event.payload, `topic ${event.topic}`);
      }
      if (topicMatches(topics.controls, event.topic)) return control(world, event.payload, `topic ${event.topic}`);
      return NONE;
    default:
      return NONE;
  }
}

function report(world: World, raw: unknown, source: string): StatusChange {
  const decoded = decode(raw);
  if (E.isLeft(decoded)) return { kind: 'invalid', source, raw, error: decoded.left };
  world.report = decoded.right;
  // The same status keeps its object, so streams can tell a change by reference.
  if (world.status === undefined || !sameCode(world.status, decoded.right)) world.status = decoded.right;
  return { kind: 'report', code: decoded.right };
}

function control(world: World, raw: string, source: string): StatusChange {
  const decoded = decode(raw);
  if (E.isLeft(decoded)) return { kind: 'invalid', source, raw, error: decoded.left };
  // Before the first report the home's state is unknown: a control alone cannot set it.
  if (world.status !== undefined) {
    const next = apply(world.status, decoded.right);
    if (!sameCode(world.status, next)) world.status = next;
  }
  return { kind: 'control', code: decoded.right };
}

/**
 * What the pipeline routes an observed event by (kinds.ts): an MQTT message by whether it is a
 * command and whether the fold read a status from it, a Firestore document by its collection.
 * Stamped here by the fold, so a stream run alone (`ofType`, stream.ts) picks the same events.
 */
function routeKey(event: Event, change: StatusChange, isCommand: (topic: string) => boolean, topics: Topics): RouteKey {
  switch (event.type) {
    case 'mqtt.message': {
      const status = change.kind !== 'none';
      if (event.topic !== topics.serverStatus && isCommand(event.topic)) return status ? 'mqtt.command+status' : 'mqtt.command';
      return status ? 'mqtt.status' : 'mqtt.other';
    }
    case 'firestore.doc':
      return isCollection(event.collection) ? `firestore.${event.collection}` : 'firestore.other';
    default:
      return event.type;
  }
}

/**
 * A fold of its own world: each call folds one event into it and returns the observed item.
 * The pipeline calls it directly for every event (an operator between its queue and its router
 * cost two RxJS hops an event); `observe` is the same as an operator.
 */
export function folder(topics: Topics, status?: HomeCode): (event: Event) => Observed {
  const isCommand = topicFilter(topics.commands);
  const world = emptyWorld(status);
  return (event) => {
    const statusBefore = world.status;
    const change = foldEvent(world, event, topics);
    return { event, world, statusBefore, change, key: routeKey(event, change, isCommand, topics) };
  };
}

/**
 * Folds an event stream into observed items (used by specs and tools; the pipeline uses `folder`).
 * Each subscription folds its own world.
 */
export function observe(topics: Topics, status?: HomeCode): OperatorFunction<Event, Observed> {
  return (event$) => defer(() => event$.pipe(map(folder(topics, status))));
}

/**
 * The one operator the streams are built from: a state machine over observed events whose
 * step returns the next state and the effects to emit. A step that throws (a bug, not bad input:
 * bad input is decoded into values) is reported as a system error and its state kept, so one
 * poisoned event never ends the stream.
 *
 * The state belongs to the stream (the operator applied once, when the pipeline builds the
 * stream), not to one subscription: a stream that errors elsewhere and is resubscribed by the
 * pipeline (`supervise`, pipeline.ts) carries on from the state it had.
 *
 * Written as a plain operator rather than `scan` + `mergeMap`: it runs for every event of every
 * stream, and an inner subscription per event was the pipeline's largest cost.
 */
export type Step<S, I> = (state: S, input: I) => readonly [S, readonly Effect[]];

export function react<S, I>(name: string, topics: Topics, initial: S, step: Step<S, I>): OperatorFunction<I, Effect> {
  return (input$) => {
    let state = initial;
    return new Observable<Effect>((subscriber) =>
      input$.subscribe({
        next: (input) => {
          let effects: readonly Effect[];
          try {
            [state, effects] = step(state, input);
          } catch (err) {
            const reason = errorText(err);
            effects = systemError(topics, `${name} failed on an event and skipped it: ${reason}`);
          }
          for (const effect of effects) subscriber.next(effect);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
  };
}

/** The same for stateless handlers. */
export function handle<I>(name: string, topics: Topics, fn: (input: I) => readonly Effect[]): OperatorFunction<I, Effect> {
  return react<null, I>(name, topics, null, (_s, input) => [null, fn(input)]);
}
