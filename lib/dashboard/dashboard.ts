/**
 * The live dashboard (issue 15), wired into the service in three places: a stream added to the
 * pipeline that folds what the streams observe (events with the tracked status), `effect()` for
 * what the pipeline does (device commands, schedule firings, alerts), and the HTTP handler.
 *
 *   observed$ ──► inputsOf ──┐
 *                            ├──► fold (state, in place) ──► Feed (SSE, only with a page open)
 *   effect$   ──► inputsOfEffect
 *   journal files (at start) ┘
 */
import type { Observable } from 'rxjs';
import type { Health } from '../http/endpoint.js';
import type { Logger } from '../base/log.js';
import type { Deps } from '../core/streams/deps.js';
import type { Topics } from '../core/protocol/topics.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Observed } from '../core/streams/world.js';
import { makeAccess } from './access.js';
import { Feed } from './feed.js';
import { emptyState, foldEffects, foldObserved, type DashboardState } from './fold.js';
import { loadHistory } from './history.js';
import { dashboardHandler } from './server.js';
import { errorText } from '../base/error-text.js';

export { accessProblem } from './access.js';

export interface Dashboard {
  readonly state: DashboardState;
  /** A pipeline observer (`pipeline`'s `observers`): folds every observed item, emits nothing. */
  stream(observed$: Observable<Observed>, deps: Deps): Observable<Effect>;
  /** Folds one effect of the pipeline. */
  effect(effect: Effect): void;
  readonly handler: ReturnType<typeof dashboardHandler>;
  close(): void;
}

/**
 * The settings the dashboard reads (a subset of the service's Config, declared here so the
 * dashboard does not import the root's configuration: lib/ -> dashboard, never back).
 */
export interface DashboardConfig {
  readonly topics: Topics;
  readonly commandConfirmS: number;
  readonly dataDir: string;
  readonly tz: string;
  readonly dashboardStaleS: number;
  readonly httpHost: string;
  readonly httpToken?: string;
}

export async function startDashboard(config: DashboardConfig, health: () => Health, logger: Logger): Promise<Dashboard> {
  const settings = { topics: config.topics, commandConfirmS: config.commandConfirmS };
  const state = emptyState();
  const loaded = await loadHistory(state, config.dataDir, Date.now(), settings).catch((err: unknown) => {
    logger.warn(`dashboard: could not read the event journal for its history: ${errorText(err)}`);
    return 0;
  });
  if (loaded > 0) logger.info(`dashboard: 24-hour history rebuilt from ${loaded} journal events`);
  const feed = new Feed(state, { tz: config.tz, staleS: config.dashboardStaleS, commandConfirmS: config.commandConfirmS }, health);
  return {
    state,
    // bound methods rather than arrows here: the fold calls the feed directly, for every event
    stream: foldObserved(state, settings, feed.changed.bind(feed)),
    effect: foldEffects(state, settings, feed.changed.bind(feed)),
    handler: dashboardHandler(makeAccess(config.httpHost, config.httpToken), feed, { logger }),
    close: () => feed.close(),
  };
}
