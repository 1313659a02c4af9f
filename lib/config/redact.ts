/**
 * Showing the configuration: every secret as `***`, URLs with their credentials masked.
 */
import type { Config } from './codec.js';
import { getAt, maskUrl, setAt } from './layers.js';
import { SETTINGS } from './settings.js';

const SECRET = '***';
const hide = (value: string | undefined): string | undefined => (value === undefined ? undefined : SECRET);
const maskOpt = (value: string | undefined): string | undefined => (value === undefined ? undefined : maskUrl(value));

/** The same configuration with every secret as `***` (absent ones stay undefined). */
export function redactConfig(config: Config): Config {
  return {
    ...config,
    mqtt: { ...config.mqtt, url: maskOpt(config.mqtt.url), password: hide(config.mqtt.password) },
    firebase: { ...config.firebase, databaseUrl: maskOpt(config.firebase.databaseUrl) },
    weather: { ...config.weather, apiKey: hide(config.weather.apiKey), baseUrl: maskUrl(config.weather.baseUrl) },
    slack: { ...config.slack, webhookUrl: hide(config.slack.webhookUrl) },
    httpToken: hide(config.httpToken),
  };
}

/** The redacted configuration as plain JSON with every setting present (`null` = unset), in codec order. */
export function displayConfig(config: Config): Record<string, unknown> {
  const redacted = redactConfig(config);
  const out: Record<string, unknown> = {};
  for (const setting of SETTINGS) setAt(out, setting.path, getAt(redacted, setting.path) ?? null);
  return out;
}
