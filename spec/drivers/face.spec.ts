import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { NEVER, Subject, concat, firstValueFrom, lastValueFrom, of, take, tap, toArray } from 'rxjs';
import { makeFaceDriver, type FaceOptions } from '../../lib/drivers/face.js';
import type { SinkReport } from '../../lib/drivers/report.js';
import type { Effect } from '../../lib/core/protocol/effects.js';
import { silentLogger } from '../../lib/base/log.js';
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

  it('answers the last non-empty line of the standard output', async () => {
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

  it('answers the label a recogniser like the original writes to its absolute result path, whatever FACE_CWD is', async () => {
    // The original writes /home/pi/Face-Recognition/face.result, not into its working directory.
    const home = mkdtempSync(join(tmpdir(), 'face-home-'));
    try {
      const resultFile = join(home, 'face.result');
      const logs = captureLogs();
      const options = { command: node('like-original.mjs', 'Xk3pQ9', '400', resultFile), cwd: dir, resultFile };
      expect(await runOnce(options, logs.logger)).to.deep.equal(result('Xk3pQ9'));
      expect(logs.lines().map((l) => l.msg)).to.deep.equal(['face recogniser answered "Xk3pQ9"']);
      expect(readdirSync(dir)).to.deep.equal([]);
      expect(await runOnce({ ...options, command: node('like-original.mjs', 'none', '0', resultFile) })).to.deep.equal(result('none'));
      // An answer left at that path by an earlier run is removed first, so a run that writes none fails.
      expect(await runOnce({ ...options, command: node('prints-uid.mjs') })).to.deep.equal(result('fail'));
      // Without the result-file setting the same program's last line is no UID worth having: it is
      // "[FaceR] detected Person is :  Xk3pQ9", which shows why the setting exists.
      expect(await runOnce({ command: node('like-original.mjs', 'Xk3pQ9', '0', resultFile), cwd: dir }))
        .to.deep.equal(result('[FaceR] detected Person is :  Xk3pQ9'));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('never takes an old result file for a new answer: it is removed before the run', async () => {
    writeFileSync(join(dir, 'face.result'), 'old-uid\n1630913305.574249');
    const logs = captureLogs();
    expect(await runOnce({ command: node('prints-uid.mjs'), cwd: dir, resultFile: 'face.result' }, logs.logger)).to.deep.equal(result('fail'));
    expect(String(logs.lines()[0]?.msg)).to.match(/no result file .*face\.result after the program exited \(ENOENT\)/);
  });

  it('gives the program an allow-list environment: PATH, HOME, LANG and FACE_ENV, never a secret or a URL with credentials', async () => {
    const names = ['SLACK_WEBHOOK_URL', 'OPENWEATHER_API_KEY', 'MQTT_PASSWORD', 'MQTT_URL', 'FACE_SPEC_VAR', 'FACE_SPEC_URL', 'FACE_SPEC_OTHER', 'LANG'];
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    Object.assign(process.env, {
      SLACK_WEBHOOK_URL: 'http://127.0.0.1:1/hook',
      OPENWEATHER_API_KEY: 'k',
      MQTT_PASSWORD: 'pw',
      MQTT_URL: 'mqtt://backend:pw@127.0.0.1:1883',
      FACE_SPEC_VAR: 'passed',
      FACE_SPEC_URL: 'http://user:secret@127.0.0.1:9/x',
      FACE_SPEC_OTHER: 'not named',
      LANG: 'ko_KR.UTF-8',
    });
    const logs = captureLogs();
    try {
      const file = join(dir, 'env.json');
      const env = ['FACE_SPEC_VAR', 'FACE_SPEC_URL', 'MQTT_PASSWORD', 'MQTT_URL'];
      expect(await runOnce({ command: node('prints-env.mjs', file), env }, logs.logger)).to.deep.equal(result('env-written'));
      const seen = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      // What the child sees is exactly the allow-list (HOME only where the service has one).
      const expected = ['FACE_SPEC_VAR', 'LANG', 'PATH', ...(process.env.HOME === undefined ? [] : ['HOME'])];
      expect(Object.keys(seen).sort()).to.deep.equal(expected.sort());
      expect(seen).to.include({ FACE_SPEC_VAR: 'passed', LANG: 'ko_KR.UTF-8', PATH: process.env.PATH });
      expect(JSON.stringify(seen)).not.to.match(/pw|secret|hook|not named/);
      expect(logs.lines().map((l) => l.msg)).to.include('not passed to the face recogniser (a secret, or a URL with credentials): FACE_SPEC_URL, MQTT_PASSWORD, MQTT_URL');
    } finally {
      for (const name of names) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });
});
