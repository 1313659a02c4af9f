/**
 * The process logger (pino): JSON lines by default, readable when stdout is a terminal.
 * Secrets are never passed to it; `redact` is a second line of defence for config dumps.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info', destination: 'stdout' | 'stderr' = 'stdout'): Logger {
  const fd = destination === 'stdout' ? 1 : 2;
  const pretty = destination === 'stdout' ? process.stdout.isTTY : process.stderr.isTTY;
  return pino({
    level,
    base: undefined,
    redact: { paths: ['*.password', '*.apiKey', '*.webhookUrl', 'password', 'apiKey', 'webhookUrl'], censor: '***' },
    transport: pretty ? { target: 'pino-pretty', options: { destination: fd } } : undefined,
  }, pretty ? undefined : pino.destination({ fd, sync: false }));
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
