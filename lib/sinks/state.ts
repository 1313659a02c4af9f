/**
 * Durable state (issue 7): what each schedule last handled, the tracked status, and when the
 * service was last alive, in two files of `DATA_DIR`:
 *
 * - `state.json`: the schedule occurrences, written synchronously the moment one is handled
 *   (before the command it sends can reach the broker, so a crash cannot fire it again), and
 *   everything once more when the service stops. Occurrences are rare (a few per minute at most),
 *   so a slow disk delays the event loop only then.
 * - `heartbeat.json`: `lastTickAt` and the status, every second, written in libuv's thread pool.
 *   A busy disk used to stall the event loop for up to 1.7 s here (measured, BENCHMARKS.md); now
 *   it only delays the next heartbeat. One write at a time, so it never races itself, and it never
 *   touches `state.json`, so it cannot undo an occurrence written meanwhile.
 *
 * Each write goes to a temporary file that is synced and renamed over the old one, so a crash
 * leaves either the old or the new content, never half of it. On start the newer `lastTickAt` of
 * the two files wins (with its status).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { Observable, type SchedulerLike, asyncScheduler } from 'rxjs';
import { formatErrors } from '../protocol/errors.js';
import type { Logger } from '../base/log.js';
import type { Effect } from '../protocol/effects.js';
import type { Resume } from '../protocol/resume.js';
import type { SinkReport } from './report.js';

export const STATE_FILE = 'state.json';
export const HEARTBEAT_FILE = 'heartbeat.json';

const StateCodec = t.intersection([
  t.type({ scheduleFired: t.record(t.string, t.number) }),
  t.partial({ lastTickAt: t.number, status: t.string }),
]);
type State = t.TypeOf<typeof StateCodec>;

const HeartbeatCodec = t.intersection([t.type({ lastTickAt: t.number }), t.partial({ status: t.string })]);
type Heartbeat = t.TypeOf<typeof HeartbeatCodec>;

/** A file's content decoded, `undefined` if it is missing, bad (logged) or ill-typed (logged). */
function readJson<A>(file: string, codec: t.Type<A, unknown>, logger: Logger): A | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    logger.error({ file }, `durable state is not JSON (${(err as Error).message}); starting without it`);
    return undefined;
  }
  const decoded = formatErrors(file, codec.decode(json));
  if (E.isLeft(decoded)) {
    logger.error({ file }, `durable state ignored: ${decoded.left.message}`);
    return undefined;
  }
  return decoded.right;
}

/** Reads the state a previous run left; missing files are a first start, bad ones are logged. */
export function loadState(dataDir: string, logger: Logger): Resume {
  const state = readJson(join(dataDir, STATE_FILE), StateCodec, logger) ?? { scheduleFired: {} };
  const beat = readJson(join(dataDir, HEARTBEAT_FILE), HeartbeatCodec, logger);
  if (beat === undefined || (state.lastTickAt !== undefined && state.lastTickAt >= beat.lastTickAt)) return state;
  const { status: _older, ...rest } = state;
  return { ...rest, lastTickAt: beat.lastTickAt, ...(beat.status === undefined ? {} : { status: beat.status }) };
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

/** The same in the thread pool (its own temporary file, so it never meets a synchronous write). */
async function writeAtomicallyInBackground(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

export interface StateOptions {
  readonly dataDir: string;
  readonly resume: Resume;
  /** How often the heartbeat (`lastTickAt`) is written. */
  readonly heartbeatMs?: number;
}

/** A sink for `state.*` effects; it also writes a heartbeat while subscribed, and everything at the end. */
export function makeStateDriver(options: StateOptions, logger: Logger, scheduler: SchedulerLike = asyncScheduler) {
  const file = join(options.dataDir, STATE_FILE);
  const heartbeatFile = join(options.dataDir, HEARTBEAT_FILE);
  mkdirSync(options.dataDir, { recursive: true });
  return (effect$: Observable<Effect>): Observable<SinkReport> =>
    new Observable<SinkReport>((subscriber) => {
      const state: { -readonly [K in keyof State]: State[K] } = {
        scheduleFired: { ...options.resume.scheduleFired },
        ...(options.resume.status === undefined ? {} : { status: options.resume.status }),
      };
      const failed = (target: string, err: unknown): void => {
        if (subscriber.closed) {
          logger.error({ file: target }, `cannot write ${target}: ${(err as Error).message}`);
          return;
        }
        subscriber.next({ kind: 'alert', sink: 'state', level: 'error', text: `cannot write ${target}: ${(err as Error).message}` });
      };
      const save = (): void => {
        state.lastTickAt = scheduler.now();
        try {
          writeAtomically(file, `${JSON.stringify(state)}\n`);
        } catch (err) {
          failed(file, err);
        }
      };
      let beating = false; // a heartbeat write is in flight: the next tick skips rather than queue
      const beat = (): void => {
        if (beating) return;
        beating = true;
        const content: Heartbeat = { lastTickAt: scheduler.now(), ...(state.status === undefined ? {} : { status: state.status }) };
        writeAtomicallyInBackground(heartbeatFile, `${JSON.stringify(content)}\n`)
          .catch((err: unknown) => failed(heartbeatFile, err))
          .finally(() => {
            beating = false;
          });
      };
      const heartbeat = scheduler.schedule(function () {
        beat();
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
        // everything, synchronously: the newest lastTickAt, so it wins over a heartbeat in flight
        save();
        logger.debug({ file }, 'durable state saved');
      };
    });
}
