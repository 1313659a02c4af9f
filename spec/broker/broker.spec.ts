import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import asyncMqtt, { type AsyncMqttClient, type IClientOptions } from 'async-mqtt';
import { expect } from 'chai';
import { BrokerPortInUseError, startBroker } from '../../lib/broker/broker.js';
import { delay, freePort, noDelayOf, portOpen, skipBecause, suffix, testClient, waitFor } from '../support/brokers.js';

const exec = promisify(execFile);

function connectOnce(url: string, options: { username?: string; password?: string } = {}): Promise<void> {
  return asyncMqtt.connectAsync(url, { clientId: `b-${suffix()}`, reconnectPeriod: 0, connectTimeout: 3_000, ...options }, false)
    .then((client) => client.end());
}

describe('lib/broker/broker (embedded aedes)', () => {
  it('listens on the given port of 127.0.0.1 and closes (idempotently) to free it', async () => {
    const port = await freePort();
    const broker = await startBroker({ port });
    expect(broker.url).to.equal(`mqtt://127.0.0.1:${port}`);
    expect([broker.host, broker.port]).to.deep.equal(['127.0.0.1', port]);
    await connectOnce(broker.url);
    const idle = net.connect({ port, host: '127.0.0.1' }); // a socket that never says CONNECT
    await new Promise((resolve) => idle.once('connect', resolve));
    const started = Date.now();
    await Promise.all([broker.close(), broker.close()]);
    expect(Date.now() - started).to.be.below(2_000);
    expect(await portOpen(port)).to.equal(false);
  });

  it('relays QoS 1 messages between clients', async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const sub = await testClient(broker.url, `s-${suffix()}`);
      const pub = await testClient(broker.url, `p-${suffix()}`);
      const got: string[] = [];
      sub.on('message', (_topic: string, payload: Buffer) => got.push(payload.toString()));
      await sub.subscribe('webos/server/#', { qos: 1 });
      await pub.publish('webos/server/info', '{"Producer":"car","command":"test"}', { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(got).to.deep.equal(['{"Producer":"car","command":"test"}']);
      await Promise.all([sub.end(), pub.end()]);
    } finally {
      await broker.close();
    }
  });

  it('turns Nagle off on every client socket, so small packets do not wait for delayed ACKs', async () => {
    const broker = await startBroker({ port: 0 });
    try {
      const clients = await Promise.all([testClient(broker.url, `n1-${suffix()}`), testClient(broker.url, `n2-${suffix()}`)]);
      const { clients: byId } = broker.aedes as unknown as { clients: Record<string, { conn: unknown }> };
      const conns = Object.values(byId).map((c) => c.conn);
      expect(conns).to.have.length(2);
      expect(conns.map(noDelayOf)).to.deep.equal([true, true]);
      await Promise.all(clients.map((c) => c.end()));
    } finally {
      await broker.close();
    }
  });

  it('fails clearly when the port is taken, saying how to use the broker already there', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const failure = await startBroker({ port }).then(() => undefined, (err: unknown) => err);
      expect(failure).to.be.instanceOf(BrokerPortInUseError);
      const message = (failure as Error).message;
      expect(message).to.include(`127.0.0.1:${port} is already in use`);
      expect(message).to.include(`MQTT_URL=mqtt://127.0.0.1:${port}`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('requires the configured username and password when given', async () => {
    const broker = await startBroker({ port: 0, username: 'home', password: 'pa55-word' });
    try {
      await connectOnce(broker.url, { username: 'home', password: 'pa55-word' });
      for (const bad of [{}, { username: 'home', password: 'nope' }, { username: 'other', password: 'pa55-word' }]) {
        const err = await connectOnce(broker.url, bad).then(() => undefined, (e: unknown) => e);
        expect(err, JSON.stringify(bad)).to.be.instanceOf(Error);
        expect((err as Error).message).to.match(/Bad username or password/i);
      }
    } finally {
      await broker.close();
    }
  });

  it('rejects a username without a password', async () => {
    const err = await startBroker({ port: 0, username: 'home' }).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).to.match(/username and a password/);
  });

  it('restarts on the same port with its persistence: sessions and queued QoS 1 messages survive', async () => {
    const first = await startBroker({ port: 0 });
    const { port } = first;
    const id = `keep-${suffix()}`;
    const sub = await asyncMqtt.connectAsync(first.url, { clientId: id, clean: false, reconnectPeriod: 0 }, false);
    await sub.subscribe('webos/server/#', { qos: 1 });
    await sub.end();
    const pub = await testClient(first.url, `p-${suffix()}`);
    await pub.publish('webos/server/info', 'queued', { qos: 1 });
    await pub.end();
    const persistence = first.persistence;
    await first.close();

    const second = await startBroker({ port, persistence });
    try {
      const again = await asyncMqtt.connectAsync(second.url, { clientId: id, clean: false, reconnectPeriod: 0 }, false);
      const got = await new Promise<string>((resolve) => again.on('message', (_t: string, p: Buffer) => resolve(p.toString())));
      expect(got).to.equal('queued');
      await again.end();
    } finally {
      await second.close();
    }
  });
});

describe('lib/broker/broker accounts, permissions, TLS and limits', () => {
  let dir: string;
  const service = { clientId: `svc-${suffix()}`, secret: randomBytes(16).toString('hex') };
  const passwd = (): string => path.join(dir, 'passwd');
  const addAccount = (user: string, pass: string): Promise<unknown> =>
    exec('mosquitto_passwd', [...(existsSync(passwd()) ? [] : ['-c']), '-b', passwd(), user, pass]);

  before(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), 'broker-spec-'));
    try {
      await addAccount('car', 'car-pass');
      await addAccount('android', 'droid-pass');
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      skipBecause(this, `mosquitto_passwd is needed to make the password file: ${(err as Error).message}`);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const connect = (url: string, options: IClientOptions): Promise<AsyncMqttClient> =>
    asyncMqtt.connectAsync(url, { clean: true, reconnectPeriod: 0, connectTimeout: 3_000, ...options }, false);
  const refusal = (url: string, options: IClientOptions): Promise<string> =>
    connect(url, options).then(async (c) => {
      await c.end();
      return 'accepted';
    }, (err: unknown) => (err as Error).message);
  const closed = (client: AsyncMqttClient): Promise<void> => new Promise((resolve) => client.once('close', () => resolve()));
  const collect = (client: AsyncMqttClient): string[] => {
    const got: string[] = [];
    client.on('message', (topic: string, payload: Buffer) => got.push(`${topic} ${payload.toString()}`));
    return got;
  };

  it('refuses anonymous clients and wrong passwords when a password file (made by mosquitto_passwd) is given', async () => {
    const broker = await startBroker({ port: 0, passwordFile: passwd() });
    try {
      expect(await refusal(broker.url, { clientId: `a-${suffix()}` })).to.match(/Bad username or password/i);
      expect(await refusal(broker.url, { clientId: `a-${suffix()}`, username: 'car', password: 'droid-pass' })).to.match(/Bad username or password/i);
      expect(await refusal(broker.url, { clientId: `a-${suffix()}`, username: 'car', password: 'car-pass' })).to.equal('accepted');
    } finally {
      await broker.close();
    }
  });

  it('lets a device account publish and subscribe only what the example ACL gives it', async () => {
    const broker = await startBroker({ port: 0, passwordFile: passwd(), aclFile: 'config/acl.example', reserved: service });
    try {
      const backend = await connect(broker.url, { clientId: service.clientId, username: 'backend', password: service.secret });
      const seen = collect(backend);
      await backend.subscribe('#', { qos: 1 });
      const car = await connect(broker.url, { clientId: `car-${suffix()}`, username: 'car', password: 'car-pass' });
      const carGot = collect(car);
      const granted = await car.subscribe(['webos/car/#', '#', 'webos/android/#'], { qos: 1 });
      expect(granted.map((g) => g.qos)).to.deep.equal([1, 128, 128]);
      await car.publish('webos/server/info', '{"Producer":"car","command":"test"}', { qos: 1 });
      await car.publish('webos/smarthome/info', '022022222', { qos: 1 });
      await backend.publish('webos/car/info', 'for the car', { qos: 1 });
      await backend.publish('webos/android/info', 'for the app', { qos: 1 });
      await delay(200);
      expect(carGot).to.deep.equal(['webos/car/info for the car']);
      // Publishing outside the ACL: MQTT 3.1.1 has no refusal for one PUBLISH, so the connection is closed.
      const gone = closed(car);
      car.publish('webos/server/status', 'offline', { qos: 0, retain: true }).catch(() => undefined);
      await gone;
      await delay(100);
      expect(seen.filter((m) => !m.startsWith('webos/car/') && !m.startsWith('webos/android/'))).to.deep.equal([
        'webos/server/info {"Producer":"car","command":"test"}',
        'webos/smarthome/info 022022222',
      ]);
      await Promise.all([car.end(true), backend.end()]);
    } finally {
      await broker.close();
    }
  });

  it("refuses a second connection with the service's client id instead of letting it take the session over", async () => {
    const broker = await startBroker({ port: 0, reserved: service });
    try {
      const backend = await connect(broker.url, { clientId: service.clientId, username: 'backend', password: service.secret });
      expect(await refusal(broker.url, { clientId: service.clientId })).to.match(/Identifier rejected/i);
      expect(await refusal(broker.url, { clientId: service.clientId, username: 'backend', password: 'guess' })).to.match(/Identifier rejected/i);
      await delay(100);
      expect(backend.connected).to.equal(true);
      await backend.end();
    } finally {
      await broker.close();
    }
  });

  it('takes a new account and new permissions on reload without dropping connected clients', async () => {
    const acl = path.join(dir, 'acl');
    await writeFile(acl, 'user car\ntopic read webos/car/#\n');
    const broker = await startBroker({ port: 0, passwordFile: passwd(), aclFile: acl });
    try {
      const car = await connect(broker.url, { clientId: `car-${suffix()}`, username: 'car', password: 'car-pass' });
      expect(await refusal(broker.url, { clientId: `cam-${suffix()}`, username: 'camera', password: 'cam-pass' })).to.match(/Bad username/);
      await addAccount('camera', 'cam-pass');
      await writeFile(acl, 'user car\ntopic read webos/car/#\nuser camera\ntopic read webos/camera/#\n');
      expect(broker.reload()).to.deep.equal([]);
      const camera = await connect(broker.url, { clientId: `cam-${suffix()}`, username: 'camera', password: 'cam-pass' });
      expect((await camera.subscribe('webos/camera/#', { qos: 1 }))[0]?.qos).to.equal(1);
      expect(car.connected).to.equal(true);
      // A broken file keeps the previous one in force and says why.
      await writeFile(acl, 'allow all\n');
      expect(broker.reload()).to.deep.equal([`ACL file ${acl} line 1: expected "user", "topic" or "pattern", got "allow"; the previous ACL file stays in force`]);
      expect((await camera.subscribe('webos/camera/info', { qos: 1 }))[0]?.qos).to.equal(1);
      await Promise.all([car.end(), camera.end()]);
    } finally {
      await broker.close();
    }
  });

  it('serves MQTT over TLS on EMBEDDED_MQTTS_PORT beside the plain listener (self-signed certificate)', async function () {
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    try {
      await exec('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
      ]);
    } catch (err) {
      skipBecause(this, `openssl could not make a test certificate: ${(err as Error).message}`);
    }
    const broker = await startBroker({ port: 0, passwordFile: passwd(), mqtts: { port: 0, certFile, keyFile } });
    try {
      expect(broker.tlsUrl).to.equal(`mqtts://127.0.0.1:${broker.tlsPort}`);
      const ca = readFileSync(certFile);
      const secure = await connect(broker.tlsUrl!, { clientId: `tls-${suffix()}`, username: 'car', password: 'car-pass', ca });
      const plain = await connect(broker.url, { clientId: `pl-${suffix()}`, username: 'android', password: 'droid-pass' });
      const got = collect(secure);
      await secure.subscribe('webos/car/#', { qos: 1 });
      await plain.publish('webos/car/info', 'over tls', { qos: 1 });
      await plain.publish('webos/car/info', 'and back', { qos: 1 });
      await waitFor(() => got.length === 2, 2_000, 'two messages over TLS');
      expect(got).to.deep.equal(['webos/car/info over tls', 'webos/car/info and back']);
      expect(await refusal(broker.tlsUrl!, { clientId: `tlsx-${suffix()}`, username: 'car', password: 'car-pass' })).to.match(/self.signed|certificate/i);
      expect(broker.reload()).to.deep.equal([]);
      await Promise.all([secure.end(), plain.end()]);
    } finally {
      await broker.close();
    }
  });

  it('closes the connection of a client that publishes more than the limit a second, with one alert', async () => {
    const alerts: string[] = [];
    const broker = await startBroker({ port: 0, maxMessagesPerSecond: 50, reserved: service, onAlert: (text) => alerts.push(text) });
    try {
      const backend = await connect(broker.url, { clientId: service.clientId, username: 'backend', password: service.secret });
      const id = `flood-${suffix()}`;
      const flooder = await connect(broker.url, { clientId: id });
      const gone = closed(flooder);
      for (let i = 0; i < 200; i++) flooder.publish('webos/server/info', `${i}`, { qos: 0 }).catch(() => undefined);
      await gone;
      for (let i = 0; i < 200; i++) backend.publish('webos/x', `${i}`, { qos: 0 }).catch(() => undefined);
      await delay(100);
      expect(backend.connected).to.equal(true);
      expect(alerts).to.deep.equal([
        `MQTT client "${id}" sent more than 50 messages a second (EMBEDDED_MQTT_MAX_MESSAGES_PER_S); its connection was closed`,
      ]);
      await Promise.all([flooder.end(true), backend.end()]);
    } finally {
      await broker.close();
    }
  });
});
