/**
 * The dashboard in a real browser against the real service process (issue 15, "done when"):
 * the page loads without a console error, what the home reports over MQTT shows on the cards
 * within a second without a reload, a command appears and turns confirmed, a schedule added
 * over MQTT appears with its next occurrence, a long alert text wraps inside its card, and
 * screenshots at 390 and 1280 px, light and dark.
 *
 * The service runs with its embedded broker on a free port and a hand-written event journal in
 * DATA_DIR/events (what the durability work writes: a `{"resume": ...}` header, then SPEC 10
 * lines; the home's reports, its temperature and the weather of the last day), so the history
 * section has something to show from the start. It holds no device command, so no broker echo.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { isoLocal } from '../../lib/core/protocol/local-time.js';
import { suffix } from '../support/brokers.js';
import { launch, screenshot, type Browser } from '../support/browser.js';
import { connectDevice, killAll, startService, type Device, type RunningService } from '../support/service.js';
import { removeDir, tempDir } from '../e2e/helpers.js';

const TZ = 'Asia/Seoul';
const STATUS_TOPIC = 'data/smarthome/status';
const HOUR = 3600_000;

/** A journal file covering the last day: reports every few hours, temperatures, the weather. */
export function journalLines(now: number): string[] {
  const at = (ms: number): string => isoLocal(ms, TZ);
  const lines = [JSON.stringify({ resume: { lastTickAt: at(now - 20 * HOUR) } })];
  const reports = ['000000000', '016000000', '016152010', '000152010', '000000010', '014000000', '000130000'];
  reports.forEach((code, i) => {
    const t = now - 22 * HOUR + i * 3 * HOUR;
    lines.push(JSON.stringify({ at: at(t), source: 'rtdb', path: 'smarthome/status', value: code }));
  });
  for (let h = 23; h >= 1; h--) {
    const t = now - h * HOUR;
    const inside = 21 + Math.round(3 * Math.sin(h / 4) * 10) / 10;
    lines.push(JSON.stringify({ at: at(t), source: 'rtdb', path: 'sensor/hometemp', value: { temp: String(inside), humi: 45, rain: 0 } }));
    if (h % 2 === 1) {
      const kelvin = 273.15 + 12 + 5 * Math.sin((h - 6) / 4);
      lines.push(JSON.stringify({ at: at(t), source: 'weather', current: { weather: [{ description: '맑음', icon: '01d' }], main: { temp: kelvin }, coord: { lat: 37.57, lon: 126.98 } }, air: { list: [{ main: { aqi: 2 } }] } }));
    }
  }
  lines.push('{"checkpoint": "a line this reader does not know"}');
  return lines;
}

/** What the long-alert check measures in the page (the specs are compiled without DOM types). */
interface Rect {
  readonly left: number;
  readonly right: number;
}
interface Measured {
  readonly textContent: string | null;
  getBoundingClientRect(): Rect;
  closest(selector: string): Measured | null;
  readonly ownerDocument: {
    createRange(): { selectNodeContents(node: Measured): void; getBoundingClientRect(): Rect };
    readonly documentElement: { readonly scrollWidth: number };
    readonly defaultView: { readonly innerWidth: number };
  };
}

/** Waits for a card to show a state; returns how long it took. */
async function cardState(page: Page, appliance: string, state: string, ms = 5000): Promise<void> {
  await page.waitForSelector(`[data-appliance="${appliance}"][aria-label$=": ${state}"]`, { timeout: ms });
}

