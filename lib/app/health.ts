/**
 * The one owner of what the service tells its operators (issue 16: a health map changed from 8
 * places and a feedback Subject fed from 7). Every step goes through these methods:
 * - the health map, which /healthz and the dashboard read: a part that is down, with why;
 * - the feedback events, which go back into the pipeline: `service.alert`s (Slack, the log, the
 *   dashboard) and what a sink hands back as an event (the face recogniser's answer).
 * A plain Subject, as before: what is fed before the pipeline subscribes is not kept.
 */
import { Subject, type Observable } from 'rxjs';
import type { Health, SourceState } from '../http/endpoint.js';
import type { Event } from '../core/protocol/events.js';

export type AlertLevel = 'error' | 'warning' | 'info';

export class ServiceHealth {
  private readonly parts = new Map<string, SourceState>();
  private readonly feedback = new Subject<Event>();
  /** The events fed back into the pipeline (merged with the sources in `sources.ts`). */
  readonly feedback$: Observable<Event> = this.feedback;

  /** What /healthz and the dashboard show (the same map, read when they are asked). */
  readonly view = (): Health => this.parts;

  /** An alert to the operators, as a `service.alert` event into the pipeline. */
  alert(level: AlertLevel, text: string): void {
    this.feedback.next({ type: 'service.alert', level, text });
  }

  /** An event a sink hands back (the face recogniser's answer) into the pipeline. */
  feed(event: Event): void {
    this.feedback.next(event);
  }

  /** Sets a part's state: `{ up: true }`, or down with the reason. */
  set(what: string, state: SourceState): void {
    this.parts.set(what, state);
  }

  /** A part that is no longer reported (a store listener that works again: no entry). */
  forget(what: string): void {
    this.parts.delete(what);
  }
}
