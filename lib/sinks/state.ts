/**
 * Durable state (issue 7): what each schedule last handled, the tracked status, and when the
 * service was last alive, in `DATA_DIR/state.json`. A schedule occurrence is written at once
 * (a crash must not fire it again); the heartbeat and status at most once a second.
 * Each write goes to a temporary file that is synced and renamed over the old one, so a crash
 * leaves either the old or the new state, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { Observable, type SchedulerLike, asyncScheduler } from 'rxjs';
import { formatErrors } from '../protocol/errors.js';
import type { Logger } from '../log.js';
import type { Effect } from '../streams/effects.js';
import type { Resume } from '../streams/deps.js';
import type { SinkReport } from './report.js';

export const STATE_FILE = 'state.json';

const StateCodec = t.intersection([
  t.type({ scheduleFired: t.record(t.string, t.number) }),
  t.partial({ lastTickAt: t.number, status: t.string }),
]);
type State = t.TypeOf<typeof StateCodec>;

/** Reads the state a previous run left; a missing file is a first start, a bad one is logged. */
export function loadState(dataDir: string, logger: Logger): Resume {
  const file = join(dataDir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { scheduleFired: {} };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    logger.error({ file }, `durable state is not JSON (${(err as Error).message}); starting without it`);
    return { scheduleFired: {} };
  }
  const decoded = formatErrors(file, StateCodec.decode(json));
  if (E.isLeft(decoded)) {
    logger.error({ file }, `durable state ignored: ${decoded.left.message}`);
    return { scheduleFired: {} };
  }
  return decoded.right;
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export interface StateOptions {
  readonly dataDir: string;
  readonly resume: Resume;
  /** How often the heartbeat (`lastTickAt`) is written. */
  readonly heartbeatMs?: number;
}

/** A sink for `state.*` effects; it also writes a heartbeat while subscribed, and once at the end. */
export function makeStateDriver(options: StateOptions, logger: Logger, scheduler: SchedulerLike = asyncScheduler) {
  const file = join(options.dataDir, STATE_FILE);
  mkdirSync(options.dataDir, { recursive: true });
  return (effect$: Observable<Effect>): Observable<SinkReport> =>
    new Observable<SinkReport>((subscriber) => {
      const state: { -readonly [K in keyof State]: State[K] } = {
        scheduleFired: { ...options.resume.scheduleFired },
        ...(options.resume.status === undefined ? {} : { status: options.resume.status }),
      };
      const save = (): void => {
        state.lastTickAt = scheduler.now();
        try {
          writeAtomically(file, `${JSON.stringify(state)}\n`);
        } catch (err) {
          subscriber.next({ kind: 'alert', sink: 'state', level: 'error', text: `cannot write ${file}: ${(err as Error).message}` });
        }
      };
      const heartbeat = scheduler.schedule(function () {
        save();
        this.schedule(undefined, options.heartbeatMs ?? 1000);
      }, 0);
      const effects = effect$.subscribe({
        next: (effect) => {
          if (effect.type === 'state.schedule') {
            state.scheduleFired[effect.id] = effect.occurrence;
            save();
            subscriber.next({ kind: 'done', sink: 'state', effect });
          } else if (effect.type === 'state.status') {
            state.status = effect.status;
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        heartbeat.unsubscribe();
        effects.unsubscribe();
        save();
        logger.debug({ file }, 'durable state saved');
      };
    });
}
