/**
 * The dashboard's routes on the service's HTTP endpoint: `/` the page, `/events` its event
 * stream, `/assets/*` its script and style (files of `web/` in the repository, served as they
 * are: no build step), `/login` the form that sets the session cookie. On a non-loopback
 * address it also guards `/metrics` (see `access.ts`); `/healthz` is left to `http/endpoint.ts`.
 *
 * Every response forbids loading anything from elsewhere (Content-Security-Policy `'self'`),
 * so the page cannot reach any address but this service even by mistake.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Access } from './access.js';
import type { Feed } from './feed.js';

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

/** Handles the request if it is the dashboard's (or must be refused); false leaves it to `http/endpoint.ts`. */
export function dashboardHandler(access: Access, feed: Feed) {
  return (req: IncomingMessage, res: ServerResponse, route: string): boolean => {
    const send = (status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): true => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY, ...extra }).end(req.method === 'HEAD' ? undefined : body);
      return true;
    };
    const html = 'text/html; charset=utf-8';
    if (route === '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD' && route !== '/login')) return false;
    if (route.startsWith('/assets/')) {
      const name = route.slice('/assets/'.length);
      const type = ASSETS[name];
      return type === undefined ? send(404, 'text/plain', 'no such asset\n') : send(200, type, asset(name));
    }
    if (route === '/login') {
      if (req.method === 'POST' && !access.required) return send(303, 'text/plain', 'no login needed\n', { location: '/' });
      if (req.method === 'POST') {
        void readForm(req).then((form) => {
          const token = form?.get('token') ?? '';
          if (access.matches(token)) send(303, 'text/plain', 'logged in\n', { location: '/', 'set-cookie': access.cookie });
          else send(401, html, loginPage('That is not the token this service was started with.'));
        });
        return true;
      }
      return access.required ? send(200, html, loginPage('')) : send(303, 'text/plain', 'no login needed\n', { location: '/' });
    }
    if (!access.allowed(req)) {
      if (route === '/') return send(401, html, loginPage(''));
      return send(401, 'text/plain', 'a token is required: Authorization: Bearer <HTTP_TOKEN>, or log in at /login\n', { 'www-authenticate': 'Bearer' });
    }
    if (route === '/') return send(200, html, asset('index.html'));
    if (route === '/events') {
      if (req.method === 'HEAD') return send(200, 'text/event-stream; charset=utf-8', '');
      feed.connect(res);
      return true;
    }
    return false;
  };
}
