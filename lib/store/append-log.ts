/**
 * The append-only log (issue 16) behind the event journal (the store and the outbox are in
 * DATA_DIR's database since issue 25): a file of lines, each written whole with its newline, so
 * that a crash can only leave a torn *last* line, which was never acknowledged.
 *
 * - `open` reads the lines back and cuts a torn tail off, with a warning naming the file and the
 *   byte where it was cut;
 * - `append` hands lines to the operating system before it returns (a synchronous write: a killed
 *   process loses none of them; only a power cut can, until the next sync);
 * - `sync` is one fdatasync in libuv's thread pool, grouped (`group-sync.ts`); `syncNow` is the
 *   same on the calling thread;
 * - `appendDurably` appends and syncs, and on failure cuts the file back to where it was, so that
 *   nothing unacknowledged can reappear after a restart;
 * - `truncate` empties (or cuts back) the file.
 *
 * One log at a time per file; the caller holds DATA_DIR's lock (see `database.ts`).
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { Logger } from '../base/log.js';
import { parseJson, scanLines } from './files.js';
import { GroupSync } from './group-sync.js';

export interface AppendLogOptions<T> {
  readonly logger: Logger;
  /** Who keeps the log, at the start of its messages: 'local store', 'outbox', 'event journal'. */
  readonly owner: string;
  /**
   * Reads a complete line back; `undefined` marks it damaged (trailing damaged lines are a torn
   * tail, a damaged line before good ones stops `open`: see `scanLines`). Default: JSON.
   */
  readonly decode?: (line: string) => T | undefined;
}

function readAll(fd: number): Buffer {
  const buffer = Buffer.alloc(fstatSync(fd).size);
  let offset = 0;
  while (offset < buffer.length) {
    const n = readSync(fd, buffer, offset, buffer.length - offset, offset);
    if (n === 0) break;
    offset += n;
  }
  return buffer.subarray(0, offset);
}

export class AppendLog<T = unknown> {
  private open = true;
  private readonly syncer = new GroupSync(() => (this.open ? this.fd : undefined));

  private constructor(
    readonly file: string,
    private readonly fd: number,
    private bytes: number,
    /** The lines found at `open`, read by `decode`, oldest first. */
    readonly records: readonly T[],
    private readonly options: AppendLogOptions<T>,
  ) {}

  /** Opens (creating) `file` for appending, reading its lines back and cutting a torn tail off. */
  static open<T = unknown>(file: string, options: AppendLogOptions<T>): AppendLog<T> {
    const fd = openSync(file, 'a+');
    try {
      const { records, goodBytes, size } = scanLines(readAll(fd), file, options.decode ?? (parseJson as (line: string) => T | undefined));
      if (goodBytes < size) {
        options.logger.warn({ file, offset: goodBytes, dropped: size - goodBytes },
          `${options.owner}: cutting off a torn last line at byte ${goodBytes} of ${file} (a write cut off by a crash, never acknowledged)`);
        ftruncateSync(fd, goodBytes);
      }
      return new AppendLog(file, fd, goodBytes, records, options);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The length of the file. */
  get size(): number {
    return this.bytes;
  }

  /** Writes `text` (whole lines) to the operating system; on failure the file is cut back and it throws. */
  append(text: string): void {
    const before = this.bytes;
    const length = Buffer.byteLength(text, 'utf8');
    try {
      // The string as it is (no Buffer of ours per line: the event journal appends one per event);
      // a regular file takes it whole, anything short of that is finished from a Buffer.
      let offset = writeSync(this.fd, text, null, 'utf8');
      if (offset < length) {
        const buffer = Buffer.from(text, 'utf8');
        while (offset < length) offset += writeSync(this.fd, buffer, offset, length - offset);
      }
    } catch (err) {
      this.cutBack(before);
      throw err;
    }
    this.bytes += length;
    this.syncer.mark();
  }

  /** Appends and syncs; on failure cuts the file back to where it was (nothing of `text` was acknowledged). */
  async appendDurably(text: string): Promise<void> {
    const before = this.bytes;
    this.append(text);
    try {
      await this.sync();
    } catch (err) {
      this.cutBack(before);
      throw err;
    }
  }

  /** Makes everything appended so far durable: one grouped fdatasync in the thread pool. */
  sync(): Promise<void> {
    return this.syncer.sync();
  }

  /** `sync` on the calling thread (before a file is left behind for good). */
  syncNow(): void {
    this.syncer.syncNow();
  }

  /** Cuts the file to `size` bytes (0: empties it). */
  truncate(size = 0): void {
    ftruncateSync(this.fd, size);
    this.bytes = size;
  }

  /** Syncs what is not yet synced (a failure is logged: the lines are with the OS) and closes the file. */
  close(): void {
    if (!this.open) return;
    try {
      this.syncNow();
    } catch (err) {
      this.options.logger.error({ file: this.file, err: (err as Error).message }, `${this.options.owner}: fdatasync failed`);
    }
    this.open = false;
    closeSync(this.fd);
  }

  get closed(): boolean {
    return !this.open;
  }

  private cutBack(size: number): void {
    try {
      this.truncate(size);
    } catch {
      // the failure being reported is the write's; a restart cuts an unfinished line anyway
    }
  }
}
