import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { AsyncMqttClient } from 'async-mqtt';
import { expect } from 'chai';
import { Subject, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { startBroker } from '../../../lib/broker/broker.js';
import { fromMqtt, makeMqttDriver } from '../../../lib/drivers/mqtt/mqtt-driver.js';
import type { SinkReport } from '../../../lib/drivers/report.js';
import {
  backoffDelay, connectMqtt, ReadAhead, reconnectSchedule, redactUrl, type MqttConnection,
} from '../../../lib/drivers/mqtt/connection.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { MqttMessage } from '../../../lib/core/protocol/events.js';
import {
  BrokerUnavailable, amqpUrl, captureLogger, useBroker, delay, discardSession, ensureRabbitMqtt, noDelayOf, openConnection,
  rabbitMqttUrl, skipBecause, startOwnMosquitto, startProxy, startRestartableAedes, suffix, targets,
  testBackoff, testClient, waitFor, waitForState,
  type BrokerTarget, type RestartableBroker, type TestConnection,
} from '../../support/brokers.js';

const run = promisify(execFile);

/** The inbound topics of SPEC 2 under a per-run prefix (the brokers are shared). */
function inboundTopics(base: string): { server: string; control: string; status: string; filters: string[] } {
  return {
    server: `${base}/webos/server/info`,
    control: `${base}/webos/smarthome`,
    status: `${base}/data/smarthome/status`,
    filters: [`${base}/webos/server/#`, `${base}/webos/smarthome/#`, `${base}/data/smarthome/status`],
  };
}

/** Publish probes until the backend receives one: its subscription is in place. */
async function untilReceiving(device: AsyncMqttClient, topic: string, received: () => readonly MqttMessage[]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await device.publish(topic, `probe-${i}`, { qos: 1 });
    const deadline = Date.now() + 200;
    while (Date.now() < deadline) {
      if (received().some((m) => m.topic === topic)) return;
      await delay(10);
    }
  }
  throw new Error(`the backend never received a probe on ${topic}`);
}

function payloadsOn(messages: readonly MqttMessage[], topic: string): string[] {
  return messages.filter((m) => m.topic === topic).map((m) => m.payload);
}

