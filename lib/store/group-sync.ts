/**
 * fdatasync of one file in libuv's thread pool, grouped: callers that arrive while one runs share
 * the next one, so a burst of commits costs few syncs and none of them waits on the event loop.
 * The event journal's files (`append-log.ts`) and the database's WAL (`database.ts`) use it.
 */
import { fdatasync, fdatasyncSync } from 'node:fs';

export class GroupSync {
  private dirty = false;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /** `fd` is asked at each sync; `undefined` means closed (what it held was synced on close). */
  constructor(private readonly fd: () => number | undefined) {}

  /** Something was written since the last sync. */
  mark(): void {
    this.dirty = true;
  }

  /** Makes everything written so far durable; with nothing new it resolves at once. */
  sync(): Promise<void> {
    if (this.running) {
      this.queued ??= this.running.catch(() => undefined).then(() => {
        this.queued = undefined;
        return this.sync();
      });
      return this.queued;
    }
    const fd = this.fd();
    if (!this.dirty || fd === undefined) return Promise.resolve();
    this.dirty = false;
    const running = new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.running = undefined;
        if (err) reject(err);
        else resolve();
      });
    });
    this.running = running;
    return running;
  }

  /** `sync` on the calling thread (before a file is left behind, or a rare write that must be durable now). */
  syncNow(): void {
    const fd = this.fd();
    if (!this.dirty || fd === undefined) return;
    this.dirty = false;
    fdatasyncSync(fd);
  }
}
