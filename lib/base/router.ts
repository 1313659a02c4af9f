/**
 * Delivers each item only to the subscribers that read its kind (issue 26): one lookup per item,
 * instead of every subscriber's filter running for every item. The pipeline routes events to the
 * streams with it, the service effects to their drivers.
 *
 * Subscribers of a kind are called in the order they subscribed, as a Subject calls them, so
 * routing changes who is called, never the order of what they emit. A subscriber of every kind
 * (an observer: the dashboard) is in every kind's list, at its place in that order. The router is
 * itself an observer: `source$.subscribe(router)` feeds it.
 */
import { Observable, type Observer } from 'rxjs';

export class Router<T, K extends string> implements Observer<T> {
  /** Per kind, its subscribers; replaced, never changed in place, so a dispatch under way is safe. */
  private readonly routes = new Map<K, ReadonlyArray<Observer<T>>>();
  /** Every subscriber, in the order of subscription (for the end). */
  private all: ReadonlyArray<Observer<T>> = [];

  constructor(
    readonly kinds: readonly K[],
    private readonly kindOf: (item: T) => K,
  ) {
    for (const kind of kinds) this.routes.set(kind, []);
  }

  /** The items of `kinds` (of every kind when not given), from the next one routed. */
  of(kinds: readonly K[] = this.kinds): Observable<T> {
    return new Observable<T>((subscriber) => this.add(subscriber, kinds));
  }

  /**
   * `observer` is given the items of `kinds` from the next one routed, until the returned function
   * is called. For an observer that only hands items on (the pipeline's places) and never throws:
   * `of` puts a Subscriber around each, which costs calls on every item.
   */
  add(observer: Observer<T>, kinds: readonly K[] = this.kinds): () => void {
    for (const kind of kinds) this.routes.set(kind, [...(this.routes.get(kind) ?? []), observer]);
    this.all = [...this.all, observer];
    return () => {
      this.all = this.all.filter((s) => s !== observer);
      for (const kind of kinds) this.routes.set(kind, (this.routes.get(kind) ?? []).filter((s) => s !== observer));
    };
  }

  next(item: T): void {
    const subscribers = this.routes.get(this.kindOf(item));
    if (subscribers !== undefined) for (const subscriber of subscribers) subscriber.next(item);
  }

  error(err: unknown): void {
    for (const subscriber of this.all) subscriber.error(err);
  }

  complete(): void {
    for (const subscriber of this.all) subscriber.complete();
  }
}

/** The kind of an item that has a `type` (effects): a key function of this file, for the router. */
export const byType = <K extends string>(item: { readonly type: K }): K => item.type;
