/**
 * Who may read the HTTP endpoint (issue 15). On a loopback address everyone on the machine may,
 * as before. On any other address the dashboard, its event stream and `/metrics` need the secret
 * HTTP_TOKEN: as `Authorization: Bearer <token>` (scrapers, scripts) or as the HttpOnly cookie
 * the login form sets (people). `/healthz` stays open: it tells only up/down, and load
 * balancers and process supervisors ask it without credentials.
 *
 * The cookie holds an HMAC of the token, not the token, so a leaked cookie does not reveal the
 * secret, and changing HTTP_TOKEN logs everyone out. Comparisons are constant-time. Wrong
 * tokens are limited per client address by the routes (`login-limit.ts`, `server.ts`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const COOKIE = 'smarthome_dashboard';

/** 127.0.0.0/8, ::1 and `localhost`: only processes on this machine can connect there. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopback(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Why start-up must stop, or undefined: a non-loopback address without a token would be open to the network. */
export function accessProblem(host: string, token: string | undefined): string | undefined {
  if (isLoopback(host) || token !== undefined) return undefined;
  return (
    `HTTP_HOST=${host} is not a loopback address, and without HTTP_TOKEN the dashboard and /metrics would be open to the network: ` +
    'set HTTP_TOKEN (or HTTP_TOKEN_FILE, a file holding it) to a long random secret, or set HTTP_HOST=127.0.0.1'
  );
}

export interface Access {
  /** False when a token is needed and the request has neither the header nor the cookie. */
  allowed(req: IncomingMessage): boolean;
  /** True when the given token is the right one (the login form). */
  matches(candidate: string): boolean;
  /** True when the request offers a token (`Authorization: Bearer`), right or wrong: a guess to count. */
  offersToken(req: IncomingMessage): boolean;
  /** The Set-Cookie value after a successful login. */
  readonly cookie: string;
  readonly required: boolean;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function makeAccess(host: string, token: string | undefined): Access {
  if (isLoopback(host) || token === undefined) {
    return { allowed: () => true, matches: () => true, offersToken: () => false, cookie: '', required: false };
  }
  const session = createHmac('sha256', token).update('smarthome dashboard session').digest('base64url');
  const cookieOf = (req: IncomingMessage): string | undefined => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === COOKIE) return value.join('=');
    }
    return undefined;
  };
  const offersToken = (req: IncomingMessage): boolean => /^Bearer /i.test(req.headers.authorization ?? '');
  return {
    required: true,
    offersToken,
    allowed: (req) => {
      if (offersToken(req) && sameText((req.headers.authorization ?? '').slice(7).trim(), token)) return true;
      const cookie = cookieOf(req);
      return cookie !== undefined && sameText(cookie, session);
    },
    matches: (candidate) => sameText(candidate, token),
    cookie: `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${30 * 24 * 3600}`,
  };
}
