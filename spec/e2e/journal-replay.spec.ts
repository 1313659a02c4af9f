/**
 * End to end (issue 12, item 3 and 4): the event journal the live service writes in
 * DATA_DIR/events replays, file by file, to the effects the service produced: the same MQTT
 * payloads and the same alarm documents; and a file of a restarted service replays from its
 * resume header (the tracked status it starts from is in the header only).
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { replay } from '../../lib/durability/replay.js';
import type { DocData } from '../../lib/store/types.js';
import { suffix } from '../support/brokers.js';
import { connectDevice, killAll, startService, type Device, type ServiceEnv } from '../support/service.js';
import { readLocalStore, removeDir, tempDir } from './helpers.js';

const TZ = 'Asia/Seoul';

interface EffectLine {
  readonly sink: string;
  readonly topic?: string;
  readonly payload?: string;
  readonly collection?: string;
  readonly id?: string;
  readonly data?: DocData | null;
}

describe('the service end to end: its event journal replays to the same effects', function () {
  this.timeout(60_000);
  let broker: EmbeddedBroker;
  let dataDir: string;
  let device: Device;
  let settings: ServiceEnv;

  beforeEach(async () => {
    broker = await startBroker({ port: 0 });
    dataDir = await tempDir();
    device = await connectDevice(broker.url, `e2e-journal-device-${suffix()}`, ['webos/car/#', 'webos/android/#']);
    settings = { MQTT_URL: broker.url, MQTT_CLIENT_ID: `e2e-journal-${suffix()}`, DATA_DIR: dataDir, HTTP_PORT: '0', SMARTHOME_TZ: TZ };
  });
  afterEach(async () => {
    await killAll();
    await device.end();
    await broker.close();
    await removeDir(dataDir);
  });

  const journalFiles = async (): Promise<string[]> =>
    (await fs.readdir(path.join(dataDir, 'events'))).filter((f) => f.startsWith('events-')).sort().map((f) => path.join(dataDir, 'events', f));
  const replies = (): string[] => device.received.filter((m) => /^webos\/(car|android)\/(info|error)$/.test(m.topic)).map((m) => `${m.topic} ${m.payload}`);
  const alarmsOf = async (): Promise<Map<string, DocData>> => (await readLocalStore(dataDir, 'appliance_alarm', 'smarthome')).docs;
  /** The alarm documents a replay leaves: its sets and deletes, in order. */
  function replayedAlarms(lines: EffectLine[], start = new Map<string, DocData>()): Map<string, DocData> {
    const docs = new Map(start);
    for (const l of lines) {
      if (l.sink !== 'firestore' || l.collection !== 'appliance_alarm') continue;
      if (l.data === null || l.data === undefined) docs.delete(l.id!);
      else docs.set(l.id!, l.data);
    }
    return docs;
  }
  const replayFile = async (file: string): Promise<EffectLine[]> => {
    const result = replay(await fs.readFile(file, 'utf8'), { tz: TZ });
    expect(result.errors).to.deep.equal([]);
    return result.lines.map((l) => JSON.parse(l) as EffectLine);
  };
  const replayedReplies = (lines: EffectLine[]): string[] => lines.filter((l) => l.sink === 'mqtt' && /^webos\/(car|android)\//.test(l.topic!)).map((l) => `${l.topic} ${l.payload}`);

  it('a journal file written by the live service replays to the same replies and alarm documents', async () => {
    const service = await startService(settings);
    await device.publish('data/smarthome/status', '000000000');
    await device.command({ Producer: 'car', command: 'signup', UID: 'j1', name: 'Park' });
    await device.command({ Producer: 'car', command: 'signin', UID: 'j1' });
    await device.command({ Producer: 'android', command: 'signin', UID: 'nobody' });
    await device.command({ Producer: 'car', command: 'no_such_command' });
    await device.publish('webos/smarthome', '016222221');
    await device.next('webos/car/error', 'the unknown command error');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await service.stop()).code).to.equal(0);

    const [file, ...others] = await journalFiles();
    expect(others).to.deep.equal([]);
    const lines = await replayFile(file!);
    expect(replies()).to.have.length(3);
    expect(replayedReplies(lines)).to.deep.equal(replies());
    const live = await alarmsOf();
    expect(live.size).to.equal(2); // air-con on, gas valve open
    expect(replayedAlarms(lines)).to.deep.equal(live);
  });

  it('the file of a restarted service replays on its own from its resume header', async () => {
    let service = await startService(settings);
    await device.publish('data/smarthome/status', '000000000');
    await device.publish('webos/smarthome', '022152022'); // light on: one alarm
    await device.command({ Producer: 'car', command: 'signin', UID: 'nobody' });
    await device.next('webos/car/error', 'the first run handled everything');
    expect((await service.stop()).code).to.equal(0);
    const firstRun = await alarmsOf();
    expect(firstRun.size).to.equal(1);

    const from = device.received.length;
    service = await startService(settings);
    await device.publish('webos/smarthome', '022222221'); // gas valve open: one more alarm, on the resumed status
    await device.command({ Producer: 'car', command: 'signin', UID: 'nobody' });
    await device.next('webos/car/error', 'the second run handled everything', { from });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await service.stop()).code).to.equal(0);

    const files = await journalFiles();
    expect(files).to.have.length(2);
    const second = await fs.readFile(files[1]!, 'utf8');
    const header = JSON.parse(second.split('\n')[0]!) as { resume: { status?: string } };
    // 000000000 with the light switched on (brightness 5, colour 2, mode 0)
    expect(header.resume.status).to.equal('000152000');
    const lines = await replayFile(files[1]!);
    expect(replayedReplies(lines)).to.deep.equal(replies().slice(replies().length - 1));
    const live = await alarmsOf();
    expect(live.size).to.equal(2);
    const added = new Map([...live].filter(([id]) => !firstRun.has(id)));
    expect([...added.values()].map((a) => a.inform)).to.deep.equal(['가스밸브가 열렸어요.']);
    expect(replayedAlarms(lines)).to.deep.equal(added);
    // Without its header the same events know no status: the control raises no alarm.
    const headless = replay(second.split('\n').slice(1).join('\n'), { tz: TZ }).lines.map((l) => JSON.parse(l) as EffectLine);
    expect(replayedAlarms(headless).size).to.equal(0);
  });
});
