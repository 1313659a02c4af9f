/**
 * What start-up opens, closed again in reverse: the DATA_DIR lock, the broker, the store, the
 * journal, the endpoints. `stop()` closes them after the pipeline has drained; a start that fails
 * half way closes what it had opened already (so a second attempt finds the port and lock free).
 * `StartupError` lives here because every step that opens something may throw it: the steps in
 * lib/app/ and the journal's opening in lib/durability/.
 */
import type { Logger } from './log.js';

/** A failure that stops start-up (the port of the embedded broker is taken, the store is locked...). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export class Lifetime {
  private readonly closers: Array<() => Promise<void>> = [];

  constructor(private readonly logger: Logger) {}

  /** Closes `close` at the end, before everything opened earlier. */
  add(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  /** Closes everything, last opened first; a failing close is logged and the rest still closed. */
  async closeAll(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch((err: unknown) => this.logger.error({ err }, 'close failed'));
  }
}

/** How long start-up waits for the store's first state (MQTT messages, recovery, recovered writes) before going on against what is known. */
export const STORE_LOAD_WAIT_MS = 30_000;
