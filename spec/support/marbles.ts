/**
 * Marble-test helpers for the streams: a fresh TestScheduler per test, deps whose clock starts
 * at a chosen instant, and short builders for events.
 */
import { expect } from 'chai';
import * as E from 'fp-ts/lib/Either.js';
import { TestScheduler } from 'rxjs/testing';
import type { SchedulerLike } from 'rxjs';
import { decode, type HomeCode } from '../../lib/core/protocol/home-code.js';
import { type Deps, type PipelineSettings } from '../../lib/core/streams/deps.js';
import type { Resume } from '../../lib/core/protocol/resume.js';
import { DEFAULT_TOPICS } from '../../lib/core/protocol/topics.js';
import type { Event } from '../../lib/core/protocol/events.js';

export const TZ = 'Asia/Seoul';
/** 2021-09-22 (a Wednesday) 19:00:00 in Seoul. */
export const T0 = Date.parse('2021-09-22T19:00:00+09:00');

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

/** The test scheduler, with `now()` shifted to epoch milliseconds from `start`. */
export function clockFrom(ts: TestScheduler, start: number): SchedulerLike {
  return { now: () => start + ts.now(), schedule: ts.schedule.bind(ts) as SchedulerLike['schedule'] };
}

export function makeDeps(
  ts: TestScheduler,
  options: { start?: number; settings?: Partial<PipelineSettings>; resume?: Partial<Resume> } = {},
): Deps {
  return {
    scheduler: clockFrom(ts, options.start ?? T0),
    settings: { tz: TZ, commandConfirmS: 30, scheduleGraceS: 300, topics: DEFAULT_TOPICS, ...options.settings },
    resume: { scheduleFired: {}, ...options.resume },
  };
}

export const mqtt = (topic: string, payload: string): Event => ({ type: 'mqtt.message', topic, payload });
export const command = (body: Record<string, unknown>, topic = 'webos/server/info'): Event => mqtt(topic, JSON.stringify(body));
export const control = (code: string, topic = 'webos/smarthome/info'): Event => mqtt(topic, code);
export const rtdb = (path: string, value: unknown): Event => ({ type: 'rtdb.value', path, value });
export const status = (code: string): Event => rtdb('smarthome/status', code);
/** A Firestore document event; `writtenAt` as a store gives it (epoch ms), when given. */
export const doc = (collection: string, id: string, data: Record<string, unknown> | null, writtenAt?: number): Event => ({
  type: 'firestore.doc',
  collection,
  id,
  data,
  ...(writtenAt === undefined ? {} : { writtenAt }),
});
export const tick: Event = { type: 'clock.tick' };

/** A valid 9-character code (throws on an invalid one: a mistake in the test itself). */
export function code(text: string): HomeCode {
  const d = decode(text);
  if (E.isLeft(d)) throw new Error(d.left.message);
  return d.right;
}
