/**
 * `npm run path` (scripts/path.ts) against the compiled service: how many of the project's files
 * a sign-in and a control run code in, measured by V8 coverage through the inspector. Issue 26's
 * target is 20 for each: the sign-in's bound is 20; the control's is today's figure, 32 (its
 * streams, the store's write path and the echo: docs/architecture.md says which), so a change
 * that lengthens either path fails here and must say why.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildDist, REPO_ROOT } from '../support/service.js';

const run = promisify(execFile);
const MAX_FILES = { signin: 20, control: 32 };

describe('npm run path: the files one input runs code in', function () {
  this.timeout(120_000);

  it(`a sign-in runs code in at most ${MAX_FILES.signin} files, a control in at most ${MAX_FILES.control}`, async () => {
    await buildDist();
    const { stdout } = await run(process.execPath, ['--experimental-websocket', '--no-warnings=ExperimentalWarning', '--import=tsx', 'scripts/path.ts', '--json'], { cwd: REPO_ROOT });
    const report = JSON.parse(stdout) as { signin: string[]; control: string[] };
    expect(report.signin, 'the sign-in reaches the command stream').to.include('lib/core/streams/server-commands.ts');
    expect(report.signin, 'no stream that watches the status').not.to.include('lib/core/streams/alarms.ts');
    expect(report.control, 'the control reaches the alarm stream').to.include('lib/core/streams/alarms.ts');
    expect(report.control, 'not the command stream').not.to.include('lib/core/streams/server-commands.ts');
    expect(report.signin.length, report.signin.join('\n')).to.be.at.most(MAX_FILES.signin);
    expect(report.control.length, report.control.join('\n')).to.be.at.most(MAX_FILES.control);
  });
});
