/**
 * The dashboard's event stream (Server-Sent Events): a thin sink of the folded state. A page
 * that connects gets every section at once, then only the sections that changed, at most every
 * FLUSH_MS. With no page open nothing is computed or scheduled: the fold only bumps version
 * numbers, and `changed()` returns at once.
 *
 * Each message is `event: update` with `{"now": <server epoch ms>, "tz": <SMARTHOME_TZ>,
 * "sections": {...}}`; the page uses `now` to count down and age things on its own clock without
 * asking again, and shows times on the home's clock.
 */
import type { ServerResponse } from 'node:http';
import { healthBody, type Health } from '../http/endpoint.js';
import type { DashboardState, Section } from './fold.js';
import { sectionView, type ViewSettings } from './view.js';

const SECTIONS: readonly Section[] = ['home', 'commands', 'history', 'alarms', 'schedules', 'weather', 'alerts'];
export const FLUSH_MS = 100;
/** A comment line this often keeps proxies from closing an idle stream, and re-checks health. */
const KEEPALIVE_MS = 15_000;

export class Feed {
  private readonly clients = new Set<ServerResponse>();
  private readonly sent: Record<Section, number> = { home: -1, commands: -1, history: -1, alarms: -1, schedules: -1, weather: -1, alerts: -1 };
  private sentHealth = '';
  private timer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: DashboardState,
    private readonly settings: ViewSettings,
    private readonly health: () => Health,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Something was folded: send it soon, if anyone listens. */
  changed(): void {
    if (this.clients.size === 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, FLUSH_MS);
  }

  connect(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    // The pages already open get what is pending first: the full message below marks it sent.
    this.flush();
    res.write(this.message(SECTIONS, true));
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopTimers();
    });
    this.keepalive ??= setInterval(() => {
      for (const client of this.clients) client.write(': keepalive\n\n');
      this.flush();
    }, KEEPALIVE_MS);
  }

  /** Sends the sections whose version moved (and the health when it changed) to every page. */
  flush(): void {
    if (this.clients.size === 0) return;
    const due = SECTIONS.filter((s) => this.state.versions[s] !== this.sent[s]);
    const health = JSON.stringify(healthBody(this.health()).body);
    if (due.length === 0 && health === this.sentHealth) return;
    const text = this.message(due, health !== this.sentHealth);
    for (const client of this.clients) client.write(text);
  }

  close(): void {
    this.stopTimers();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private message(sections: readonly Section[], withHealth: boolean): string {
    const now = this.now();
    const out: Record<string, unknown> = {};
    for (const s of sections) {
      out[s] = sectionView(s, this.state, now, this.settings);
      this.sent[s] = this.state.versions[s];
    }
    if (withHealth) {
      this.sentHealth = JSON.stringify(healthBody(this.health()).body);
      out.health = JSON.parse(this.sentHealth);
    }
    return `event: update\ndata: ${JSON.stringify({ now, tz: this.settings.tz, sections: out })}\n\n`;
  }

  private stopTimers(): void {
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    this.timer = undefined;
    this.keepalive = undefined;
  }
}