function range(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

describe('lib/drivers/mqtt/connection', () => {
  describe('backoff', () => {
    it('doubles from the initial delay up to the cap', () => {
      const b = { initialMs: 100, maxMs: 1_000, factor: 2 };
      expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b))).to.deep.equal([100, 200, 400, 800, 1_000, 1_000]);
    });

    it('schedules reconnects after each close, resetting after a connect (virtual time)', () => {
      const scheduler = new TestScheduler((actual, expected) => { expect(actual).to.deep.equal(expected); });
      scheduler.run(({ hot, expectObservable }) => {
        const close$ = hot('    c 19ms c 29ms c 49ms c 99ms c');
        const connect$ = hot('  150ms k');
        const expected = '      10ms a 29ms b 49ms c 49ms d 69ms e';
        expectObservable(reconnectSchedule(close$, connect$, { initialMs: 10, maxMs: 40, factor: 2 }, scheduler))
          .toBe(expected, { a: 1, b: 2, c: 3, d: 4, e: 1 });
      });
    });

    it('cancels a pending reconnect when a connect arrives first', () => {
      const scheduler = new TestScheduler((actual, expected) => { expect(actual).to.deep.equal(expected); });
      scheduler.run(({ hot, expectObservable }) => {
        const close$ = hot('   c');
        const connect$ = hot(' 5ms k');
        expectObservable(reconnectSchedule(close$, connect$, { initialMs: 10, maxMs: 40 }, scheduler)).toBe('');
      });
    });
  });

  describe('ReadAhead (a real Writable stream)', () => {
    /** A stream that records what reaches its underlying write: one entry per write or writev. */
    function recording(): { stream: Writable; writes: string[] } {
      const writes: string[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          writes.push(chunk.toString());
          done();
        },
        writev(chunks, done) {
          writes.push(chunks.map((c) => (c.chunk as Buffer).toString()).join(''));
          done();
        },
      });
      return { stream, writes };
    }

    it('holds every byte written while a message is out; the last one given back lets them go in one write', async () => {
      const { stream, writes } = recording();
      const readAhead = new ReadAhead(stream, 3);
      expect(readAhead.take()).to.equal(true);
      stream.write('puback 1;');
      expect(readAhead.take()).to.equal(true);
      stream.write('puback 2;');
      readAhead.give();
      await delay(10);
      expect(writes, 'one still out').to.deep.equal([]);
      readAhead.give();
      await delay(10);
      expect(writes).to.deep.equal(['puback 1;puback 2;']);
      stream.write('after;');
      await delay(10);
      expect(writes.at(-1), 'uncorked: writes go at once').to.equal('after;');
    });

    it('takes at most its maximum at once (then mqtt.js waits for an acknowledgement), and takes again once one is back', () => {
      const { stream } = recording();
      const readAhead = new ReadAhead(stream, 2);
      expect([readAhead.take(), readAhead.take(), readAhead.take()]).to.deep.equal([true, true, false]);
      readAhead.give();
      expect(readAhead.take()).to.equal(true);
    });
  });

  describe('configuration', () => {
    it('errors at subscription on an unusable URL, without echoing credentials', () => {
      const errors: string[] = [];
      for (const url of ['http://user:pw-123@127.0.0.1:1883', 'not a url']) {
        connectMqtt({ url, clientId: 'x' }).subscribe({ error: (e: Error) => errors.push(e.message) });
      }
      expect(errors).to.deep.equal([
        'MQTT URL http://127.0.0.1:1883: use mqtt://, mqtts://, ws:// or wss://',
        'MQTT URL is not a valid URL',
      ]);
    });

    it('redacts user info, query and fragment from URLs it logs', () => {
      expect(redactUrl('mqtts://u:p%40ss@broker.local:8883/?x=1#y')).to.equal('mqtts://broker.local:8883');
      expect(redactUrl('ws://u:p@127.0.0.1:9001/mqtt')).to.equal('ws://127.0.0.1:9001/mqtt');
    });
  });

  describe('socket', () => {
    it('turns Nagle off on its socket, and on the new one after a reconnect', async () => {
      const broker = await startBroker({ port: 0 });
      const sub = new Subscription();
      try {
        let connection: MqttConnection | undefined;
        const connacks: unknown[] = [];
        sub.add(connectMqtt({ url: broker.url, clientId: `nd-${suffix()}`, backoff: testBackoff, status: false })
          .subscribe((c) => { connection = c; }));
        sub.add((connection as MqttConnection).connack$.subscribe((c) => connacks.push(c)));
        await waitFor(() => connacks.length === 1, 5_000, 'the first connect');
        const socketOf = () => (connection as unknown as { client: { _client: { stream: { destroy(): void } } } }).client._client.stream;
        const first = socketOf();
        expect(noDelayOf(first)).to.equal(true);
        first.destroy(); // the connection drops; connectMqtt reconnects on a new socket
        await waitFor(() => connacks.length === 2, 5_000, 'a reconnect');
        expect(socketOf()).not.to.equal(first);
        expect(noDelayOf(socketOf())).to.equal(true);
      } finally {
        sub.unsubscribe();
        await broker.close();
      }
    });
  });

  describe('disconnecting', () => {
    it('logs no warning when its own offline status comes back after it said goodbye', async () => {
      const broker = await startBroker({ port: 0 });
      const { logger, lines } = captureLogger('warn');
      try {
        // as the service: the command filter `webos/server/#` covers the status topic
        for (let i = 0; i < 10; i++) {
          let connection: MqttConnection | undefined;
          const sub = connectMqtt({ url: broker.url, clientId: `bye-${suffix()}`, logger, backoff: testBackoff })
            .subscribe((c) => { connection = c; });
          await waitForState(connection as MqttConnection, 'up');
          await connection!.client.subscribe('webos/server/#', { qos: 1 });
          const closed = new Promise((resolve) => connection!.client.once('close', resolve));
          sub.unsubscribe();
          await closed;
          await delay(20);
        }
        expect(lines).to.deep.equal([]);
      } finally {
        await broker.close();
      }
    });
  });

  describe('credentials and TLS (aedes)', () => {
    it('logs the URL without credentials and never the password', async () => {
      const broker = await startBroker({ port: 0, username: 'home', password: 's3cr3t-pw' });
      const { logger, lines } = captureLogger();
      const url = `mqtt://home:s3cr3t-pw@127.0.0.1:${broker.port}`;
      const sub = new Subscription();
      try {
        let connection: MqttConnection | undefined;
        sub.add(connectMqtt({ url, clientId: `cred-${suffix()}`, logger, backoff: testBackoff, status: false })
          .subscribe((c) => { connection = c; }));
        await waitForState(connection as MqttConnection, 'up');
        expect(redactUrl(url)).to.equal(`mqtt://127.0.0.1:${broker.port}`);
        expect(lines.join('\n')).to.include(`"url":"mqtt://127.0.0.1:${broker.port}"`);

        // wrong password from the options: refused, retried with backoff, still nothing secret logged
        const bad = captureLogger();
        let refused: MqttConnection | undefined;
        sub.add(connectMqtt({
          url: `mqtt://127.0.0.1:${broker.port}`, clientId: `bad-${suffix()}`, username: 'home', password: 'wrong-pw-123',
          logger: bad.logger, backoff: { initialMs: 20, maxMs: 40 }, status: false,
        }).subscribe((c) => { refused = c; }));
        await waitFor(() => bad.lines.filter((l) => l.includes('mqtt: reconnecting')).length >= 3, 3_000, 'reconnect attempts');
        expect(refused?.client.connected).to.equal(false);
        expect(bad.lines.join('\n')).to.match(/Bad username or password/i);
        expect([...lines, ...bad.lines].join('\n')).not.to.match(/s3cr3t-pw|wrong-pw-123/);
      } finally {
        sub.unsubscribe();
        await broker.close();
      }
    });

    it('connects over mqtts:// with a CA, and refuses an untrusted certificate', async function () {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'mqtt-spec-tls-'));
      try {
        await run('openssl', [
          'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
          '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
        ]);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        skipBecause(this, `openssl could not make a test certificate: ${(err as Error).message}`);
      }
      const key = await readFile(path.join(dir, 'key.pem'));
      const cert = await readFile(path.join(dir, 'cert.pem'));
      await rm(dir, { recursive: true, force: true });
      const broker = await startBroker({ port: 0, tls: { key, cert } });
      const sub = new Subscription();
      try {
        expect(broker.url).to.match(/^mqtts:\/\//);
        let trusted: MqttConnection | undefined;
        let untrusted: MqttConnection | undefined;
        sub.add(connectMqtt({ url: broker.url, clientId: `tls-${suffix()}`, tls: { ca: cert }, backoff: testBackoff, status: false })
          .subscribe((c) => { trusted = c; }));
        sub.add(connectMqtt({ url: broker.url, clientId: `tlsx-${suffix()}`, backoff: testBackoff, status: false })
          .subscribe((c) => { untrusted = c; }));
        await waitForState(trusted as MqttConnection, 'up');
        await delay(300);
        expect(untrusted?.client.connected).to.equal(false);
      } finally {
        sub.unsubscribe();
        await broker.close();
      }
    });
  });
});

