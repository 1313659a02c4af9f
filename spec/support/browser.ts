/**
 * A real browser for the dashboard's specs: playwright-core driving Debian's Chromium
 * (`/usr/bin/chromium`, installed by `.ci/services`), headless, with a fresh user data dir and
 * every background service of the browser off, so the only requests it makes are the page's.
 * Console errors and page errors are collected for the "no console error" check.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './service.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the specs save their screenshots (git-ignored). */
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-output', 'screenshots');

export interface Browser {
  readonly context: BrowserContext;
  /** A new page; its console errors and uncaught exceptions land in `errors`. */
  page(options?: { width?: number; height?: number; dark?: boolean }): Promise<Page>;
  readonly errors: string[];
  /** Every URL a page asked for (to check that nothing but the service is reached). */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'smarthome-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'],
  });
  const errors: string[] = [];
  const requests: string[] = [];
  return {
    context,
    errors,
    requests,
    async page({ width = 1280, height = 900, dark = false } = {}) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
      });
      page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
      page.on('request', (req) => requests.push(req.url()));
      return page;
    },
    async close() {
      await context.close();
      await fs.rm(userDataDir, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await fs.mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
