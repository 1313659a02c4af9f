/**
 * The check of work (SPEC 5, the seed's unfinished item): once the home has reported a status,
 * every control sent to it (by the backend or by another client, as observed on the control
 * topic) must be confirmed by a later report that agrees on every position the control sets.
 * A control the last report already agrees with needs no change and counts as confirmed.
 * One that stays unconfirmed for COMMAND_CONFIRM_S raises one alert naming it.
 *
 * Pending controls are kept by code (the same control sent twice is one wait, from the first
 * send) and their deadlines checked on clock ticks, so a burst of controls costs no timers.
 */
import { filter } from 'rxjs';
import { confirms } from '../protocol/apply.js';
import { encode, type HomeCode } from '../protocol/home-code.js';
import { systemError } from './alerts.js';
import { stream, type ObservedOf } from './stream.js';
import { react } from './world.js';

interface Pending {
  readonly code: HomeCode;
  readonly deadline: number;
}

type State = ReadonlyMap<string, Pending>;

/** Ticks for the deadlines; reports and controls from MQTT or the RTDB status path (world.ts). */
export const checkOfWork$ = stream(['clock.tick', 'mqtt.status', 'rtdb.value'], (observed$, deps) => {
  const { topics, commandConfirmS } = deps.settings;
  const waitMs = commandConfirmS * 1000;
  return observed$.pipe(
    filter(({ event, change }) => event.type === 'clock.tick' || change.kind === 'control' || change.kind === 'report'),
    // Stryker disable next-line StringLiteral: the stream's name, text of the crash message only (no valid or invalid input makes this step throw)
    react<State, ObservedOf<'clock.tick' | 'mqtt.status' | 'rtdb.value'>>('check of work', topics, new Map(), (pending, { change, world }) => {
      if (change.kind === 'report') {
        // Copied only when the report confirms something (most reports confirm nothing new).
        let left: Map<string, Pending> | undefined;
        for (const [key, p] of pending) {
          if (!confirms(change.code, p.code)) continue;
          left ??= new Map(pending);
          left.delete(key);
        }
        return [left ?? pending, []];
      }
      if (change.kind === 'control') {
        if (world.report === undefined || confirms(world.report, change.code)) return [pending, []];
        const key = encode(change.code);
        if (pending.has(key)) return [pending, []];
        return [new Map(pending).set(key, { code: change.code, deadline: deps.scheduler.now() + waitMs }), []];
      }
      const now = deps.scheduler.now();
      const late = [...pending].filter(([, p]) => p.deadline <= now);
      if (late.length === 0) return [pending, []];
      const left = new Map(pending);
      for (const [key] of late) left.delete(key);
      return [left, late.flatMap(([key]) => systemError(topics, `the home did not confirm control ${key} within ${commandConfirmS} s`))];
    }),
  );
});
