/**
 * End to end (issue 6's "done when"): the real process polls a loopback OpenWeatherMap every
 * second; the weather server goes away for three intervals and comes back. The backend reports
 * the failure once, keeps answering devices meanwhile, and writes fresh weather within one
 * interval of the recovery. The API key never shows in its output.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { suffix } from '../support/brokers.js';
import { ok, startServer, type TestServer } from '../support/http.js';
import { connectDevice, get, killAll, startService, type Device } from '../support/service.js';
import { peek, poll, removeDir, sleep, tempDir } from './helpers.js';

const FIXTURES = 'spec/fixtures/openweather';
const KEY = 'e2e-weather-key-4711';

/** The `update` time of the `sensor/openweather` the local store holds now, if any. */
function latestUpdate(dataDir: string): string | undefined {
  const [row] = peek<{ value: string }>(dataDir, "SELECT value FROM tree WHERE key = 'sensor'");
  if (row === undefined) return undefined;
  const sensor = JSON.parse(row.value) as { openweather?: { update?: string } };
  return sensor.openweather?.update;
}

describe('the service end to end: weather server down for three intervals and back', function () {
  this.timeout(40_000);
  let broker: EmbeddedBroker;
  let weather: TestServer;
  let dataDir: string;
  let device: Device;

  before(async () => {
    const current = await fs.readFile(path.join(FIXTURES, 'current-seoul.json'), 'utf8');
    const air = await fs.readFile(path.join(FIXTURES, 'air-pollution.json'), 'utf8');
    weather = await startServer((req) => ok(req.pathname.endsWith('/air_pollution') ? air : current));
    broker = await startBroker({ port: 0 });
    dataDir = await tempDir();
    device = await connectDevice(broker.url, `e2e-weather-device-${suffix()}`);
  });

  after(async () => {
    await killAll();
    await device.end();
    await broker.close();
    await weather.close();
    await removeDir(dataDir);
  });

  it('reports the failure once, keeps serving, and writes fresh weather within one interval of recovery', async () => {
    const service = await startService({
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `e2e-weather-${suffix()}`,
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SMARTHOME_TZ: 'Asia/Seoul',
      OPENWEATHER_API_KEY: KEY,
      OPENWEATHER_BASE_URL: weather.origin,
      OPENWEATHER_INTERVAL_S: '1',
      OPENWEATHER_TIMEOUT_MS: '300',
    });
    await poll(() => latestUpdate(dataDir), 'the first weather write');

    await weather.down();
    const downAt = Date.now();
    // While the weather is away the backend goes on answering devices.
    await device.command({ Producer: 'android', command: 'signup', UID: 'w1', name: 'Lee' });
    await device.command({ Producer: 'android', command: 'signin', UID: 'w1' });
    const reply = await device.next('webos/android/info', 'the sign-in reply during the outage');
    expect(JSON.parse(reply.payload)).to.include({ name: 'Lee', command: 'return_name' });
    await poll(async () => (await get(`${service.http}/healthz`)).status === 503, '/healthz to report the weather down');
    await sleep(3_000 - (Date.now() - downAt));

    // `update` is the poll's time: a fresh write changes it.
    const before = latestUpdate(dataDir);
    await weather.up();
    const upAt = Date.now();
    await poll(() => latestUpdate(dataDir) !== before, 'fresh weather after the recovery', 5_000);
    expect(Date.now() - upAt, 'fresh weather within one interval (1 s) of recovery, plus polling slack').to.be.below(1_600);

    await poll(async () => (await get(`${service.http}/healthz`)).status === 200, '/healthz to report the weather up');
    const warnings = device.on('data/error/warning').filter((m) => m.payload.includes('weather'));
    expect(warnings.map((m) => m.payload)).to.have.length(1);
    expect(warnings[0]!.payload).to.match(/^weather poll failed: /);

    const exit = await service.stop();
    expect(exit.code).to.equal(0);
    expect(service.stdout() + service.stderr()).to.not.include(KEY);
  });
});
