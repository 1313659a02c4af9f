/**
 * The durable state in DATA_DIR's database: a schedule occurrence committed at once, the
 * heartbeat and status in the background, everything at the end; read back on start.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { silentLogger } from '../../lib/base/log.js';
import type { Effect } from '../../lib/core/protocol/effects.js';
import { loadState, makeStateDriver } from '../../lib/drivers/state-sink.js';
import { Database } from '../../lib/store/database.js';

describe('state sink (durable state)', () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'smarthome-state-'));
    db = await Database.open(dir, silentLogger);
  });
  afterEach(async () => {
    await db.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('starts empty, then a schedule occurrence is committed at once and everything at the end', async () => {
    expect(loadState(db, silentLogger)).to.deep.equal({ scheduleFired: {} });
    const effect$ = new Subject<Effect>();
    const scheduler = new VirtualTimeScheduler();
    const reports: unknown[] = [];
    const sub = makeStateDriver({ db, resume: { scheduleFired: { old: 1 } }, heartbeatMs: 1000 }, silentLogger, scheduler)(effect$).subscribe((r) => reports.push(r));
    effect$.next({ type: 'state.status', status: '016000000' });
    effect$.next({ type: 'state.schedule', id: 'wake', occurrence: 29383660 });
    expect(reports).to.have.length(1);
    // committed and synced before the report: a reader of the file sees it now
    expect(loadState(db, silentLogger)).to.deep.include({ scheduleFired: { wake: 29383660 }, status: '016000000' });
    effect$.next({ type: 'state.status', status: '000000000' });
    sub.unsubscribe();
    expect(loadState(db, silentLogger)).to.deep.equal({ scheduleFired: { wake: 29383660 }, lastTickAt: 0, status: '000000000' });
  });

  it('writes the heartbeat every second, in the background', async () => {
    const effect$ = new Subject<Effect>();
    const scheduler = new VirtualTimeScheduler();
    const sub = makeStateDriver({ db, resume: { scheduleFired: {}, status: '016000000' }, heartbeatMs: 1000 }, silentLogger, scheduler)(effect$).subscribe();
    scheduler.flush = scheduler.flush.bind(scheduler);
    scheduler.maxFrames = 6000;
    scheduler.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const state = loadState(db, silentLogger);
    expect(state.status).to.equal('016000000');
    expect(state.lastTickAt).to.be.a('number');
    sub.unsubscribe();
  });
});
