import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { silentLogger } from '../../lib/base/log.js';
import { HEARTBEAT_FILE, loadState, makeStateDriver, STATE_FILE } from '../../lib/sinks/state.js';
import type { SinkReport } from '../../lib/sinks/report.js';
import type { Effect } from '../../lib/protocol/effects.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'state-'));
const readState = (dir: string, name = STATE_FILE) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
const until = async (what: string, predicate: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
};

describe('sinks/state', () => {
  it('starts empty without a file, and from what a previous run left otherwise', () => {
    const dir = tempDir();
    expect(loadState(dir, silentLogger)).to.deep.equal({ scheduleFired: {} });
    writeFileSync(join(dir, STATE_FILE), '{"scheduleFired":{"wake":27000000},"lastTickAt":1632304800000,"status":"016000000"}');
    expect(loadState(dir, silentLogger)).to.deep.equal({ scheduleFired: { wake: 27000000 }, lastTickAt: 1632304800000, status: '016000000' });
  });

  it('ignores a corrupt or ill-typed file (and says so) instead of failing to start', () => {
    const dir = tempDir();
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push((JSON.parse(line) as { msg: string }).msg) });
    writeFileSync(join(dir, STATE_FILE), '{"scheduleFired":');
    expect(loadState(dir, logger)).to.deep.equal({ scheduleFired: {} });
    writeFileSync(join(dir, STATE_FILE), '{"scheduleFired":{"wake":"soon"}}');
    expect(loadState(dir, logger)).to.deep.equal({ scheduleFired: {} });
    expect(lines[0]).to.match(/not JSON/);
    expect(lines[1]).to.match(/scheduleFired\.wake: expected number, got "soon"/);
  });

  it('takes lastTickAt and the status from whichever file is newer', () => {
    const dir = tempDir();
    writeFileSync(join(dir, STATE_FILE), '{"scheduleFired":{"wake":27000000},"lastTickAt":1000,"status":"016000000"}');
    writeFileSync(join(dir, HEARTBEAT_FILE), '{"lastTickAt":2000,"status":"000000000"}');
    expect(loadState(dir, silentLogger)).to.deep.equal({ scheduleFired: { wake: 27000000 }, lastTickAt: 2000, status: '000000000' });
    writeFileSync(join(dir, HEARTBEAT_FILE), '{"lastTickAt":500}');
    expect(loadState(dir, silentLogger)).to.deep.equal({ scheduleFired: { wake: 27000000 }, lastTickAt: 1000, status: '016000000' });
    writeFileSync(join(dir, HEARTBEAT_FILE), '{"lastTickAt":3000}'); // no status yet: none
    expect(loadState(dir, silentLogger)).to.deep.equal({ scheduleFired: { wake: 27000000 }, lastTickAt: 3000 });
    writeFileSync(join(dir, HEARTBEAT_FILE), '{"lastTick'); // cut short: the state file still counts
    expect(loadState(dir, silentLogger).lastTickAt).to.equal(1000);
  });

  it('writes a schedule occurrence at once, and everything at the end', () => {
    const dir = tempDir();
    const effect$ = new Subject<Effect>();
    const sub = makeStateDriver({ dataDir: dir, resume: { scheduleFired: { old: 1 } }, heartbeatMs: 60_000 }, silentLogger)(effect$).subscribe();
    effect$.next({ type: 'state.status', status: '001000000' });
    effect$.next({ type: 'state.schedule', id: 'wake', occurrence: 27000000 });
    const written = readState(dir);
    expect(written.scheduleFired).to.deep.equal({ old: 1, wake: 27000000 });
    expect(written.status).to.equal('001000000');
    effect$.next({ type: 'state.status', status: '000000000' });
    sub.unsubscribe();
    expect(readState(dir).status).to.equal('000000000');
    expect(loadState(dir, silentLogger).lastTickAt).to.be.a('number');
  });

  it('writes the heartbeat off the event loop, to its own file, one write at a time', async () => {
    const dir = tempDir();
    const scheduler = new VirtualTimeScheduler();
    const effect$ = new Subject<Effect>();
    const sub = makeStateDriver({ dataDir: dir, resume: { scheduleFired: {} }, heartbeatMs: 1000 }, silentLogger, scheduler)(effect$).subscribe();
    effect$.next({ type: 'state.status', status: '016000000' });
    scheduler.maxFrames = 0;
    scheduler.flush(); // the first heartbeat starts at virtual time 0 ...
    expect(existsSync(join(dir, HEARTBEAT_FILE))).to.equal(false); // ... and nothing is written synchronously
    scheduler.maxFrames = 5_000;
    scheduler.flush(); // ticks up to 5 s while that write is in flight: skipped, not queued
    await until('the heartbeat file', () => existsSync(join(dir, HEARTBEAT_FILE)));
    expect(readState(dir, HEARTBEAT_FILE)).to.deep.equal({ lastTickAt: 0, status: '016000000' });
    expect(existsSync(join(dir, STATE_FILE))).to.equal(false); // no occurrence yet
    scheduler.maxFrames = 6_000;
    scheduler.flush(); // the next tick, with the first write done
    await until('the second heartbeat', () => readState(dir, HEARTBEAT_FILE).lastTickAt === 6_000);
    sub.unsubscribe();
    expect(loadState(dir, silentLogger)).to.deep.equal({ scheduleFired: {}, lastTickAt: 6_000, status: '016000000' });
  });

  it('reports a heartbeat it cannot write, and goes on', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, `${HEARTBEAT_FILE}.tmp`)); // a directory where the temporary file goes
    const scheduler = new VirtualTimeScheduler();
    const effect$ = new Subject<Effect>();
    const reports: SinkReport[] = [];
    const sub = makeStateDriver({ dataDir: dir, resume: { scheduleFired: {} } }, silentLogger, scheduler)(effect$).subscribe((r) => reports.push(r));
    scheduler.maxFrames = 0;
    scheduler.flush();
    await until('an alert', () => reports.length > 0);
    expect(reports[0]).to.deep.include({ kind: 'alert', sink: 'state', level: 'error' });
    expect((reports[0] as { text: string }).text).to.match(/cannot write .*heartbeat\.json/);
    effect$.next({ type: 'state.schedule', id: 'wake', occurrence: 27000000 });
    expect(readState(dir).scheduleFired).to.deep.equal({ wake: 27000000 });
    sub.unsubscribe();
  });
});