function sourceSuite(target: BrokerTarget): void {
  describe(`fromMqtt against ${target.name}`, function () {
    const { url, topicBase, open } = useBroker(target);
    async function device(options: Parameters<typeof testClient>[2] = {}): Promise<AsyncMqttClient> {
      const client = await testClient(url(), `dev-${suffix()}`, options);
      open.push({ close: () => client.end(true) });
      return client;
    }
    function backend(topics: readonly string[], extra: Parameters<typeof openConnection>[1] = {}, acceptRetained: string[] = []):
      { conn: TestConnection; messages: MqttMessage[] } {
      const conn = openConnection(extra.url ?? url(), { sessionUrl: url(), ...extra });
      const messages: MqttMessage[] = [];
      const sub = fromMqtt(conn.connection$, topics, { acceptRetained }).subscribe((m) => messages.push(m));
      conn.hold.add(sub);
      open.push(conn);
      return { conn, messages };
    }

    it('emits mqtt.message events for the inbound topics, payload as UTF-8, in order', async () => {
      const t = inboundTopics(topicBase());
      const { messages } = backend(t.filters);
      const dev = await device();
      await untilReceiving(dev, t.server, () => messages);
      const command = '{"Producer":"android","command":"signup","UID":"u1","name":"김철수"}';
      await dev.publish(t.server, command, { qos: 1 });
      await dev.publish(t.control, '022152022', { qos: 1 });
      await dev.publish(`${topicBase()}/webos/smarthome/info`, '016222222', { qos: 1 });
      await dev.publish(t.status, '009060210', { qos: 0 });
      await dev.publish(`${topicBase()}/webos/other`, 'not ours', { qos: 1 });
      await waitFor(() => messages.length >= 5, 5_000, 'four messages after the probe');
      await delay(100);
      expect(messages.filter((m) => !m.payload.startsWith('probe-'))).to.deep.equal([
        { type: 'mqtt.message', topic: t.server, payload: command },
        { type: 'mqtt.message', topic: t.control, payload: '022152022' },
        { type: 'mqtt.message', topic: `${topicBase()}/webos/smarthome/info`, payload: '016222222' },
        { type: 'mqtt.message', topic: t.status, payload: '009060210' },
      ]);
    });

    it('skips stored retained messages except on acceptRetained topics; live retained ones pass', async () => {
      const t = inboundTopics(topicBase());
      const dev = await device();
      await dev.publish(t.server, 'stale command', { qos: 1, retain: true });
      await dev.publish(t.status, '009060210', { qos: 1, retain: true });
      try {
        const { messages } = backend(t.filters, {}, [t.status]);
        await untilReceiving(dev, t.control, () => messages);
        await dev.publish(t.server, 'live retained', { qos: 1, retain: true });
        await waitFor(() => payloadsOn(messages, t.server).length >= 1, 5_000, 'the live message');
        await delay(100);
        expect(payloadsOn(messages, t.status)).to.deep.equal(['009060210']);
        expect(payloadsOn(messages, t.server)).to.deep.equal(['live retained']);
      } finally {
        await dev.publish(t.server, '', { qos: 1, retain: true });
        await dev.publish(t.status, '', { qos: 1, retain: true });
      }
    });

    it('ignores topics the persistent session still holds from an older configuration', async () => {
      const t = inboundTopics(topicBase());
      const first = backend(t.filters);
      const dev = await device();
      await untilReceiving(dev, t.status, () => first.messages);
      // same client id, fewer topics: the broker still delivers the old ones
      const clientId = first.conn.clientId;
      await first.conn.end();
      const second = backend([`${topicBase()}/webos/server/#`], { clientId });
      await untilReceiving(dev, t.server, () => second.messages);
      await dev.publish(t.status, '009060210', { qos: 1 });
      await dev.publish(t.server, 'after', { qos: 1 });
      await waitFor(() => payloadsOn(second.messages, t.server).includes('after'), 5_000, 'the later message');
      expect(second.messages.filter((m) => m.topic === t.status)).to.deep.equal([]);
    });

    it('resubscribes after a reconnect where the broker lost the session', async () => {
      const t = inboundTopics(topicBase());
      const { conn, messages } = backend(t.filters);
      const dev = await device();
      await untilReceiving(dev, t.server, () => messages);
      expect(conn.connacks.map((c) => c.sessionPresent)).to.deep.equal([false]);
      // another client takes the id with a clean session: the broker drops ours and kicks us out
      await discardSession(url(), conn.clientId);
      await waitFor(() => conn.connacks.length >= 2, 5_000, 'a reconnect');
      expect(conn.connacks[1]?.sessionPresent).to.equal(false);
      await untilReceiving(dev, t.control, () => messages);
      await dev.publish(t.server, 'after the session loss', { qos: 1 });
      await waitFor(() => payloadsOn(messages, t.server).includes('after the session loss'), 5_000, 'a message after resubscribing');
    });

    it('keeps the session through an outage: QoS 1 commands sent meanwhile all arrive once, in order', async () => {
      const t = inboundTopics(topicBase());
      const proxy = await startProxy(url());
      open.push({ close: () => proxy.close() });
      const { conn, messages } = backend(t.filters, { url: proxy.url });
      const dev = await device();
      await untilReceiving(dev, t.control, () => messages);
      const states: string[] = [];
      const watch = conn.connection.state$.subscribe((s) => states.push(s));
      open.push({ close: async () => watch.unsubscribe() });

      proxy.cut();
      await waitForState(conn.connection, 'down');
      const sent = range(200, 'cmd-');
      await Promise.all(sent.map((p) => dev.publish(t.server, p, { qos: 1 })));
      await delay(100);
      expect(payloadsOn(messages, t.server)).to.deep.equal([]);
      proxy.restore();

      await waitFor(() => payloadsOn(messages, t.server).length >= sent.length, 10_000, 'the commands sent during the outage');
      await delay(300); // room for duplicates to show up
      const got = payloadsOn(messages, t.server);
      expect(got.length - new Set(got).size, 'duplicates').to.equal(0);
      expect(sent.filter((p) => !got.includes(p)), 'lost').to.deep.equal([]);
      expect(got).to.deep.equal(sent);
      expect(states).to.deep.equal(['up', 'down', 'up']);
      expect(conn.connacks.at(-1)?.sessionPresent).to.equal(true);
    });

    it('receives a flood of 10,000 messages in order, none lost', async function () {
      this.timeout(40_000);
      const t = inboundTopics(topicBase());
      const { messages } = backend(t.filters);
      const dev = await device();
      await untilReceiving(dev, t.control, () => messages);
      const received = (): number => messages.length;
      const before = received();
      const n = 10_000;
      // At most 500 messages between device and backend: Mosquitto's default max_queued_messages
      // (1000) drops QoS 1 messages beyond that for a subscriber that is behind (docs/mqtt.md).
      const window = 500;
      const started = Date.now();
      const acks: Array<Promise<void>> = [];
      for (let i = 0; i < n; i++) {
        while (i - (received() - before) >= window) await delay(1);
        acks.push(dev.publish(t.server, String(i), { qos: 1 }));
      }
      await Promise.all(acks);
      await waitFor(() => received() - before >= n, 30_000, `${n} messages`);
      const ms = Date.now() - started;
      await delay(100);
      const got = payloadsOn(messages, t.server);
      expect(got.length).to.equal(n);
      expect(got.every((p, i) => p === String(i)), 'in order').to.equal(true);
      console.log(`      flood: ${n} messages in ${ms} ms (${Math.round(n / (ms / 1000))}/s) via ${target.name}`);
    });
  });
}

