/**
 * Every setting, walked out of the codec, with its environment variable (SPEC 11's names).
 */
import * as t from 'io-ts';
import { ConfigCodec } from './codec.js';

interface EnvName {
  readonly name: string;
  /** How the text becomes a value: strictly as a number, as JSON, or as the string itself. */
  readonly parse?: 'number' | 'json';
  /** Only from the environment or `<name>_FILE`, and never shown. */
  readonly secret?: true;
  /** Only from the environment (firebase-admin reads these itself), but not secret. */
  readonly envOnly?: true;
}

const ENV: Readonly<Record<string, EnvName>> = {
  'mqtt.url': { name: 'MQTT_URL' },
  'mqtt.username': { name: 'MQTT_USERNAME' },
  'mqtt.password': { name: 'MQTT_PASSWORD', secret: true },
  'mqtt.clientId': { name: 'MQTT_CLIENT_ID' },
  'mqtt.embeddedHost': { name: 'EMBEDDED_MQTT_HOST' },
  'mqtt.embeddedPort': { name: 'EMBEDDED_MQTT_PORT', parse: 'number' },
  'mqtt.embeddedPasswordFile': { name: 'EMBEDDED_MQTT_PASSWORD_FILE' },
  'mqtt.embeddedAclFile': { name: 'EMBEDDED_MQTT_ACL_FILE' },
  'mqtt.embeddedAllowAnonymous': { name: 'EMBEDDED_MQTT_ALLOW_ANONYMOUS', parse: 'json' },
  'mqtt.embeddedTlsPort': { name: 'EMBEDDED_MQTTS_PORT', parse: 'number' },
  'mqtt.embeddedTlsCertFile': { name: 'EMBEDDED_MQTTS_CERT_FILE' },
  'mqtt.embeddedTlsKeyFile': { name: 'EMBEDDED_MQTTS_KEY_FILE' },
  'mqtt.embeddedMaxMessagesPerS': { name: 'EMBEDDED_MQTT_MAX_MESSAGES_PER_S', parse: 'number' }, // extra
  'mqtt.queueSize': { name: 'MQTT_QUEUE_SIZE', parse: 'number' }, // extra
  'mqtt.qos': { name: 'MQTT_QOS', parse: 'number' }, // extra
  'limits.docBytes': { name: 'LIMIT_DOC_BYTES', parse: 'number' }, // extra
  'limits.schedules': { name: 'LIMIT_SCHEDULES', parse: 'number' }, // extra
  'limits.users': { name: 'LIMIT_USERS', parse: 'number' }, // extra
  'limits.unknownUidPerMin': { name: 'LIMIT_UNKNOWN_UID_PER_MIN', parse: 'number' }, // extra
  'firebase.projectId': { name: 'FIREBASE_PROJECT_ID' },
  'firebase.credentialsFile': { name: 'GOOGLE_APPLICATION_CREDENTIALS' },
  'firebase.databaseUrl': { name: 'FIREBASE_DATABASE_URL' },
  'firebase.firestoreEmulatorHost': { name: 'FIRESTORE_EMULATOR_HOST', envOnly: true },
  'firebase.databaseEmulatorHost': { name: 'FIREBASE_DATABASE_EMULATOR_HOST', envOnly: true },
  dataDir: { name: 'DATA_DIR' },
  'events.fsyncMs': { name: 'EVENTS_FSYNC_MS', parse: 'number' }, // extra
  'events.retainDays': { name: 'EVENTS_RETAIN_DAYS', parse: 'number' },
  'events.maxMb': { name: 'EVENTS_MAX_MB', parse: 'number' },
  'weather.apiKey': { name: 'OPENWEATHER_API_KEY', secret: true },
  'weather.city': { name: 'OPENWEATHER_CITY' },
  'weather.intervalS': { name: 'OPENWEATHER_INTERVAL_S', parse: 'number' },
  'weather.baseUrl': { name: 'OPENWEATHER_BASE_URL' },
  'weather.timeoutMs': { name: 'OPENWEATHER_TIMEOUT_MS', parse: 'number' }, // extra
  'slack.webhookUrl': { name: 'SLACK_WEBHOOK_URL', secret: true },
  'slack.windowS': { name: 'SLACK_WINDOW_S', parse: 'number' }, // extra
  'face.command': { name: 'FACE_COMMAND', parse: 'json' },
  'face.timeoutS': { name: 'FACE_TIMEOUT_S', parse: 'number' }, // extra
  'face.cwd': { name: 'FACE_CWD' },
  'face.resultFile': { name: 'FACE_RESULT_FILE' },
  'face.env': { name: 'FACE_ENV', parse: 'json' }, // extra
  tz: { name: 'SMARTHOME_TZ' },
  httpHost: { name: 'HTTP_HOST' }, // extra
  httpPort: { name: 'HTTP_PORT', parse: 'number' },
  httpToken: { name: 'HTTP_TOKEN', secret: true }, // extra
  dashboardStaleS: { name: 'DASHBOARD_STALE_S', parse: 'number' }, // extra
  commandConfirmS: { name: 'COMMAND_CONFIRM_S', parse: 'number' },
  scheduleGraceS: { name: 'SCHEDULE_GRACE_S', parse: 'number' },
  producers: { name: 'COMMAND_PRODUCERS', parse: 'json' }, // extra
  logLevel: { name: 'LOG_LEVEL' },
  shutdownTimeoutS: { name: 'SHUTDOWN_TIMEOUT_S', parse: 'number' }, // extra
};

// ---- the settings, walked out of the codec ----

export interface Setting {
  /** Dotted path in the config object and in the JSON files, e.g. `mqtt.embeddedPort`. */
  readonly path: string;
  readonly codec: t.Mixed;
  readonly required: boolean;
  readonly env?: EnvName;
}

function walk(codec: t.Mixed, prefix: string, required: boolean): Setting[] {
  if (codec instanceof t.IntersectionType) {
    const parts: t.Mixed[] = codec.types;
    return parts.flatMap((part) => walk(part, prefix, required));
  }
  if (codec instanceof t.InterfaceType || codec instanceof t.PartialType) {
    const props: Record<string, t.Mixed> = codec.props;
    const isRequired = codec instanceof t.InterfaceType;
    return Object.entries(props).flatMap(([key, prop]) => walk(prop, prefix === '' ? key : `${prefix}.${key}`, isRequired));
  }
  return [{ path: prefix, codec, required, env: ENV[prefix] }];
}

export const SETTINGS: readonly Setting[] = walk(ConfigCodec, '', true);
export const BY_PATH = new Map(SETTINGS.map((s) => [s.path, s]));
export const BY_ENV = new Map(SETTINGS.flatMap((s) => (s.env ? [[s.env.name, s] as const] : [])));
export const GROUPS = new Set(SETTINGS.flatMap((s) => (s.path.includes('.') ? [s.path.split('.')[0] ?? ''] : [])));
