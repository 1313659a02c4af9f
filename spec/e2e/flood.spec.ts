/**
 * The flood of issue 14, against the real service in this process (so its heap can be measured
 * after a forced GC): 40 add_schedule documents of 900 KB, 20,000 sign-ins with distinct unknown
 * UIDs and 10,000 messages in a second from one client. The heap must end within 50 MB of where
 * it started, and the next real alert must reach a Slack-like webhook on loopback.
 */
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import asyncMqtt, { type AsyncMqttClient } from 'async-mqtt';
import { expect } from 'chai';
import * as E from 'fp-ts/lib/Either.js';
import { loadConfig } from '../../lib/config/load.js';
import { silentLogger } from '../../lib/base/log.js';
import { startService, type Service } from '../../lib/app/service.js';
import { suffix } from '../support/brokers.js';
import { ok, startServer, type TestServer } from '../support/http.js';
import { peekCollection, poll, removeDir, sleep, tempDir } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** An MQTT 3.1.1 packet: type byte, remaining length (variable-length integer), body. */
function packet(type: number, body: Buffer): Buffer {
  const length: number[] = [];
  let n = body.length;
  do {
    length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([type, ...length]), body]);
}
const str = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const connectPacket = (clientId: string): Buffer => packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60]), str(clientId)]));
/** `count` QoS 0 PUBLISHes as one write: a client that ignores any pacing. */
function floodBytes(topic: string, payload: string, count: number): Buffer {
  const publish = packet(0x30, Buffer.concat([str(topic), Buffer.from(payload, 'utf8')]));
  return Buffer.concat(Array.from({ length: count }, () => publish));
}

describe('a flood from the home network (issue 14)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let slack: TestServer;
  let service: Service | undefined;
  const clients: AsyncMqttClient[] = [];

  before(async () => {
    dataDir = await tempDir();
    slack = await startServer(() => ok('ok', 'text/plain'));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.end(true)));
    await service?.stop();
    await slack.close();
    await removeDir(dataDir);
  });

  it('keeps the heap within 50 MB and still delivers the next real alert', async () => {
    const config = loadConfig({
      DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0', MQTT_CLIENT_ID: `flood-backend-${suffix()}`,
      SLACK_WEBHOOK_URL: `${slack.origin}/hook`,
    });
    if (E.isLeft(config)) throw new Error(config.left.message);
    service = await startService(config.right, silentLogger);
    const url = service.mqttUrl;
    const connect = async (name: string): Promise<AsyncMqttClient> => {
      const client = await asyncMqtt.connectAsync(url, { clientId: `${name}-${suffix()}`, reconnectPeriod: 0 }, false);
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    };
    const app = await connect('app');
    // the default rate limit is 100 messages a second per client: 200 clients of 100 sign-ins each
    const signers = await Promise.all(Array.from({ length: 200 }, (_, i) => connect(`signer${i}`)));
    await sleep(500); // the service's subscriptions are in place
    const start = heapMb();

    // 40 documents of 900 KB, each refused by LIMIT_DOC_BYTES
    const filler = 'x'.repeat(900 * 1024);
    for (let i = 0; i < 40; i++) {
      const big = { Producer: 'android', command: 'add_schedule', title: `big-${i}`, enabled: true, startTime: '0700', repeat: false, activeDate: '2026.12.01', name: filler };
      await app.publish('webos/server/info', JSON.stringify(big), { qos: 1 });
    }
    // 20,000 distinct unknown UIDs
    await Promise.all(signers.map((signer, s) => {
      for (let i = 0; i < 99; i++) {
        signer.publish('webos/server/info', JSON.stringify({ Producer: 'android', command: 'signin', UID: `guess-${s}-${i}` })).catch(() => undefined);
      }
      return signer.publish('webos/server/info', JSON.stringify({ Producer: 'android', command: 'signin', UID: `guess-${s}-last` }));
    }));
    // 10,000 messages in a second from one client: its connection is closed at the rate limit
    const { hostname, port } = new URL(url);
    const flooder = net.connect({ host: hostname, port: Number(port) });
    flooder.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => flooder.once('close', () => resolve()));
    const connack = new Promise<Buffer>((resolve) => flooder.once('data', resolve));
    flooder.write(connectPacket(`flooder-${suffix()}`));
    expect([...(await connack)]).to.deep.equal([0x20, 2, 0, 0]);
    flooder.write(floodBytes('webos/server/info', 'not json at all', 10_000));
    await closed;

    // the next real alert
    await app.publish('webos/server/info', JSON.stringify({ Producer: 'car', command: 'real_problem' }), { qos: 1 });
    await poll(() => slack.requests.some((r) => r.body.includes('real_problem')), 'the real alert at the webhook', 30_000);
    const grown = heapMb() - start;
    console.log(`      heap grew ${grown.toFixed(1)} MB; ${slack.requests.length} posts to the webhook`);
    expect(grown).to.be.below(50);
    const bodies = slack.requests.map((r) => r.body).join('\n');
    expect(bodies).to.include('a schedule larger than 16384 bytes (LIMIT_DOC_BYTES) was refused');
    expect(bodies).to.include('more than 10 sign-ins with unknown UIDs in a minute');
    expect(bodies).to.include('sent more than 100 messages a second');
    expect(slack.requests.length).to.be.below(20);
    // nothing of the flood was stored
    expect((await peekCollection(dataDir, 'schedule_mode')).size).to.equal(0);
    expect((await peekCollection(dataDir, 'user_account')).size).to.equal(0);
  });
});