for (const target of targets) sourceSuite(target);

describe('MQTT source and sink across a broker restart', function () {
  this.timeout(30_000);

  const kinds: Array<[string, () => Promise<RestartableBroker>]> = [
    ['aedes (restarted on the same port, same persistence)', startRestartableAedes],
    ['own Mosquitto (persistence in a temp dir, ephemeral port)', startOwnMosquitto],
  ];
  for (const [name, start] of kinds) {
    it(`${name}: nothing lost or duplicated in either direction`, async function () {
      let broker: RestartableBroker;
      try {
        broker = await start();
      } catch (err) {
        if (err instanceof BrokerUnavailable) skipBecause(this, err.message);
        throw err;
      }
      const base = `spec-${suffix()}`;
      const t = inboundTopics(base);
      const out = `${base}/webos/android/info`;
      const sub = new Subscription();
      const clients: AsyncMqttClient[] = [];
      let conn: TestConnection | undefined;
      try {
        conn = openConnection(broker.url);
        const messages: MqttMessage[] = [];
        const reports: SinkReport[] = [];
        const effect$ = new Subject<Effect>();
        sub.add(fromMqtt(conn.connection$, t.filters).subscribe((m) => messages.push(m)));
        sub.add(makeMqttDriver(conn.connection$)(effect$).subscribe((r) => reports.push(r)));
        // device and observer keep persistent sessions too, as real devices do
        const dev = await testClient(broker.url, `dev-${suffix()}`, { clean: false });
        const observer = await testClient(broker.url, `obs-${suffix()}`, { clean: false });
        clients.push(dev, observer);
        const observed: string[] = [];
        observer.on('message', (topic: string, payload: Buffer) => { if (topic === out) observed.push(payload.toString()); });
        await observer.subscribe(out, { qos: 1 });
        await untilReceiving(dev, t.control, () => messages);

        await broker.down();
        await waitForState(conn.connection, 'down');
        const commands = range(100, 'cmd-');
        const effects = range(100, 'reply-');
        // the device's client holds its QoS 1 publishes until it is connected again
        const acks = commands.map((p) => dev.publish(t.server, p, { qos: 1 }));
        for (const p of effects) effect$.next({ type: 'mqtt.publish', topic: out, payload: p });
        await delay(200);
        await broker.up();

        await Promise.all(acks);
        await waitFor(() => payloadsOn(messages, t.server).length >= commands.length, 10_000, 'the commands');
        await waitFor(() => observed.length >= effects.length, 10_000, 'the effects');
        await delay(300);
        const got = payloadsOn(messages, t.server);
        expect(got, 'commands: none lost or duplicated, in order').to.deep.equal(commands);
        expect(observed, 'effects: none lost or duplicated, in order').to.deep.equal(effects);
        expect(reports.filter((r) => r.kind === 'done')).to.have.length(effects.length);
        expect(reports.filter((r) => r.kind !== 'done')).to.deep.equal([]);
      } finally {
        sub.unsubscribe();
        await Promise.all(clients.map((c) => c.end(true).catch(() => undefined)));
        await conn?.close();
        await broker.stop();
      }
    });
  }
});

