/**
 * Recorded traffic through the real pipeline: each recording in spec/fixtures/traffic replays,
 * through the replay command itself, to its golden effects file byte for byte.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { replay } from '../../lib/durability/replay.js';
import { DIR, recordings, TZ, zoneOf } from '../support/recordings.js';

const run = promisify(execFile);
async function replayCli(file: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import=tsx', 'lib/cli/replay-cli.ts', file, ...args], {
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('replay', function () {
  this.timeout(60_000);

  it('has at least six recordings, each with a golden file', () => {
    expect(recordings.length).to.be.at.least(6);
    for (const name of recordings) expect(readdirSync(join(DIR, 'golden'))).to.include(name);
  });

  for (const name of recordings) {
    it(`replays ${name} to its golden effects, byte for byte`, async () => {
      const { stdout, code } = await replayCli(join(DIR, name), '--tz', zoneOf(name));
      expect(stdout).to.equal(readFileSync(join(DIR, 'golden', name), 'utf8'));
      expect(code).to.equal(name === 'bad-input.ndjson' ? 1 : 0);
    });
  }

  it('gives byte-identical output for the same recording, run after run', () => {
    for (const name of recordings) {
      const text = readFileSync(join(DIR, name), 'utf8');
      expect(replay(text, { tz: zoneOf(name) }).lines, name).to.deep.equal(replay(text, { tz: zoneOf(name) }).lines);
    }
  });

  it('logs what a restart fired late and what it skipped as older than SCHEDULE_GRACE_S (restart-late.ndjson)', async () => {
    const { stderr, code } = await replayCli(join(DIR, 'restart-late.ndjson'), '--tz', TZ);
    expect(code).to.equal(0);
    expect(stderr.trim().split('\n')).to.deep.equal([
      'INFO schedule coffee: firing the occurrence at 2021-09-22 08:10 late, after a restart',
      'INFO schedule coffee: sent 020190022',
      'WARN schedule air-out: skipped the occurrence at 2021-09-22 08:06, missed while the service was down',
    ]);
  });

  it('skips a garbage line in the middle, names its line on stderr, still gives every other effect, and exits 1', async () => {
    const lines = readFileSync(join(DIR, 'controls.ndjson'), 'utf8').split('\n');
    lines.splice(5, 0, '{"at": garbage');
    const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'garbled.ndjson');
    writeFileSync(file, lines.join('\n'));
    const { stdout, stderr, code } = await replayCli(file, '--tz', TZ);
    expect(stdout).to.equal(readFileSync(join(DIR, 'golden', 'controls.ndjson'), 'utf8'));
    expect(stderr).to.match(/garbled\.ndjson:6: skipped invalid line: not JSON/);
    expect(code).to.equal(1);
  });

  it('stops at --until and prints only effect lines on stdout', async () => {
    const { stdout, code } = await replayCli(join(DIR, 'controls.ndjson'), '--tz', TZ, '--until', '2021-09-22T20:00:35+09:00');
    const out = stdout.trim().split('\n').map((l) => JSON.parse(l) as { at: string; sink: string });
    expect(code).to.equal(0);
    expect(out.length).to.be.greaterThan(0);
    for (const line of out) {
      expect(line.sink).to.be.oneOf(['mqtt', 'rtdb', 'firestore', 'slack', 'face']);
      expect(Date.parse(line.at)).to.be.at.most(Date.parse('2021-09-22T20:00:35+09:00'));
    }
  });

  it('writes times in the zone it is given', async () => {
    const { stdout } = await replayCli(join(DIR, 'signup-signin.ndjson'), '--tz', 'UTC');
    expect(stdout.split('\n')[0]).to.match(/^\{"at":"2021-09-22T10:00:05\.000\+00:00"/);
  });

  it('refuses bad arguments with exit code 2', async () => {
    expect((await replayCli(join(DIR, 'controls.ndjson'), '--tz', 'Mars/Olympus')).code).to.equal(2);
    expect((await replayCli('no-such-file.ndjson')).code).to.equal(2);
    expect((await replayCli(join(DIR, 'controls.ndjson'), '--until', 'soon')).code).to.equal(2);
  });
});
