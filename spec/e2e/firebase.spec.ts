/**
 * End to end through the Firebase emulators (issue 7 with issue 5's targets): the real process
 * with FIREBASE_PROJECT_ID, FIRESTORE_EMULATOR_HOST and FIREBASE_DATABASE_EMULATOR_HOST (the
 * database URL is derived), against `@firestore-emulator/server` and `firebase-server` running
 * in this test process on 127.0.0.1 (spec/support/emulators.ts), and an aedes broker here too.
 * The test plays the home controller through the RTDB (`smarthome/status`) as the ESP32 does,
 * and the app and car through MQTT; it reads what the service wrote with firebase-admin.
 */
import { expect } from 'chai';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import type { DocData, Store } from '../../lib/store/types.js';
import { suffix } from '../support/brokers.js';
import {
  PROJECT_ID, guardLoopback, type DatabaseEmulator, type FirestoreEmulator,
} from '../support/emulators.js';
import { connectDevice, get, killAll, metric, startService, type Device, type ServiceEnv } from '../support/service.js';
import { alarmDateIn, collectionOf, poll, removeDir, startFirebaseTestbed, tempDir, type FirebaseTestbed } from './helpers.js';

const TZ = 'Asia/Seoul';

describe('the service end to end through the Firebase emulators', function () {
  this.timeout(30_000);
  let guard: ReturnType<typeof guardLoopback>;
  let firestore: FirestoreEmulator;
  let database: DatabaseEmulator;
  /** firebase-admin in the test process: the app's and the home controller's view. */
  let store: Store;
  let bed: FirebaseTestbed;
  let broker: EmbeddedBroker;
  let dataDir: string;
  let device: Device;
  let settings: ServiceEnv;

  before(async () => {
    bed = await startFirebaseTestbed();
    ({ guard, firestore, database, store } = bed);
  });

  after(async () => {
    await killAll();
    await bed.stop();
  });

  beforeEach(async () => {
    firestore.clear();
    await store.tree.set('', null);
    broker = await startBroker({ port: 0 });
    dataDir = await tempDir();
    device = await connectDevice(broker.url, `e2e-device-${suffix()}`);
    settings = {
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `e2e-backend-${suffix()}`,
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SMARTHOME_TZ: TZ,
      FIREBASE_PROJECT_ID: PROJECT_ID,
      FIRESTORE_EMULATOR_HOST: firestore.host,
      FIREBASE_DATABASE_EMULATOR_HOST: database.host,
    };
  });

  afterEach(async () => {
    await killAll();
    await device.end();
    await broker.close();
    await removeDir(dataDir);
  });

  /** Every document of a collection in the Firestore emulator. */
  function collection(name: string): Promise<Map<string, DocData>> {
    return collectionOf(store, name);
  }

  async function signIn(producer: string, uid: string): Promise<unknown> {
    const from = device.received.length;
    await device.command({ Producer: producer, command: 'signin', UID: uid });
    const answer = await device.next([`webos/${producer}/info`, `webos/${producer}/error`], `the answer to the sign-in of ${uid}`, { from });
    return answer.topic.endsWith('/info') ? JSON.parse(answer.payload) : `error: ${answer.payload}`;
  }

  it('signs up into Firestore and answers the sign-in; SIGTERM exits 0 within 10 s; after a restart the user still signs in', async () => {
    const uid = `uid-${suffix()}`;
    let service = await startService(settings);
    expect(service.stdout()).to.include(`store Firebase project ${PROJECT_ID}`);
    await device.command({ Producer: 'car', command: 'signup', UID: uid, name: '홍길동' });
    expect(await signIn('car', uid)).to.deep.equal({ name: '홍길동', Producer: 'server', command: 'return_name' });
    expect(await poll(async () => (await store.docs.get('user_account', uid)) ?? undefined, 'the user in Firestore')).to.deep.equal({ name: '홍길동' });

    const exit = await service.stop();
    expect(exit, service.stderr()).to.deep.include({ code: 0, signal: null });
    expect(exit.ms).to.be.below(10_000);

    service = await startService(settings);
    expect(await signIn('car', uid)).to.deep.equal({ name: '홍길동', Producer: 'server', command: 'return_name' });
    expect((await service.stop()).code).to.equal(0);
  });

  it('answers a sign-in sent while it was down, once it is back', async () => {
    const uid = `uid-${suffix()}`;
    await store.docs.set('user_account', uid, { name: 'app user' }); // signed up through the app earlier
    let service = await startService(settings);
    expect((await service.stop()).code).to.equal(0);
    const from = device.received.length;
    await device.command({ Producer: 'android', command: 'signin', UID: uid });
    service = await startService(settings);
    const answer = await device.next(['webos/android/info', 'webos/android/error'], 'the answer to the sign-in', { from });
    expect(answer.topic, answer.payload).to.equal('webos/android/info');
    expect(JSON.parse(answer.payload)).to.deep.equal({ name: 'app user', Producer: 'server', command: 'return_name' });
    expect((await service.stop()).code).to.equal(0);
  });

  it('a status in the RTDB, then an observed control: an alarm in Firestore and the recommendation in the RTDB', async () => {
    const service = await startService(settings);
    await store.tree.set('smarthome/status', '000000000'); // the ESP32 reports: the baseline
    await poll(async () => (await store.tree.get('server/notification')) ?? undefined, 'the recommendation in the RTDB');
    expect(await store.tree.get('server/notification')).to.equal('none');
    expect((await collection('appliance_alarm')).size, 'the baseline raises no alarm').to.equal(0);

    const t0 = Date.now();
    await device.publish('webos/smarthome/info', '016222222'); // the car turns the air-con on
    const alarms = await poll(async () => {
      const docs = await collection('appliance_alarm');
      return docs.size > 0 ? docs : undefined;
    }, 'an alarm in Firestore');
    const t1 = Date.now();
    expect(alarms.size).to.equal(1);
    const [id, alarm] = [...alarms][0]!;
    expect(alarm).to.include({ icon: 'aircon_icon', inform: '에어컨이 켜졌어요.' });
    const seconds = 10_000_000_000 - Number(id);
    expect(seconds * 1000).to.be.within(Math.floor(t0 / 1000) * 1000, t1);
    expect(alarm.date).to.equal(alarmDateIn(seconds * 1000, TZ));

    // the home confirms: no further alarm; the gas valve opens: its alarm and the recommendation
    await store.tree.set('smarthome/status', '016000001');
    await poll(async () => (await store.tree.get('server/notification')) === '가스벨브가 열려있어요.', 'the gas recommendation');
    const after = await poll(async () => {
      const docs = await collection('appliance_alarm');
      return docs.size > 1 ? docs : undefined;
    }, 'the gas valve alarm');
    expect([...after.values()].map((a) => a.icon).sort()).to.deep.equal(['aircon_icon', 'gasvalve_icon']);
    expect((await service.stop()).code).to.equal(0);
  });

  it('/healthz and /metrics answer, with non-zero counters after traffic', async () => {
    const service = await startService(settings);
    const health = await get(`${service.http}/healthz`);
    expect(health.status).to.equal(200);
    expect(JSON.parse(health.body)).to.deep.equal({ status: 'ok', sources: { store: 'up', mqtt: 'up' } });
    const uid = `uid-${suffix()}`;
    await device.command({ Producer: 'android', command: 'signup', UID: uid, name: 'kang' });
    await signIn('android', uid);
    await poll(async () => {
      const m = await get(`${service.http}/metrics`);
      return metric(m.body, 'smarthome_events_in_total', { source: 'mqtt' }) >= 2 &&
        metric(m.body, 'smarthome_events_in_total', { source: 'firestore' }) > 0 &&
        metric(m.body, 'smarthome_effects_out_total', { sink: 'firestore' }) > 0 &&
        metric(m.body, 'smarthome_effects_out_total', { sink: 'mqtt' }) > 0 &&
        metric(m.body, 'smarthome_command_latency_seconds_count', { kind: 'reply' }) > 0;
    }, 'non-zero counters in /metrics', 5_000);
    expect((await service.stop()).code).to.equal(0);
  });

  it('the test process never connected outside 127.0.0.1', () => {
    expect(guard.violations).to.deep.equal([]);
  });
});
