import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parsePasswordFile, verifyPassword, type PasswordTable } from '../../lib/broker/broker-passwords.js';

const exec = promisify(execFile);

function table(result: ReturnType<typeof parsePasswordFile>): PasswordTable {
  if ('error' in result) throw new Error(result.error as string);
  return result as PasswordTable;
}

describe('lib/broker/broker-passwords (Mosquitto password files)', () => {
  it('accepts the $7$ (PBKDF2-SHA512) and $6$ (SHA-512) hashes the real mosquitto_passwd writes', async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'passwd-spec-'));
    const file = path.join(dir, 'passwd');
    try {
      try {
        await exec('mosquitto_passwd', ['-c', '-b', file, 'android', 'droid pass']);
        await exec('mosquitto_passwd', ['-H', 'sha512', '-b', file, 'car', 'c4r-pass']);
      } catch (err) {
        this.skip(); // mosquitto_passwd is not installed here
        throw err;
      }
      const text = await readFile(file, 'utf8');
      expect(text).to.match(/^android:\$7\$/m).and.to.match(/^car:\$6\$/m);
      const accounts = table(parsePasswordFile(text, 'test'));
      expect(await verifyPassword(accounts, 'android', 'droid pass')).to.equal(true);
      expect(await verifyPassword(accounts, 'car', Buffer.from('c4r-pass'))).to.equal(true);
      expect(await verifyPassword(accounts, 'android', 'droid pas')).to.equal(false);
      expect(await verifyPassword(accounts, 'car', 'droid pass')).to.equal(false);
      expect(await verifyPassword(accounts, 'nobody', 'droid pass')).to.equal(false);
      expect(await verifyPassword(accounts, 'android', undefined)).to.equal(false);
      expect(await verifyPassword(accounts, undefined, undefined)).to.equal(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips blank and comment lines and reads CRLF files', () => {
    const accounts = table(parsePasswordFile(
      '# accounts\n\nesp32:$6$6kvGWH47i8d/eVaM$P840BcZRD1mWLMrz748+gi1tRu3sJ/BLJH/SuyFUovMhQrxJbgMKrdaQL0pICxBg5qGiAM6ydYc0z1eCKKEdcA==\r\n',
      'test',
    ));
    expect([...accounts.keys()]).to.deep.equal(['esp32']);
  });

  it('names the line of anything that is not a Mosquitto hash, without quoting the line', () => {
    const cases: Array<[string, RegExp]> = [
      ['car:plain-secret', /test line 1 \(user "car"\): not a Mosquitto hash/],
      ['\nnocolon', /test line 2: expected user:hash/],
      ['car:$8$abc$def', /unsupported hash/],
      ['car:$7$0$c2FsdA==$aGFzaA==', /bad iteration count/],
      ['car:$6$c2FsdA==$aGFzaA==', /not 64 bytes/],
    ];
    for (const [text, expected] of cases) {
      const result = parsePasswordFile(text, 'test');
      expect(result, text).to.have.property('error').that.matches(expected);
      expect((result as { error: string }).error).not.to.include('plain-secret');
    }
  });
});
