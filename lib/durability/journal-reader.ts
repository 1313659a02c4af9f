/**
 * The one reader of the event journal's files (`DATA_DIR/events/`, written by `event-journal.ts`):
 * which files there are, their lines in order with the sequence number each event line has, and
 * their events. Recovery (`EventJournal.open`: the events past the checkpoint, the newest MQTT
 * lines) and the dashboard's history (`lib/dashboard/history.ts`) read the journal only through it.
 *
 * - Files: `events-<seq>.ndjson`, `<seq>` (12 digits) the number of its first event; the history
 *   also reads other `.ndjson` files found there (hand-written journals).
 * - Lines: split on `\n`; empty lines are left out; so is a torn last line (text after the last
 *   newline: the writer writes each line with its newline, so it was never acknowledged; the
 *   journal cuts it off the file it continues when it opens).
 * - Numbers: a resume header (`{"resume":{…,"seq":n}}`) sets the number of the line after it; every
 *   other line, understood or not, takes the next number, as the writer numbered it.
 * - Unknown lines (not a resume header, not an event this version knows) are handed to `unknown`,
 *   and skipped; a resume header that does not decode is skipped and numbers nothing.
 */
import { readdirSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { decodeRecordedLine, decodeResumeLine, isResumeLine, type Recorded, type ResumeHeader } from '../core/protocol/recording.js';

/** The journal's folder in DATA_DIR. */
export const EVENTS_DIR = 'events';

/** A journaled event read back, with its sequence number. */
export interface JournaledEvent extends Recorded {
  readonly seq: number;
}

/** A file of the journal: `first` is the number of its first event (from its name; 1 for a file named otherwise). */
export interface JournalFile {
  readonly file: string;
  readonly first: number;
}

const SEGMENT = /^events-(\d{12})\.ndjson$/;

/** The name of the journal file whose first event is `seq`. */
export const segmentName = (seq: number): string => `events-${String(seq).padStart(12, '0')}.ndjson`;

/** The journal's own files (`events-<seq>.ndjson`) in `dir`, by their first number; none if `dir` is missing. */
export function listSegments(dir: string): JournalFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((name) => SEGMENT.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: path.join(dir, m[0]), first: Number(m[1]) }))
    .sort((a, b) => a.first - b.first);
}

/**
 * Every `.ndjson` file of `dir` modified at `since` or later, oldest first (by modification time,
 * then name: the journal writes its files one after another); none if `dir` is missing.
 */
export async function journalFilesSince(dir: string, since: number): Promise<JournalFile[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const files: Array<JournalFile & { mtime: number }> = [];
  for (const name of names.filter((n) => n.endsWith('.ndjson'))) {
    const file = path.join(dir, name);
    const s = await stat(file).catch(() => undefined);
    if (s?.isFile() && s.mtimeMs >= since) files.push({ file, first: Number(SEGMENT.exec(name)?.[1] ?? 1), mtime: s.mtimeMs });
  }
  files.sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file));
  return files.map(({ file, first }) => ({ file, first }));
}

/** A line of a journal file. */
export type JournalLine =
  | { readonly kind: 'resume'; readonly file: string; readonly line: number; readonly text: string; readonly header: ResumeHeader | undefined }
  /** Any other line: an event, or a line this version does not understand. */
  | { readonly kind: 'line'; readonly file: string; readonly line: number; readonly text: string; readonly seq: number };

/**
 * Hands the lines of `files` to `onLine`, in order, numbered (see the module comment); returns the
 * greatest number after a file's last line (0 without files).
 */
export async function readLines(files: readonly JournalFile[], onLine: (line: JournalLine) => void): Promise<number> {
  let next = 0;
  for (const { file, first } of files) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.pop(); // '' after the last newline, or a torn last line
    let seq = first;
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i]!;
      if (text === '') continue;
      if (isResumeLine(text)) {
        const header = decodeResumeLine(text);
        if (E.isRight(header)) seq = header.right.seq;
        onLine({ kind: 'resume', file, line: i + 1, text, header: E.isRight(header) ? header.right : undefined });
      } else {
        onLine({ kind: 'line', file, line: i + 1, text, seq: seq++ });
      }
    }
    next = Math.max(next, seq);
  }
  return next;
}

export interface ReadEventsOptions {
  /** Only the events numbered after this are decoded and handed on (default: all). */
  readonly after?: number;
  /** A line numbered after `after` that is no event this version knows (default: skipped silently). */
  readonly unknown?: (line: JournalLine, reason: string) => void;
}

/**
 * Hands the events of `files` to `onEvent`, in order, with their numbers; returns the greatest
 * number after a file's last line (0 without files).
 */
export function readEvents(files: readonly JournalFile[], options: ReadEventsOptions, onEvent: (event: JournaledEvent) => void): Promise<number> {
  const after = options.after ?? -Infinity;
  return readLines(files, (line) => {
    if (line.kind === 'resume' || line.seq <= after) return;
    const decoded = decodeRecordedLine(line.text);
    if (E.isLeft(decoded)) options.unknown?.(line, decoded.left.message);
    else onEvent({ ...decoded.right, seq: line.seq });
  });
}
