/**
 * Access to the dashboard (issue 15, item 5) on the real service process: on HTTP_HOST=0.0.0.0
 * with a token, the page, its event stream and /metrics answer 401 without it (the spec
 * connects through 127.0.0.1), the Bearer header and the login form's cookie let in, the token
 * never reaches the logs; without a token start-up exits 2 naming the fix. Plus the loopback
 * rule on its own.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { accessProblem, isLoopback } from '../../lib/dashboard/access.js';
import { suffix } from '../support/brokers.js';
import { launch, type Browser } from '../support/browser.js';
import { killAll, spawnService, startService } from '../support/service.js';
import { removeDir, tempDir } from '../e2e/helpers.js';

const TOKEN = `tok-${suffix()}-secret`;

describe('dashboard access', function () {
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

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(host), host).to.equal(true);
    for (const host of ['0.0.0.0', '::', '192.168.0.10', 'home.lan', '128.0.0.1']) expect(isLoopback(host), host).to.equal(false);
    expect(accessProblem('127.0.0.1', undefined)).to.equal(undefined);
    expect(accessProblem('0.0.0.0', 'x')).to.equal(undefined);
    expect(accessProblem('0.0.0.0', undefined)).to.match(/HTTP_TOKEN/);
  });

  it('with no token on a non-loopback address, start-up exits 2 naming the fix', async () => {
    const proc = spawnService({ DATA_DIR: dataDir, HTTP_HOST: '0.0.0.0', HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0' });
    const exit = await proc.exited;
    expect(exit.code).to.equal(2);
    expect(proc.stderr()).to.match(/HTTP_HOST=0\.0\.0\.0 is not a loopback address/).and.match(/set HTTP_TOKEN \(or HTTP_TOKEN_FILE/);
  });

  it('with HTTP_HOST=0.0.0.0 and a token: 401 without it, in with the Bearer header or the login cookie', async () => {
    const tokenFile = path.join(dataDir, 'token');
    await fs.writeFile(tokenFile, `${TOKEN}\n`);
    const service = await startService(
      { DATA_DIR: dataDir, HTTP_HOST: '0.0.0.0', HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0', HTTP_TOKEN_FILE: tokenFile, MQTT_CLIENT_ID: `dash-${suffix()}` },
      { ready: 'http' },
    );
    const base = `http://127.0.0.1:${new URL(service.http).port}`;
    const get = (p: string, headers: Record<string, string> = {}) => fetch(`${base}${p}`, { headers, redirect: 'manual', signal: AbortSignal.timeout(5000) });
    for (const p of ['/', '/events', '/metrics']) {
      expect((await get(p)).status, p).to.equal(401);
      expect((await get(p, { authorization: 'Bearer wrong' })).status, p).to.equal(401);
    }
    expect((await get('/healthz')).status).to.equal(200);
    expect((await get('/metrics', { authorization: `Bearer ${TOKEN}` })).status).to.equal(200);
    const page = await get('/', { authorization: `Bearer ${TOKEN}` });
    expect(page.status).to.equal(200);
    expect(await page.text()).to.include('/assets/app.js');

    // A person: the page answers with the login form; the right token sets the cookie.
    browser = await launch();
    const tab = await browser.page({ width: 390 });
    const first = await tab.goto(`${base}/`);
    expect(first?.status()).to.equal(401);
    await tab.fill('#token', 'not it');
    await tab.click('button[type=submit]');
    await tab.waitForSelector('.error');
    await tab.fill('#token', TOKEN);
    await tab.click('button[type=submit]');
    await tab.waitForSelector('#connection.live');
    const cookies = await browser.context.cookies(base);
    expect(cookies.map((c) => [c.name, c.httpOnly, c.value.includes(TOKEN)])).to.deep.equal([['smarthome_dashboard', true, false]]);
    // The wrong try is a 401 in the console; nothing else went wrong.
    expect(browser.errors.filter((e) => !/401/.test(e))).to.deep.equal([]);
    expect(service.stdout() + service.stderr()).not.to.include(TOKEN);
  });
});
