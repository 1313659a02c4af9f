/**
 * The dashboard's event stream on a real HTTP server: a page gets every section at once, then
 * only what changed, several changes within the flush interval in one message; with no page
 * open nothing is computed at all.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Feed, FLUSH_MS } from '../../lib/dashboard/feed.js';
import { emptyState, fold, type DashboardState } from '../../lib/dashboard/fold.js';
import type { Health } from '../../lib/http/endpoint.js';
import { DEFAULT_TOPICS } from '../../lib/core/protocol/topics.js';
import { code, T0 } from '../support/marbles.js';

const SETTINGS = { topics: DEFAULT_TOPICS, commandConfirmS: 30 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Message {
  now: number;
  tz: string;
  sections: Record<string, unknown>;
}

describe('dashboard feed (Server-Sent Events)', () => {
  let server: Server;
  let state: DashboardState;
  let feed: Feed;
  let healthCalls: number;

  beforeEach(async () => {
    state = emptyState();
    healthCalls = 0;
    const health = (): Health => {
      healthCalls++;
      return new Map([['mqtt', { up: true }]]);
    };
    feed = new Feed(state, { tz: 'Asia/Seoul', staleS: 600, commandConfirmS: 30 }, health, () => T0);
    server = createServer((_req, res) => feed.connect(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    feed.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Opens the stream and collects its messages. */
  async function open(): Promise<{ messages: Message[]; close: () => void }> {
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const messages: Message[] = [];
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          const blocks = buffer.split('\n\n');
          buffer = blocks.pop() ?? '';
          for (const block of blocks) {
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data !== undefined) messages.push(JSON.parse(data.slice(6)) as Message);
          }
        }
      } catch {
        // aborted
      }
    })();
    return { messages, close: () => controller.abort() };
  }

  async function until(check: () => boolean, ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await sleep(10);
    }
  }

  it('computes nothing while no page is open', async () => {
    fold(state, { type: 'status', at: T0, status: code('010000000') }, SETTINGS);
    feed.changed();
    await sleep(FLUSH_MS * 3);
    expect(healthCalls).to.equal(0);
    expect(feed.size).to.equal(0);
  });

  it('sends every section first, then only the changed ones, several changes in one message', async () => {
    const page = await open();
    await until(() => page.messages.length === 1);
    expect(Object.keys(page.messages[0]!.sections).sort()).to.deep.equal(['alarms', 'alerts', 'commands', 'health', 'history', 'home', 'schedules', 'weather']);
    expect(page.messages[0]).to.include({ now: T0, tz: 'Asia/Seoul' });

    fold(state, { type: 'status', at: T0, status: code('010000000') }, SETTINGS);
    feed.changed();
    fold(state, { type: 'report', at: T0, code: code('010000000') }, SETTINGS);
    feed.changed();
    await until(() => page.messages.length === 2);
    await sleep(FLUSH_MS * 2);
    expect(page.messages).to.have.length(2);
    expect(Object.keys(page.messages[1]!.sections).sort()).to.deep.equal(['history', 'home']);
    expect((page.messages[1]!.sections.home as { code: string }).code).to.equal('010000000');
    page.close();
    await until(() => feed.size === 0);
  });
});
