/**
 * One process per directory (issue 12, item 6), with a lock the operating system releases when
 * the process dies, however it dies (SIGKILL, a power cut, a zombie), and that is taken atomically.
 *
 * The lock is a listening Unix socket in Linux's abstract namespace, named after the directory's
 * real path: binding a name is atomic (of two processes started at once, exactly one gets it) and
 * the kernel frees the name when the last descriptor of the socket closes, which process exit
 * does. No file is involved, so nothing stale can be left behind and no pid can be mistaken for
 * another. (Node has no flock(2); this needs no native module. The name lives in the network
 * namespace: two containers sharing a DATA_DIR volume but not a network namespace are not
 * protected from each other.) Elsewhere than Linux the socket is a file `LOCK.sock` in the
 * directory; one whose owner is gone (connecting is refused) is removed and bound again.
 *
 * `LOCK` beside it holds the owner's pid, for the message a second process prints; it decides
 * nothing.
 */
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import * as path from 'node:path';

export interface DirLock {
  release(): Promise<void>;
}

export class LockedError extends Error {
  override readonly name = 'LockedError';
  constructor(readonly dir: string, readonly owner: number | undefined, what: string) {
    super(`${what} ${dir} is in use by ${owner === undefined ? 'another process' : `process ${owner}`}`);
  }
}

function socketName(dir: string): string {
  if (process.platform === 'linux') return `\0smarthome-lock-${createHash('sha256').update(dir).digest('hex').slice(0, 48)}`;
  return path.join(dir, 'LOCK.sock');
}

const listen = (server: Server, name: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const fail = (err: Error): void => reject(err);
    server.once('error', fail);
    server.listen(name, () => {
      server.off('error', fail);
      resolve();
    });
  });

/** Whether the lock's socket has a listener. */
const answered = (name: string): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(name);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid of the process that holds the lock of `dir` now (from `LOCK`), or undefined when none
 * does: the lock decides, so a `LOCK` left behind by a killed process names nobody.
 */
export async function lockHolder(dir: string): Promise<number | undefined> {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return undefined;
  }
  return (await answered(socketName(real))) ? ownerOf(path.join(real, 'LOCK')) : undefined;
}

/** Takes the lock of `dir` (which must exist) or throws a `LockedError` naming the owner. */
export async function lockDir(dir: string, what: string): Promise<DirLock> {
  const real = realpathSync(dir);
  const name = socketName(real);
  const pidFile = path.join(real, 'LOCK');
  let server = createServer((socket) => socket.destroy());
  try {
    await listen(server, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (process.platform === 'linux' || (await answered(name))) throw new LockedError(real, ownerOf(pidFile), what);
    rmSync(name, { force: true });
    server = createServer((socket) => socket.destroy());
    await listen(server, name).catch((again: unknown) => {
      throw (again as NodeJS.ErrnoException).code === 'EADDRINUSE' ? new LockedError(real, ownerOf(pidFile), what) : again;
    });
  }
  server.unref(); // the lock must not keep a process alive that is done otherwise
  writeFileSync(pidFile, `${process.pid}\n`);
  return {
    release: async () => {
      if (ownerOf(pidFile) === process.pid) rmSync(pidFile, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
