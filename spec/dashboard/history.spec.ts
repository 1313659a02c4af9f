/**
 * The dashboard's history across a restart (issue 15): the first run's event journal
 * (DATA_DIR/events, issue 12) holds its events, the second run rebuilds the 24-hour timelines
 * from that directory, as the page shows them. `loadHistory` on its own: what it skips.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isoLocal } from '../../lib/core/protocol/local-time.js';
import { DEFAULT_TOPICS } from '../../lib/core/protocol/topics.js';
import { emptyState } from '../../lib/dashboard/fold.js';
import { loadHistory } from '../../lib/dashboard/history.js';
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

describe('loadHistory', function () {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await tempDir();
  });
  afterEach(async () => removeDir(dataDir));

  it('folds the temperatures of the last day, skipping lines it does not understand, later events and older files', async () => {
    const now = Date.now();
    const temp = (at: number, value: number): string =>
      JSON.stringify({ at: isoLocal(at, 'Asia/Seoul'), source: 'rtdb', path: 'sensor/hometemp', value: { temp: String(value), humi: 45, rain: 0 } });
    const dir = path.join(dataDir, 'events');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'events-000000000001.ndjson'), `${temp(now - 30 * 3600_000, 10)}\n`);
    const old = (now - 25 * 3600_000) / 1000;
    await fs.utimes(path.join(dir, 'events-000000000001.ndjson'), old, old); // untouched for longer than the window: not read
    await fs.writeFile(path.join(dir, '000001.ndjson'), [
      '{"resume":{"lastTickAt":1}}',
      temp(now - 2 * 3600_000, 21),
      '{"checkpoint":"a line this reader does not know"}',
      temp(now - 3600_000, 22),
      temp(now + 3600_000, 23), // after `now`
      temp(now - 60_000, 24).slice(0, 40), // torn
    ].join('\n'));
    const state = emptyState();
    const events = await loadHistory(state, dataDir, now, { topics: DEFAULT_TOPICS, commandConfirmS: 30 });
    expect(events).to.equal(2);
    expect(state.homeTemp).to.deep.equal([[now - 2 * 3600_000, 21], [now - 3600_000, 22]]);
  });

  it('reads nothing without a journal', async () => {
    expect(await loadHistory(emptyState(), dataDir, Date.now(), { topics: DEFAULT_TOPICS, commandConfirmS: 30 })).to.equal(0);
  });
});
