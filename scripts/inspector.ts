/**
 * A minimal client of the V8 inspector protocol over its websocket (`node --inspect=...`), enough
 * for precise coverage: the path measure (scripts/path.ts) asks a running service which of its
 * functions ran. Node 20's WebSocket needs `--experimental-websocket` (npm run path passes it).
 */

/** One function of a script as `Profiler.takePreciseCoverage` reports it (detailed: false). */
export interface FunctionCoverage {
  readonly functionName: string;
  readonly ranges: ReadonlyArray<{ readonly startOffset: number; readonly endOffset: number; readonly count: number }>;
}

export interface ScriptCoverage {
  readonly url: string;
  readonly functions: readonly FunctionCoverage[];
}

export class Inspector {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (message) => {
      const reply = JSON.parse(String(message.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const call = reply.id === undefined ? undefined : this.waiting.get(reply.id);
      if (call === undefined) return; // a notification: none is asked for
      this.waiting.delete(reply.id!);
      if (reply.error !== undefined) call.reject(new Error(reply.error.message));
      else call.resolve(reply.result);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
    });
    return new Inspector(socket);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Counts of every function since the last take (or the start of coverage). */
  async takeCoverage(): Promise<readonly ScriptCoverage[]> {
    return (await this.call<{ result: ScriptCoverage[] }>('Profiler.takePreciseCoverage')).result;
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * The project's files (under `root`'s dist/ or lib/, named by their lib/ source) that had a
 * function called at least once in `coverage`.
 */
export function filesRun(coverage: readonly ScriptCoverage[], root: string): Set<string> {
  const files = new Set<string>();
  const prefix = `file://${root}/`;
  for (const script of coverage) {
    if (!script.url.startsWith(prefix)) continue;
    const local = script.url.slice(prefix.length);
    const match = /^(?:dist|lib)\/(.+)\.[jt]s$/.exec(local);
    if (match === null || local.includes('node_modules/')) continue;
    if (script.functions.some((f) => (f.ranges[0]?.count ?? 0) > 0)) files.add(`lib/${match[1]}.ts`);
  }
  return files;
}
