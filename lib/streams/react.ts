/**
 * The one operator the streams are built from: a state machine over observed events whose
 * step returns the next state and the effects to emit. A step that throws (a bug, not bad input:
 * bad input is decoded into values) is reported as a system error and its state kept, so one
 * poisoned event never ends the stream.
 *
 * Written as a plain operator rather than `scan` + `mergeMap`: it runs for every event of every
 * stream, and an inner subscription per event was the pipeline's largest cost.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Effect } from '../protocol/effects.js';
import type { Topics } from '../protocol/topics.js';
import { systemError } from './alerts.js';
import { errorText } from '../base/error-text.js';

export type Step<S, I> = (state: S, input: I) => readonly [S, readonly Effect[]];

export function react<S, I>(name: string, topics: Topics, initial: S, step: Step<S, I>): OperatorFunction<I, Effect> {
  return (input$) =>
    new Observable<Effect>((subscriber) => {
      let state = initial;
      return input$.subscribe({
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
      });
    });
}

/** The same for stateless handlers. */
export function handle<I>(name: string, topics: Topics, fn: (input: I) => readonly Effect[]): OperatorFunction<I, Effect> {
  return react<null, I>(name, topics, null, (_s, input) => [null, fn(input)]);
}
