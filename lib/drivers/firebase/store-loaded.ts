/**
 * When the store's first state is in: every Firestore collection and RTDB path the sources
 * listen to has delivered its first snapshot. The service holds MQTT messages until then, and
 * recovery reads the store's state with it; both pass `onLoaded` to the listeners.
 */
import { COLLECTIONS } from '../../core/protocol/events.js';
import { PATHS } from './rtdb-source.js';

export interface FirstState {
  /** Resolves once every collection and path has delivered. */
  readonly loaded: Promise<void>;
  /** The listeners' `onLoaded` callback (`Firestore <collection>`, `RTDB <path>`). */
  readonly onLoaded: (what: string) => void;
}

export function firstState(): FirstState {
  const loading = new Set([...COLLECTIONS.map((c) => `Firestore ${c}`), ...PATHS.map((p) => `RTDB ${p}`)]);
  let resolve: () => void = () => undefined;
  const loaded = new Promise<void>((r) => (resolve = r));
  return {
    loaded,
    onLoaded: (what) => {
      if (loading.delete(what) && loading.size === 0) resolve();
    },
  };
}
