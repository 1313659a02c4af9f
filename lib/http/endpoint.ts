/**
 * The health and metrics endpoint: `GET /healthz` answers 200 with every source's state when all
 * are up, 503 with the reasons otherwise; `GET /metrics` is the Prometheus text format. The
 * dashboard (`dashboard/server.ts`) adds its routes, and guards these on a non-loopback address.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export type SourceState = { readonly up: true } | { readonly up: false; readonly reason: string };

/** The current state of each source, by name (updated by the service as sources go up and down). */
export type Health = ReadonlyMap<string, SourceState>;

export interface HttpEndpoint {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export function healthBody(health: Health): { status: 200 | 503; body: Record<string, unknown> } {
  const sources = Object.fromEntries([...health].map(([name, s]) => [name, s.up ? 'up' : `down: ${s.reason}`]));
  const down = [...health].filter(([, s]) => !s.up);
  return down.length === 0 ? { status: 200, body: { status: 'ok', sources } } : { status: 503, body: { status: 'unavailable', sources } };
}

/** More routes (the dashboard): true when it answered the request (or refused it). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export async function startHttp(host: string, port: number, health: () => Health, metrics: Metrics, handler?: HttpHandler): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (handler?.(req, res, path) === true) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/healthz') {
      const { status, body } = healthBody(health());
      res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
