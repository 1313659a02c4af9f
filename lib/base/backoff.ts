/** Delay before retry number `attempt` (1-based). */
export type Backoff = (attempt: number) => number;

/** Exponential backoff: `baseMs`, doubling up to `maxMs`. */
export const exponentialBackoff = (baseMs = 500, maxMs = 30_000): Backoff =>
  (attempt) => Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));

/** The default for the Firebase listeners and writers: 0.5 s, 1 s, 2 s, ... 30 s. */
export const defaultBackoff: Backoff = exponentialBackoff();
