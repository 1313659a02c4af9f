/**
 * Core throughput: `pipeline()` in-process over the workload, against a plain function that does
 * the same decoding and state update without RxJS (the floor any stream framework pays over).
 */
import * as E from 'fp-ts/lib/Either.js';
import { Observable, type SchedulerLike, asyncScheduler } from 'rxjs';
import { apply } from '../lib/protocol/apply.js';
import { decodeCommand, decodeEnvelope } from '../lib/protocol/commands.js';
import { decode, encode, type HomeCode } from '../lib/protocol/home-code.js';
import { DEFAULT_TOPICS, type Deps } from '../lib/streams/deps.js';
import type { Event } from '../lib/streams/events.js';
import { pipeline } from '../lib/streams/pipeline.js';
import { EVENT_MS, userEvents } from './workload.js';

export const T0 = Date.parse('2021-09-22T19:00:00+09:00');

/** A clock that advances EVENT_MS per event, so ticks mean seconds and alarm ids move. */
export function benchClock(): { scheduler: SchedulerLike; advance(): void } {
  let now = T0;
  return {
    scheduler: { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'] },
    advance: () => {
      now += EVENT_MS;
    },
  };
}

export function benchDeps(scheduler: SchedulerLike): Deps {
  return {
    scheduler,
    settings: { tz: 'Asia/Seoul', commandConfirmS: 30, scheduleGraceS: 300, topics: DEFAULT_TOPICS },
    resume: { scheduleFired: {} },
  };
}

/** Runs the pipeline over the events; calls `at(i)` after event i (for memory probes). */
export function runPipeline(events: readonly Event[], at?: (i: number) => void): { effects: number; ms: number } {
  const clock = benchClock();
  let effects = 0;
  const source$ = new Observable<Event>((subscriber) => {
    for (const e of userEvents()) subscriber.next(e);
    for (let i = 0; i < events.length; i++) {
      subscriber.next(events[i]!);
      clock.advance();
      at?.(i);
    }
    subscriber.complete();
  });
  const start = performance.now();
  pipeline(source$, benchDeps(clock.scheduler)).subscribe(() => effects++);
  return { effects, ms: performance.now() - start };
}

/** The same decoding and state update, by hand: replies, tracked status, alarms counted. */
export function runPlain(events: readonly Event[]): { effects: number; ms: number } {
  const users = new Map<string, Record<string, unknown>>();
  for (const e of userEvents()) if (e.type === 'firestore.doc' && e.data) users.set(e.id, e.data);
  let status: HomeCode | undefined;
  let effects = 0;
  const start = performance.now();
  for (const event of events) {
    if (event.type === 'mqtt.message' && event.topic.startsWith('webos/server/')) {
      const env = decodeEnvelope(event.payload);
      if (E.isLeft(env)) continue;
      const cmd = decodeCommand(env.right.envelope, env.right.body);
      if (E.isLeft(cmd)) continue;
      if (cmd.right.command === 'signin') {
        const user = users.get(cmd.right.UID);
        if (user) {
          JSON.stringify({ ...user, Producer: 'server', command: 'return_name' });
          effects++;
        }
      } else if (cmd.right.command === 'signup') {
        users.set(cmd.right.UID, { name: cmd.right.name });
        effects++;
      }
    } else if (event.type === 'mqtt.message' || event.type === 'rtdb.value') {
      const code = decode(event.type === 'mqtt.message' ? event.payload : event.value);
      if (E.isLeft(code)) continue;
      const next = event.type === 'mqtt.message' ? (status === undefined ? undefined : apply(status, code.right)) : code.right;
      if (status !== undefined && next !== undefined && encode(status) !== encode(next)) effects++;
      status = next;
    }
  }
  return { effects, ms: performance.now() - start };
}
