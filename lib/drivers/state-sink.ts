/**
 * Durable state (issue 7): what each schedule last handled, the tracked status, and when the
 * service was last alive, in DATA_DIR's database (`schedule_fired`, and the `service` rows
 * `last_tick_at` and `status`):
 *
 * - a schedule occurrence is committed and synced on the calling thread the moment it is
 *   handled (before the command it sends can reach the broker, so a crash cannot fire it again);
 *   occurrences are rare (a few per minute at most);
 * - `last_tick_at` and the status every second, in the database's transaction of that turn
 *   (its fdatasync runs in the thread pool: a busy disk only delays the next heartbeat);
 * - everything once more, synchronously, when the service stops.
 *
 * A transaction leaves the old or the new rows, never half of them.
 */
import { Observable, type SchedulerLike, asyncScheduler } from 'rxjs';
import type { Logger } from '../base/log.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Resume } from '../core/protocol/resume.js';
import type { Database } from '../store/database.js';
import type { SinkReport } from './report.js';

type Sql = Database['sql'];

/** A `service` row, decoded; `undefined` when missing or not what it should be (logged). */
function serviceValue(sql: Sql, key: string, logger: Logger): unknown {
  const row = sql.prepare('SELECT value FROM service WHERE key = ?').get(key) as { value: string } | undefined;
  if (row === undefined) return undefined;
  try {
    return JSON.parse(row.value) as unknown;
  } catch (err) {
    logger.error({ key }, `durable state ${key} is not JSON (${(err as Error).message}); starting without it`);
    return undefined;
  }
}

/** Reads the state a previous run left (nothing on a first start). */
export function loadState(db: Database, logger: Logger): Resume {
  const scheduleFired: Record<string, number> = {};
  for (const row of db.sql.prepare('SELECT schedule, occurrence FROM schedule_fired').all() as { schedule: string; occurrence: number }[]) {
    scheduleFired[row.schedule] = row.occurrence;
  }
  const lastTickAt = serviceValue(db.sql, 'last_tick_at', logger);
  const status = serviceValue(db.sql, 'status', logger);
  return {
    scheduleFired,
    ...(typeof lastTickAt === 'number' ? { lastTickAt } : {}),
    ...(typeof status === 'string' ? { status } : {}),
  };
}

/** Writes `last_tick_at` and the status (inside a transaction). */
function saveBeat(sql: Sql, lastTickAt: number, status: string | undefined): void {
  const put = sql.prepare('INSERT OR REPLACE INTO service (key, value) VALUES (?, ?)');
  put.run('last_tick_at', JSON.stringify(lastTickAt));
  if (status !== undefined) put.run('status', JSON.stringify(status));
}

export interface StateOptions {
  readonly db: Database;
  readonly resume: Resume;
  /** How often the heartbeat (`lastTickAt`) is written. */
  readonly heartbeatMs?: number;
}

/** A sink for `state.*` effects; it also writes a heartbeat while subscribed, and everything at the end. */
export function makeStateDriver(options: StateOptions, logger: Logger, scheduler: SchedulerLike = asyncScheduler) {
  const { db } = options;
  return (effect$: Observable<Effect>): Observable<SinkReport> =>
    new Observable<SinkReport>((subscriber) => {
      let status = options.resume.status;
      const failed = (err: unknown): void => {
        const text = `cannot write the durable state to ${db.file}: ${(err as Error).message}`;
        if (subscriber.closed) logger.error(text);
        else subscriber.next({ kind: 'alert', sink: 'state', level: 'error', text });
      };
      let beating = false; // a heartbeat is not durable yet: the next tick skips rather than queue
      const beat = (): void => {
        if (beating) return;
        beating = true;
        const at = scheduler.now();
        db.write(() => saveBeat(db.sql, at, status))
          .catch(failed)
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
            try {
              db.writeNow(() => {
                db.sql.prepare('INSERT OR REPLACE INTO schedule_fired (schedule, occurrence) VALUES (?, ?)').run(effect.id, effect.occurrence);
                saveBeat(db.sql, scheduler.now(), status);
              });
            } catch (err) {
              failed(err);
            }
            subscriber.next({ kind: 'done', sink: 'state', effect });
          } else if (effect.type === 'state.status') {
            status = effect.status;
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        heartbeat.unsubscribe();
        effects.unsubscribe();
        // the newest lastTickAt and status, synchronously
        try {
          db.writeNow(() => saveBeat(db.sql, scheduler.now(), status));
          logger.debug({ file: db.file }, 'durable state saved');
        } catch (err) {
          failed(err);
        }
      };
    });
}
