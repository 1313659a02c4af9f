/**
 * The dashboard's routes on the service's HTTP endpoint: `/` the page, `/events` its event
 * stream, `/assets/*` its script and style (files of `web/` in the repository, served as they
 * are: no build step), `/login` the form that sets the session cookie. On a non-loopback
 * address it also guards `/metrics` (see `access.ts`); `/healthz` is left to `http/endpoint.ts`.
 * Wrong tokens, from the form or a Bearer header, are limited per client address
 * (`login-limit.ts`): past the limit the answer is 429 with Retry-After.
 *
 * Every response forbids loading anything from elsewhere (Content-Security-Policy `'self'`),
 * so the page cannot reach any address but this service even by mistake.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../base/log.js';
import type { Access } from './access.js';
import type { Feed } from './feed.js';
import { addressKey, makeLoginLimiter, type LoginLimits } from './login-limit.js';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

const SECURITY = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const ASSETS: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

/** The files are read once: they are part of the installed code, like the modules. */
const cache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let body = cache.get(name);
  if (body === undefined) {
    body = readFileSync(path.join(WEB_DIR, name));
    cache.set(name, body);
  }
  return body;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(message: string): string {
  return asset('login.html')
    .toString('utf8')
    .replace('<!--message-->', message === '' ? '' : `<p class="error" role="alert">${escapeHtml(message)}</p>`);
}

/** Reads a small form body (the login form's one field); anything larger is refused. */
function readForm(req: IncomingMessage, limit = 4096): Promise<URLSearchParams | undefined> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) {
        resolve(undefined);
        req.destroy();
      }
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', () => resolve(undefined));
  });
}

const HTML = 'text/html; charset=utf-8';

/** The 429 in the form the client reads: the login page for a browser, JSON or plain text otherwise. */
function tooMany(req: IncomingMessage, waitMs: number): { type: string; body: string; headers: Record<string, string> } {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const minutes = Math.ceil(seconds / 60);
  const text = `Too many wrong tokens from this address: try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
  const headers = { 'retry-after': String(seconds) };
  const accept = req.headers.accept ?? '';
  if (accept.includes('text/html')) return { type: HTML, body: loginPage(text), headers };
  if (accept.includes('application/json')) {
    return { type: 'application/json', body: `${JSON.stringify({ error: 'too many wrong tokens', retryAfterS: seconds, message: text })}\n`, headers };
  }
  return { type: 'text/plain; charset=utf-8', body: `${text}\n`, headers };
}

export interface DashboardHandlerOptions {
  /** Default: 5 wrong tokens per address in 5 minutes (`DEFAULT_LOGIN_LIMITS`). */
  readonly loginLimits?: LoginLimits;
  /** Told when an address reaches the limit. */
  readonly logger?: Logger;
}

/** Handles the request if it is the dashboard's (or must be refused); false leaves it to `http/endpoint.ts`. */
export function dashboardHandler(access: Access, feed: Feed, options: DashboardHandlerOptions = {}) {
  const limiter = makeLoginLimiter(options.loginLimits);
  const wrongToken = (address: string): void => {
    const wait = limiter.failed(address);
    if (wait > 0) options.logger?.warn(`dashboard: too many wrong tokens from ${address}; refused for ${Math.ceil(wait / 1000)} s`);
  };
  return (req: IncomingMessage, res: ServerResponse, route: string): boolean => {
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): true => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY, ...extra }).end(req.method === 'HEAD' ? undefined : body);
      return true;
    };
    const refuse = (waitMs: number): true => {
      const { type, body, headers } = tooMany(req, waitMs);
      return send(429, type, body, headers);
    };
    const address = addressKey(req.socket.remoteAddress);
    if (route === '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD' && route !== '/login')) return false;
    if (route.startsWith('/assets/')) {
      const name = route.slice('/assets/'.length);
      const type = ASSETS[name];
      return type === undefined ? send(404, 'text/plain', 'no such asset\n') : send(200, type, asset(name));
    }
    if (route === '/login') {
      if (req.method === 'POST' && !access.required) return send(303, 'text/plain', 'no login needed\n', { location: '/' });
      if (req.method === 'POST') {
        const wait = limiter.blockedFor(address);
        if (wait > 0) {
          req.resume(); // the form is not read: no guess is checked while blocked
          return refuse(wait);
        }
        void readForm(req).then((form) => {
          const token = form?.get('token') ?? '';
          if (access.matches(token)) {
            limiter.succeeded(address);
            send(303, 'text/plain', 'logged in\n', { location: '/', 'set-cookie': access.cookie });
          } else {
            wrongToken(address);
            send(401, HTML, loginPage('That is not the token this service was started with.'));
          }
        });
        return true;
      }
      return access.required ? send(200, HTML, loginPage('')) : send(303, 'text/plain', 'no login needed\n', { location: '/' });
    }
    if (access.offersToken(req)) {
      const wait = limiter.blockedFor(address);
      if (wait > 0) return refuse(wait);
    }
    if (!access.allowed(req)) {
      if (access.offersToken(req)) wrongToken(address);
      if (route === '/') return send(401, HTML, loginPage(''));
      return send(401, 'text/plain', 'a token is required: Authorization: Bearer <HTTP_TOKEN>, or log in at /login\n', { 'www-authenticate': 'Bearer' });
    }
    if (route === '/') return send(200, HTML, asset('index.html'));
    if (route === '/events') {
      if (req.method === 'HEAD') return send(200, 'text/event-stream; charset=utf-8', '');
      feed.connect(res);
      return true;
    }
    return false;
  };
}
