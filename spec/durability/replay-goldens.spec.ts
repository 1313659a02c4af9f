/**
 * The golden recordings of spec/fixtures/traffic replayed in this process: what the replay
 * command prints is `replay`'s lines, so the rules these recordings exercise (sign-up and sign-in,
 * controls and alarms, schedules across restarts and clock changes, the weather) are checked where
 * a mutation test sees the code run (npm run mutate; the command's own specs are in replay.spec.ts).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replay } from '../../lib/durability/replay.js';
import { DIR, recordings, zoneOf } from '../support/recordings.js';

describe('replay in process: the golden recordings', () => {
  for (const name of recordings) {
    it(`replays ${name} to its golden lines`, () => {
      const result = replay(readFileSync(join(DIR, name), 'utf8'), { tz: zoneOf(name) });
      expect(result.lines.map((l) => `${l}\n`).join('')).to.equal(readFileSync(join(DIR, 'golden', name), 'utf8'));
      expect(result.errors.length > 0, 'only bad-input.ndjson has lines it skips').to.equal(name === 'bad-input.ndjson');
    });
  }
});
