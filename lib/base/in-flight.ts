/**
 * What the hot path remembers about each thing in flight (an effect until its sink reports it,
 * an event until its effects are done): a queue with lookup by identity, for keys that leave in
 * about the order they came (a sink reports in the order it was given, mostly).
 *
 * Why not a Map: a Map with an entry added and deleted per command keeps allocating new hash
 * tables (it grows, shrinks and rehashes as the entries come and go), and those tables live just
 * long enough to outlive the young generation: in the issue 17 profile the `started` and
 * checkpoint tracker's bookkeeping were a third of what the old generation's collector had to clear. Here two
 * arrays are reused: nothing is allocated per entry once they have grown to the most in flight.
 *
 * `take` looks from the oldest entry on: the usual case (the oldest is the one) costs one
 * comparison; a key taken out of order costs a scan over the ones before it.
 */
export class InFlight<K extends object, V> {
  private keys: (K | undefined)[] = [];
  private values: (V | undefined)[] = [];
  /** Live entries are in [head, tail); taken ones inside it are `undefined`. */
  private head = 0;
  private tail = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(key: K, value: V): void {
    if (this.tail === this.keys.length) this.makeRoom();
    this.keys[this.tail] = key;
    this.values[this.tail] = value;
    this.tail++;
    this.count++;
  }

  /** The value added with `key` (removing it), or `undefined` if it is not in flight. */
  take(key: K): V | undefined {
    for (let i = this.head; i < this.tail; i++) {
      if (this.keys[i] !== key) continue;
      const value = this.values[i];
      this.keys[i] = undefined;
      this.values[i] = undefined;
      this.count--;
      if (i === this.head) this.skipTaken();
      return value;
    }
    return undefined;
  }

  /** The oldest entry's value, if any. */
  oldest(): V | undefined {
    return this.count === 0 ? undefined : this.values[this.head];
  }

  /** Removes the oldest entry and returns its value. */
  shift(): V | undefined {
    if (this.count === 0) return undefined;
    const value = this.values[this.head];
    this.keys[this.head] = undefined;
    this.values[this.head] = undefined;
    this.count--;
    this.skipTaken();
    return value;
  }

  private skipTaken(): void {
    while (this.head < this.tail && this.keys[this.head] === undefined) this.head++;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** At the end of the arrays: move the live part to the front, or grow if it fills half. */
  private makeRoom(): void {
    const live = this.tail - this.head;
    if (live * 2 > this.keys.length || this.keys.length === 0) {
      const capacity = Math.max(16, this.keys.length * 2);
      this.keys.length = capacity;
      this.values.length = capacity;
    }
    if (this.head > 0) {
      this.keys.copyWithin(0, this.head, this.tail);
      this.values.copyWithin(0, this.head, this.tail);
      this.keys.fill(undefined, live, this.tail);
      this.values.fill(undefined, live, this.tail);
      this.head = 0;
      this.tail = live;
    }
  }
}
