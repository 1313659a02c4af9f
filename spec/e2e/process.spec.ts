/**
 * The service as it ships (issue 24): compiled, started as the README says (`npm start`) and as
 * the systemd unit does (`node dist/main.js`), each with its embedded broker on loopback.
 *
 * - One node process serves; under `npm start` npm is its parent and nothing else runs.
 * - `npm run reload` finds the service by its DATA_DIR and reloads the broker's accounts.
 * - A stop ends everything: when the started process has exited, no process of its group is
 *   left and both ports are free.
 * - A device that connects the instant the broker listens after a restart, and signs in at QoS 1,
 *   is answered: five restarts out of five.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import asyncMqtt, { type AsyncMqttClient } from 'async-mqtt';
import { freePort, portOpen, suffix } from '../support/brokers.js';
import {
  buildDist, get, killAll, REPO_ROOT, serviceEnv, spawnService, startService, type Launch, type ServiceEnv,
} from '../support/service.js';
import { peekCollection, poll, removeDir, sleep, tempDir } from './helpers.js';

const run = promisify(execFile);
const RESTARTS = 5;

/** A Mosquitto password-file line (`$6$`: salted SHA-512, as `mosquitto_passwd -H sha512` writes). */
function passwdLine(user: string, password: string): string {
  const salt = randomBytes(12);
  const hash = createHash('sha512').update(password).update(salt).digest();
  return `${user}:$6$${salt.toString('base64')}$${hash.toString('base64')}\n`;
}

/** The processes of process group `pgid`: pid, parent and command line. */
async function groupOf(pgid: number): Promise<Array<{ pid: number; ppid: number; args: string }>> {
  const { stdout } = await run('ps', ['-e', '-o', 'pid=,ppid=,pgid=,args=']);
  return stdout.split('\n').flatMap((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return m !== null && Number(m[3]) === pgid ? [{ pid: Number(m[1]), ppid: Number(m[2]), args: m[4] ?? '' }] : [];
  });
}

const isNode = (args: string): boolean => /^(\S*\/)?node\s/.test(args);

