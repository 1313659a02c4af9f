/**
 * Status tracking (SPEC 5): the world fold applies reports and controls; this stream reports the
 * codes it had to ignore, naming where they came from and what is wrong with them, and emits
 * each new tracked status as a `state.status` effect for the service to persist.
 */
import { filter, type Observable } from 'rxjs';
import { encode } from '../protocol/home-code.js';
import { truncate } from '../protocol/errors.js';
import { warning } from './alerts.js';
import type { Deps } from './deps.js';
import type { Effect } from '../protocol/effects.js';
import { handle, type Observed } from './world.js';

export function status$(observed$: Observable<Observed>, deps: Deps): Observable<Effect> {
  const { topics } = deps.settings;
  // One subscription for both outputs (every stream's filter runs on every event): an invalid
  // code never changes the tracked status, so an event gives one of the two at most.
  return observed$.pipe(
    filter(({ change, statusBefore, world }) => change.kind === 'invalid' || (world.status !== undefined && world.status !== statusBefore)),
    handle('status', topics, ({ change, world }): readonly Effect[] =>
      change.kind === 'invalid'
        ? warning(topics, truncate(`ignored invalid status code from ${change.source}: ${change.error.message}`))
        : [{ type: 'state.status', status: encode(world.status!) }],
    ),
  );
}
