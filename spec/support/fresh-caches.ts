/**
 * For `npm run mutate` (listed first in stryker.config.json's specs): a root-level hook, so every
 * spec starts with the protocol's caches empty, and a cache filled by an earlier run (the
 * unmutated one, or another mutant's) can neither hide a mutant nor carry a mutant's wrong value
 * into the next run (docs/testing.md).
 */
import { clearLocalTimeCaches } from '../../lib/core/protocol/local-time.js';
import { clearTopicCache } from '../../lib/core/protocol/topics.js';

beforeEach(() => {
  clearLocalTimeCaches();
  clearTopicCache();
});
