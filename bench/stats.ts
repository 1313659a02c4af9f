/** Small helpers for repeated measurements: medians, rounding, a forced GC. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rounds to `digits` significant digits (figures are not more precise than that). */
export function sig(x: number, digits = 3): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** Spread of samples around their median, in percent: (max - min) / median. */
export function spreadPct(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return sig(((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100, 2);
}

/** A full GC (needs `node --expose-gc`, which `npm run bench` passes). */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)');
  gc();
  gc();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress lines go to stderr, so that stdout holds only the result. */
export function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}
