/**
 * mqtt.js's disabled debug loggers are replaced by ones that do nothing (lib/drivers/mqtt/quiet-debug.ts),
 * unless DEBUG is set at start. Each case is a real process publishing through a real broker: the
 * child turns mqtt.js's debug namespaces on at run time, which the real loggers obey (and print)
 * and the quiet ones ignore.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startBroker, type EmbeddedBroker } from '../../../lib/broker/broker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const child = path.join(root, 'spec/fixtures/mqtt/debug-child.ts');

function run(url: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import=tsx', child, url], { cwd: root, env, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe('mqtt/quiet-debug', function () {
  this.timeout(30_000);
  let broker: EmbeddedBroker;
  before(async () => {
    broker = await startBroker({ port: 0 });
  });
  after(async () => {
    await broker.close();
  });

  it('without DEBUG, mqtt.js and mqtt-packet log nothing even when their namespaces are enabled later', async () => {
    const env = { ...process.env };
    delete env.DEBUG;
    const { stdout, stderr } = await run(broker.url, env);
    expect(stdout).to.equal('published\n');
    expect(stderr).not.to.match(/mqttjs|mqtt-packet/);
  });

  it('with DEBUG set at start, the real loggers are kept and print', async () => {
    const { stdout, stderr } = await run(broker.url, { ...process.env, DEBUG: 'mqttjs:client' });
    expect(stdout).to.equal('published\n');
    expect(stderr).to.match(/mqttjs:client/);
    expect(stderr).to.match(/mqtt-packet:parser/);
  });
});
