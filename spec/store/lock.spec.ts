/**
 * The directory lock (issue 12, item 6) with real processes: a stale LOCK file (a dead process,
 * a pid now used by another process) does not block; a holder killed with SIGKILL frees it at
 * once; of processes that race for it, exactly one gets it.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { lockDir, LockedError } from '../../lib/store/lock.js';
import { removeDir, tempDir } from './helpers.js';

/** A process that takes the lock of `dir`, prints `got` or `locked: <message>`, and keeps it until killed. */
function contender(dir: string): { child: ChildProcess; answer: Promise<string> } {
  const script = `
    import { lockDir } from './lib/store/lock.ts';
    lockDir(process.argv[1], 'test dir').then(
      () => { console.log('got'); setInterval(() => undefined, 1000); },
      (err) => { console.log('locked: ' + err.message); process.exit(3); },
    );`;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const answer = new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', () => resolve(out.trim()));
  });
  return { child, answer };
}

const killed = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

describe('directory lock', function () {
  this.timeout(30_000);
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dir = await tempDir('smarthome-lock-');
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map(killed));
    await removeDir(dir);
  });

  it('is not blocked by a LOCK file a dead process, or a reused pid, left behind', async () => {
    for (const pid of ['999999999', String(process.pid), String(process.ppid), '1']) {
      await fs.writeFile(path.join(dir, 'LOCK'), `${pid}\n`);
      const lock = await lockDir(dir, 'test dir');
      expect(await fs.readFile(path.join(dir, 'LOCK'), 'utf8')).to.equal(`${process.pid}\n`);
      await lock.release();
    }
  });

  it('refuses a second holder, naming the first; is free again the moment the holder is SIGKILLed', async () => {
    const holder = contender(dir);
    children.push(holder.child);
    expect(await holder.answer).to.equal('got');
    const err = await lockDir(dir, 'test dir').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(LockedError);
    expect((err as Error).message).to.equal(`test dir ${await fs.realpath(dir)} is in use by process ${holder.child.pid}`);
    await killed(holder.child);
    // the LOCK file still names the dead process: it decides nothing
    expect(await fs.readFile(path.join(dir, 'LOCK'), 'utf8')).to.equal(`${holder.child.pid}\n`);
    const lock = await lockDir(dir, 'test dir');
    await lock.release();
  });

  it('of four processes started at once, exactly one gets it', async () => {
    const racers = [0, 1, 2, 3].map(() => contender(dir));
    children.push(...racers.map((r) => r.child));
    const answers = await Promise.all(racers.map((r) => r.answer));
    expect(answers.filter((a) => a === 'got')).to.have.length(1);
    expect(answers.filter((a) => a.startsWith('locked: test dir'))).to.have.length(3);
  });
});
