import { expect } from 'chai';
import { COLLECTIONS } from '../../../lib/core/protocol/events.js';
import { PATHS } from '../../../lib/drivers/firebase/rtdb-source.js';
import { firstState } from '../../../lib/drivers/firebase/store-loaded.js';

describe('sources/store-loaded', () => {
  it('resolves once every collection and path has delivered, not before, whatever repeats', async () => {
    const first = firstState();
    let done = false;
    void first.loaded.then(() => (done = true));
    const all = [...COLLECTIONS.map((c) => `Firestore ${c}`), ...PATHS.map((p) => `RTDB ${p}`)];
    for (const what of all.slice(0, -1)) {
      first.onLoaded(what);
      first.onLoaded(what);
    }
    first.onLoaded('Firestore somewhere_else');
    await Promise.resolve();
    expect(done).to.equal(false);
    first.onLoaded(all.at(-1)!);
    await first.loaded;
    expect(done).to.equal(true);
  });
});
