/**
 * Configuration (SPEC 11): `config/default.json`, then an optional `config/local.json`, then the
 * environment. The io-ts codec below is the one source of truth for the settings' shape and
 * types; each leaf is checked on its own so that an error names the one setting that is wrong,
 * by the name the user gave it (its environment variable, or its path in the file it came from).
 * Secrets are read only from the environment or a `<NAME>_FILE` and never appear in a message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { formatErrors, truncate } from './protocol/errors.js';
import { checkZone, systemZone } from './protocol/local-time.js';
import { usesEmulator } from './store/firebase.js';
import { errorText } from './base/error-text.js';

// ---- leaf codecs: their names are the "expected ..." part of error messages ----

const finite = (n: number): boolean => Number.isFinite(n);
const Port = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number 0-65535 (0 = any free port)');
const PositiveNumber = t.refinement(t.number, (n) => finite(n) && n > 0, 'a number greater than 0');
const NonNegativeNumber = t.refinement(t.number, (n) => finite(n) && n >= 0, 'a number 0 or greater');
const PositiveInt = t.refinement(t.number, (n) => Number.isInteger(n) && n > 0, 'a whole number greater than 0');
const NonNegativeInt = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'a whole number 0 or greater');
const Bool = t.refinement(t.boolean, () => true, 'true or false');
const NonEmpty = t.refinement(t.string, (s) => s.trim() !== '', 'a non-empty string');
const DeviceOrAny = t.refinement(t.string, (s) => s === '*' || /^[A-Za-z0-9_-]{1,64}$/.test(s), 'a device name or "*"');
const Host = t.refinement(t.string, (s) => /^[^\s/]+$/.test(s), 'a host name or IP address');
const HostPort = t.refinement(t.string, (s) => /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(s), 'host:port, e.g. 127.0.0.1:8080');
const LogLevel = t.keyof({ debug: null, info: null, warn: null, error: null }, 'one of debug, info, warn, error');
const Qos = t.union([t.literal(0), t.literal(1), t.literal(2)], 'an MQTT QoS: 0, 1 or 2');

function urlWith(schemes: readonly string[], name: string) {
  return t.refinement(t.string, (s) => URL.canParse(s) && schemes.includes(new URL(s).protocol) && new URL(s).hostname !== '', name);
}
const MqttUrl = urlWith(['mqtt:', 'mqtts:', 'ws:', 'wss:'], 'a URL starting with mqtt://, mqtts://, ws:// or wss://');
const HttpUrl = urlWith(['http:', 'https:'], 'an http:// or https:// URL');

const Zone = t.refinement(t.string, (s) => {
  try {
    checkZone(s);
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Asia/Seoul');

const Producers = t.refinement(
  t.record(t.string, t.array(DeviceOrAny)),
  (table) => Object.keys(table).length > 0,
  'a JSON object of command -> list of Producers ("*" = anyone), e.g. {"signin":["android","car"]}',
);

const EnvNames = t.array(t.refinement(t.string, (s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s), 'an environment variable name'), 'a JSON array of environment variable names, e.g. ["DISPLAY"]');
const FaceCommand = t.refinement(t.array(NonEmpty), (a) => a.length > 0, 'a JSON array of strings, e.g. ["python3","face.py"]');

// MQTT 3.1.1, 4.7: wildcards only as whole levels, `#` only last; published topics have none.
const NUL = String.fromCharCode(0);
const isTopicName = (s: string): boolean => s !== '' && !s.includes(NUL) && !/[+#]/.test(s);
const isTopicFilter = (s: string): boolean =>
  s !== '' &&
  !s.includes(NUL) &&
  s.split('/').every((level, i, all) => (level === '#' ? i === all.length - 1 : level === '+' || !/[+#]/.test(level)));
const TopicFilter = t.refinement(t.string, isTopicFilter, 'an MQTT topic filter (+ and # only as whole levels, # last)');
const TopicName = t.refinement(t.string, isTopicName, 'an MQTT topic without + or #');
const OptionalTopic = t.refinement(t.string, (s) => s === '' || isTopicName(s), 'an MQTT topic without + or #, or "" to disable');
const DeviceTopic = t.refinement(t.string, (s) => isTopicName(s) && s.includes('{device}'), 'an MQTT topic containing {device}, without + or #');

// ---- the whole configuration ----

export const ConfigCodec = t.intersection([t.type({
  mqtt: t.intersection([
    t.partial({
      url: MqttUrl,
      username: NonEmpty,
      password: NonEmpty,
      embeddedPasswordFile: NonEmpty,
      embeddedAclFile: NonEmpty,
      embeddedTlsPort: Port,
      embeddedTlsCertFile: NonEmpty,
      embeddedTlsKeyFile: NonEmpty,
    }),
    t.type({
      clientId: NonEmpty,
      embeddedHost: Host,
      embeddedPort: Port,
      embeddedAllowAnonymous: Bool,
      embeddedMaxMessagesPerS: NonNegativeInt,
      queueSize: PositiveInt,
      qos: Qos,
    }),
  ]),
  /** What one client can make the service do (issue 14); each is refused with an error beyond. */
  limits: t.type({ docBytes: PositiveInt, schedules: PositiveInt, users: PositiveInt, unknownUidPerMin: PositiveInt }),
  firebase: t.partial({
    projectId: NonEmpty,
    credentialsFile: NonEmpty,
    databaseUrl: HttpUrl,
    firestoreEmulatorHost: HostPort,
    databaseEmulatorHost: HostPort,
  }),
  dataDir: NonEmpty,
  weather: t.intersection([
    t.partial({ apiKey: NonEmpty }),
    t.type({ city: NonEmpty, intervalS: PositiveNumber, baseUrl: HttpUrl, timeoutMs: PositiveNumber }),
  ]),
  slack: t.intersection([t.partial({ webhookUrl: HttpUrl }), t.type({ windowS: NonNegativeNumber })]),
  face: t.intersection([
    t.partial({ command: FaceCommand, cwd: NonEmpty, resultFile: NonEmpty, env: EnvNames }),
    t.type({ timeoutS: PositiveNumber }),
  ]),
  tz: Zone,
  httpHost: Host,
  httpPort: Port,
  dashboardStaleS: PositiveNumber,
  commandConfirmS: PositiveNumber,
  scheduleGraceS: NonNegativeNumber,
  producers: Producers,
  logLevel: LogLevel,
  shutdownTimeoutS: PositiveNumber,
  topics: t.type({
    commands: TopicFilter,
    controls: TopicFilter,
    status: OptionalTopic,
    deviceCommand: TopicName,
    reply: DeviceTopic,
    deviceError: DeviceTopic,
    warning: TopicName,
    error: TopicName,
    serverStatus: TopicName,
  }),
}), t.partial({
  /** Required by the HTTP endpoint (dashboard, its event stream, /metrics) on a non-loopback address. */
  httpToken: NonEmpty,
})]);

