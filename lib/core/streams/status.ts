/**
 * Status tracking (SPEC 5): the world fold applies reports and controls; this stream reports the
 * codes it had to ignore, naming where they came from and what is wrong with them, and emits
 * each new tracked status as a `state.status` effect for the service to persist.
 */
import { filter } from 'rxjs';
import { encode } from '../protocol/home-code.js';
import { truncate } from '../protocol/errors.js';
import { warning } from './alerts.js';
import type { Effect } from '../protocol/effects.js';
import { stream } from './stream.js';
import { handle } from './world.js';

/** Only reports and controls (MQTT, or the RTDB status path) change the status (world.ts). */
export const status$ = stream(['mqtt.status', 'rtdb.value'], (observed$, deps) => {
  const { topics } = deps.settings;
  // One subscription for both outputs: an invalid code never changes the tracked status, so an
  // event gives one of the two at most.
  return observed$.pipe(
    filter(({ change, statusBefore, world }) => change.kind === 'invalid' || (world.status !== undefined && world.status !== statusBefore)),
    // Stryker disable next-line StringLiteral: the stream's name, text of the crash message only (no valid or invalid input makes this step throw)
    handle('status', topics, ({ change, world }): readonly Effect[] =>
      change.kind === 'invalid'
        ? warning(topics, truncate(`ignored invalid status code from ${change.source}: ${change.error.message}`))
        : [{ type: 'state.status', status: encode(world.status!) }],
    ),
  );
});
