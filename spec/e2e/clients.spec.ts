/**
 * End to end (issue 13): the real process with the clients as they are. The original face
 * recogniser's way of answering (progress on stdout, the UID in `face.result` at an absolute path
 * of its own, like /home/pi/Face-Recognition/face.result, whatever the working directory), two
 * `start_facer` from the car one after the other, a refused Producer, and the operator's Slack line at start
 * and at stop. The broker is aedes in this test process; Slack is a local HTTP server.
 * What a restart does with schedules that passed while the service was up or down (items 2, 6)
 * is in the replay fixtures spec/fixtures/traffic/restart-*.ndjson, which start from a journal's
 * resume header; spec/e2e/schedule-restart.spec.ts checks the real process's header after a SIGKILL.
 */
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { suffix } from '../support/brokers.js';
import { startServer, ok, type TestServer } from '../support/http.js';
import { connectDevice, killAll, startService, type Device, type ServiceEnv } from '../support/service.js';
import { poll, removeDir, tempDir } from './helpers.js';

const LIKE_ORIGINAL = fileURLToPath(new URL('../fixtures/face/like-original.mjs', import.meta.url));
const VERSION = '0.1.0';

describe('the service end to end with the clients as they are', function () {
  this.timeout(40_000);
  let broker: EmbeddedBroker;
  let slack: TestServer;
  let dataDir: string;
  let faceDir: string;
  let device: Device;
  let settings: ServiceEnv;

  beforeEach(async () => {
    broker = await startBroker({ port: 0 });
    slack = await startServer(() => ok('ok', 'text/plain'));
    dataDir = await tempDir();
    faceDir = await tempDir();
    device = await connectDevice(broker.url, `e2e-clients-${suffix()}`);
    settings = {
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `e2e-clients-backend-${suffix()}`,
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SMARTHOME_TZ: 'Asia/Seoul',
      SLACK_WEBHOOK_URL: `${slack.origin}/hook`,
      // no FACE_CWD: the original backend ran it from its own directory too (os.system)
      FACE_COMMAND: JSON.stringify([process.execPath, LIKE_ORIGINAL, 'Xk3pQ9', '700', path.join(faceDir, 'face.result')]),
      FACE_RESULT_FILE: path.join(faceDir, 'face.result'),
    };
  });

  afterEach(async () => {
    await killAll();
    await device.end();
    await broker.close();
    await slack.close();
    await removeDir(dataDir);
    await removeDir(faceDir);
  });

  const slackTexts = () => slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);

  it('posts one Slack line when it starts (version, broker, store) and one when it stops', async () => {
    const service = await startService(settings);
    const started = await poll(() => slackTexts().find((t) => t.includes('started')), 'the start line on Slack');
    expect(started).to.equal(`smarthome backend ${VERSION} started: MQTT ${broker.url}, store local in ${dataDir}`);
    const stopped = await service.stop();
    expect(stopped.code).to.equal(0);
    expect(stopped.ms).to.be.below(10_000);
    expect(slackTexts().filter((t) => /smarthome backend .* (started|stopping)/.test(t))).to.deep.equal([
      started,
      `smarthome backend ${VERSION} stopping: MQTT ${broker.url}, store local in ${dataDir}`,
    ]);
  });

  it('runs the original-like recogniser twice for two start_facer from the car, answers in JSON, refuses android', async () => {
    const service = await startService(settings);
    await device.command({ Producer: 'car', command: 'signup', UID: 'Xk3pQ9', name: '김철수' });
    const from = device.received.length;
    await device.command({ Producer: 'car', command: 'start_facer' });
    await device.command({ Producer: 'car', command: 'start_facer' });
    await device.command({ Producer: 'android', command: 'start_facer' });
    const refused = await device.next('webos/android/error', 'the refusal of android', { from });
    expect(JSON.parse(refused.payload)).to.deep.equal({ Producer: 'server', command: 'alert', msg: 'start_facer is not accepted from android (accepted only from car)' });

    const isReply = (p: string) => (JSON.parse(p) as { command?: string }).command === 'return_facer';
    const first = await device.next('webos/car/info', 'the first face answer', { from, match: isReply, ms: 15_000 });
    const second = await device.next('webos/car/info', 'the second face answer', { from: device.received.indexOf(first) + 1, match: isReply, ms: 15_000 });
    for (const answer of [first, second]) {
      expect(JSON.parse(answer.payload)).to.deep.equal({ Producer: 'server', command: 'return_facer', result: 'Xk3pQ9', name: '김철수' });
    }
    const camera = device.received.slice(from).filter((m) => m.topic === 'webos/camera/info').map((m) => (JSON.parse(m.payload) as { sign: string }).sign);
    expect(camera).to.deep.equal(['start', 'end', 'start', 'end']);
    // Nothing on the car's error topic: the second request waited its turn.
    expect(device.received.slice(from).filter((m) => m.topic === 'webos/car/error')).to.deep.equal([]);
    expect((await service.stop()).code).to.equal(0);
  });
});
