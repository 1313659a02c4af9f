/**
 * The event journal (issue 12, SPEC 9): every inbound event, in the order the pipeline sees it,
 * appended to `<DATA_DIR>/events/` as replay lines (SPEC 10), so that
 *
 * - an MQTT message is acknowledged to the broker only once its line is written to the operating
 *   system (`append` is a synchronous write: a killed process loses nothing it acknowledged;
 *   `hold` keeps lines for one `flush`, so that messages read together cost one write);
 * - the file is fdatasync'ed in groups, at most every `fsyncMs`, in libuv's thread pool: a power
 *   cut loses at most that window;
 * - after a crash, the events past the checkpoint (the last event whose effects are known to be
 *   complete, kept in DATA_DIR's database: `checkpoint.ts`) are read back (`pending`, by
 *   `journal-reader.ts`, the one reader of these files) and handled again.
 *
 * Files: `events-<seq>.ndjson`, `<seq>` (12 digits) being the journal sequence number of its first
 * event. Each starts with one resume header (`{"resume":{…}}`), so it replays on its own; each
 * later line is one event and has the next sequence number. A new file at every start, at local
 * midnight and when one grows past `segmentBytes`. Old files are pruned by age (`retainDays`) and
 * total size (`maxBytes`), never one that holds an event past the checkpoint.
 */
import { rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { errorText } from '../base/error-text.js';
import type { Logger } from '../base/log.js';
import { isoLocal } from '../core/protocol/local-time.js';
import { encodeClockLine, encodeEventLine, encodeResumeLine } from '../core/protocol/recording.js';
import { AppendLog } from '../store/append-log.js';
import type { Resume } from '../core/protocol/resume.js';
import type { Event } from '../core/protocol/events.js';
import { EVENTS_DIR, listSegments, readLines, readEvents, segmentName, type JournalFile, type JournaledEvent } from './journal-reader.js';

export { EVENTS_DIR, type JournaledEvent } from './journal-reader.js';

/** Where a restart resumes: every event up to `seq` is complete, with this state after it. */
export interface Checkpoint {
  readonly seq: number;
  /** The tracked status after event `seq`. */
  readonly status?: string;
  /** The ids of the appliance alarms after event `seq` (see lib/durability/recovery.ts). */
  readonly alarms?: readonly string[];
}

/** The key of an MQTT message for `redelivered`. */
export const deliveryKey = (messageId: number, topic: string, payload: string): string => `${messageId} ${topic} ${payload}`;

/** How many of the last MQTT lines may be ones whose PUBACK a crash cut off (more than any broker keeps in flight). */
const REDELIVERY_WINDOW = 500;

/**
 * The newest MQTT lines of the journal (their `mid`, topic and payload): a message the broker
 * sends again with DUP=1 and the same key was journaled and acknowledged, and only its PUBACK was
 * lost with the process. Handling it again, after the recovered events, could reorder controls.
 */
async function recentDeliveries(segments: readonly JournalFile[]): Promise<Set<string>> {
  const keys = new Set<string>();
  const mqtt: string[] = [];
  // the last two files: a run that crashed while starting journaled nothing of its own
  await readLines(segments.slice(-2), (line) => {
    if (line.text.includes('"source":"mqtt"')) mqtt.push(line.text);
  });
  for (const line of mqtt.slice(-REDELIVERY_WINDOW)) {
    try {
      const json = JSON.parse(line) as { mid?: unknown; topic?: unknown; payload?: unknown };
      if (typeof json.mid === 'number' && typeof json.topic === 'string' && typeof json.payload === 'string') keys.add(deliveryKey(json.mid, json.topic, json.payload));
    } catch {
      // a damaged line is reported when the events are read
    }
  }
  return keys;
}

export interface EventJournalOptions {
  readonly logger: Logger;
  readonly tz: string;
  /** Group fdatasync at most this often (ms). */
  readonly fsyncMs: number;
  readonly retainDays: number;
  readonly maxBytes: number;
  /** Start a new file past this size; default a sixteenth of `maxBytes`, at most 64 MiB. */
  readonly segmentBytes?: number;
}

/** The local calendar day of `now` (`2026-11-29`): a new file begins when it changes. */
const localDay = (now: number, tz: string): string => isoLocal(now, tz).slice(0, 10);

/** The append log keeps the lines as they are (they are read by `journal-reader.ts`). */
const asWritten = (line: string): string => line;

export class EventJournal {
  private log: AppendLog<string> | undefined;
  private file = '';
  private day = '';
  private readonly timer: NodeJS.Timeout;
  private lastMinute = -1;
  private readonly segmentBytes: number;
  /** The newest line of each Firestore document and RTDB path, for the start of the next file. */
  private readonly latest = new Map<string, Event>();
  /** Lines held for the next `flush` (written before anything else is). */
  private held = '';

  private constructor(
    readonly dir: string,
    private nextSeq: number,
    private readonly options: EventJournalOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? Math.min(64 * 1024 * 1024, Math.max(64 * 1024, Math.floor(options.maxBytes / 16)));
    this.timer = setInterval(() => this.sync(), options.fsyncMs);
    this.timer.unref();
  }

  /**
   * Opens the journal in `dataDir/events`, cutting a torn last line, and reads the events after
   * `checkpoint`. Call `start` to begin a new file.
   */
  static async open(dataDir: string, checkpoint: Checkpoint, options: EventJournalOptions): Promise<{ journal: EventJournal; checkpoint: Checkpoint; pending: JournaledEvent[]; redelivered: Set<string> }> {
    const dir = path.join(dataDir, EVENTS_DIR);
    await mkdir(dir, { recursive: true });
    const segments = listSegments(dir);
    const last = segments.at(-1);
    // cuts a torn last line (a write cut off by a crash: never acknowledged)
    if (last !== undefined) AppendLog.open(last.file, { logger: options.logger, owner: 'event journal', decode: asWritten }).close();
    const pending: JournaledEvent[] = [];
    // not the files wholly before the checkpoint
    const toRead = segments.filter((_, i) => (segments[i + 1]?.first ?? Infinity) > checkpoint.seq + 1);
    const read = await readEvents(toRead, {
      after: checkpoint.seq,
      unknown: (line, reason) => options.logger.error({ file: line.file, line: line.line }, `event journal: skipping an unreadable line: ${reason}`),
    }, (event) => pending.push(event));
    const next = Math.max(checkpoint.seq + 1, read);
    return { journal: new EventJournal(dir, next, options), checkpoint, pending, redelivered: await recentDeliveries(segments) };
  }

  /** The sequence number the next event gets. */
  get seq(): number {
    return this.nextSeq;
  }

  get currentFile(): string {
    return this.file;
  }

  /** Begins a new file with a resume header (the state the events after it start from). */
  start(resume: Resume, now: number, checkpointSeq: number): void {
    this.closeFile();
    this.file = path.join(this.dir, segmentName(this.nextSeq));
    this.log = AppendLog.open(this.file, { logger: this.options.logger, owner: 'event journal', decode: asWritten });
    this.day = localDay(now, this.options.tz);
    this.write(`${encodeResumeLine({ at: now, seq: this.nextSeq, resume }, isoLocal(now, this.options.tz))}\n`);
    this.prune(checkpointSeq);
  }

  /**
   * Appends an event (written to the OS before this returns, with the lines held before it) and
   * returns its sequence number, or `undefined` for an event that is not journaled (ticks: see
   * `tick`; the service's own alerts).
   */
  append(event: Event, now: number, messageId?: number): number | undefined {
    const seq = this.hold(event, now, messageId);
    this.flush();
    return seq;
  }

  /**
   * As `append`, but the line is only held: it is written by the next `flush` (or by the next
   * line written at once), together with the others held. Nothing held may be acknowledged.
   */
  hold(event: Event, now: number, messageId?: number): number | undefined {
    if (this.log === undefined) throw new Error('event journal: not started');
    // an MQTT message's packet id (`mid`, ignored by replays): see `redelivered`
    const line = encodeEventLine(event, isoLocal(now, this.options.tz), messageId);
    if (line === null) return undefined;
    // A document re-journaled at the start of a later file keeps the time it was written, not that file's.
    if (event.type === 'firestore.doc') this.latest.set(`f ${event.collection}/${event.id}`, event.writtenAt === undefined ? { ...event, writtenAt: now } : event);
    else if (event.type === 'rtdb.value') this.latest.set(`r ${event.path}`, event);
    this.held += line + '\n';
    return this.nextSeq++;
  }

  /** Writes the held lines to the OS in one write; on failure they are dropped (the file is cut back) and it throws. */
  flush(): void {
    if (this.held.length === 0) return;
    const text = this.held;
    this.held = '';
    if (this.log === undefined) throw new Error('event journal: not started');
    this.log.append(text);
  }

  /**
   * A clock tick: journaled once a minute (a replay makes its own ticks in between). At local
   * midnight or past the size limit, a new file begins, with `resume()` as its header and the
   * newest line of every document and path the journal has seen (so that it replays on its own).
   */
  tick(now: number, resume: () => Resume, checkpointSeq: () => number): number | undefined {
    const minute = Math.floor(now / 60_000);
    if (minute === this.lastMinute) return undefined;
    this.lastMinute = minute;
    if (this.log !== undefined && (this.log.size >= this.segmentBytes || localDay(now, this.options.tz) !== this.day)) {
      this.start(resume(), now, checkpointSeq());
      for (const event of this.latest.values()) this.append(event, now);
    }
    this.write(`${encodeClockLine(isoLocal(now, this.options.tz))}\n`);
    return this.nextSeq++;
  }

  /** Writes `text` at once, after the lines held. */
  private write(text: string): void {
    this.held += text;
    this.flush();
  }

  /** One fdatasync in the thread pool, if anything was written since the last one. */
  private sync(): void {
    const log = this.log;
    log?.sync().catch((err: unknown) => {
      // a file closed meanwhile was synced by `closeFile`
      if (log === this.log) this.options.logger.error({ err: (err as Error).message }, 'event journal: fdatasync failed');
    });
  }

  /** Removes the oldest files past the retention, never one with an event after `checkpointSeq`. */
  private prune(checkpointSeq: number): void {
    const segments = listSegments(this.dir).map((s) => ({ ...s, ...this.sizeAndAge(s.file) }));
    let total = segments.reduce((sum, s) => sum + s.size, 0);
    const oldest = Date.now() - this.options.retainDays * 86_400_000;
    for (let i = 0; i < segments.length - 1; i++) {
      const segment = segments[i]!;
      const lastSeq = segments[i + 1]!.first - 1;
      if (lastSeq > checkpointSeq || segment.file === this.file) break;
      if (segment.mtime >= oldest && total <= this.options.maxBytes) break;
      rmSync(segment.file, { force: true });
      total -= segment.size;
      this.options.logger.info({ file: segment.file }, 'event journal: old file removed (retention)');
    }
  }

  private sizeAndAge(file: string): { size: number; mtime: number } {
    try {
      const st = statSync(file);
      return { size: st.size, mtime: st.mtimeMs };
    } catch {
      return { size: 0, mtime: 0 };
    }
  }

  /** A file left behind must be complete on disk before the next one begins: `close` syncs it. */
  private closeFile(): void {
    try {
      if (this.log !== undefined) this.flush();
    } catch (err) {
      // held lines were never acknowledged: their messages come again from the broker
      this.options.logger.error({ err: errorText(err) }, 'event journal: the lines held could not be written before the file was closed');
    }
    this.log?.close();
    this.log = undefined;
  }

  /** Syncs and closes the current file. */
  close(): void {
    clearInterval(this.timer);
    this.closeFile();
  }
}
