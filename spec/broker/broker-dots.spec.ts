import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import asyncMqtt from 'async-mqtt';
import { expect } from 'chai';
import { generate, parser as packetParser, type IPublishPacket, type Packet } from 'mqtt-packet';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { slashTopics } from '../../lib/broker/broker-dots.js';
import { suffix, testClient, waitFor } from '../support/brokers.js';

interface RawClient {
  send(packet: Packet): void;
  /** The next packet of this kind received (waits up to 2 s). */
  next(cmd: Packet['cmd']): Promise<Packet>;
  /** `topic payload` of every PUBLISH received so far. */
  readonly got: string[];
  close(): void;
}

/**
 * A bare MQTT 3.1.1 client like the ESP32's PubSubClient, which sends a filter as it is given:
 * mqtt.js refuses `webos.smarthome.#` itself before sending it, so it cannot play the ESP32 here.
 */
async function rawClient(broker: EmbeddedBroker, login: { username?: string; password?: string } = {}): Promise<RawClient> {
  const socket = net.connect(broker.port, '127.0.0.1');
  const parser = packetParser({ protocolVersion: 4 });
  const inbox: Packet[] = [];
  const got: string[] = [];
  const send = (packet: Packet): void => void socket.write(generate(packet));
  socket.on('data', (chunk) => parser.parse(chunk));
  parser.on('packet', (packet: Packet) => {
    if (packet.cmd !== 'publish') return void inbox.push(packet);
    got.push(`${packet.topic} ${packet.payload.toString()}`);
    if (packet.qos === 1) send({ cmd: 'puback', messageId: packet.messageId });
  });
  const next = async (cmd: Packet['cmd']): Promise<Packet> => {
    await waitFor(() => inbox.some((p) => p.cmd === cmd), 2_000, `a ${cmd}`);
    return inbox.splice(inbox.findIndex((p) => p.cmd === cmd), 1)[0] as Packet;
  };
  send({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: `esp-${suffix()}`,
    ...(login.username !== undefined ? { username: login.username, password: Buffer.from(login.password ?? '') } : {}),
  });
  expect(await next('connack')).to.include({ returnCode: 0 });
  return { send, next, got, close: () => socket.destroy() };
}

let messageId = 1;
async function subscribe(client: RawClient, filters: string[]): Promise<number[]> {
  client.send({ cmd: 'subscribe', messageId: messageId++, subscriptions: filters.map((topic) => ({ topic, qos: 1 })) });
  return ((await client.next('suback')) as { granted: number[] }).granted;
}

