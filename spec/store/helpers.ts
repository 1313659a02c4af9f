/** Small helpers shared by the store, source and sink specs. */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Observable, Subscription } from 'rxjs';

/** A fresh temporary directory (under the OS temp dir). */
export const tempDir = (prefix = 'smarthome-store-'): Promise<string> => fs.mkdtemp(path.join(os.tmpdir(), prefix));

export const removeDir = (dir: string): Promise<void> => fs.rm(dir, { recursive: true, force: true });

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check()` is true; rejects naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export interface Recording<T> {
  readonly values: T[];
  readonly errors: unknown[];
  readonly completed: () => boolean;
  readonly subscription: Subscription;
}

/** Subscribes and records everything `source$` does. */
export function record<T>(source$: Observable<T>): Recording<T> {
  const values: T[] = [];
  const errors: unknown[] = [];
  let done = false;
  const subscription = source$.subscribe({
    next: (v) => values.push(v),
    error: (e: unknown) => errors.push(e),
    complete: () => {
      done = true;
    },
  });
  return { values, errors, completed: () => done, subscription };
}
