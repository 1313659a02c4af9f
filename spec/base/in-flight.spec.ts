import { expect } from 'chai';
import fc from 'fast-check';
import { InFlight } from '../../lib/base/in-flight.js';

interface Key {
  readonly n: number;
}

describe('base/in-flight', () => {
  it('gives back what was added with a key, once, in any order of taking', () => {
    const q = new InFlight<Key, string>();
    const [a, b, c] = [{ n: 1 }, { n: 2 }, { n: 3 }];
    q.add(a, 'a');
    q.add(b, 'b');
    q.add(c, 'c');
    expect(q.take(b)).to.equal('b');
    expect(q.take(b)).to.equal(undefined);
    expect(q.oldest()).to.equal('a');
    expect(q.take(a)).to.equal('a');
    expect(q.oldest()).to.equal('c');
    expect(q.size).to.equal(1);
    expect(q.take({ n: 3 })).to.equal(undefined); // identity, not equality
    expect(q.shift()).to.equal('c');
    expect([q.size, q.oldest(), q.shift()]).to.deep.equal([0, undefined, undefined]);
  });

  it('behaves as a Map that remembers insertion order, through growing and compacting', () => {
    type Op = { readonly kind: 'add' } | { readonly kind: 'take'; readonly pick: number } | { readonly kind: 'shift' };
    const op = fc.oneof(
      fc.constant<Op>({ kind: 'add' }),
      fc.nat(200).map((pick): Op => ({ kind: 'take', pick })),
      fc.constant<Op>({ kind: 'shift' }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const q = new InFlight<Key, number>();
        const model = new Map<Key, number>();
        const made: Key[] = [];
        for (const o of ops) {
          if (o.kind === 'add') {
            const key = { n: made.length };
            made.push(key);
            q.add(key, key.n);
            model.set(key, key.n);
          } else if (o.kind === 'take') {
            // mostly keys in flight, sometimes one taken before or never added
            const key = made.length === 0 || o.pick === 200 ? { n: -1 } : made[o.pick % made.length]!;
            const expected = model.get(key);
            model.delete(key);
            expect(q.take(key)).to.equal(expected);
          } else {
            const first = model.keys().next();
            const expected = first.done === true ? undefined : model.get(first.value);
            if (first.done !== true) model.delete(first.value);
            expect(q.shift()).to.equal(expected);
          }
          expect(q.size).to.equal(model.size);
          const first = model.values().next();
          expect(q.oldest()).to.equal(first.done === true ? undefined : first.value);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('holds nothing it was given once everything is taken (no stale references)', () => {
    const q = new InFlight<Key, Key>();
    const keys = Array.from({ length: 100 }, (_, n) => ({ n }));
    for (const k of keys) q.add(k, k);
    for (const k of keys.slice(0, 60)) q.take(k);
    for (let n = 0; n < 50; n++) q.add({ n: 100 + n }, { n: 100 + n }); // compacts and grows
    while (q.size > 0) q.shift();
    const arrays = q as unknown as { keys: unknown[]; values: unknown[] };
    expect(arrays.keys.every((k) => k === undefined)).to.equal(true);
    expect(arrays.values.every((v) => v === undefined)).to.equal(true);
  });
});
