import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Subject } from 'rxjs';
import { silentLogger } from '../../lib/log.js';
import { loadState, makeStateDriver, STATE_FILE } from '../../lib/sinks/state.js';
import type { Effect } from '../../lib/streams/effects.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'state-'));
const readState = (dir: string) => JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as Record<string, unknown>;

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

  it('writes a schedule occurrence at once, the status with the heartbeat, and everything at the end', () => {
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
});
