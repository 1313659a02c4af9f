import { expect } from 'chai';
import { defaultBackoff, exponentialBackoff } from '../../lib/base/backoff.js';

describe('base/backoff', () => {
  it('doubles from the base up to the cap (the default: 0.5 s ... 30 s)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(defaultBackoff)).to.deep.equal([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it('takes another factor, no cap (Infinity), and stays finite for a huge attempt', () => {
    expect([1, 2, 3].map(exponentialBackoff(100, 1_000, 3))).to.deep.equal([100, 300, 900]);
    expect(exponentialBackoff(100, 1_000, 3)(4)).to.equal(1_000);
    expect([1, 2, 3, 4].map(exponentialBackoff(1_000, Infinity))).to.deep.equal([1_000, 2_000, 4_000, 8_000]);
    expect(Number.isFinite(exponentialBackoff(1, Infinity)(1e9))).to.equal(true);
  });

  it('treats attempt 0 or less as the first', () => {
    expect([0, -3].map(exponentialBackoff(200, 5_000))).to.deep.equal([200, 200]);
  });
});
