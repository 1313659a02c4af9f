/**
 * Replays a recording (SPEC 10) through the real pipeline on a virtual clock: each event at its
 * recorded instant, a tick every second from the first instant to the last + 60 s (or `until`).
 * A recording that starts with a resume header (every event journal file does) starts from the
 * state it holds, at its instant, as the service did. Clock lines only say that the service was
 * ticking then: they stretch the replay, the ticks are the replay's own.
 * Same recording, same output, byte for byte: nothing here reads the real clock.
 */
import { Observable, VirtualTimeScheduler } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { isoLocal } from '../core/protocol/local-time.js';
import {
  decodeRecordedLine, decodeResumeLine, encodeEffectLine, isResumeLine, type Recorded, type ResumeHeader,
} from '../core/protocol/recording.js';
import type { PipelineSettings } from '../core/streams/deps.js';
import { DEFAULT_TOPICS } from '../core/protocol/topics.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';
import { pipeline } from '../core/streams/pipeline.js';

export const TAIL_MS = 60_000;
const TICK: Event = { type: 'clock.tick' };

/** A virtual clock whose `now()` is epoch milliseconds, starting at `start`. */
export class EpochVirtualScheduler extends VirtualTimeScheduler {
  constructor(readonly start: number, maxFrames = Infinity) {
    super(undefined, maxFrames);
    this.now = () => this.start + this.frame;
  }
}

/**
 * The events of `timeline`, each at its instant on `scheduler` (in order; one that is late for
 * its instant comes at once), after `first` (emitted at subscription).
 */
export function onVirtualClock(scheduler: EpochVirtualScheduler, timeline: readonly Recorded[], first: readonly Event[] = []): Observable<Event> {
  return new Observable<Event>((subscriber) => {
    for (const event of first) subscriber.next(event);
    // One pending action at a time: the virtual scheduler sorts its queue on every schedule().
    const emitFrom = (i: number): void => {
      const item = timeline[i];
      if (item === undefined) return;
      scheduler.schedule(() => {
        subscriber.next(item.event);
        emitFrom(i + 1);
      }, Math.max(0, item.at - scheduler.now()));
    };
    emitFrom(0);
  });
}

export interface ReplayOptions {
  readonly tz: string;
  /** Stop at this instant (epoch ms) instead of the last event + 60 s. */
  readonly until?: number;
  readonly settings?: Partial<PipelineSettings>;
}

export interface ReplayResult {
  /** Effect lines (SPEC 10), in order. */
  readonly lines: string[];
  /** Invalid recording lines: 1-based line number and why. */
  readonly errors: Array<{ readonly line: number; readonly message: string }>;
  /** Log effects, as `LEVEL message`, for stderr. */
  readonly logs: string[];
}

export interface ParsedRecording {
  readonly header?: ResumeHeader;
  readonly records: Recorded[];
  readonly errors: ReplayResult['errors'];
}

export function parseRecording(text: string): ParsedRecording {
  const records: Recorded[] = [];
  const errors: Array<{ line: number; message: string }> = [];
  let header: ResumeHeader | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (isResumeLine(line)) {
      const decoded = decodeResumeLine(line);
      if (E.isLeft(decoded)) errors.push({ line: i + 1, message: decoded.left.message });
      else if (header !== undefined || records.length > 0) errors.push({ line: i + 1, message: 'a resume line is allowed only as the first line' });
      else header = decoded.right;
      return;
    }
    const decoded = decodeRecordedLine(line);
    if (E.isLeft(decoded)) errors.push({ line: i + 1, message: decoded.left.message });
    else records.push(decoded.right);
  });
  return { ...(header === undefined ? {} : { header }), records, errors };
}

/** Events and ticks in time order; at equal instants events come first, then the tick. */
function buildTimeline(records: readonly Recorded[], start: number, end: number): Recorded[] {
  const events = records.map((r, i) => ({ ...r, i })).sort((a, b) => a.at - b.at || a.i - b.i);
  const timeline: Recorded[] = [];
  let next = 0;
  for (let t = start; t <= end; t += 1000) {
    while (next < events.length && events[next]!.at <= t) timeline.push(events[next++]!);
    timeline.push({ at: t, event: TICK });
  }
  while (next < events.length && events[next]!.at <= end) timeline.push(events[next++]!);
  return timeline;
}

export function replay(text: string, options: ReplayOptions): ReplayResult {
  const { header, records, errors } = parseRecording(text);
  const lines: string[] = [];
  const logs: string[] = [];
  if (records.length === 0 && header === undefined) return { lines, errors, logs };

  const instants = [...(header === undefined ? [] : [header.at]), ...records.map((r) => r.at)];
  const start = header?.at ?? Math.min(...instants);
  const end = options.until ?? Math.max(...instants) + TAIL_MS;
  const scheduler = new EpochVirtualScheduler(start, end - start);
  const timeline = buildTimeline(records.filter((r) => r.event.type !== 'clock.tick'), start, end);
  const event$ = onVirtualClock(scheduler, timeline);
  const settings: PipelineSettings = {
    tz: options.tz,
    commandConfirmS: 30,
    scheduleGraceS: 300,
    topics: DEFAULT_TOPICS,
    ...options.settings,
  };
  const subscription = pipeline(event$, { scheduler, settings, resume: header?.resume ?? { scheduleFired: {} } }).subscribe((effect: Effect) => {
    if (effect.type === 'log') logs.push(`${effect.level.toUpperCase()} ${effect.msg}`);
    const line = encodeEffectLine(effect, isoLocal(scheduler.now(), options.tz));
    if (line !== null) lines.push(line);
  });
  scheduler.flush();
  subscription.unsubscribe();
  return { lines, errors, logs };
}
