/**
 * The embedded broker opened to the home network (issue 14), with the real process as
 * `npm start` runs it: it refuses to be open by accident, keeps its client id to itself, and
 * takes new accounts on SIGHUP without dropping anyone. Everything listens on 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import asyncMqtt, { type AsyncMqttClient, type IClientOptions } from 'async-mqtt';
import { expect } from 'chai';
import { deviceAlert } from '../../lib/core/streams/alerts.js';
import { skipBecause, suffix } from '../support/brokers.js';
import { killAll, spawnService, startService, type ServiceProcess } from '../support/service.js';
import { poll, removeDir, tempDir } from './helpers.js';

const exec = promisify(execFile);

describe('the embedded broker on the home network (real process)', function () {
  this.timeout(30_000);
  let dataDir: string;
  const clients: AsyncMqttClient[] = [];

  beforeEach(async () => {
    dataDir = await tempDir();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end(true)));
    await killAll();
    await removeDir(dataDir);
  });

  const connect = async (url: string, options: IClientOptions): Promise<AsyncMqttClient> => {
    const client = await asyncMqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3_000, ...options }, false);
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  const refusal = (url: string, options: IClientOptions): Promise<string> =>
    connect(url, options).then(() => 'accepted', (err: unknown) => (err as Error).message);

  async function exitOf(proc: ServiceProcess): Promise<number | null> {
    const exit = await Promise.race([proc.exited, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 15_000))]);
    if (exit === 'late') throw new Error(`still running; stdout: ${proc.stdout()}`);
    return exit.code;
  }

  it('EMBEDDED_MQTT_HOST=0.0.0.0 without a password file exits 2, naming the fix', async () => {
    const proc = spawnService({ DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_HOST: '0.0.0.0', EMBEDDED_MQTT_PORT: '0' });
    expect(await exitOf(proc)).to.equal(2);
    expect(proc.stderr()).to.include('EMBEDDED_MQTT_HOST=0.0.0.0 opens the embedded MQTT broker to the network')
      .and.to.include('mosquitto_passwd -c config/passwd android')
      .and.to.include('EMBEDDED_MQTT_PASSWORD_FILE=config/passwd');
    expect(proc.stdout()).not.to.include('smarthome backend running');
  });

  it('serves devices by the example ACL, keeps its client id, and takes a new account on SIGHUP without dropping clients', async function () {
    const passwd = path.join(dataDir, 'passwd');
    try {
      await exec('mosquitto_passwd', ['-c', '-b', passwd, 'car', 'car-pass']);
    } catch (err) {
      skipBecause(this, `mosquitto_passwd is needed: ${(err as Error).message}`);
    }
    const clientId = `home-backend-${suffix()}`;
    const service = await startService({
      DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0', MQTT_CLIENT_ID: clientId,
      EMBEDDED_MQTT_PASSWORD_FILE: passwd, EMBEDDED_MQTT_ACL_FILE: 'config/acl.example',
    });
    const url = service.mqttUrl;
    expect(await refusal(url, { clientId: `anon-${suffix()}` })).to.match(/Bad username or password/i);

    // the car signs in and gets its answer under the example ACL
    const car = await connect(url, { clientId: `car-${suffix()}`, username: 'car', password: 'car-pass' });
    const got: string[] = [];
    car.on('message', (topic: string, payload: Buffer) => got.push(`${topic} ${payload.toString()}`));
    await car.subscribe('webos/car/#', { qos: 1 });
    await car.publish('webos/server/info', JSON.stringify({ Producer: 'car', command: 'signin', UID: 'nobody' }), { qos: 1 });
    await poll(() => got.includes(`webos/car/error ${deviceAlert('signin: unknown UID "nobody"')}`), 'the sign-in answer');

    // nobody can take the service's session over, and the service stays connected
    expect(await refusal(url, { clientId, username: 'car', password: 'car-pass' })).to.match(/Identifier rejected/i);
    await car.publish('webos/server/info', JSON.stringify({ Producer: 'car', command: 'signin', UID: 'again' }), { qos: 1 });
    await poll(() => got.includes(`webos/car/error ${deviceAlert('signin: unknown UID "again"')}`), 'an answer after the attempt');

    // a new account, taken on SIGHUP; the car stays connected
    expect(await refusal(url, { clientId: `cam-${suffix()}`, username: 'camera', password: 'cam-pass' })).to.match(/Bad username/i);
    await exec('mosquitto_passwd', ['-b', passwd, 'camera', 'cam-pass']);
    service.child.kill('SIGHUP');
    await service.waitForLog(/^SIGHUP: accounts and permissions reloaded$/, 'the reload');
    expect(await refusal(url, { clientId: `cam-${suffix()}`, username: 'camera', password: 'cam-pass' })).to.equal('accepted');
    expect(car.connected).to.equal(true);

    // a broken file on SIGHUP keeps the previous accounts and says why
    await fs.writeFile(passwd, 'camera:plain-text\n');
    service.child.kill('SIGHUP');
    await service.waitForLog(/^SIGHUP: reload incomplete: .*line 1 \(user "camera"\): not a Mosquitto hash.*previous password file stays in force/, 'the failed reload');
    expect(await refusal(url, { clientId: `cam-${suffix()}`, username: 'camera', password: 'cam-pass' })).to.equal('accepted');
    expect(service.stdout()).not.to.include('plain-text');
    expect((await service.stop()).code).to.equal(0);
  });
});
