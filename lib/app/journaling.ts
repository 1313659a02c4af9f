/**
 * The event journal's side of the wiring (docs/storage.md): open it, take over what recovery
 * (lib/durability/recovery.ts, called from lib/app/service.ts) handled again, start it from the resumed state,
 * and keep the checkpoint saved. `recoveryWritten$` holds the sources back until the recovered
 * store writes are done, so that the store's first state has them; `settled` is told by the
 * sinks when an effect is done, which moves the checkpoint on.
 */
import { from, ignoreElements, race, take, tap, timer, type Observable } from 'rxjs';
import type { Logger } from '../base/log.js';
import { errorText } from '../base/error-text.js';
import type { Config } from '../config/codec.js';
import { CheckpointTracker, keepCheckpoint, loadCheckpoint, saveCheckpoint } from '../durability/checkpoint.js';
import { EventJournal } from '../durability/event-journal.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Resume } from '../core/protocol/resume.js';
import type { Database } from '../store/database.js';
import { StartupError, STORE_LOAD_WAIT_MS, type Lifetime } from './lifetime.js';

export type OpenedJournal = Awaited<ReturnType<typeof EventJournal.open>>;

export async function openJournal(config: Config, db: Database, logger: Logger, lifetime: Lifetime): Promise<OpenedJournal> {
  const opened = await EventJournal.open(config.dataDir, loadCheckpoint(db, logger), {
    logger, tz: config.tz, fsyncMs: config.events.fsyncMs, retainDays: config.events.retainDays, maxBytes: config.events.maxMb * 1024 * 1024,
  }).catch((err: unknown) => {
    throw new StartupError(`cannot open the event journal: ${errorText(err)}`);
  });
  lifetime.add(async () => opened.journal.close());
  return opened;
}

/** What recovery (lib/durability/recovery.ts `recover`) handled again: the effects to perform, the status after. */
interface Recovered {
  readonly effects: readonly Effect[];
  readonly status?: string;
}

export function startJournal(opened: OpenedJournal, db: Database, saved: Resume, recovered: Recovered | undefined, logger: Logger, lifetime: Lifetime) {
  const { journal } = opened;
  const tracker = new CheckpointTracker(opened.checkpoint);
  const resume = recovered === undefined ? saved : { ...saved, ...(recovered.status === undefined ? {} : { status: recovered.status }) };
  if (recovered !== undefined) {
    tracker.begin(opened.pending.at(-1)!.seq);
    for (const effect of recovered.effects) tracker.effect(effect);
    tracker.setStatus(recovered.status);
    tracker.end();
    logger.warn(
      { events: opened.pending.length, effects: recovered.effects.length, after: opened.checkpoint.seq },
      `handling again the ${opened.pending.length} journaled event(s) past the checkpoint (a crash cut them off)`,
    );
  }
  tracker.setStatus(resume.status);
  // The sources start once the recovered store writes are done (so that their first state has them).
  const unwritten = new Set<Effect>(recovered?.effects ?? []);
  let recoveryWritten: () => void = () => undefined;
  const recoveryWritten$: Observable<never> = race(
    from(new Promise<void>((resolve) => (unwritten.size === 0 ? resolve() : (recoveryWritten = resolve)))),
    timer(STORE_LOAD_WAIT_MS).pipe(tap(() => logger.warn(`the recovered store writes were not all done within ${STORE_LOAD_WAIT_MS / 1000} s; going on`))),
  ).pipe(take(1), ignoreElements());
  const scheduleFired: Record<string, number> = { ...resume.scheduleFired };
  journal.start(resume, Date.now(), opened.checkpoint.seq);
  const checkpoints = keepCheckpoint(tracker, (c) => saveCheckpoint(db, c), 1000, (err) =>
    logger.error({ err: errorText(err) }, 'event journal: cannot save the checkpoint'));
  lifetime.add(async () => checkpoints.stop());

  /** A sink is done with `effect` (or gave up on it): the checkpoint may move past its event. */
  function settled(effect: Effect): void {
    tracker.settled(effect);
    if (unwritten.delete(effect) && unwritten.size === 0) recoveryWritten();
  }

  return { journal, redelivered: opened.redelivered, tracker, resume, scheduleFired, recoveryWritten$, settled, flush: () => checkpoints.flush() };
}

export type Journaling = ReturnType<typeof startJournal>;
