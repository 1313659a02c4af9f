/**
 * What the service serves over HTTP: the dashboard (its pipeline stream and effect fold, its
 * pages) and the endpoint it is mounted on, with /healthz (from `ServiceHealth`) and /metrics.
 * The dashboard starts before the pipeline (its stream is part of it); the endpoint listens
 * last, once everything it reports on is wired.
 */
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import { startDashboard, type Dashboard } from '../dashboard/dashboard.js';
import { startHttp, type HttpEndpoint } from '../http/endpoint.js';
import type { Metrics } from '../http/metrics.js';
import type { ServiceHealth } from './health.js';
import { StartupError, type Lifetime } from '../base/lifetime.js';

export async function openDashboard(config: Config, logger: Logger, health: ServiceHealth, lifetime: Lifetime): Promise<Dashboard> {
  const dashboard = await startDashboard(config, health.view, logger);
  lifetime.add(async () => dashboard.close());
  return dashboard;
}

export async function serveHttp(config: Config, health: ServiceHealth, metrics: Metrics, dashboard: Dashboard, lifetime: Lifetime): Promise<HttpEndpoint> {
  const http: HttpEndpoint = await startHttp(config.httpHost, config.httpPort, health.view, metrics, dashboard.handler).catch((err: unknown) => {
    throw new StartupError(`cannot serve health and metrics on ${config.httpHost}:${config.httpPort}: ${(err as Error).message}`);
  });
  lifetime.add(() => http.close());
  return http;
}
