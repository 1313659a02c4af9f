/**
 * The plain baseline of the core benchmark (bench/core.ts) must behave as the streams do, or
 * `core_ratio_vs_plain` compares unlike with unlike. Its mirror of the streams is checked by the
 * same golden replays as the pipeline: each recording it covers, replayed through it on the
 * same timeline as `lib/durability/replay.ts` (each event at its instant, a tick every second until the
 * last event + 60 s), must give the golden effects file byte for byte; and on the benchmark's
 * own workload it must give the pipeline's effect sequence. So a behaviour change in lib/core/streams
 * that the mirror misses fails here, not silently in the benchmark.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { isoLocal } from '../../lib/core/protocol/local-time.js';
import { encodeEffectLine, type Recorded } from '../../lib/core/protocol/recording.js';
import { parseRecording, TAIL_MS } from '../../lib/durability/replay.js';
import type { Effect } from '../../lib/core/protocol/effects.js';
import type { Event } from '../../lib/core/protocol/events.js';
import { benchDeps, NotCovered, plainBackend, sameEffects } from '../../bench/core.js';
import { makeEvents } from '../../bench/workload.js';

const DIR = 'spec/fixtures/traffic';
const TZ = 'Asia/Seoul';
const TICK: Event = { type: 'clock.tick' };

/** The recordings the plain baseline does not mirror, and the input it stops at. */
const NOT_COVERED: Readonly<Record<string, RegExp>> = {
  'android-schedules.ndjson': /schedule/,
  'bad-input.ndjson': /schedules|weather/,
  'dst-fall.ndjson': /schedule/,
  'dst-spring.ndjson': /schedule/,
  'face.ndjson': /start_facer|face\.result/,
  'oneoff-handled.ndjson': /schedule/,
  'oneoff-today.ndjson': /schedule/,
  'producers.ndjson': /start_facer/,
  'restart-dst-fall.ndjson': /schedule/,
  'restart-dst-spring.ndjson': /schedule/,
  'restart-handled.ndjson': /schedule/,
  'restart-late.ndjson': /schedule/,
  'restart-up-late.ndjson': /schedule/,
  'schedules-day.ndjson': /schedule/,
  'schedules-past.ndjson': /schedule/,
  'weather.ndjson': /weather/,
};

/** The recording through the plain baseline, as replay output lines. */
function replayPlain(text: string): string[] {
  const { records } = parseRecording(text);
  const start = Math.min(...records.map((r) => r.at));
  const end = Math.max(...records.map((r) => r.at)) + TAIL_MS;
  let now = start;
  const scheduler: SchedulerLike = { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'] };
  const lines: string[] = [];
  const handle = plainBackend({ ...benchDeps(scheduler), settings: { ...benchDeps(scheduler).settings, tz: TZ } }, (effect: Effect) => {
    const line = encodeEffectLine(effect, isoLocal(now, TZ));
    if (line !== null) lines.push(line);
  });
  for (const item of timeline(records, start, end)) {
    now = item.at;
    handle(item.event);
  }
  return lines;
}

/** Events and ticks in time order; at equal instants events come first, then the tick (as lib/durability/replay.ts). */
function timeline(records: readonly Recorded[], start: number, end: number): Recorded[] {
  const events = [...records].sort((a, b) => a.at - b.at);
  const out: Recorded[] = [];
  let next = 0;
  for (let t = start; t <= end; t += 1000) {
    for (; next < events.length && (events[next] as Recorded).at <= t; next++) out.push(events[next] as Recorded);
    out.push({ at: t, event: TICK });
  }
  return out;
}

describe('bench/core: the plain baseline', function () {
  this.timeout(60_000);
  const recordings = readdirSync(DIR).filter((f) => f.endsWith('.ndjson'));

  it('covers at least three of the recordings', () => {
    expect(recordings.filter((name) => NOT_COVERED[name] === undefined)).to.have.length.at.least(3);
  });

  for (const name of recordings) {
    const stop = NOT_COVERED[name];
    if (stop === undefined) {
      it(`replays ${name} to its golden effects, byte for byte`, () => {
        const golden = readFileSync(join(DIR, 'golden', name), 'utf8');
        expect(replayPlain(readFileSync(join(DIR, name), 'utf8')).map((l) => `${l}\n`).join('')).to.equal(golden);
      });
    } else {
      it(`stops at what it does not mirror in ${name}`, () => {
        expect(() => replayPlain(readFileSync(join(DIR, name), 'utf8'))).to.throw(NotCovered, stop);
      });
    }
  }

  it('gives the pipeline\'s effects on the benchmark workload', () => {
    const check = sameEffects(makeEvents(20_000));
    expect(check.difference).to.equal(undefined);
    expect(check.same).to.equal(true);
    expect(check.effects).to.be.greaterThan(10_000);
  });
});
