/**
 * The limit on guessing HTTP_TOKEN (issue 24): per client address, at most `maxFailures` wrong
 * tokens (the login form, or a wrong `Authorization: Bearer`) in a sliding window of `windowMs`;
 * after that the address is refused with 429 until its oldest failure in the window is older
 * than the window, even with the right token, so a guess cannot be confirmed while blocked. Other
 * addresses are not affected. A right token clears the address's failures.
 *
 * IPv6 clients are counted per /64, the block one home or host gets: counting each address
 * would let one client rotate through 2^64 of them. Memory is bounded by `maxAddresses`.
 */
import { isIP } from 'node:net';

export interface LoginLimits {
  readonly maxFailures: number;
  readonly windowMs: number;
  /** Addresses tracked at once; beyond, the stalest are forgotten first. */
  readonly maxAddresses?: number;
  /** The clock (a spec moves it instead of waiting five minutes). */
  readonly now?: () => number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { maxFailures: 5, windowMs: 5 * 60_000, maxAddresses: 10_000 };

export interface LoginLimiter {
  /** Milliseconds until `address` may try a token again; 0 when it may now. */
  blockedFor(address: string): number;
  /** Counts a wrong token; returns `blockedFor` after it (more than 0: this one reached the limit). */
  failed(address: string): number;
  succeeded(address: string): void;
}

/** What requests are counted under: an IPv4 address, or an IPv6 address's /64. */
export function addressKey(remote: string | undefined): string {
  if (remote === undefined || remote === '') return 'unknown';
  const ip = remote.replace(/%.*$/, '').toLowerCase();
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) return ip.slice(7);
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export function makeLoginLimiter(limits: LoginLimits = DEFAULT_LOGIN_LIMITS): LoginLimiter {
  const now = limits.now ?? Date.now;
  const maxAddresses = limits.maxAddresses ?? DEFAULT_LOGIN_LIMITS.maxAddresses ?? 10_000;
  /** Times of each address's failures inside the window, oldest first (at most maxFailures). */
  const failures = new Map<string, number[]>();

  const recent = (address: string, at: number): number[] => {
    const times = (failures.get(address) ?? []).filter((t) => at - t < limits.windowMs);
    if (times.length === 0) failures.delete(address);
    return times;
  };
  const blockedFor = (address: string): number => {
    const at = now();
    const times = recent(address, at);
    return times.length < limits.maxFailures ? 0 : (times[0] ?? at) + limits.windowMs - at;
  };
  return {
    blockedFor,
    failed(address) {
      const at = now();
      const times = [...recent(address, at), at].slice(-limits.maxFailures);
      failures.delete(address); // re-inserted last: the Map's order is then stalest first
      failures.set(address, times);
      for (const stalest of failures.keys()) {
        if (failures.size <= maxAddresses) break;
        failures.delete(stalest);
      }
      return blockedFor(address);
    },
    succeeded(address) {
      failures.delete(address);
    },
  };
}
