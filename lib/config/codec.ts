/**
 * The configuration's shape (SPEC 11): the io-ts codec is the one source of truth for the
 * settings' shape and types; each leaf is checked on its own so that an error names the one
 * setting that is wrong.
 */
import * as t from 'io-ts';
import { checkZone } from '../core/protocol/local-time.js';

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
  events: t.type({ fsyncMs: PositiveNumber, retainDays: PositiveNumber, maxMb: PositiveNumber }),
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
