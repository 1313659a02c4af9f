/**
 * `npm start`: the smart-home backend as one long-running process. `npm run record -- FILE` is
 * the same with every inbound event also appended to FILE as replay lines.
 *
 * Exits 0 after SIGINT/SIGTERM, 2 on an invalid configuration or a start-up failure that a
 * setting must fix (a taken port, a locked store), 1 on any other start-up failure. Anything
 * that goes wrong once the service runs is reported and lived with.
 */
import { applyEmulatorSafety, loadConfigOrExit } from './config/load.js';
import { redactConfig } from './config/redact.js';
import { createLogger } from './base/log.js';
import { recordTarget, startService, StartupError } from './service.js';
import { errorText } from './base/error-text.js';

const config = loadConfigOrExit();
applyEmulatorSafety(config, process.env);
const logger = createLogger(config.logLevel);
logger.debug({ config: redactConfig(config) }, 'configuration');

// A month-long process must not die of one unexpected exception: report it and go on.
process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception (the service goes on)'));
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (the service goes on)'));

const recordTo = recordTarget(process.argv.slice(2));
try {
  const service = await startService(config, logger, { recordTo });
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) {
      logger.warn(`${signal} again: exiting at once`);
      process.exit(1);
    }
    logger.info(`${signal}: shutting down`);
    service.stop().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Like Mosquitto: SIGHUP re-reads the broker's password, ACL and TLS files; clients stay connected.
  process.on('SIGHUP', () => {
    const problems = service.reload();
    logger.info(problems.length === 0 ? 'SIGHUP: accounts and permissions reloaded' : `SIGHUP: reload incomplete: ${problems.join('; ')}`);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
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
