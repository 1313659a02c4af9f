/**
 * The realistic event mix of the benchmark: 40 % JSON commands, 40 % observed controls, 20 % RTDB
 * status changes, and a clock tick every 100 events (the clock advances 10 ms an event, so a
 * tick is one virtual second and the mix stands for a busy home at 100 events per second).
 *
 * - Commands: 95 % `signin` of one of 50 known users from the Android app or the car, 5 %
 *   `signup` (a rename), so the user collection changes under the sign-ins.
 * - Controls: the codes the apps and the car really send (SPEC 2 captures and variations).
 * - Reports: the simulated home obeys the controls and reports what it did, as a real one would;
 *   one report in ten is some other status (a manual switch at the wall).
 *
 * Deterministic (a fixed linear congruential generator), so runs compare. `eventStream` yields
 * the events one by one without keeping them (the memory probe must not count the workload).
 */
import * as E from 'fp-ts/lib/Either.js';
import { apply } from '../lib/core/protocol/apply.js';
import { decode, encode, type HomeCode } from '../lib/core/protocol/home-code.js';
import type { Event } from '../lib/core/protocol/events.js';

function codeOf(text: string): HomeCode {
  const code = decode(text);
  if (E.isLeft(code)) throw new Error(code.left.message);
  return code.right;
}

export const USERS = Array.from({ length: 50 }, (_, i) => `user${i}`);
/** Controls the apps and the car really send (SPEC 2 captures and variations). */
export const CONTROLS = ['002222222', '016222222', '022022222', '022152022', '022222220', '022222221', '013222222', '022172122', '022222212', '022222202'];
export const STATUSES = ['000000000', '016000000', '016152000', '000152001', '013052010', '000000011'];
export const EVENT_MS = 10;
export const TICK_EVERY = 100;

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** The users' documents, as the Firestore listener would deliver them first. */
export function userEvents(): Event[] {
  return USERS.map((id) => ({ type: 'firestore.doc', collection: 'user_account', id, data: { name: `name of ${id}` } }));
}

/** The mix, one event at a time (nothing is kept). */
export function* eventStream(count: number, seed = 42): Generator<Event> {
  const r = rng(seed);
  const controls = CONTROLS.map(codeOf);
  let home = codeOf(STATUSES[0]!);
  for (let i = 0; i < count; i++) {
    if (i % TICK_EVERY === TICK_EVERY - 1) {
      yield { type: 'clock.tick' };
      continue;
    }
    const x = r();
    if (x < 0.4) {
      const payload =
        r() < 0.95
          ? JSON.stringify({ Producer: pick(r, ['android', 'car']), command: 'signin', UID: pick(r, USERS) })
          : JSON.stringify({ Producer: 'android', command: 'signup', UID: pick(r, USERS), name: 'renamed' });
      yield { type: 'mqtt.message', topic: 'webos/server/info', payload };
    } else if (x < 0.8) {
      const k = Math.floor(r() * CONTROLS.length);
      home = apply(home, controls[k]!);
      yield { type: 'mqtt.message', topic: 'webos/smarthome/info', payload: CONTROLS[k]! };
    } else {
      if (r() < 0.1) home = codeOf(pick(r, STATUSES));
      yield { type: 'rtdb.value', path: 'smarthome/status', value: encode(home) };
    }
  }
}

/** The mix as an array (for timed runs, so generating it is not timed). */
export function makeEvents(count: number, seed = 42): Event[] {
  return [...eventStream(count, seed)];
}
