/**
 * One Slack line at start and at stop, as the original's operators had (issue 13 item 7), and
 * the log line that says what the service runs with. `where` names the broker and the store.
 */
import pkg from '../../package.json' with { type: 'json' };
import type { Logger } from '../base/log.js';
import type { Config } from '../config/codec.js';
import { redactUrl } from '../drivers/mqtt/connection.js';
import type { Store } from '../store/open-store.js';
import type { ServiceHealth } from './health.js';

const VERSION = pkg.version;

/** Announces the start; returns the announcement of the stop. */
export function announceStart(
  config: Config, mqtt: { url: string; embedded: boolean }, store: Store, httpPort: number, health: ServiceHealth, logger: Logger,
): () => void {
  const where = `MQTT ${redactUrl(mqtt.url)}${mqtt.embedded ? ' (embedded broker)' : ''}, ` +
    `store ${store.kind === 'local' ? `local in ${config.dataDir}` : `Firebase project ${config.firebase.projectId}`}`;
  health.alert('info', `smarthome backend ${VERSION} started: ${where}`);
  logger.info(
    `smarthome backend running: ${where}, ` +
      `weather ${config.weather.apiKey ? `every ${config.weather.intervalS} s for ${config.weather.city}` : 'off'}, ` +
      `Slack ${config.slack.webhookUrl ? 'on' : 'off'}, health http://${config.httpHost}:${httpPort}/healthz`,
  );
  return () => health.alert('info', `smarthome backend ${VERSION} stopping: ${where}`);
}
