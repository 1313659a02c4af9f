/**
 * Firestore sink: performs `firestore.set` (replace the document) and `firestore.delete`
 * effects, in order, in batched commits; other effects are ignored. See `lib/drivers/firebase/delivery.ts`
 * for retries, the durable outbox (rows of the `outbox` table when the store is
 * Firebase), and the one alert on a sustained failure plus one on recovery.
 * Reports: `done` per effect once the store has it, `failed` for a write that can never be made.
 */
import { checkDocWrite, isPlainObject } from '../../store/data.js';
import { deliver, type DeliveryOptions, type WriteDriver } from './delivery.js';
import type { DocWrite, Store } from '../../store/types.js';
import type { Effect } from '../../core/protocol/effects.js';

export type FirestoreDriverOptions = DeliveryOptions;

/** Reads a write back from the outbox. */
export function decodeDocWrite(u: unknown): DocWrite | undefined {
  if (!isPlainObject(u) || typeof u.collection !== 'string' || typeof u.id !== 'string') return undefined;
  if (u.op === 'delete') return { op: 'delete', collection: u.collection, id: u.id };
  if ((u.op === 'set' || u.op === 'merge') && isPlainObject(u.data)) return { op: u.op, collection: u.collection, id: u.id, data: u.data };
  return undefined;
}

export function makeFirestoreDriver(store: Pick<Store, 'docs' | 'outbox'>, options: FirestoreDriverOptions): WriteDriver {
  return deliver<DocWrite>({
    sink: 'firestore',
    label: 'Firestore',
    accept: (effect: Effect): DocWrite | undefined => {
      switch (effect.type) {
        case 'firestore.set':
          return { op: 'set', collection: effect.collection, id: effect.id, data: effect.data };
        case 'firestore.delete':
          return { op: 'delete', collection: effect.collection, id: effect.id };
        default:
          return undefined;
      }
    },
    effectOf: (write): Effect => (write.op === 'delete'
      ? { type: 'firestore.delete', collection: write.collection, id: write.id }
      : { type: 'firestore.set', collection: write.collection, id: write.id, data: write.data }),
    check: checkDocWrite,
    commit: (writes) => store.docs.commit(writes),
    decode: decodeDocWrite,
    describe: (write) => `${write.op} ${write.collection}/${write.id}`,
  }, store.outbox, { maxBatch: 100, ...options });
}
