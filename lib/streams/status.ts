/**
 * Status tracking (SPEC 5): the world fold applies reports and controls; this stream reports the
 * codes it had to ignore, naming where they came from and what is wrong with them.
 */
import { filter, type Observable } from 'rxjs';
import { truncate } from '../protocol/errors.js';
import { warning } from './alerts.js';
import type { Deps } from './deps.js';
import type { Effect } from './effects.js';
import { handle } from './react.js';
import type { Observed, StatusChange } from './world.js';

type Invalid = Extract<StatusChange, { kind: 'invalid' }>;

export function status$(observed$: Observable<Observed>, deps: Deps): Observable<Effect> {
  const { topics } = deps.settings;
  return observed$.pipe(
    filter((o): o is Observed & { change: Invalid } => o.change.kind === 'invalid'),
    handle('status', topics, ({ change }) =>
      warning(topics, truncate(`ignored invalid status code from ${change.source}: ${change.error.message}`)),
    ),
  );
}