describe('RabbitMQ interop: legacy AMQP clients reach the MQTT source', function () {
  this.timeout(30_000);
  let amqpConn: Awaited<ReturnType<typeof amqp.connect>> | undefined;

  before(async function () {
    this.timeout(100_000);
    try {
      await ensureRabbitMqtt();
      amqpConn = await amqp.connect(amqpUrl);
    } catch (err) {
      if (err instanceof BrokerUnavailable) skipBecause(this, err.message);
      skipBecause(this, `no AMQP at ${amqpUrl}: ${(err as Error).message}`);
    }
  });
  after(async () => { await amqpConn?.close().catch(() => undefined); });

  it('a JSON command on routing key webos.server.info and a control on webos.smarthome are observed', async () => {
    const conn = openConnection(rabbitMqttUrl);
    const messages: MqttMessage[] = [];
    const sub = fromMqtt(conn.connection$, ['webos/server/#', 'webos/smarthome/#']).subscribe((m) => messages.push(m));
    const channel = await (amqpConn as NonNullable<typeof amqpConn>).createChannel();
    try {
      await channel.assertExchange('webos.topic', 'topic', { durable: true });
      const signin = '{"Producer":"android","command":"signin","UID":"u1"}';
      const control = '022152022';
      for (let i = 0; i < 50 && !messages.some((m) => m.topic === 'webos/server/info' && m.payload === signin); i++) {
        channel.publish('webos.topic', 'webos.server.info', Buffer.from(signin));
        await delay(100); // until the backend's subscription is bound
      }
      channel.publish('webos.topic', 'webos.smarthome', Buffer.from(control));
      await waitFor(() => messages.some((m) => m.topic === 'webos/smarthome' && m.payload === control), 5_000, 'the control');
      expect(messages).to.deep.include({ type: 'mqtt.message', topic: 'webos/server/info', payload: signin });
      expect(messages).to.deep.include({ type: 'mqtt.message', topic: 'webos/smarthome', payload: control });
    } finally {
      sub.unsubscribe();
      await channel.close().catch(() => undefined);
      await conn.close();
    }
  });
});
