/**
 * Status tracking (SPEC 5): the world fold applies reports and controls; this stream reports the
 * codes it had to ignore, naming where they came from and what is wrong with them, and emits
 * each new tracked status as a `state.status` effect for the service to persist.
 */
import { filter, map, merge, type Observable } from 'rxjs';
import { encode } from '../protocol/home-code.js';
import { truncate } from '../protocol/errors.js';
import { warning } from './alerts.js';
import type { Deps } from './deps.js';
import type { Effect } from './effects.js';
import { handle } from './react.js';
import type { Observed, StatusChange } from './world.js';

type Invalid = Extract<StatusChange, { kind: 'invalid' }>;

export function status$(observed$: Observable<Observed>, deps: Deps): Observable<Effect> {
  const { topics } = deps.settings;
  const invalid$ = observed$.pipe(
    filter((o): o is Observed & { change: Invalid } => o.change.kind === 'invalid'),
    handle('status', topics, ({ change }) =>
      warning(topics, truncate(`ignored invalid status code from ${change.source}: ${change.error.message}`)),
    ),
  );
  const tracked$ = observed$.pipe(
    filter(({ statusBefore, world }) => world.status !== undefined && world.status !== statusBefore),
    map(({ world }): Effect => ({ type: 'state.status', status: encode(world.status!) })),
  );
  return merge(invalid$, tracked$);
}
