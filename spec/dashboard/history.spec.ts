/**
 * The dashboard's history across a restart (issue 15): the first run's event journal
 * (DATA_DIR/events, issue 12) holds its events, the second run rebuilds the 24-hour timelines
 * from that directory, as the page shows them.
 */
import { expect } from 'chai';
import { suffix } from '../support/brokers.js';
import { launch, type Browser } from '../support/browser.js';
import { connectDevice, killAll, startService } from '../support/service.js';
import { removeDir, tempDir } from '../e2e/helpers.js';

describe('dashboard history from the event journal', function () {
  this.timeout(60_000);
  let dataDir: string;
  let browser: Browser | undefined;

  beforeEach(async () => {
    dataDir = await tempDir();
  });
  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    await killAll();
    await removeDir(dataDir);
  });

  it('keeps the 24-hour history across a restart (journal in DATA_DIR/events)', async () => {
    const env = { DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0', MQTT_CLIENT_ID: `dash-${suffix()}` };
    const first = await startService(env);
    const home = await connectDevice(first.mqttUrl, `dash-home-${suffix()}`, ['webos/#']);
    for (const code of ['000000000', '010000000', '010150000', '000150010']) {
      await home.publish('data/smarthome/status', code);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await home.end();
    await first.stop();

    const second = await startService(env, { ready: 'http' });
    await second.waitForLog(/history rebuilt from \d+ journal events/, 'the history log line');
    browser = await launch();
    const tab = await browser.page();
    await tab.goto(`${second.http}/`);
    await tab.waitForSelector('#connection.live');
    const points = async (band: string) => Number(await tab.getAttribute(`[data-band="${band}"]`, 'data-points'));
    expect(await points('aircon')).to.equal(3); // off, on, off
    expect(await points('light')).to.equal(2); // off, on
    expect(await points('window')).to.equal(2); // closed, open
    expect(await tab.locator('[data-band="light"] rect.on').count()).to.equal(1);
    expect(browser.errors).to.deep.equal([]);
  });
});
