/**
 * Real HTTP counterparts on loopback for adapter tests: a node:http server on 127.0.0.1 with an
 * ephemeral port that records every request and answers through a handler the test can swap
 * (a status and body, or `'hang'`: never answer). `down()` / `up()` stop and restart it on the
 * same port, to play a service that goes away and comes back.
 *
 * Also `captureLogs()`: a pino logger writing into a string, so a test can check that no secret
 * reaches a log line (no redaction configured, so the check is strict).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';

export interface Received {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly pathname: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** `Date.now()` when the request ended. */
  readonly at: number;
}

export type Reply = { readonly status: number; readonly body?: string; readonly contentType?: string } | 'hang';
export type Handler = (request: Received) => Reply;

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  readonly requests: Received[];
  handler: Handler;
  /** Requests whose path is `pathname` (all of them when omitted). */
  count(pathname?: string): number;
  /** Stops listening and drops every open connection (hanging ones too); the port stays known. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export const ok = (body: string, contentType = 'application/json; charset=utf-8'): Reply => ({ status: 200, body, contentType });

export async function startServer(handler: Handler): Promise<TestServer> {
  let server: Server | null = null;
  let port = 0;
  const requests: Received[] = [];

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const received: Received = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        pathname: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(received);
      const reply = self.handler(received);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json; charset=utf-8' });
      res.end(reply.body ?? '');
    });
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(serve);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      if (!s) return resolve();
      s.close(() => resolve());
      s.closeAllConnections();
    });

  await listen();
  const self: TestServer = {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    handler,
    count: (pathname) => (pathname === undefined ? requests.length : requests.filter((r) => r.pathname === pathname).length),
    down: stop,
    up: listen,
    close: stop,
  };
  return self;
}

/** A pino logger (level debug) whose lines land in `text()`. */
export function captureLogs(): { logger: Logger; text: () => string; lines: () => Record<string, unknown>[] } {
  let out = '';
  const logger = pino({ level: 'debug', base: undefined }, { write: (line: string) => void (out += line) });
  return {
    logger,
    text: () => out,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
