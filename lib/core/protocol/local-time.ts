/**
 * Wall-clock time in the home's zone (SMARTHOME_TZ), without Date.now(): callers pass the
 * instant. Formatters are cached per zone because Intl.DateTimeFormat is costly to build.
 */

export interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday. */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  // Stryker disable next-line ConditionalExpression: a cache: building the formatter again gives an equal one
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    // Stryker disable next-line CallExpression: a cache: without it each call builds an equal formatter (slower only)
    formatters.set(tz, f);
  }
  return f;
}

/** Throws a RangeError for an unknown zone; config validation calls this once at start-up. */
export function checkZone(tz: string): void {
  formatter(tz);
}

/** The last second asked for, per zone: alarms and ticks ask for the same second many times. */
const lastSecond = new Map<string, { second: number; parts: LocalParts }>();

export function localParts(epochMs: number, tz: string): LocalParts {
  // Stryker disable next-line ArithmeticOperator: the cache key: any key that tells seconds apart only changes how often the parts are computed
  const second = Math.floor(epochMs / 1000);
  const cached = lastSecond.get(tz);
  // Stryker disable next-line ConditionalExpression: a cache: skipping it computes the same parts
  if (cached !== undefined && cached.second === second) return cached.parts;
  const parts = computeParts(epochMs, tz);
  // Stryker disable next-line ObjectLiteral,CallExpression: a cache: an entry not stored, or stored without its second, never matches, so the parts are computed again
  lastSecond.set(tz, { second, parts });
  return parts;
}

function computeParts(epochMs: number, tz: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(epochMs)) {
    // Stryker disable next-line ConditionalExpression,StringLiteral: the separators would land in parts.literal, which nothing reads
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return { year, month, day, hour, minute, second, weekday };
}

/** Minutes since 1970-01-01T00:00 of the local wall clock (zone-free, so comparable across days). */
export function wallMinutes(p: Pick<LocalParts, 'year' | 'month' | 'day' | 'hour' | 'minute'>): number {
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) / 60000;
}

/** Instants of wall-clock minutes already asked for, per zone (a few schedules ask each tick). */
const dueCache = new Map<string, number>();

/**
 * The first instant (epoch ms) at which the wall clock of `tz` reads `wall` (minutes, see
 * `wallMinutes`) or later. Usually the instant of that minute; in a repeated hour (clock moved
 * back) the first of its two; in a skipped hour (clock moved forward) the instant of the jump,
 * when the clock goes straight past it.
 */
export function dueAt(wall: number, tz: string): number {
  const key = `${tz}|${wall}`;
  const cached = dueCache.get(key);
  // Stryker disable next-line ConditionalExpression: a cache: skipping it computes the same instant
  if (cached !== undefined) return cached;
  const wallMs = wall * 60000;
  const reads = (ms: number): number => wallMinutes(localParts(ms, tz));
  // The offsets in force half a day before and after cover any transition near this minute.
  const offsets = [...new Set([offsetMinutes(wallMs - 43_200_000, tz), offsetMinutes(wallMs + 43_200_000, tz)])];
  const exact = offsets.map((off) => wallMs - off * 60000).filter((ms) => reads(ms) === wall);
  let due: number;
  if (exact.length > 0) {
    due = Math.min(...exact);
  } else {
    // In a gap: the clock reads less than `wall` before the jump and more after it. Find the
    // jump to the second by bisection between the two candidate instants.
    let lo = Math.min(...offsets.map((off) => wallMs - off * 60000));
    let hi = Math.max(...offsets.map((off) => wallMs - off * 60000));
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      // Stryker disable next-line EqualityOperator: in a gap no instant reads `wall`, so >= and > agree
      if (reads(mid) >= wall) hi = mid;
      else lo = mid;
    }
    due = hi;
  }
  // Stryker disable next-line all: the cache's bound: clearing it sooner, later or never changes no answer
  if (dueCache.size > 1000) dueCache.clear();
  dueCache.set(key, due);
  return due;
}

/** The zone's offset from UTC at an instant, in minutes. */
export function offsetMinutes(epochMs: number, tz: string): number {
  const p = localParts(epochMs, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - (epochMs - (((epochMs % 1000) + 1000) % 1000))) / 60000);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The text of the last second formatted, per zone: the journal stamps many events in one second. */
const lastIso = new Map<string, { second: number; head: string; tail: string }>();

/** ISO-8601 with the zone's offset, milliseconds included: `2021-09-22T19:00:00.000+09:00`. */
export function isoLocal(epochMs: number, tz: string): string {
  // Stryker disable next-line ArithmeticOperator: the cache key: any key that tells seconds apart only changes how often the text is built
  const second = Math.floor(epochMs / 1000);
  let cached = lastIso.get(tz);
  // Stryker disable next-line ConditionalExpression: a cache: building the text every time gives the same text
  if (cached === undefined || cached.second !== second) {
    const p = localParts(epochMs, tz);
    const off = offsetMinutes(epochMs, tz);
    const abs = Math.abs(off);
    cached = {
      second,
      head: `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}.`,
      tail: `${off < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`,
    };
    // Stryker disable next-line CallExpression: a cache: without it each call builds the same text
    lastIso.set(tz, cached);
  }
  const ms = ((epochMs % 1000) + 1000) % 1000;
  return cached.head + pad(ms, 3) + cached.tail;
}

/** The alarm date format of SPEC 5: `Y.M.D.H.M.S`, no zero padding (`2021.9.22.20.36.14`). */
export function alarmDate(epochMs: number, tz: string): string {
  const p = localParts(epochMs, tz);
  return `${p.year}.${p.month}.${p.day}.${p.hour}.${p.minute}.${p.second}`;
}

/** The zone this machine runs in, for when SMARTHOME_TZ is unset. */
export function systemZone(): string {
  // Stryker disable next-line StringLiteral: the fallback is unreachable: Intl always resolves a zone in Node
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

// Stryker disable all: resets caches between specs (npm run mutate), no behaviour of its own
/**
 * Empties this file's caches (formatters, the last second's parts and ISO text, due instants).
 * Mutation testing runs many mutants in one process: a cache filled by one run would hide a
 * mutant from the next, or carry a mutant's wrong value into it (docs/testing.md).
 */
export function clearLocalTimeCaches(): void {
  formatters.clear();
  lastSecond.clear();
  dueCache.clear();
  lastIso.clear();
}
// Stryker restore all
