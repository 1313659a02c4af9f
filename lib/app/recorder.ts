/**
 * `npm run record` / `--record FILE`: the file every inbound event is appended to, as replay
 * lines (SPEC 10), as it comes in (lib/app/run.ts); closed (flushed) with the rest at stop.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Lifetime } from '../base/lifetime.js';
import type { Event } from '../core/protocol/events.js';
import { isoLocal } from '../core/protocol/local-time.js';
import { encodeEventLine } from '../core/protocol/recording.js';

/** `--record FILE`: what writes each inbound event to it as a replay line; undefined without a file. */
export function openRecording(recordTo: string | undefined, tz: string, lifetime: Lifetime): ((event: Event) => void) | undefined {
  if (recordTo === undefined) return undefined;
  mkdirSync(dirname(recordTo), { recursive: true });
  const recording = createWriteStream(recordTo, { flags: 'a' });
  lifetime.add(() => new Promise<void>((resolve) => recording.end(resolve)));
  return (event) => {
    const line = encodeEventLine(event, isoLocal(Date.now(), tz));
    if (line !== null) recording.write(`${line}\n`);
  };
}
