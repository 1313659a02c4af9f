/**
 * Limits on what one client can make the service do (issue 14): the size of a document written
 * on its behalf, the number of schedules and users, and how many unknown-UID sign-ins are
 * answered per Producer per minute. Pure decisions; the clock and the counts come from the
 * caller (the scheduler's `now()`, the folded world).
 *
 * A refusal is an error to the sender (with the details) and an operator alert whose text is the
 * same for every repeat, so the Slack sink posts it once and then summarises the repeats.
 */
import { truncate } from '../protocol/errors.js';
import { deviceAlert } from './alerts.js';
import { DEFAULT_LIMITS, type Limits } from './deps.js';
import { deviceTopic, type Topics } from '../protocol/topics.js';
import type { Effect } from '../protocol/effects.js';

export const limitsOf = (settings: { readonly limits?: Limits }): Limits => settings.limits ?? DEFAULT_LIMITS;

/** An error to `device` (JSON, as every message to a device) and one constant operator alert. */
export function refused(topics: Topics, device: string, toSender: string, toOperator: string): Effect[] {
  return [
    { type: 'mqtt.publish', topic: deviceTopic(topics.deviceError, device), payload: deviceAlert(truncate(toSender)) },
    { type: 'slack.alert', text: truncate(`limit: ${toOperator}`) },
  ];
}

/** Why `doc` may not be written (too large, or one too many), or undefined when it may. */
export function documentRefusal(
  what: 'schedule' | 'user',
  doc: unknown,
  exists: boolean,
  count: number,
  limits: Limits,
): { readonly toSender: string; readonly toOperator: string } | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(doc) ?? '', 'utf8');
  if (bytes > limits.docBytes) {
    return {
      toSender: `the ${what} is ${bytes} bytes as JSON, more than the ${limits.docBytes} allowed; it was not saved`,
      toOperator: `a ${what} larger than ${limits.docBytes} bytes (LIMIT_DOC_BYTES) was refused`,
    };
  }
  const max = what === 'schedule' ? limits.schedules : limits.users;
  if (!exists && count >= max) {
    const setting = what === 'schedule' ? 'LIMIT_SCHEDULES' : 'LIMIT_USERS';
    return {
      toSender: `there are already ${count} ${what}s, the most allowed; delete one first (this ${what} was not saved)`,
      toOperator: `a new ${what} was refused: the ${max} ${what}s allowed (${setting}) exist`,
    };
  }
  return undefined;
}

/** Unknown-UID answers per Producer in the current minute (a window opens at its first one). */
export type UnknownUidWindows = ReadonlyMap<string, { readonly start: number; readonly count: number }>;

/** Producers tracked at once; beyond, they share one window (a flood of invented Producers). */
const MAX_WINDOWS = 256;
const MINUTE_MS = 60_000;

/**
 * Counts one unknown-UID sign-in of `producer` at `now`: `answer` it, say `limit` once (the
 * first one over), or stay `silent` until the minute ends. Memory is bounded by MAX_WINDOWS.
 */
export function countUnknownUid(
  windows: UnknownUidWindows,
  producer: string,
  now: number,
  perMinute: number,
): { readonly windows: UnknownUidWindows; readonly verdict: 'answer' | 'limit' | 'silent' } {
  const next = new Map(windows);
  if (next.size >= MAX_WINDOWS) for (const [key, w] of next) if (now - w.start >= MINUTE_MS) next.delete(key);
  // Stryker disable next-line StringLiteral: the shared window's key is internal: any other name gives the same verdicts but to a Producer of that very name
  const key = next.has(producer) || next.size < MAX_WINDOWS ? producer : '*';
  const current = next.get(key);
  const window = current === undefined || now - current.start >= MINUTE_MS ? { start: now, count: 1 } : { start: current.start, count: current.count + 1 };
  next.set(key, window);
  const verdict = window.count <= perMinute ? 'answer' : window.count === perMinute + 1 ? 'limit' : 'silent';
  return { windows: next, verdict };
}
