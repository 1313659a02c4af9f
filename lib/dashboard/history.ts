/**
 * The dashboard's 24-hour history after a restart: read back from the service's event journal
 * (`DATA_DIR/events/*.ndjson`, SPEC 9-10), folded through the same world fold as live events
 * (`core/streams/world.ts`), so the timelines and temperature lines a restart finds are the ones the
 * previous run showed. Only the history and the time of the home's last report are taken from
 * it: commands, schedules and alarms come from the live pipeline and the store.
 *
 * Lines this reader does not understand (the `{"resume": ...}` header, a checkpoint, a torn last
 * line) are skipped: the journal is the durability layer's file, and history is best effort.
 * Files untouched for longer than the history window are not read at all.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import * as E from 'fp-ts/lib/Either.js';
import { decodeRecordedLine } from '../core/protocol/recording.js';
import type { Topics } from '../core/protocol/topics.js';
import { emptyWorld, foldEvent } from '../core/streams/world.js';
import { fold, HISTORY_MS, inputsOf, type DashboardState } from './fold.js';

export const JOURNAL_DIR = 'events';

/** Folds the journal's events of the last 24 hours (before `now`) into the state's history. */
export async function loadHistory(state: DashboardState, dataDir: string, now: number, settings: { readonly topics: Topics; readonly commandConfirmS: number }): Promise<number> {
  const dir = path.join(dataDir, JOURNAL_DIR);
  const names = await readdir(dir).catch(() => [] as string[]);
  const files: Array<{ file: string; mtime: number }> = [];
  for (const name of names.filter((n) => n.endsWith('.ndjson'))) {
    const file = path.join(dir, name);
    const s = await stat(file).catch(() => undefined);
    if (s?.isFile() && s.mtimeMs >= now - HISTORY_MS) files.push({ file, mtime: s.mtimeMs });
  }
  // Oldest file first: the journal's files are written one after another.
  files.sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file));
  const world = emptyWorld();
  let events = 0;
  for (const { file } of files) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.startsWith('{"resume"')) continue;
      const recorded = decodeRecordedLine(line);
      if (E.isLeft(recorded) || recorded.right.at > now) continue;
      const { at, event } = recorded.right;
      const statusBefore = world.status;
      const change = foldEvent(world, event, settings.topics);
      events++;
      inputsOf({ event, change, statusBefore }, world.status, world.tree, { now: () => at }, (input) => {
        // History only: the status timelines, the temperatures and the home's last report.
        if (input.type === 'status' || input.type === 'outdoor' || input.type === 'report' || (input.type === 'rtdb' && input.path === 'sensor/hometemp')) {
          fold(state, input, settings);
        }
      });
    }
  }
  return events;
}
