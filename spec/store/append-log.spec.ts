/**
 * The append-only log on its own (issue 16), with real files: the torn tail cut at open (with the
 * file and byte in the warning), damage before good lines refused, lines with the OS before
 * `append` returns (a SIGKILLed writer loses none), grouped fdatasync, read back, truncate and
 * replace, and a failed write leaving the log as it was.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pino } from 'pino';
import { silentLogger } from '../../lib/base/log.js';
import { AppendLog } from '../../lib/store/append-log.js';
import { removeDir, tempDir } from './helpers.js';

const options = { logger: silentLogger, owner: 'test log' };

describe('append-only log', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await tempDir('smarthome-append-log-');
    file = path.join(dir, 'log.ndjson');
  });
  afterEach(async () => removeDir(dir));

  it('creates a missing file and reads back what was appended, in order', async () => {
    const log = AppendLog.open(file, options);
    expect(log.records).to.deep.equal([]);
    log.append('{"n":1}\n');
    log.append('{"n":2}\n{"n":3}\n');
    expect(log.size).to.equal(24);
    await log.sync();
    log.close();
    expect(log.closed).to.equal(true);
    const again = AppendLog.open(file, options);
    expect(again.records).to.deep.equal([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(again.size).to.equal(24);
    again.close();
  });

  it('cuts a torn last line at open, with a warning naming the file and the byte, and appends after it', async () => {
    await fs.writeFile(file, '{"n":1}\n{"n":2}\n{"n":3');
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const log = AppendLog.open(file, { logger, owner: 'test log' });
    expect(log.records).to.deep.equal([{ n: 1 }, { n: 2 }]);
    expect(log.size).to.equal(16);
    expect(warnings).to.have.length(1);
    const warning = JSON.parse(warnings[0]!) as { msg: string; file: string; offset: number; dropped: number };
    expect(warning).to.include({ file, offset: 16, dropped: 6 });
    expect(warning.msg).to.equal(`test log: cutting off a torn last line at byte 16 of ${file} (a write cut off by a crash, never acknowledged)`);
    expect(await fs.readFile(file, 'utf8')).to.equal('{"n":1}\n{"n":2}\n');
    log.append('{"n":4}\n');
    log.close();
    expect(await fs.readFile(file, 'utf8')).to.equal('{"n":1}\n{"n":2}\n{"n":4}\n');
  });

  it('counts trailing lines that do not decode as the torn tail, but refuses damage before good lines', async () => {
    await fs.writeFile(file, '{"n":1}\n\n{"n":2\n\u0000\u0000\n');
    const log = AppendLog.open(file, options);
    expect(log.records).to.deep.equal([{ n: 1 }]);
    expect(await fs.readFile(file, 'utf8')).to.equal('{"n":1}\n\n');
    log.close();

    await fs.writeFile(file, '{"n":1}\n{"n":2\n{"n":3}\n');
    expect(() => AppendLog.open(file, options)).to.throw(/log\.ndjson: line 2 \(byte 8\) is damaged but later lines are not/);
    expect(await fs.readFile(file, 'utf8')).to.equal('{"n":1}\n{"n":2\n{"n":3}\n'); // left as it was, for a person to look at
  });

  it('with its own decode keeps every whole line (the event journal: only a line without its newline is torn)', async () => {
    await fs.writeFile(file, 'not json\n{"n":2}\nhalf');
    const log = AppendLog.open(file, { ...options, decode: (line: string) => line });
    expect(log.records).to.deep.equal(['not json', '{"n":2}']);
    log.close();
    expect(await fs.readFile(file, 'utf8')).to.equal('not json\n{"n":2}\n');
  });

  it('groups fdatasync: callers while one runs share the next one; with nothing new it resolves at once', async () => {
    const log = AppendLog.open(file, options);
    const idle = log.sync();
    log.append('{"n":1}\n');
    const first = log.sync();
    log.append('{"n":2}\n');
    const second = log.sync();
    log.append('{"n":3}\n');
    const third = log.sync();
    expect(first).to.not.equal(idle);
    expect(second).to.not.equal(first); // line 2 came after the first sync began
    expect(third).to.equal(second); // one fdatasync for lines 2 and 3
    await Promise.all([idle, first, second, third]);
    log.close();
    expect(AppendLog.open(file, options).records).to.have.length(3);
  });

  it('hands each line to the OS before append returns: a writer killed with SIGKILL loses none', async () => {
    // the child appends without ever syncing, says how many, and waits to be killed
    const script = `
      import { AppendLog } from './lib/store/append-log.ts';
      import { silentLogger } from './lib/base/log.ts';
      const log = AppendLog.open(process.argv[1], { logger: silentLogger, owner: 'child' });
      for (let n = 1; n <= 500; n++) log.append(JSON.stringify({ n }) + '\\n');
      console.log('appended');
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => (chunk.toString().includes('appended') ? resolve() : undefined));
      child.once('exit', (code) => reject(new Error(`child exited with ${code} before appending`)));
    });
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    const log = AppendLog.open(file, options);
    expect(log.records).to.have.length(500);
    expect(log.records.at(-1)).to.deep.equal({ n: 500 });
    log.close();
  });

  it('appendDurably resolves once synced; truncate empties and appends after it', async () => {
    const log = AppendLog.open(file, options);
    await log.appendDurably('{"n":1}\n{"n":2}\n');
    expect(await fs.readFile(file, 'utf8')).to.equal('{"n":1}\n{"n":2}\n');
    log.truncate(0);
    expect(log.size).to.equal(0);
    expect(await fs.readFile(file, 'utf8')).to.equal('');
    log.append('{"n":3}\n');
    log.close();
    expect(await fs.readFile(file, 'utf8')).to.equal('{"n":3}\n');
  });

  it('a write that fails (a full disk: /dev/full) throws and leaves the log as it was', async function () {
    if (!existsSync('/dev/full')) this.skip();
    const log = AppendLog.open('/dev/full', options);
    expect(() => log.append('{"n":1}\n')).to.throw(/ENOSPC/);
    expect(log.size).to.equal(0);
    await log.sync(); // nothing was written: nothing to sync
    log.close();
  });
});
