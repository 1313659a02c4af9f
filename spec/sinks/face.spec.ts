import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { NEVER, Subject, concat, firstValueFrom, lastValueFrom, of, take, tap, toArray } from 'rxjs';
import { makeFaceDriver, type FaceOptions } from '../../lib/sinks/face.js';
import type { SinkReport } from '../../lib/sinks/report.js';
import type { Effect } from '../../lib/streams/effects.js';
import { silentLogger } from '../../lib/log.js';
import { captureLogs } from '../support/http.js';

const script = (name: string) => fileURLToPath(new URL(`../fixtures/face/${name}`, import.meta.url));
const node = (name: string, ...args: string[]) => [process.execPath, script(name), ...args];
const RUN: Effect = { type: 'face.run' };
const result = (r: string): SinkReport => ({ kind: 'event', sink: 'face', event: { type: 'face.result', result: r } });

/** The first report for one `face.run`. */
const runOnce = (options: FaceOptions, logger = silentLogger) => firstValueFrom(makeFaceDriver(options, logger)(concat(of(RUN), NEVER)));

/** Alive and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const readIfThere = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function eventually(check: () => boolean, timeoutMs = 2000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

describe('makeFaceDriver (real child processes)', function () {
  this.timeout(10_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'face-spec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers "none" at once when no command is configured', async () => {
    for (const command of [undefined, []]) {
      const reports = await lastValueFrom(makeFaceDriver({ command }, silentLogger)(of(RUN, RUN)).pipe(toArray()));
      expect(reports).to.deep.equal([result('none'), result('none')]);
    }
  });

  it('answers the first line of the standard output', async () => {
    const logs = captureLogs();
    expect(await runOnce({ command: node('prints-uid.mjs') }, logs.logger)).to.deep.equal(result('u1-kitchen'));
    expect(logs.lines().map((l) => l.msg)).to.deep.equal(['face recogniser answered "u1-kitchen"']);
  });

  it('runs the argv without a shell', async () => {
    const odd = '$(echo hacked); echo "x" | cat';
    expect(await runOnce({ command: node('prints-uid.mjs', odd) })).to.deep.equal(result(odd));
  });

  it('answers "fail" for an empty output', async () => {
    expect(await runOnce({ command: node('prints-nothing.mjs') })).to.deep.equal(result('fail'));
  });

  it('answers "fail" for a non-zero exit, even after a UID, and logs why', async () => {
    const logs = captureLogs();
    expect(await runOnce({ command: node('exits-nonzero.mjs') }, logs.logger)).to.deep.equal(result('fail'));
    expect(logs.lines().map((l) => l.msg)).to.deep.equal(['face recogniser failed: exit code 3; stderr: camera not found']);
  });

  it('answers "fail" when the program cannot start', async () => {
    const logs = captureLogs();
    expect(await runOnce({ command: [join(dir, 'no-such-recogniser')] }, logs.logger)).to.deep.equal(result('fail'));
    expect(String(logs.lines()[0]?.msg)).to.match(/could not start: spawn .* ENOENT/);
  });

  it('answers "fail" on a timeout and kills the program', async () => {
    const pidFile = join(dir, 'pid');
    const started = Date.now();
    expect(await runOnce({ command: node('sleeps.mjs', pidFile), timeoutMs: 1000 })).to.deep.equal(result('fail'));
    expect(Date.now() - started).to.be.within(950, 2000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(await eventually(() => !alive(pid))).to.equal(true);
  });

  it('kills the helpers a timed-out program started (its process group)', async () => {
    const pidFile = join(dir, 'pid');
    expect(await runOnce({ command: ['sh', script('sleeps-with-helper.sh'), pidFile], timeoutMs: 600 })).to.deep.equal(result('fail'));
    const helper = Number(readFileSync(pidFile, 'utf8'));
    expect(await eventually(() => !alive(helper))).to.equal(true);
  });

  it('kills a running program when unsubscribed', async () => {
    const pidFile = join(dir, 'pid');
    const sub = makeFaceDriver({ command: node('sleeps.mjs', pidFile) }, silentLogger)(concat(of(RUN), NEVER)).subscribe();
    expect(await eventually(() => readIfThere(pidFile) !== '')).to.equal(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    sub.unsubscribe();
    expect(await eventually(() => !alive(pid))).to.equal(true);
  });

  it('refuses a second run while one runs, and runs again once it answered', async () => {
    const effect$ = new Subject<Effect>();
    let asked = 0;
    const reports = lastValueFrom(
      makeFaceDriver({ command: node('answers-after.mjs', '100') }, silentLogger)(effect$).pipe(
        // Ask again the moment the first answer is out, as a quick user would.
        tap((r) => r.kind === 'event' && asked++ === 0 && effect$.next(RUN)),
        take(3),
        toArray(),
      ),
    );
    effect$.next(RUN);
    effect$.next(RUN); // while the first runs
    expect(await reports).to.deep.equal([
      { kind: 'failed', sink: 'face', effect: RUN, error: 'the face recogniser is already running' },
      result('u2-slow'),
      result('u2-slow'),
    ]);
  });

  it('keeps the backend secrets out of the program environment', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { SLACK_WEBHOOK_URL: 'http://127.0.0.1:1/hook', OPENWEATHER_API_KEY: 'k', FACE_SPEC_VAR: 'passed' });
    try {
      expect(await runOnce({ command: node('prints-env.mjs') })).to.deep.equal(result('no-secrets:passed'));
    } finally {
      for (const name of ['SLACK_WEBHOOK_URL', 'OPENWEATHER_API_KEY', 'FACE_SPEC_VAR']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });
});
