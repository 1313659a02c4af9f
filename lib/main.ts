/**
 * `npm start`: the smart-home backend as one long-running process. `npm run record -- FILE` is
 * the same with every inbound event also appended to FILE as replay lines. Both run this file
 * compiled (`node dist/main.js`, built by `npm ci`'s prepare), as the systemd unit does
 * (config/smarthome-backend.service); `npm run dev` runs the TypeScript through tsx.
 *
 * Exits 0 after SIGINT/SIGTERM, 2 on an invalid configuration or a start-up failure that a
 * setting must fix (a taken port, a locked store), 1 on any other start-up failure. Anything
 * that goes wrong once the service runs is reported and lived with, except an end of its loop
 * on an error (a bug: it would handle nothing more): then it stops and exits 1, for its unit to
 * restart it.
 */
import { applyEmulatorSafety, loadConfigOrExit } from './config/load.js';
import { redactConfig } from './config/redact.js';
import { createLogger } from './base/log.js';
import { recordTarget, startService, StartupError } from './app/service.js';
import { errorText } from './base/error-text.js';

const config = loadConfigOrExit();
applyEmulatorSafety(config, process.env);
const logger = createLogger(config.logLevel);
logger.debug({ config: redactConfig(config) }, 'configuration');

// A month-long process must not die of one unexpected exception: report it and go on.
process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception (the service goes on)'));
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (the service goes on)'));

/**
 * Exits once the log lines so far are written: pino writes asynchronously, and an exit right
 * after `flush()` can lose the last ones ('stopped'). A stuck stdout does not hold the exit up.
 */
function exitAfterLogs(code: number): void {
  process.exitCode = code;
  logger.flush(() => process.exit(code));
  setTimeout(() => process.exit(code), 1000).unref();
}

/** A second stop signal within this long of the first is the same one, delivered twice. */
const REPEAT_MS = 1000;

// Like Mosquitto: SIGHUP re-reads the broker's password, ACL and TLS files; clients stay connected.
// Handled from the first moment: `npm run reload` may find the service by its DATA_DIR lock while
// it is still starting, and SIGHUP's default would end it. One asked for then is done once it runs.
let reloadAsked = false;
let reload = (): void => {
  reloadAsked = true;
};
process.on('SIGHUP', () => reload());

const recordTo = recordTarget(process.argv.slice(2));
// The loop ended on an error (a bug): the process would stay up handling nothing. Until the
// service is returned, the error waits here.
let failedEarly: unknown;
let onFailure = (err: unknown): void => {
  failedEarly ??= err;
};
try {
  const service = await startService(config, logger, { recordTo, onFailure: (err) => onFailure(err) });
  let firstSignalAt: number | undefined;
  /** Stops the service and exits with `code` (0 for a stop signal). */
  const stop = (signal: string, code = 0): void => {
    if (firstSignalAt !== undefined) {
      // A signal to the whole process group reaches the service twice under `npm start` (once
      // itself, once forwarded by npm): a repeat within a second is that, not an impatient user.
      if (Date.now() - firstSignalAt < REPEAT_MS) return;
      logger.warn(`${signal} again: exiting at once`);
      process.exit(1);
    }
    firstSignalAt = Date.now();
    logger.info(`${signal}: shutting down`);
    service.stop().then(
      () => exitAfterLogs(code),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exitAfterLogs(1);
      },
    );
  };
  reload = () => {
    const problems = service.reload();
    logger.info(problems.length === 0 ? 'SIGHUP: accounts and permissions reloaded' : `SIGHUP: reload incomplete: ${problems.join('; ')}`);
  };
  if (reloadAsked) reload();
  onFailure = (err) => {
    logger.fatal({ err: errorText(err) }, 'the service handles nothing more (its loop ended on an error): stopping, exit 1 for the service manager to restart it');
    stop('the loop failed', 1);
  };
  if (failedEarly !== undefined) onFailure(failedEarly);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // npm forwards only SIGINT and SIGTERM; any other signal (a SIGHUP meant for a reload, a
  // SIGKILL) ends npm alone. Nothing of `npm start` may outlive npm: when it is gone, stop.
  if (process.env.npm_lifecycle_event !== undefined) {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(watch);
        logger.warn('the npm process that started the service is gone (npm forwards no SIGHUP: reload with `npm run reload`)');
        stop('parent gone');
      }
    }, 1000).unref();
  }
} catch (err) {
  if (err instanceof StartupError) {
    process.stderr.write(`smarthome backend: ${err.message}\n`);
    logger.flush();
    process.exit(2);
  }
  // Not a setting to fix, but the service did not start: there is nothing to live on with.
  logger.error({ err }, 'start-up failed');
  process.stderr.write(`smarthome backend: start-up failed: ${errorText(err)}\n`);
  logger.flush();
  process.exit(1);
}
