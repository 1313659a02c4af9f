/**
 * config/smarthome-backend.service (issue 24, item 4): `systemd-analyze verify` accepts it without
 * a warning, and it runs the compiled service the way the README and package.json do. Skipped
 * with the reason where systemd-analyze is missing; in CI that fails instead (skipBecause).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { skipBecause } from './support/brokers.js';
import { REPO_ROOT } from './support/service.js';

const run = promisify(execFile);
const UNIT = path.join(REPO_ROOT, 'config', 'smarthome-backend.service');

describe('config/smarthome-backend.service (the systemd unit)', function () {
  this.timeout(30_000);
  const lines = readFileSync(UNIT, 'utf8').split('\n').filter((l) => /^\w+=/.test(l));
  const values = (key: string): string[] => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

  it('is accepted by systemd-analyze verify, with nothing to say about it', async function () {
    let result: { stdout: string; stderr: string };
    try {
      result = await run('systemd-analyze', ['verify', UNIT]);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') skipBecause(this, 'systemd-analyze is not installed here');
      throw new Error(`systemd-analyze verify failed: ${e.stderr ?? e.message}`, { cause: err });
    }
    // a bad value is only warned about ("ignoring"), with exit code 0: a warning fails too
    expect(`${result.stdout}${result.stderr}`.trim()).to.equal('');
  });

  it('runs node on the compiled entry that npm start runs, reloads with SIGHUP, restarts on failure, hardened', () => {
    const start = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
    const entry = /node (\S+)$/.exec(start ?? '')?.[1];
    expect(values('ExecStart')).to.deep.equal([`/usr/bin/node /opt/smarthome-backend/${entry}`]);
    expect(values('ExecReload')).to.deep.equal(['/bin/kill -HUP $MAINPID']);
    expect(values('Restart')).to.deep.equal(['on-failure']);
    expect(values('User')).to.deep.equal(['smarthome']);
    expect(values('NoNewPrivileges')).to.deep.equal(['yes']);
    expect(values('ProtectSystem')).to.deep.equal(['strict']);
    const dataDir = values('Environment').find((e) => e.startsWith('DATA_DIR='))?.slice('DATA_DIR='.length);
    expect(values('ReadWritePaths')).to.deep.equal([dataDir]);
  });
});