export type Config = t.TypeOf<typeof ConfigCodec>;

export interface ConfigError {
  readonly _tag: 'ConfigError';
  /** Every problem found, one per line, ready for stderr. */
  readonly message: string;
  readonly problems: readonly string[];
}

// ---- environment names (SPEC 11: a contract; the ones marked extra are ours) ----

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
const BY_PATH = new Map(SETTINGS.map((s) => [s.path, s]));
const BY_ENV = new Map(SETTINGS.flatMap((s) => (s.env ? [[s.env.name, s] as const] : [])));
const GROUPS = new Set(SETTINGS.flatMap((s) => (s.path.includes('.') ? [s.path.split('.')[0] ?? ''] : [])));

// ---- reading the layers ----

/** A value and where it came from, with the given value already made safe to print. */
interface Given {
  readonly value: unknown;
  /** `EMBEDDED_MQTT_PORT`, or `mqtt.embeddedPort in config/local.json`. */
  readonly where: string;
  readonly shown: string;
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

function getAt(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, key) => (isRecord(o) ? o[key] : undefined), obj);
}

function setAt(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const last = keys.pop() ?? dotted;
  let o = obj;
  for (const key of keys) {
    const existing = o[key];
    const next: Record<string, unknown> = isRecord(existing) ? existing : {};
    o[key] = next;
    o = next;
  }
  o[last] = value;
}

