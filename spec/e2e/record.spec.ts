/**
 * End to end: `npm run record -- FILE` (the service with `--record FILE`) appends every inbound
 * event as a replay line, and replaying the file gives the effects the live service produced.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { replay } from '../../lib/durability/replay.js';
import { suffix } from '../support/brokers.js';
import { connectDevice, killAll, startService, type Device } from '../support/service.js';
import { removeDir, tempDir } from './helpers.js';

describe('the service end to end: recording live traffic', function () {
  this.timeout(30_000);
  let broker: EmbeddedBroker;
  let dir: string;
  let device: Device;

  before(async () => {
    broker = await startBroker({ port: 0 });
    dir = await tempDir();
    device = await connectDevice(broker.url, `e2e-record-device-${suffix()}`);
  });

  after(async () => {
    await killAll();
    await device.end();
    await broker.close();
    await removeDir(dir);
  });

  it('records every inbound event as replay lines that replay to the same replies', async () => {
    const file = path.join(dir, 'recordings', 'live.ndjson');
    const service = await startService(
      { MQTT_URL: broker.url, MQTT_CLIENT_ID: `e2e-record-${suffix()}`, DATA_DIR: path.join(dir, 'data'), HTTP_PORT: '0', SMARTHOME_TZ: 'Asia/Seoul' },
      { args: ['--record', file] },
    );
    await device.publish('data/smarthome/status', '000000000');
    await device.command({ Producer: 'car', command: 'signup', UID: 'r1', name: 'Park' });
    await device.command({ Producer: 'car', command: 'signin', UID: 'r1' });
    const live = await device.next('webos/car/info', 'the live sign-in reply');
    await device.publish('webos/smarthome/info', '016222222');
    await device.next('webos/smarthome/info', 'the control echoed by the broker');
    expect((await service.stop()).code).to.equal(0);

    const text = await fs.readFile(file, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { at: string; source: string; topic?: string });
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+09:00$/.test(l.at))).to.equal(true);
    expect(lines.filter((l) => l.source === 'mqtt').map((l) => l.topic)).to.include.members([
      'data/smarthome/status',
      'webos/server/info',
      'webos/smarthome/info',
    ]);
    // The store's listeners are recorded too: the sign-up's own write comes back as a firestore line.
    expect(lines.some((l) => l.source === 'firestore')).to.equal(true);

    const replayed = replay(text, { tz: 'Asia/Seoul' });
    expect(replayed.errors).to.deep.equal([]);
    const effects = replayed.lines.map((l) => JSON.parse(l) as { sink: string; topic?: string; payload?: string; collection?: string });
    expect(effects.find((e) => e.topic === 'webos/car/info')?.payload).to.equal(live.payload);
    expect(effects.some((e) => e.sink === 'firestore' && e.collection === 'appliance_alarm')).to.equal(true);
  });
});