/** Connects as soon as `port` accepts (a connection attempt every millisecond), like a device in a reconnect loop. */
async function connectAtOnce(port: number, clientId: string, ms = 20_000): Promise<AsyncMqttClient> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await asyncMqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, clean: true, reconnectPeriod: 0, connectTimeout: 2_000 }, false);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no broker on port ${port} within ${ms} ms`, { cause: err });
      await sleep(1);
    }
  }
}

for (const launch of ['npm', 'node'] as const satisfies readonly Launch[]) {
  const how = launch === 'npm' ? 'npm start' : 'node dist/main.js';

  describe(`the service as it ships: ${how}`, function () {
    this.timeout(120_000);
    let dataDir: string;
    let settings: ServiceEnv;

    before(async function () {
      this.timeout(300_000);
      await buildDist();
    });
    beforeEach(async () => {
      dataDir = await tempDir();
      settings = { DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0', SMARTHOME_TZ: 'Asia/Seoul' };
    });
    afterEach(async () => {
      await killAll();
      await removeDir(dataDir);
    });

    it('serves from one node process; npm run reload reloads the accounts; after SIGTERM nothing is left and the ports are free', async () => {
      const passwd = path.join(dataDir, 'passwd');
      await fs.writeFile(passwd, passwdLine('android', 'droid-pass'));
      const service = await startService({ ...settings, EMBEDDED_MQTT_PASSWORD_FILE: passwd }, { launch });
      expect((await get(`${service.http}/healthz`)).status).to.equal(200);

      const group = await groupOf(service.pid);
      const nodes = group.filter((p) => isNode(p.args));
      expect(nodes, JSON.stringify(group)).to.have.length(1);
      const serving = nodes[0]!;
      if (launch === 'npm') {
        // npm execs the service (`exec node ...`): no shell between, npm its parent and nothing else
        expect(group.map((p) => p.pid).sort(), JSON.stringify(group)).to.deep.equal([service.pid, serving.pid].sort());
        expect(serving.ppid).to.equal(service.pid);
      } else {
        expect(group).to.deep.equal([serving]);
        expect(serving.pid).to.equal(service.pid);
      }

      // a device without an account is refused until its account is added and reloaded
      const car = { clientId: `car-${suffix()}`, username: 'car', password: 'c4r-pass', reconnectPeriod: 0, connectTimeout: 5_000 };
      const refused = await asyncMqtt.connectAsync(service.mqttUrl, car, false).then((c) => c.end(true).then(() => 'connected'), (err: Error) => err.message);
      expect(refused).to.match(/bad user ?name or password|not authorized/i);
      await fs.appendFile(passwd, passwdLine('car', 'c4r-pass'));
      const reload = await run('npm', ['run', '--silent', 'reload'], { cwd: REPO_ROOT, env: { ...serviceEnv(settings), npm_config_update_notifier: 'false' } });
      expect(reload.stdout).to.include(`SIGHUP sent to the service (pid ${serving.pid})`);
      await service.waitForLog(/^SIGHUP: accounts and permissions reloaded$/, 'the reload');
      const client = await asyncMqtt.connectAsync(service.mqttUrl, car, false);
      await client.end(true);

      // stop: SIGTERM to the whole group for npm (Ctrl-C's and a supervisor's way), to the service for the unit
      const ports = [Number(new URL(service.http).port), Number(new URL(service.mqttUrl).port)];
      // the moment the started process exits (not when its output closes, which a survivor would delay)
      const exited = new Promise<void>((resolve) => service.child.once('exit', () => resolve()));
      process.kill(launch === 'npm' ? -service.pid : service.pid, 'SIGTERM');
      await exited;
      const left = await groupOf(service.pid);
      const exit = await service.exited;
      expect(left, 'processes left after the started one exited').to.deep.equal([]);
      expect(await Promise.all(ports.map((p) => portOpen(p)))).to.deep.equal([false, false]);
      expect(exit, service.stderr()).to.deep.equal({ code: 0, signal: null });
      const said = service.logs().map((l) => l.msg);
      expect(said, service.stdout().slice(-1500)).to.include('stopped');
      expect(said).to.not.include('SIGTERM again: exiting at once');
    });

    it(`answers a sign-in sent the instant the broker listens after a restart, ${RESTARTS} restarts out of ${RESTARTS}`, async () => {
      const port = await freePort();
      const fixed = { ...settings, EMBEDDED_MQTT_PORT: String(port) };
      const uid = `uid-${suffix()}`;
      const service = await startService(fixed, { launch });
      const setup = await connectAtOnce(port, `setup-${suffix()}`);
      await setup.publish('webos/server/info', JSON.stringify({ Producer: 'android', command: 'signup', UID: uid, name: 'kim' }), { qos: 1 });
      await setup.end(true);
      await poll(async () => (await peekCollection(dataDir, 'user_account')).get(uid), 'the user in the store');
      expect((await service.stop()).code).to.equal(0);

      let early = 0;
      for (let i = 0; i < RESTARTS; i++) {
        const proc = spawnService(fixed, [], launch);
        const device = await connectAtOnce(port, `device-${suffix()}`);
        const answers: string[] = [];
        device.on('message', (topic, payload) => answers.push(`${topic} ${payload.toString()}`));
        await device.subscribe('webos/android/#', { qos: 1 });
        await device.publish('webos/server/info', JSON.stringify({ Producer: 'android', command: 'signin', UID: uid }), { qos: 1 });
        // acknowledged before the service's own client had even connected: the window of issue 24
        if (!proc.logs().some((l) => l.msg === 'mqtt: connected')) early++;
        await poll(() => answers.length > 0, `the answer to the sign-in after restart ${i + 1}`, 15_000);
        expect(answers, `restart ${i + 1}`).to.deep.equal([`webos/android/info ${JSON.stringify({ name: 'kim', Producer: 'server', command: 'return_name' })}`]);
        await device.end(true);
        expect((await proc.stop()).code, proc.stderr()).to.equal(0);
      }
      console.log(`      (${early} of ${RESTARTS} sign-ins were acknowledged before the service's own client connected)`);
    });

    if (launch === 'npm') {
      it('stops cleanly when npm itself goes (npm passes no SIGHUP on: a SIGHUP ends npm alone)', async () => {
        const service = await startService(settings, { launch });
        const serving = (await groupOf(service.pid)).find((p) => isNode(p.args));
        process.kill(service.pid, 'SIGHUP');
        await service.exited;
        await poll(async () => (await groupOf(service.pid)).length === 0, 'the service to stop after npm', 10_000);
        expect(serving).to.not.equal(undefined);
        expect(service.logs().map((l) => l.msg)).to.include.members(['parent gone: shutting down', 'stopped']);
      });
    }
  });
}