/** Hides the password of a URL's user info (`mqtt://user:pass@host`). */
export function maskUrl(text: string): string {
  return text.replace(/\/\/([^/@:\s]*):[^/@\s]*@/, '//$1:***@');
}

function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(maskUrl(text), 60);
}

const HIDDEN = 'a value that is not shown (secret)';

function displayName(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Reads one JSON file into `into`; `null` means "not set here", so the layer below stays. */
function readFileLayer(file: string, optional: boolean, into: Map<string, Given>, problems: string[]): boolean {
  const name = displayName(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (optional && isNodeError(err) && err.code === 'ENOENT') return true;
    problems.push(`${name}: cannot read it (${errorCode(err)})`);
    return false;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    problems.push(`${name}: not valid JSON (${jsonProblem(err, text)})`);
    return false;
  }
  if (!isRecord(json)) {
    problems.push(`${name}: expected a JSON object of settings, got ${show(json)}`);
    return false;
  }
  readObject(json, '', name, into, problems);
  return true;
}

/**
 * V8's reason without the snippet of the file it may quote (a misplaced secret could be in it),
 * with the position as line and column.
 */
function jsonProblem(err: unknown, text: string): string {
  const message = errorText(err);
  const reason = (message.split('"')[0] ?? '').replace(/,\s*(\.\.\.)?\s*$/, '').replace(/ at position \d+.*$/, '').replace(/ in JSON$/, '');
  const at = /at position (\d+)/.exec(message);
  if (at === null) return truncate(reason, 80);
  const before = text.slice(0, Number(at[1])).split('\n');
  return `${truncate(reason, 80)} at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function readObject(obj: Record<string, unknown>, prefix: string, file: string, into: Map<string, Given>, problems: string[]): void {
  for (const [key, value] of Object.entries(obj)) {
    const at = prefix === '' ? key : `${prefix}.${key}`;
    const setting = BY_PATH.get(at) ?? BY_ENV.get(key);
    if (setting?.env?.secret) {
      // The value is never shown: it is a secret that was put where it must not be.
      problems.push(`${at} in ${file}: secrets are never read from config files; set ${setting.env.name} or ${setting.env.name}_FILE in the environment`);
    } else if (setting?.env?.envOnly) {
      problems.push(`${at} in ${file}: set ${setting.env.name} in the environment instead (firebase-admin reads it from there)`);
    } else if (setting && setting.path !== at) {
      problems.push(`${at} in ${file}: "${key}" is an environment variable; in a config file write ${setting.path}`);
    } else if (setting) {
      if (value !== null) into.set(at, { value, where: `${at} in ${file}`, shown: show(value) });
    } else if (GROUPS.has(at) && prefix === '') {
      if (isRecord(value)) readObject(value, at, file, into, problems);
      // Only the type: `"slack": "<webhook URL>"` is an easy slip, and its value must not be echoed.
      else if (value !== null) problems.push(`${at} in ${file}: expected an object of settings, got ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}`);
    } else {
      problems.push(`${file}: unknown setting ${truncate(JSON.stringify(at), 60)}`);
    }
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The environment's value for a setting; an empty variable counts as unset. */
function readEnv(setting: Setting, env: NodeJS.ProcessEnv, into: Map<string, Given>, problems: string[]): void {
  const spec = setting.env;
  if (!spec) return;
  const direct = env[spec.name] || undefined;
  const fileVar = `${spec.name}_FILE`;
  const file = spec.secret ? env[fileVar] || undefined : undefined;
  if (direct !== undefined && file !== undefined) {
    problems.push(`${spec.name} and ${fileVar} are both set: set only one`);
    return;
  }
  if (file !== undefined) {
    try {
      // Secret files usually end with a newline that is not part of the secret.
      const secret = fs.readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
      if (secret === '') problems.push(`${fileVar}: the file ${show(file)} is empty`);
      else into.set(setting.path, { value: secret, where: fileVar, shown: HIDDEN });
    } catch (err) {
      problems.push(`${fileVar}: cannot read the file ${show(file)} (${errorCode(err)})`);
    }
    return;
  }
  if (direct === undefined) return;
  const shown = spec.secret ? HIDDEN : show(direct);
  if (spec.parse === 'number') {
    // Strict: "12abc" or "abc" stay strings, so the setting's codec rejects them with its own words.
    const trimmed = direct.trim();
    into.set(setting.path, { value: NUMBER.test(trimmed) ? Number(trimmed) : direct, where: spec.name, shown });
  } else if (spec.parse === 'json') {
    try {
      into.set(setting.path, { value: JSON.parse(direct), where: spec.name, shown });
    } catch {
      // Kept as text, which the codec rejects: the message then reads like every other one.
      into.set(setting.path, { value: direct, where: spec.name, shown: `${shown} (not valid JSON)` });
    }
  } else {
    into.set(setting.path, { value: direct, where: spec.name, shown });
  }
}

const isNodeError = (err: unknown): err is NodeJS.ErrnoException => err instanceof Error && 'code' in err;
const errorCode = (err: unknown): string => (isNodeError(err) && err.code ? err.code : errorText(err));

// ---- checks that span settings or touch the file system ----

function label(setting: string, given: Map<string, Given>): string {
  return given.get(setting)?.where ?? BY_PATH.get(setting)?.env?.name ?? setting;
}

function checkFirebase(config: Config, given: Map<string, Given>): string[] {
  const fb = config.firebase;
  const problems: string[] = [];
  const emulators = ['firebase.firestoreEmulatorHost', 'firebase.databaseEmulatorHost'].filter((p) => given.has(p));
  if (fb.projectId === undefined && emulators.length > 0) {
    // Without a project id the local store is used, so the emulator would be silently ignored.
    problems.push(`${emulators.map((p) => label(p, given)).join(' and ')} set but ${label('firebase.projectId', given)} is not: set it (any id, e.g. demo-smarthome, for emulators)`);
  }
  if (fb.projectId !== undefined && fb.databaseUrl === undefined && fb.databaseEmulatorHost === undefined) {
    problems.push(`${label('firebase.databaseUrl', given)}: required with ${label('firebase.projectId', given)} (or set FIREBASE_DATABASE_EMULATOR_HOST)`);
  }
  if (fb.credentialsFile !== undefined) {
    try {
      if (!fs.statSync(fb.credentialsFile).isFile()) throw new Error('not a file');
      fs.accessSync(fb.credentialsFile, fs.constants.R_OK);
    } catch (err) {
      // The path is shown, never the content: that is the secret.
      problems.push(`${label('firebase.credentialsFile', given)}: expected a readable service-account key file, got ${show(fb.credentialsFile)} (${errorCode(err)})`);
    }
  }
  return problems;
}

/** Addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '[::1]';
}

/**
 * The embedded broker must not be open to the network by accident (issue 14): listening beyond
 * this machine needs accounts, or an explicit EMBEDDED_MQTT_ALLOW_ANONYMOUS=true.
 */
function checkEmbeddedBroker(config: Config, given: Map<string, Given>): string[] {
  const { mqtt } = config;
  if (mqtt.url !== undefined) return [];
  const problems: string[] = [];
  const accounts = mqtt.embeddedPasswordFile !== undefined || mqtt.username !== undefined;
  if (!isLoopback(mqtt.embeddedHost) && !accounts && !mqtt.embeddedAllowAnonymous) {
    problems.push(
      `${label('mqtt.embeddedHost', given)}=${mqtt.embeddedHost} opens the embedded MQTT broker to the network, but ` +
        `${label('mqtt.embeddedPasswordFile', given)} is not set, so anyone who reaches it could read every message and send ` +
        `device commands. Create accounts with mosquitto_passwd (e.g. mosquitto_passwd -c config/passwd android, then ` +
        `mosquitto_passwd config/passwd car) and set EMBEDDED_MQTT_PASSWORD_FILE=config/passwd (README: "Opening the broker ` +
        `to your home network"); or set EMBEDDED_MQTT_ALLOW_ANONYMOUS=true to accept anonymous clients knowingly`,
    );
  }
  const tls = ['mqtt.embeddedTlsPort', 'mqtt.embeddedTlsCertFile', 'mqtt.embeddedTlsKeyFile'];
  const set = tls.filter((p) => getAt(config, p) !== undefined);
  if (set.length > 0 && set.length < tls.length) {
    problems.push(`${set.map((p) => label(p, given)).join(' and ')} set: the TLS listener needs all of ${tls.map((p) => label(p, given)).join(', ')}`);
  }
  return problems;
}

