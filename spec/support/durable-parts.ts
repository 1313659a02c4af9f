/**
 * The real durability operator on a fresh DATA_DIR (`dir`): its database and event journal,
 * closed with `lifetime`, nothing recovered. For specs of the intake and of `run`.
 */
import { asyncScheduler } from 'rxjs';
import type { Lifetime } from '../../lib/base/lifetime.js';
import { silentLogger } from '../../lib/base/log.js';
import { loadState } from '../../lib/drivers/state-sink.js';
import { durable, openJournal, type Durable } from '../../lib/durability/durable.js';
import { Database } from '../../lib/store/database.js';

export async function openDurable(dir: string, lifetime: Lifetime): Promise<Durable> {
  const db = await Database.open(dir, silentLogger);
  lifetime.add(async () => db.close());
  const config = { dataDir: dir, tz: 'Asia/Seoul', events: { fsyncMs: 1000, retainDays: 7, maxMb: 64 } };
  const opened = await openJournal(config, db, silentLogger, lifetime);
  return durable({
    opened, db, saved: loadState(db, silentLogger), recovered: undefined, logger: silentLogger, lifetime, alert: () => undefined, scheduler: asyncScheduler,
  });
}
