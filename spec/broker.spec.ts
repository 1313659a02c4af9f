import net from 'node:net';
import asyncMqtt from 'async-mqtt';
import { expect } from 'chai';
import { BrokerPortInUseError, startBroker } from '../lib/broker.js';
import { freePort, noDelayOf, portOpen, suffix, testClient } from './support/brokers.js';

function connectOnce(url: string, options: { username?: string; password?: string } = {}): Promise<void> {
  return asyncMqtt.connectAsync(url, { clientId: `b-${suffix()}`, reconnectPeriod: 0, connectTimeout: 3_000, ...options }, false)
    .then((client) => client.end());
}

describe('lib/broker (embedded aedes)', () => {
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
