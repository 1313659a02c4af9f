/**
 * What a sink driver says back about the effects it performed. The root turns `alert` into
 * operator alerts and feeds `event` back into the pipeline (the face recogniser's answer).
 */
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';

export type SinkName = 'mqtt' | 'rtdb' | 'firestore' | 'slack' | 'face' | 'state';

export type SinkReport =
  | { readonly kind: 'done'; readonly sink: SinkName; readonly effect: Effect }
  | { readonly kind: 'failed'; readonly sink: SinkName; readonly effect: Effect; readonly error: string }
  | { readonly kind: 'alert'; readonly sink: SinkName; readonly level: 'warning' | 'error'; readonly text: string }
  | { readonly kind: 'event'; readonly sink: SinkName; readonly event: Event };
