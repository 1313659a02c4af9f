/**
 * Durable files for the local store and the outbox: append-only NDJSON journals that tolerate a
 * torn last line, and whole files replaced atomically (write, fsync, rename, fsync the folder).
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';

export interface JournalContents {
  /** The parsed lines, in order. */
  readonly records: unknown[];
  /** Bytes up to the end of the last good line; the file should be cut there when shorter than `size`. */
  readonly goodBytes: number;
  readonly size: number;
}

const NEWLINE = 0x0a;

/**
 * Reads an NDJSON journal. A torn tail (a last line without its newline, or lines that do not
 * parse with nothing good after them, as a crash or a power cut leaves behind) is left out and
 * reported through `goodBytes`. A bad line followed by good ones is corruption: that throws.
 * A missing file reads as empty.
 */
export async function readJournal(file: string): Promise<JournalContents> {
  let buffer: Buffer;
  try {
    buffer = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], goodBytes: 0, size: 0 };
    throw err;
  }
  const records: unknown[] = [];
  let goodBytes = 0;
  let firstBad: { line: number; offset: number } | undefined;
  let start = 0;
  let line = 0;
  while (start < buffer.length) {
    const end = buffer.indexOf(NEWLINE, start);
    if (end === -1) break; // the torn tail: never acknowledged, since the newline is written with it
    line++;
    const text = buffer.toString('utf8', start, end);
    if (text.trim() === '') {
      if (firstBad === undefined) goodBytes = end + 1;
    } else {
      let record: unknown;
      let parsed = true;
      try {
        record = JSON.parse(text);
      } catch {
        parsed = false;
      }
      if (!parsed) {
        firstBad ??= { line, offset: start };
      } else {
        if (firstBad !== undefined) {
          throw new Error(`${file}: line ${firstBad.line} (byte ${firstBad.offset}) is damaged but later lines are not; ` +
            'move the file aside or repair that line by hand');
        }
        records.push(record);
        goodBytes = end + 1;
      }
    }
    start = end + 1;
  }
  return { records, goodBytes, size: buffer.length };
}

/** Makes a rename or creation in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some file systems cannot fsync a folder; the rename is still atomic there.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

/** Replaces `file` with `data` so that a crash leaves either the old or the new contents. */
export async function replaceFile(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

/** Writes all of `buffer` at the end of an append-mode file. */
export async function appendAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}
