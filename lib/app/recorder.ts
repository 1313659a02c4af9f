/**
 * `npm run record` / `--record FILE`: the file the intake (intake.ts) appends every inbound
 * event to, as replay lines; closed (flushed) with the rest at stop.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Lifetime } from './lifetime.js';

/** `--record FILE`: every inbound event is appended to it as a replay line (SPEC 10). */
export function openRecording(recordTo: string | undefined, lifetime: Lifetime): WriteStream | undefined {
  let recording: WriteStream | undefined;
  if (recordTo !== undefined) {
    mkdirSync(dirname(recordTo), { recursive: true });
    recording = createWriteStream(recordTo, { flags: 'a' });
    lifetime.add(() => new Promise<void>((resolve) => recording!.end(resolve)));
  }
  return recording;
}
