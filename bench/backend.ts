/**
 * The backend under test in the end-to-end bench: the real service (`startService` of
 * lib/app/service.ts: MQTT source and sink, pipeline, local store, health endpoint, metrics) in its
 * own process, as lib/main.ts runs it. The one difference: the configuration is read from a
 * directory the bench writes (`loadConfig(env, dir)`), whose `local.json` moves every topic
 * under a unique prefix, so that the bench never answers anyone else's traffic on a shared
 * broker. Everything else comes from the environment the bench sets (MQTT_URL, DATA_DIR in a
 * temp dir, HTTP_PORT=0, MQTT_CLIENT_ID unique per run, METADATA_SERVER_DETECTION=none).
 */
import * as E from 'fp-ts/lib/Either.js';
import { applyEmulatorSafety, loadConfig } from '../lib/config/load.js';
import { createLogger } from '../lib/base/log.js';
import { startService } from '../lib/app/service.js';
import { childArgs, serveBench } from './child.js';

const { configDir } = childArgs<{ configDir: string }>();
const loaded = loadConfig(process.env, configDir);
if (E.isLeft(loaded)) {
  process.stderr.write(`${loaded.left.message}\n`);
  process.exit(2);
}
const config = loaded.right;
applyEmulatorSafety(config, process.env);
const logger = createLogger(config.logLevel);
process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception (the service goes on)'));
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (the service goes on)'));

const service = await startService(config, logger);
serveBench({ httpPort: service.httpPort }, async () => {
  await service.stop();
  logger.flush();
});
