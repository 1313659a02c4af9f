/** Delay before retry number `attempt` (1-based). */
export type Backoff = (attempt: number) => number;

/**
 * Capped exponential backoff, the one copy (MQTT reconnects, Firebase listeners and writers,
 * restarted sources, weather retries, Slack retries): `baseMs * factor^(attempt-1)`, at most
 * `maxMs` (Infinity: no cap). The exponent stops growing at 30 so the number stays finite.
 */
export const exponentialBackoff = (baseMs = 500, maxMs = 30_000, factor = 2): Backoff =>
  (attempt) => Math.min(maxMs, baseMs * factor ** Math.max(0, Math.min(Math.floor(attempt) - 1, 30)));

/** The default for the Firebase listeners and writers and restarted sources: 0.5 s, 1 s, 2 s, ... 30 s. */
export const defaultBackoff: Backoff = exponentialBackoff();
