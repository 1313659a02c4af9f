/**
 * The dashboard's 24-hour history after a restart: read back from the service's event journal
 * (`DATA_DIR/events/*.ndjson`, SPEC 9-10), folded through the same world fold as live events
 * (`core/streams/world.ts`), so the timelines and temperature lines a restart finds are the ones the
 * previous run showed. Only the history and the time of the home's last report are taken from
 * it: commands, schedules and alarms come from the live pipeline and the store.
 *
 * It is read by the durability layer's one journal reader (`lib/durability/journal-reader.ts`).
 * Lines this reader does not understand (the `{"resume": ...}` header, a checkpoint, a torn last
 * line) are skipped: the journal is the durability layer's file, and history is best effort.
 * Files untouched for longer than the history window are not read at all.
 */
import * as path from 'node:path';
import type { Topics } from '../core/protocol/topics.js';
import { emptyWorld, foldEvent } from '../core/streams/world.js';
import { EVENTS_DIR, journalFilesSince, readEvents } from '../durability/journal-reader.js';
import { fold, HISTORY_MS, inputsOf, type DashboardState } from './fold.js';

/** Folds the journal's events of the last 24 hours (before `now`) into the state's history. */
export async function loadHistory(state: DashboardState, dataDir: string, now: number, settings: { readonly topics: Topics; readonly commandConfirmS: number }): Promise<number> {
  const files = await journalFilesSince(path.join(dataDir, EVENTS_DIR), now - HISTORY_MS);
  const world = emptyWorld();
  let events = 0;
  await readEvents(files, {}, ({ at, event }) => {
    if (at > now) return;
    const statusBefore = world.status;
    const change = foldEvent(world, event, settings.topics);
    events++;
    inputsOf({ event, change, statusBefore }, world.status, world.tree, { now: () => at }, (input) => {
      // History only: the status timelines, the temperatures and the home's last report.
      if (input.type === 'status' || input.type === 'outdoor' || input.type === 'report' || (input.type === 'rtdb' && input.path === 'sensor/hometemp')) {
        fold(state, input, settings);
      }
    });
  });
  return events;
}
