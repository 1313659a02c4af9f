/**
 * RTDB sink: performs `rtdb.set` effects; other effects are ignored. Writes go out in order, in
 * multi-path updates of non-overlapping paths; a write waiting for a path is replaced by a newer
 * one for the same path (both effects are reported `done` when the newer one lands). See
 * `lib/drivers/firebase/delivery.ts` for retries, the durable outbox (rows of the `outbox` table when
 * the store is Firebase) and the alerts.
 */
import { checkTreeWrite, isPlainObject, normalPath, pathsOverlap } from '../../store/data.js';
import { deliver, type DeliveryOptions, type WriteDriver } from './delivery.js';
import type { Store, TreeWrite } from '../../store/types.js';
import type { Effect } from '../../core/protocol/effects.js';

export type RtdbDriverOptions = DeliveryOptions;

/** Reads a write back from the outbox (a missing value is a delete). */
export function decodeTreeWrite(u: unknown): TreeWrite | undefined {
  if (!isPlainObject(u) || typeof u.path !== 'string') return undefined;
  return { path: u.path, value: u.value ?? null };
}

export function makeRtdbDriver(store: Pick<Store, 'tree' | 'outbox'>, options: RtdbDriverOptions): WriteDriver {
  return deliver<TreeWrite>({
    sink: 'rtdb',
    label: 'Realtime Database',
    accept: (effect: Effect): TreeWrite | undefined =>
      (effect.type === 'rtdb.set' ? { path: effect.path, value: effect.value ?? null } : undefined),
    effectOf: (write): Effect => ({ type: 'rtdb.set', path: write.path, value: write.value }),
    check: checkTreeWrite,
    commit: (writes) => store.tree.commit(writes),
    decode: decodeTreeWrite,
    describe: (write) => `set /${normalPath(write.path)}`,
    coalesceKey: (write) => normalPath(write.path),
    fits: (batch, write) => batch.every((b) => !pathsOverlap(b.path, write.path)),
  }, store.outbox, { maxBatch: 50, ...options });
}