describe('lib/broker/broker-dots (RabbitMQ-style `.`-separated topics on the embedded broker)', () => {
  let broker: EmbeddedBroker;
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'broker-dots-'))));
  after(() => rm(dir, { recursive: true, force: true }));
  afterEach(() => broker.close());

  it('gives the ESP32 filter `webos.smarthome.#` what `webos/smarthome/#` matches, zero levels too, and nothing else', async () => {
    broker = await startBroker({ port: 0 });
    const esp = await rawClient(broker);
    expect(await subscribe(esp, ['webos.smarthome.#'])).to.deep.equal([1]);
    const app = await testClient(broker.url, `app-${suffix()}`);
    await app.publish('webos/server/info', 'not for the home', { qos: 1 });
    await app.publish('webos/smarthomex/info', 'nor this', { qos: 1 });
    await app.publish('webos/smarthome/info', '022022222', { qos: 1 });
    await app.publish('webos/smarthome', '002222222', { qos: 1 });
    await waitFor(() => esp.got.length >= 2, 2_000, 'two controls');
    // one publisher's messages arrive in order: the others would have come first
    expect(esp.got).to.deep.equal(['webos/smarthome/info 022022222', 'webos/smarthome 002222222']);
    esp.close();
    await app.end();
  });

  it('takes a dotted topic in a PUBLISH as the slashed one, as RabbitMQ does', async () => {
    broker = await startBroker({ port: 0 });
    const home = await testClient(broker.url, `home-${suffix()}`);
    const got: string[] = [];
    home.on('message', (topic: string, payload: Buffer) => got.push(`${topic} ${payload.toString()}`));
    await home.subscribe('webos/smarthome/#', { qos: 1 });
    const car = await testClient(broker.url, `car-${suffix()}`);
    await car.publish('webos.smarthome.info', '016222222', { qos: 1 });
    await waitFor(() => got.length === 1, 2_000, 'the control');
    expect(got).to.deep.equal(['webos/smarthome/info 016222222']);
    await Promise.all([home.end(), car.end()]);
  });

  it('checks the dotted filter and topic against the ACL in their slashed form', async () => {
    const aclFile = path.join(dir, 'acl');
    await writeFile(aclFile, 'user esp32\ntopic read webos/smarthome/#\ntopic readwrite data/smarthome/status\n');
    broker = await startBroker({ port: 0, username: 'esp32', password: 'esp-pass', aclFile });
    const esp = await rawClient(broker, { username: 'esp32', password: 'esp-pass' });
    expect(await subscribe(esp, ['webos.smarthome.#', 'webos.car.#', 'webos/#'])).to.deep.equal([1, 128, 128]);
    const watcher = await asyncMqtt.connectAsync(broker.url, { clientId: `w-${suffix()}`, username: 'esp32', password: 'esp-pass', reconnectPeriod: 0 }, false);
    const seen: string[] = [];
    watcher.on('message', (topic: string, payload: Buffer) => seen.push(`${topic} ${payload.toString()}`));
    expect((await watcher.subscribe('data/smarthome/status', { qos: 1 }))[0]?.qos).to.equal(1);
    esp.send({ cmd: 'publish', topic: 'data.smarthome.status', payload: Buffer.from('022022222'), qos: 1, messageId: messageId++, retain: false, dup: false });
    expect(await esp.next('puback')).to.include({ cmd: 'puback' });
    await waitFor(() => seen.length === 1, 2_000, 'the status');
    expect(seen).to.deep.equal(['data/smarthome/status 022022222']);
    esp.close();
    await watcher.end();
  });

  it('ends the subscription on an UNSUBSCRIBE with the dotted filter', async () => {
    broker = await startBroker({ port: 0 });
    const esp = await rawClient(broker);
    expect(await subscribe(esp, ['webos.smarthome.#', 'marker/x'])).to.deep.equal([1, 1]);
    esp.send({ cmd: 'unsubscribe', messageId: messageId++, unsubscriptions: ['webos.smarthome.#'] });
    await esp.next('unsuback');
    const app = await testClient(broker.url, `app-${suffix()}`);
    await app.publish('webos/smarthome/info', '022022222', { qos: 1 });
    await app.publish('marker/x', 'end', { qos: 1 });
    await waitFor(() => esp.got.length >= 1, 2_000, 'the marker');
    expect(esp.got).to.deep.equal(['marker/x end']);
    esp.close();
    await app.end();
  });

  it('rewrites the topics of every packet kind that has one, the will included', () => {
    const publish = { cmd: 'publish', topic: 'a.b.c' } as IPublishPacket;
    const subscribe = { cmd: 'subscribe', subscriptions: [{ topic: 'a.+.#', qos: 1 }] };
    const unsubscribe = { cmd: 'unsubscribe', unsubscriptions: ['a.b', 'c/d'] };
    const connect = { cmd: 'connect', will: { topic: 'webos.esp.status' } };
    for (const packet of [publish, subscribe, unsubscribe, connect, { cmd: 'pingreq' }]) slashTopics(packet);
    expect([publish.topic, subscribe.subscriptions[0]?.topic, unsubscribe.unsubscriptions, connect.will.topic])
      .to.deep.equal(['a/b/c', 'a/+/#', ['a/b', 'c/d'], 'webos/esp/status']);
  });
});
