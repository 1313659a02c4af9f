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
import { Observable } from 'rxjs';
import type { Health } from '../http/endpoint.js';
import type { Logger } from '../base/log.js';
import type { Deps } from '../core/streams/deps.js';
import type { Topics } from '../core/protocol/topics.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Observed } from '../core/streams/world.js';
import { makeAccess } from './access.js';
import { Feed } from './feed.js';
import { emptyState, fold, inputsOf, inputsOfEffect, type DashboardState, type Input } from './fold.js';
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

type FoldSettings = { readonly topics: Topics; readonly commandConfirmS: number };

/** The pipeline stream that folds every observed item into `state` (emits nothing). */
export function foldObserved(state: DashboardState, settings: FoldSettings, changed: () => void = () => undefined) {
  // A bare subscriber rather than tap + ignoreElements, and one emit function rather than one per
  // event: this runs for every event, page or not.
  let folded = false;
  const emit = (input: Input): void => {
    fold(state, input, settings);
    folded = true;
  };
  return (observed$: Observable<Observed>, deps: Deps): Observable<Effect> =>
    new Observable<Effect>((subscriber) =>
      observed$.subscribe({
        next: (item) => {
          folded = false;
          inputsOf(item, item.world.status, item.world.tree, deps.scheduler, emit);
          if (folded) changed();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}

/** Folds one effect of the pipeline into `state`; true if it changed anything. */
export function foldEffect(state: DashboardState, settings: FoldSettings, effect: Effect, at: number): boolean {
  const inputs = inputsOfEffect(effect, settings.topics, at);
  for (const input of inputs) fold(state, input, settings);
  return inputs.length > 0;
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
    stream: foldObserved(state, settings, () => feed.changed()),
    effect: (effect) => {
      if (foldEffect(state, settings, effect, Date.now())) feed.changed();
    },
    handler: dashboardHandler(makeAccess(config.httpHost, config.httpToken), feed, { logger }),
    close: () => feed.close(),
  };
}
