/**
 * Durable files: the lines of an append-only file that may end in a torn line (the log itself,
 * appending and syncing, is `append-log.ts`; the migration reads the old store's files with it),
 * and making a new file's name durable.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const NEWLINE = 0x0a;

/** A line as JSON, or `undefined` when it does not parse (JSON itself never yields `undefined`). */
export function parseJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The lines of an append-only file, each read by `decode` (blank lines are skipped). A torn tail
 * (a last line without its newline, or lines `decode` rejects with nothing good after them, as a
 * crash or a power cut leaves behind) is left out and reported through `goodBytes`. A rejected
 * line followed by good ones is corruption: that throws, naming the file, line and byte.
 */
export function scanLines<T>(buffer: Buffer, file: string, decode: (line: string) => T | undefined): { records: T[]; goodBytes: number; size: number } {
  const records: T[] = [];
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
      const record = decode(text);
      if (record === undefined) {
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
