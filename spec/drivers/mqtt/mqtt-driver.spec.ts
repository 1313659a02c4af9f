import amqp from 'amqplib';
import type { AsyncMqttClient } from 'async-mqtt';
import { expect } from 'chai';
import { Subject, from } from 'rxjs';
import { deliveriesFromMqtt, makeMqttDriver, type MqttDelivery } from '../../../lib/drivers/mqtt/mqtt-driver.js';
import type { SinkReport } from '../../../lib/drivers/report.js';
import type { Effect, MqttPublish } from '../../../lib/core/protocol/effects.js';
import {
  BrokerUnavailable, amqpUrl, delay, useBroker, ensureRabbitMqtt, openConnection, rabbitMqttUrl, skipBecause,
  startProxy, suffix, targets, testClient, waitFor, waitForState,
  type BrokerTarget, type TestConnection,
} from '../../support/brokers.js';

interface Observed {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
}

function publishes(topic: string, payloads: readonly string[]): MqttPublish[] {
  return payloads.map((payload) => ({ type: 'mqtt.publish', topic, payload }));
}

function range(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

function sinkSuite(target: BrokerTarget): void {
  describe(`makeMqttDriver against ${target.name}`, function () {
    const { url, topicBase, open } = useBroker(target);

    /** A client of the test watching `filter`; what it receives lands in the returned array. */
    async function observe(filter: string): Promise<{ client: AsyncMqttClient; seen: Observed[] }> {
      const client = await testClient(url(), `obs-${suffix()}`);
      open.push({ close: () => client.end(true) });
      const seen: Observed[] = [];
      client.on('message', (topic: string, payload: Buffer, packet: { qos: number; retain: boolean }) => {
        seen.push({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain });
      });
      await client.subscribe(filter, { qos: 1 });
      return { client, seen };
    }

    function backend(extra: Parameters<typeof openConnection>[1] = {}): TestConnection {
      const conn = openConnection(extra.url ?? url(), { sessionUrl: url(), ...extra });
      open.push(conn);
      return conn;
    }

    it('publishes mqtt.publish effects in order at QoS 1, ignores other effects, reports each', async () => {
      const { seen } = await observe(`${topicBase()}/webos/+/info`);
      const conn = backend();
      const reply = `{"Producer":"server","command":"return_name","name":"김철수"}`;
      const effects: Effect[] = [
        { type: 'mqtt.publish', topic: `${topicBase()}/webos/smarthome/info`, payload: '022152022' },
        { type: 'rtdb.set', path: 'server/notification', value: 'none' },
        { type: 'mqtt.publish', topic: `${topicBase()}/webos/android/info`, payload: reply },
        { type: 'log', level: 'info', msg: 'hello' },
        ...publishes(`${topicBase()}/webos/car/info`, range(20, 'car-')),
      ];
      const reports: SinkReport[] = [];
      let completed = false;
      conn.hold.add(makeMqttDriver(conn.connection$)(from(effects)).subscribe({
        next: (r) => reports.push(r),
        complete: () => { completed = true; },
      }));
      await waitFor(() => seen.length >= 22, 5_000, '22 publishes');
      const expected = effects.filter((e): e is MqttPublish => e.type === 'mqtt.publish');
      expect(seen.map(({ topic, payload }) => ({ type: 'mqtt.publish', topic, payload }))).to.deep.equal(expected);
      expect(seen.every((m) => m.qos === 1 && !m.retain)).to.equal(true);
      await waitFor(() => completed, 5_000, 'the driver to complete after its input');
      expect(reports).to.deep.equal(expected.map((effect) => ({ kind: 'done', sink: 'mqtt', effect })));
    });

    it('deliveries: a message is acknowledged only by its own ack; unacknowledged, the session hands it over again', async () => {
      const topic = `${topicBase()}/webos/server/info`;
      const device = await testClient(url(), `dev-${suffix()}`);
      open.push({ close: () => device.end(true) });
      const clientId = `be-${suffix()}`;
      const first = backend({ clientId, clean: false });
      const got: MqttDelivery[] = [];
      first.hold.add(deliveriesFromMqtt(first.connection$, [topic]).subscribe((d) => got.push(d)));
      await waitFor(() => first.connacks.length > 0, 5_000, 'the first connection');
      await delay(200); // its SUBACK
      await device.publish(topic, 'acked', { qos: 1 });
      await waitFor(() => got.length === 1, 5_000, 'the first message');
      got[0]!.ack();
      await device.publish(topic, 'kept', { qos: 1 });
      await waitFor(() => got.length === 2, 5_000, 'the second message (the first one acknowledged)');
      expect(got.map((d) => [d.type, d.event.payload, d.dup])).to.deep.equal([['mqtt.delivery', 'acked', false], ['mqtt.delivery', 'kept', false]]);
      expect(got[1]!.messageId).to.be.a('number');
      await first.end(); // 'kept' never acknowledged

      const second = backend({ clientId, clean: false });
      const again: MqttDelivery[] = [];
      second.hold.add(deliveriesFromMqtt(second.connection$, [topic]).subscribe((d) => again.push(d)));
      await waitFor(() => again.length === 1, 10_000, 'the unacknowledged message, to the same session');
      expect(again[0]!.event).to.deep.equal({ type: 'mqtt.message', topic, payload: 'kept' });
      // MQTT 3.1.1 4.4: re-sent with DUP=1. aedes sends a session's unacknowledged messages again
      // without it (the embedded broker dies with the service, so its sessions never see a restart).
      expect(again[0]!.dup, 'a QoS 1 message sent again').to.equal(!target.name.startsWith('aedes'));
      again[0]!.ack();
      await delay(300);
      expect(again.map((d) => d.event.payload), 'the acknowledged one is not sent again').to.deep.equal(['kept']);
    });

    it('deliveries read on: the next messages come before the first is acknowledged, and no PUBACK leaves until all are', async () => {
      const topic = `${topicBase()}/webos/server/info`;
      const device = await testClient(url(), `dev-${suffix()}`);
      open.push({ close: () => device.end(true) });
      const proxy = await startProxy(url());
      open.push({ close: () => proxy.close() });
      const clientId = `be-${suffix()}`;
      const first = backend({ url: proxy.url, clientId, clean: false });
      const got: MqttDelivery[] = [];
      first.hold.add(deliveriesFromMqtt(first.connection$, [topic]).subscribe((d) => {
        got.push(d);
        d.readOn();
      }));
      await waitFor(() => first.connacks.length > 0, 5_000, 'the first connection');
      await delay(200); // its SUBACK
      for (const payload of ['a', 'b', 'c']) await device.publish(topic, payload, { qos: 1 });
      await waitFor(() => got.length === 3, 5_000, 'three messages, none acknowledged');
      got[0]!.ack();
      got[1]!.ack(); // 'c' still out: the connection stays corked
      await delay(300);
      proxy.cut(); // as a killed process: what waited in it never reached the broker
      await first.end();

      const second = backend({ clientId, clean: false });
      const again: MqttDelivery[] = [];
      second.hold.add(deliveriesFromMqtt(second.connection$, [topic]).subscribe((d) => {
        again.push(d);
        d.readOn();
      }));
      await waitFor(() => again.length === 3, 10_000, 'all three again, to the same session');
      expect(again.map((d) => d.event.payload)).to.deep.equal(['a', 'b', 'c']);
      for (const d of again) d.ack();
      await delay(300);
      await second.end();

      const third = backend({ clientId, clean: false });
      const after: MqttDelivery[] = [];
      third.hold.add(deliveriesFromMqtt(third.connection$, [topic]).subscribe((d) => after.push(d)));
      await waitFor(() => third.connacks.length > 0, 5_000, 'the third connection');
      await delay(500);
      expect(after.map((d) => d.event.payload), 'all three were acknowledged once none was out').to.deep.equal([]);
    });

    it('refuses invalid topics with a failed report and goes on with the rest', async () => {
      const out = `${topicBase()}/webos/car/info`;
      const { seen } = await observe(out);
      const conn = backend();
      const effects: MqttPublish[] = [
        ...publishes(out, ['ok-1']),
        ...publishes(`${topicBase()}/webos/+/error`, ['bad wildcard']),
        ...publishes('', ['bad empty']),
        ...publishes(`${topicBase()}/webos/#`, ['bad hash']),
        ...publishes('$SYS/broker', ['bad reserved']),
        ...publishes(out, ['ok-2']),
      ];
      const reports: SinkReport[] = [];
      conn.hold.add(makeMqttDriver(conn.connection$)(from(effects)).subscribe((r) => reports.push(r)));
      await waitFor(() => reports.length >= effects.length, 5_000, 'a report per effect');
      await waitFor(() => seen.length >= 2, 5_000, 'the valid publishes');
      expect(seen.map((m) => m.payload)).to.deep.equal(['ok-1', 'ok-2']);
      expect(reports.filter((r) => r.kind === 'failed').map((r) => r.kind === 'failed' && r.effect))
        .to.deep.equal(effects.slice(1, 5));
      expect(conn.connacks).to.have.length(1); // the link never dropped
    });

    it('announces online (retained) after connecting; its last will says offline', async () => {
      const status = { topic: `${topicBase()}/webos/server/status`, online: 'online', offline: 'offline' };
      const proxy = await startProxy(url());
      open.push({ close: () => proxy.close() });
      const conn = backend({ url: proxy.url, status });
      await waitForState(conn.connection, 'up');
      try {
        // a client arriving later gets the retained status
        const late = await observe(status.topic);
        await waitFor(() => late.seen.length >= 1, 5_000, 'the retained status');
        expect(late.seen[0]).to.deep.include({ payload: 'online', retain: true });

        proxy.cut(); // the broker loses us without a DISCONNECT: the will
        await waitFor(() => late.seen.some((m) => m.payload === 'offline'), 5_000, 'the last will');
        proxy.restore();
        await waitFor(() => late.seen.filter((m) => m.payload === 'online').length >= 2, 5_000, 'online again');
        await conn.end(); // a clean shutdown says offline itself
        await waitFor(() => late.seen.filter((m) => m.payload === 'offline').length >= 2, 5_000, 'offline on shutdown');
        expect(late.seen.map((m) => m.payload)).to.deep.equal(['online', 'offline', 'online', 'offline']);
      } finally {
        const cleaner = await testClient(url(), `clr-${suffix()}`);
        await cleaner.publish(status.topic, '', { qos: 1, retain: true });
        await cleaner.end();
      }
    });

    it('publishes the effects produced during an outage after it: all, in order, once', async () => {
      const out = `${topicBase()}/webos/android/info`;
      const { seen } = await observe(out);
      const proxy = await startProxy(url());
      open.push({ close: () => proxy.close() });
      const conn = backend({ url: proxy.url });
      const effect$ = new Subject<Effect>();
      const reports: SinkReport[] = [];
      conn.hold.add(makeMqttDriver(conn.connection$, { queueSize: 500 })(effect$).subscribe((r) => reports.push(r)));
      await waitForState(conn.connection, 'up');
      const before = range(10, 'before-');
      for (const e of publishes(out, before)) effect$.next(e);
      await waitFor(() => reports.length >= before.length, 5_000, 'the first publishes');

      proxy.cut();
      await waitForState(conn.connection, 'down');
      const during = range(300, 'during-');
      for (const e of publishes(out, during)) effect$.next(e);
      await delay(200);
      expect(seen.length).to.equal(before.length);
      proxy.restore();

      await waitFor(() => seen.length >= before.length + during.length, 10_000, 'the queued publishes');
      await delay(300); // room for duplicates to show up
      expect(seen.map((m) => m.payload)).to.deep.equal([...before, ...during]);
      expect(reports.filter((r) => r.kind === 'done')).to.have.length(before.length + during.length);
      expect(reports.filter((r) => r.kind !== 'done')).to.deep.equal([]);
    });

    it('sends a QoS 1 publish again when the connection drops before its PUBACK', async () => {
      const out = `${topicBase()}/webos/car/info`;
      const { seen } = await observe(out);
      const proxy = await startProxy(url());
      open.push({ close: () => proxy.close() });
      const conn = backend({ url: proxy.url });
      const effect$ = new Subject<Effect>();
      const reports: SinkReport[] = [];
      conn.hold.add(makeMqttDriver(conn.connection$)(effect$).subscribe((r) => reports.push(r)));
      await waitForState(conn.connection, 'up');
      proxy.stall(); // the publishes reach the broker, the PUBACKs never come back
      const payloads = range(3, 'inflight-');
      for (const e of publishes(out, payloads)) effect$.next(e);
      await waitFor(() => seen.length >= 3, 5_000, 'the publishes at the observer');
      await delay(100);
      expect(reports).to.deep.equal([]);
      proxy.cut();
      proxy.restore();
      await waitFor(() => reports.length >= 3, 5_000, 'PUBACKs after the reconnect');
      expect(reports).to.deep.equal(publishes(out, payloads).map((effect) => ({ kind: 'done', sink: 'mqtt', effect })));
      // at least once: the broker saw them twice and may forward both copies
      expect([...new Set(seen.map((m) => m.payload))]).to.deep.equal(payloads);
    });

    it('bounds the queue: drops the oldest on overflow and says how many in one alert', async () => {
      const out = `${topicBase()}/webos/car/info`;
      const { seen } = await observe(out);
      const proxy = await startProxy(url());
      open.push({ close: () => proxy.close() });
      const conn = backend({ url: proxy.url });
      const effect$ = new Subject<Effect>();
      const reports: SinkReport[] = [];
      const sizes: number[] = [];
      conn.hold.add(makeMqttDriver(conn.connection$, { queueSize: 5, onQueueSize: (n) => sizes.push(n) })(effect$).subscribe((r) => reports.push(r)));
      await waitForState(conn.connection, 'up');
      effect$.next(publishes(out, ['live'])[0]!); // goes out at once: the queue never grows
      await waitFor(() => seen.length >= 1, 5_000, 'the live publish');
      // Its PUBACK too: one still on its way when the line is cut makes QoS 1 send it again.
      await waitFor(() => reports.some((r) => r.kind === 'done'), 5_000, 'the live publish acknowledged');
      expect(sizes).to.deep.equal([]);
      proxy.cut();
      await waitForState(conn.connection, 'down');
      for (const e of publishes(out, range(8, 'q-'))) effect$.next(e);
      proxy.restore();
      await waitFor(() => seen.length >= 6, 5_000, 'the five kept publishes');
      await delay(200);
      expect(seen.map((m) => m.payload)).to.deep.equal(['live', 'q-3', 'q-4', 'q-5', 'q-6', 'q-7']);
      expect(sizes).to.deep.equal([1, 2, 3, 4, 5, 0]); // full at 5 while down, empty once back
      const alerts = reports.filter((r) => r.kind === 'alert');
      expect(alerts).to.have.length(1);
      expect(alerts[0]).to.deep.include({ kind: 'alert', sink: 'mqtt', level: 'error' });
      expect(alerts[0]?.kind === 'alert' && alerts[0].text).to.match(/\b3 publish/);
      expect(reports.filter((r) => r.kind === 'done')).to.have.length(6);
    });

    it('publishes a burst of 1,000 effects in order', async () => {
      const out = `${topicBase()}/webos/camera/info`;
      const { seen } = await observe(out);
      const conn = backend();
      const payloads = range(1_000, 'b-');
      const reports: SinkReport[] = [];
      await waitForState(conn.connection, 'up');
      const started = Date.now();
      conn.hold.add(makeMqttDriver(conn.connection$)(from(publishes(out, payloads))).subscribe((r) => reports.push(r)));
      await waitFor(() => seen.length >= payloads.length, 15_000, 'the burst');
      const ms = Date.now() - started;
      await delay(100);
      expect(seen.map((m) => m.payload)).to.deep.equal(payloads);
      expect(reports.filter((r) => r.kind === 'done')).to.have.length(payloads.length);
      console.log(`      burst: ${payloads.length} publishes in ${ms} ms via ${target.name}`);
    });
  });
}

for (const target of targets) sinkSuite(target);

describe('RabbitMQ interop: what the MQTT sink publishes reaches AMQP clients', function () {
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

  it('a publish on webos/android/info arrives in a queue bound to webos.android.#', async () => {
    const channel = await (amqpConn as NonNullable<typeof amqpConn>).createChannel();
    const conn = openConnection(rabbitMqttUrl);
    try {
      await channel.assertExchange('webos.topic', 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, 'webos.topic', 'webos.android.#');
      const got: Array<{ routingKey: string; body: string }> = [];
      await channel.consume(queue, (msg) => {
        if (msg) got.push({ routingKey: msg.fields.routingKey, body: msg.content.toString('utf8') });
      }, { noAck: true });
      const reply = JSON.stringify({ Producer: 'server', command: 'return_name', name: '김철수', run: suffix() });
      const reports: SinkReport[] = [];
      conn.hold.add(makeMqttDriver(conn.connection$)(from(publishes('webos/android/info', [reply]))).subscribe((r) => reports.push(r)));
      await waitFor(() => got.some((m) => m.body === reply), 5_000, 'the AMQP delivery');
      expect(got.find((m) => m.body === reply)?.routingKey).to.equal('webos.android.info');
      expect(reports.map((r) => r.kind)).to.deep.equal(['done']);
    } finally {
      await channel.close().catch(() => undefined);
      await conn.close();
    }
  });
});