describe('the dashboard in a real browser (Chromium, real service)', function () {
  this.timeout(90_000);
  let dataDir: string;
  let service: RunningService;
  let device: Device;
  let browser: Browser;
  let page: Page;

  before(async () => {
    dataDir = await tempDir();
    await fs.mkdir(path.join(dataDir, 'events'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'events', '000001.ndjson'), `${journalLines(Date.now()).join('\n')}\n`);
    service = await startService({ DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0', SMARTHOME_TZ: TZ, MQTT_CLIENT_ID: `dash-${suffix()}` });
    device = await connectDevice(service.mqttUrl, `dash-home-${suffix()}`, ['webos/#']);
    browser = await launch();
    page = await browser.page();
    await page.goto(`${service.http}/`);
    await page.waitForSelector('#connection.live');
  });

  after(async () => {
    await browser?.close();
    await device?.end();
    await killAll();
    if (dataDir) await removeDir(dataDir);
  });

  it('loads without a console error and asks nothing but the service', async () => {
    await page.waitForSelector('[data-band="light"] rect.on');
    expect(browser.errors).to.deep.equal([]);
    const origin = new URL(service.http).origin;
    expect(browser.requests.filter((u) => new URL(u).origin !== origin)).to.deep.equal([]);
  });

  it('shows a status published over MQTT on the cards within a second, without a reload', async () => {
    const updates = await page.getAttribute('body', 'data-updates');
    const t0 = Date.now();
    await device.publish(STATUS_TOPIC, '016152011');
    await cardState(page, 'aircon', 'on', 1000);
    await cardState(page, 'gas', 'on', 1000);
    const ms = Date.now() - t0;
    expect(ms).to.be.below(1000);
    expect(await page.textContent('[data-appliance="light"]')).to.include('brightness 50 %').and.include('blue');
    expect(Number(await page.getAttribute('body', 'data-updates'))).to.be.above(Number(updates));
  });

  it('lists a command and turns it confirmed when the home reports', async () => {
    await device.publish('webos/smarthome', '022222220');
    const row = page.locator('#commands-table tr[data-code="022222220"]').first();
    await row.waitFor();
    expect(await row.getAttribute('data-state')).to.equal('pending');
    expect(await row.textContent()).to.include('app control').and.include('Gas valve off').and.include('alert in');
    await device.publish(STATUS_TOPIC, '016152010');
    await page.waitForSelector('#commands-table tr[data-code="022222220"][data-state="confirmed"]');
    expect(await row.textContent()).to.match(/confirmed in (under 1 s|\d+ s)/);
    // The first status was the baseline; this one closed the gas valve: the app's (Korean) alarm.
    await page.waitForSelector('#alarm-list li:has-text("가스밸브가 닫혔어요.")');
  });

  it('shows a schedule added over MQTT with its next occurrence', async () => {
    await device.command({
      Producer: 'android',
      command: 'add_schedule',
      title: 'evening',
      enabled: true,
      startTime: '2130',
      repeat: true,
      daysOfWeek: [true, true, true, true, true, true, true],
      modeNum: 0,
      lightEnable: true,
      lightBrightness: 3,
      lightColor: 6,
    });
    const item = page.locator('[data-schedule="evening"]');
    await item.waitFor();
    expect(await item.textContent()).to.include('every day at 21:30').and.match(/next: \d{4}-\d{2}-\d{2} 21:30/);
  });

  it('is usable with the keyboard: a skip link to the commands, then their table', async () => {
    const tab = await browser.page();
    await tab.goto(`${service.http}/`);
    await tab.waitForSelector('#connection.live');
    await tab.keyboard.press('Tab');
    expect(await tab.locator(':focus').getAttribute('href')).to.equal('#commands');
    await tab.keyboard.press('Enter');
    await tab.keyboard.press('Tab');
    expect(await tab.locator(':focus').getAttribute('aria-label')).to.equal('Commands table');
    await tab.close();
  });

  it('wraps a long operator alert inside its card at 1280 and 390 px', async () => {
    // An unknown command reaches the alerts with what the car sent, cut to 200 characters: a
    // word of about 180 that no space breaks.
    await device.command({ Producer: 'car', command: 'x'.repeat(300) });
    for (const width of [1280, 390]) {
      const tab = await browser.page({ width });
      await tab.goto(`${service.http}/`);
      await tab.waitForSelector('#connection.live');
      const item = tab.locator('#alert-list li', { hasText: 'x'.repeat(100) }).first();
      await item.waitFor();
      const m = await item.evaluate((li: unknown) => {
        const el = li as Measured;
        const range = el.ownerDocument.createRange();
        range.selectNodeContents(el);
        const text = range.getBoundingClientRect();
        const own = el.getBoundingClientRect();
        const card = el.closest('section')?.getBoundingClientRect() ?? own;
        return {
          text: [text.left, text.right], item: [own.left, own.right], card: [card.left, card.right],
          pageWidth: el.ownerDocument.documentElement.scrollWidth, viewport: el.ownerDocument.defaultView.innerWidth,
          longestWord: Math.max(...(el.textContent ?? '').split(/\s+/).map((w) => w.length)),
        };
      });
      expect(m.longestWord, `${width} px`).to.be.above(150);
      // the text's own box, not only the item's, which keeps its width while text spills out
      expect(m.text[1], `${width} px: text right edge`).to.be.at.most((m.item[1] ?? 0) + 0.5);
      expect(m.item[0], `${width} px: item left edge`).to.be.at.least(m.card[0] ?? 0);
      expect(m.item[1], `${width} px: item right edge`).to.be.at.most(m.card[1] ?? 0);
      expect(m.pageWidth, `${width} px: page width`).to.be.at.most(m.viewport);
      await tab.close();
    }
  });

  it('saves screenshots at 390 and 1280 px, light and dark', async () => {
    // A pending command (the car's) makes the screenshots show a countdown too.
    await device.publish('webos/smarthome/info', '022222221');
    for (const width of [390, 1280]) {
      for (const dark of [false, true]) {
        const shot = await browser.page({ width, height: 900, dark });
        await shot.goto(`${service.http}/`);
        await shot.waitForSelector('#connection.live');
        await shot.waitForSelector('#commands-table tr[data-code="022222221"]');
        await shot.waitForSelector('[data-band="light"] rect.on');
        const file = await screenshot(shot, `dashboard-${width}-${dark ? 'dark' : 'light'}`);
        expect((await fs.stat(file)).size).to.be.above(10_000);
        await shot.close();
      }
    }
    expect(browser.errors).to.deep.equal([]);
  });
});