/** The warning to give at every start when the embedded broker is knowingly open to anonymous clients. */
export function openBrokerWarning(config: Config): string | undefined {
  const { mqtt } = config;
  if (mqtt.url !== undefined || isLoopback(mqtt.embeddedHost) || mqtt.embeddedPasswordFile !== undefined || mqtt.username !== undefined) return undefined;
  return `the embedded MQTT broker listens on ${mqtt.embeddedHost} and accepts anonymous clients (EMBEDDED_MQTT_ALLOW_ANONYMOUS=true): ` +
    'anyone on the network can read every message and send device commands; set EMBEDDED_MQTT_PASSWORD_FILE to require accounts';
}

/** With the RTDB emulator and no URL, the namespace is the project id (firebase-tools' convention). */
function deriveDatabaseUrl(config: Config): Config {
  const { projectId, databaseUrl, databaseEmulatorHost } = config.firebase;
  if (databaseUrl !== undefined || databaseEmulatorHost === undefined || projectId === undefined) return config;
  return { ...config, firebase: { ...config.firebase, databaseUrl: `http://${databaseEmulatorHost}/?ns=${encodeURIComponent(projectId)}` } };
}

// ---- the loader ----

export const CONFIG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'config');

const fail = (problems: readonly string[]): ConfigError => ({
  _tag: 'ConfigError',
  problems,
  message: `Invalid configuration (see README.md, Configuration):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env, dir: string = CONFIG_DIR): E.Either<ConfigError, Config> {
  const given = new Map<string, Given>();
  const problems: string[] = [];
  // Without the defaults every setting would be reported missing: one message is clearer.
  if (!readFileLayer(path.join(dir, 'default.json'), false, given, problems)) return E.left(fail(problems));
  readFileLayer(path.join(dir, 'local.json'), true, given, problems);
  for (const setting of SETTINGS) readEnv(setting, env, given, problems);
  if (!given.has('tz')) given.set('tz', { value: systemZone(), where: 'the system zone', shown: show(systemZone()) });

  // Each setting on its own, so that every wrong one is reported, by the name it was given.
  const tree: Record<string, unknown> = Object.fromEntries([...GROUPS].map((g) => [g, {}]));
  for (const setting of SETTINGS) {
    const g = given.get(setting.path);
    if (g === undefined) {
      if (setting.required) problems.push(`${setting.env?.name ?? setting.path}: not set (config/default.json should set ${setting.path})`);
    } else if (E.isLeft(setting.codec.decode(g.value))) {
      problems.push(`${g.where}: expected ${setting.codec.name}, got ${g.shown}`);
    } else {
      setAt(tree, setting.path, g.value);
    }
  }
  if (problems.length > 0) return E.left(fail(problems));

  // The settings are valid one by one; decoding the whole gives the typed object.
  const decoded = formatErrors('configuration', ConfigCodec.decode(tree));
  if (E.isLeft(decoded)) return E.left(fail([decoded.left.message]));
  const crossProblems = [...checkFirebase(decoded.right, given), ...checkEmbeddedBroker(decoded.right, given)];
  return crossProblems.length > 0 ? E.left(fail(crossProblems)) : E.right(deriveDatabaseUrl(decoded.right));
}

/** For `main`: the configuration, or a message on stderr and exit code 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, dir: string = CONFIG_DIR): Config {
  const result = loadConfig(env, dir);
  if (E.isLeft(result)) {
    process.stderr.write(`${result.left.message}\n`);
    process.exit(2);
  }
  return result.right;
}

/**
 * With emulators, firebase-admin must never probe the cloud metadata server (slow, and wrong
 * off-cloud): SPEC 11 says the service sets METADATA_SERVER_DETECTION=none. Returns whether it did.
 * Whether there is an emulator is the store's one rule (`usesEmulator` in store/firebase.ts).
 */
export function applyEmulatorSafety(config: Config, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!usesEmulator(config.firebase, env)) return false;
  env.METADATA_SERVER_DETECTION = 'none';
  return true;
}

// ---- showing it ----

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
