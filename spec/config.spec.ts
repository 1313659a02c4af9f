import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { openBrokerWarning } from '../lib/config/checks.js';
import type { Config } from '../lib/config/codec.js';
import { applyEmulatorSafety, CONFIG_DIR, loadConfig } from '../lib/config/load.js';
import { displayConfig, redactConfig } from '../lib/config/redact.js';
import { SETTINGS } from '../lib/config/settings.js';
import { systemZone } from '../lib/core/protocol/local-time.js';
import { DEFAULT_LIMITS, DEFAULT_PRODUCERS } from '../lib/core/streams/deps.js';
import { DEFAULT_TOPICS } from '../lib/core/protocol/topics.js';
import { usesEmulator } from '../lib/store/firebase.js';

const REPO = path.resolve(CONFIG_DIR, '..');
const SECRET = 'pw-9f3c1e-not-for-logs';

// The real defaults without a developer's own (git-ignored) local.json.
let pristine: string;

function loaded(env: NodeJS.ProcessEnv = {}, dir = pristine): Config {
  const result = loadConfig(env, dir);
  if (E.isLeft(result)) throw new Error(`expected a valid configuration, got:\n${result.left.message}`);
  return result.right;
}

/** The error message of an invalid configuration. */
function rejected(env: NodeJS.ProcessEnv = {}, dir = pristine): string {
  const result = loadConfig(env, dir);
  if (E.isRight(result)) throw new Error('expected the configuration to be rejected');
  return result.left.message;
}

let tmp: string;

/** A config dir holding the real defaults and the given local.json (raw text or a value). */
function configDir(local?: unknown): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'config-'));
  fs.copyFileSync(path.join(CONFIG_DIR, 'default.json'), path.join(dir, 'default.json'));
  if (local !== undefined) {
    fs.writeFileSync(path.join(dir, 'local.json'), typeof local === 'string' ? local : JSON.stringify(local));
  }
  return dir;
}

function secretFile(content: string): string {
  const file = path.join(fs.mkdtempSync(path.join(tmp, 'secret-')), 'secret');
  fs.writeFileSync(file, content);
  return file;
}

describe('config', () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smarthome-config-spec-'));
    pristine = configDir();
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('defaults (config/default.json)', () => {
    it('gives every default of SPEC 11', () => {
      const c = loaded();
      expect(c.mqtt).to.deep.equal({
        clientId: 'smarthome-backend', embeddedHost: '127.0.0.1', embeddedPort: 1883, embeddedAllowAnonymous: false,
        embeddedMaxMessagesPerS: 100, queueSize: 1000, qos: 1,
      });
      expect(c.limits).to.deep.equal({ docBytes: 16384, schedules: 200, users: 200, unknownUidPerMin: 10 });
      expect(c.firebase).to.deep.equal({});
      expect(c.dataDir).to.equal('./data');
      expect(c.weather).to.deep.equal({ city: 'Seoul', intervalS: 900, baseUrl: 'https://api.openweathermap.org/data/2.5', timeoutMs: 10000 });
      expect(c.slack.webhookUrl).to.equal(undefined);
      expect(c.face.command).to.equal(undefined);
      expect(c.tz).to.equal(systemZone());
      expect([c.httpPort, c.commandConfirmS, c.scheduleGraceS, c.logLevel]).to.deep.equal([8080, 30, 300, 'info']);
    });

    it('holds the MQTT topics of SPEC 2', () => {
      expect(loaded().topics).to.deep.equal({
        commands: 'webos/server/#',
        controls: 'webos/smarthome/#',
        status: 'data/smarthome/status',
        deviceCommand: 'webos/smarthome/info',
        reply: 'webos/{device}/info',
        deviceError: 'webos/{device}/error',
        warning: 'data/error/warning',
        error: 'data/error/error',
        serverStatus: 'webos/server/status',
      });
    });

    it('knows every environment name of SPEC 11', () => {
      const names = SETTINGS.flatMap((s) => (s.env ? [s.env.name] : []));
      for (const name of [
        'MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'EMBEDDED_MQTT_HOST', 'EMBEDDED_MQTT_PORT', 'FIREBASE_PROJECT_ID',
        'GOOGLE_APPLICATION_CREDENTIALS', 'FIREBASE_DATABASE_URL', 'FIRESTORE_EMULATOR_HOST', 'FIREBASE_DATABASE_EMULATOR_HOST',
        'DATA_DIR', 'OPENWEATHER_API_KEY', 'OPENWEATHER_CITY', 'OPENWEATHER_INTERVAL_S', 'OPENWEATHER_BASE_URL',
        'SLACK_WEBHOOK_URL', 'FACE_COMMAND', 'SMARTHOME_TZ', 'HTTP_PORT', 'MQTT_CLIENT_ID', 'COMMAND_CONFIRM_S',
        'SCHEDULE_GRACE_S', 'LOG_LEVEL', 'EMBEDDED_MQTT_PASSWORD_FILE', 'EMBEDDED_MQTT_ACL_FILE', 'EMBEDDED_MQTT_ALLOW_ANONYMOUS',
        'EMBEDDED_MQTTS_PORT', 'FACE_RESULT_FILE', 'FACE_CWD',
      ]) {
        expect(names).to.include(name);
      }
    });
  });

  describe('config/local.json', () => {
    it('overrides the defaults; null leaves the default in place', () => {
      const c = loaded({}, configDir({ mqtt: { embeddedPort: 0, clientId: null }, weather: { city: 'Busan' }, tz: 'Asia/Seoul' }));
      expect(c.mqtt.embeddedPort).to.equal(0);
      expect(c.mqtt.clientId).to.equal('smarthome-backend');
      expect(c.weather.city).to.equal('Busan');
      expect(c.tz).to.equal('Asia/Seoul');
    });

    it('is optional', () => {
      expect(loaded({}, configDir()).httpPort).to.equal(8080);
    });

    it('can disable the status topic with ""', () => {
      expect(loaded({}, configDir({ topics: { status: '' } })).topics.status).to.equal('');
    });
  });

  describe('environment', () => {
    it('overrides local.json, which overrides the defaults', () => {
      const dir = configDir({ weather: { city: 'Busan', intervalS: 60 } });
      const c = loaded({ OPENWEATHER_CITY: 'Incheon', EMBEDDED_MQTT_PORT: '1884' }, dir);
      expect([c.weather.city, c.weather.intervalS, c.mqtt.embeddedPort]).to.deep.equal(['Incheon', 60, 1884]);
    });

    it('parses numbers, fractions, JSON arrays and every setting kind', () => {
      const c = loaded({
        MQTT_URL: 'mqtts://broker.example:8883',
        MQTT_USERNAME: 'backend',
        OPENWEATHER_INTERVAL_S: '0.5',
        FACE_COMMAND: '["python3","face.py","--once"]',
        SMARTHOME_TZ: 'Asia/Seoul',
        HTTP_PORT: '0',
        COMMAND_CONFIRM_S: '45',
        SCHEDULE_GRACE_S: '0',
        LOG_LEVEL: 'debug',
        DATA_DIR: '/var/lib/smarthome',
      });
      expect(c.mqtt.url).to.equal('mqtts://broker.example:8883');
      expect(c.mqtt.username).to.equal('backend');
      expect(c.weather.intervalS).to.equal(0.5);
      expect(c.face.command).to.deep.equal(['python3', 'face.py', '--once']);
      expect([c.tz, c.httpPort, c.commandConfirmS, c.scheduleGraceS, c.logLevel, c.dataDir])
        .to.deep.equal(['Asia/Seoul', 0, 45, 0, 'debug', '/var/lib/smarthome']);
    });

    it('reads the face recogniser settings and the Producer table (issue 13)', () => {
      const c = loaded({
        FACE_COMMAND: '["python3","realtime_facenet_git.py"]',
        FACE_CWD: '/home/pi/Face-Recognition/real-time-deep-face-recognition-master',
        FACE_RESULT_FILE: 'face.result',
        FACE_ENV: '["DISPLAY","CUDA_VISIBLE_DEVICES"]',
        COMMAND_PRODUCERS: '{"start_facer":["car","android"],"test":["*"]}',
      });
      expect(c.face).to.deep.include({ cwd: '/home/pi/Face-Recognition/real-time-deep-face-recognition-master', resultFile: 'face.result', env: ['DISPLAY', 'CUDA_VISIBLE_DEVICES'] });
      expect(c.producers).to.deep.equal({ start_facer: ['car', 'android'], test: ['*'] });
      expect(rejected({ FACE_ENV: '["NOT A NAME"]' })).to.match(/FACE_ENV: expected a JSON array of environment variable names/);
      expect(rejected({ COMMAND_PRODUCERS: '{"signin":["android/#"]}' })).to.match(/COMMAND_PRODUCERS: expected a JSON object of command -> list of Producers/);
    });

    it('has the Producer table of SPEC 4 as its default, the same the replay uses', () => {
      expect(loaded().producers).to.deep.equal(DEFAULT_PRODUCERS);
    });

    it("has the code's topic and limit tables as its defaults (config/default.json shows them to operators; they cannot drift)", () => {
      expect(loaded().topics).to.deep.equal(DEFAULT_TOPICS);
      expect(loaded().limits).to.deep.equal(DEFAULT_LIMITS);
    });

    it('accepts ws:// and wss:// broker URLs', () => {
      expect(loaded({ MQTT_URL: 'ws://127.0.0.1:9001/mqtt' }).mqtt.url).to.equal('ws://127.0.0.1:9001/mqtt');
      expect(loaded({ MQTT_URL: 'wss://broker.example/mqtt' }).mqtt.url).to.equal('wss://broker.example/mqtt');
    });

    it('treats an empty variable as unset', () => {
      const c = loaded({ MQTT_URL: '', EMBEDDED_MQTT_PORT: '' });
      expect([c.mqtt.url, c.mqtt.embeddedPort]).to.deep.equal([undefined, 1883]);
    });
  });

  describe('invalid values name the setting, what was expected and what was given', () => {
    const cases: Array<[string, NodeJS.ProcessEnv, RegExp]> = [
      ['port abc', { EMBEDDED_MQTT_PORT: 'abc' }, /EMBEDDED_MQTT_PORT: expected a port number 0-65535.*got "abc"/],
      ['port with trailing junk', { HTTP_PORT: '80x' }, /HTTP_PORT: expected a port number.*got "80x"/],
      ['port out of range', { EMBEDDED_MQTT_PORT: '65536' }, /EMBEDDED_MQTT_PORT: .*got "65536"/],
      ['fractional port', { HTTP_PORT: '80.5' }, /HTTP_PORT: .*got "80.5"/],
      ['negative interval', { OPENWEATHER_INTERVAL_S: '-5' }, /OPENWEATHER_INTERVAL_S: expected a number greater than 0, got "-5"/],
      ['zero interval', { OPENWEATHER_INTERVAL_S: '0' }, /OPENWEATHER_INTERVAL_S: expected a number greater than 0, got "0"/],
      ['infinite interval', { OPENWEATHER_INTERVAL_S: '1e999' }, /OPENWEATHER_INTERVAL_S: .*got "1e999"/],
      ['negative grace', { SCHEDULE_GRACE_S: '-1' }, /SCHEDULE_GRACE_S: expected a number 0 or greater, got "-1"/],
      ['face command not JSON', { FACE_COMMAND: 'python3 face.py' }, /FACE_COMMAND: expected a JSON array of strings.*got "python3 face.py" \(not valid JSON\)/],
      ['face command not strings', { FACE_COMMAND: '["python3",1]' }, /FACE_COMMAND: expected a JSON array of strings/],
      ['face command empty', { FACE_COMMAND: '[]' }, /FACE_COMMAND: expected a JSON array of strings.*got "\[\]"/],
      ['unknown zone', { SMARTHOME_TZ: 'Mars/Olympus_Mons' }, /SMARTHOME_TZ: expected an IANA time zone.*got "Mars\/Olympus_Mons"/],
      ['broker URL scheme', { MQTT_URL: 'http://broker:1883' }, /MQTT_URL: expected a URL starting with mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/, got "http:\/\/broker:1883"/],
      ['broker URL not a URL', { MQTT_URL: 'broker:1883' }, /MQTT_URL: /],
      ['log level', { LOG_LEVEL: 'verbose' }, /LOG_LEVEL: expected one of debug, info, warn, error, got "verbose"/],
      ['QoS', { MQTT_QOS: '3' }, /MQTT_QOS: expected an MQTT QoS: 0, 1 or 2, got "3"/],
      ['weather URL', { OPENWEATHER_BASE_URL: 'ftp://x' }, /OPENWEATHER_BASE_URL: expected an http:\/\/ or https:\/\/ URL/],
      ['emulator host', { FIREBASE_PROJECT_ID: 'p', FIRESTORE_EMULATOR_HOST: 'http://127.0.0.1:8080' }, /FIRESTORE_EMULATOR_HOST: expected host:port/],
    ];
    for (const [what, env, pattern] of cases) {
      it(what, () => {
        expect(rejected(env)).to.match(pattern);
      });
    }

    it('truncates long given values', () => {
      const message = rejected({ MQTT_URL: `http://${'x'.repeat(500)}` });
      expect(message).to.match(/\.\.\./);
      expect(message.length).to.be.below(300);
    });

    it('hides the password in a broker URL it rejects', () => {
      const message = rejected({ MQTT_URL: `http://user:${SECRET}@broker` });
      expect(message).to.include('user:***@broker');
      expect(message).not.to.include(SECRET);
    });

    it('reports every wrong setting at once', () => {
      const message = rejected({ EMBEDDED_MQTT_PORT: 'abc', LOG_LEVEL: 'loud' });
      expect(message).to.include('EMBEDDED_MQTT_PORT').and.to.include('LOG_LEVEL');
    });

    it('names the file and the path of a bad value from local.json', () => {
      expect(rejected({}, configDir({ mqtt: { embeddedPort: 'abc' } }))).to.match(/mqtt\.embeddedPort in .*local\.json: expected a port number.*got "abc"/);
    });

    it('rejects unknown settings, environment names and bad JSON in local.json', () => {
      expect(rejected({}, configDir({ mqtt: { embededPort: 1 } }))).to.match(/local\.json: unknown setting "mqtt\.embededPort"/);
      expect(rejected({}, configDir({ HTTP_PORT: 1 }))).to.match(/"HTTP_PORT" is an environment variable; in a config file write httpPort/);
      expect(rejected({}, configDir('{\n  "httpPort": 80,\n}'))).to.match(/local\.json: not valid JSON \(.* at line 3, column 1\)/);
      // V8 quotes the text around a bad token; that text could hold a misplaced secret.
      for (const text of [`{ "mqtt": { "password": ${SECRET} } }`, `{\n "mqtt": {"password": ${SECRET}}\n}`]) {
        expect(rejected({}, configDir(text))).to.match(/not valid JSON \(Unexpected token/).and.not.to.include(SECRET.slice(3));
      }
      expect(rejected({}, configDir('[]'))).to.match(/local\.json: expected a JSON object of settings/);
      expect(rejected({}, configDir({ slack: SECRET }))).to.match(/slack in .*local\.json: expected an object of settings, got a string/).and.not.to.include(SECRET);
    });

    it('rejects a missing default.json with one message', () => {
      const message = rejected({}, fs.mkdtempSync(path.join(tmp, 'empty-')));
      expect(message).to.match(/default\.json: cannot read it \(ENOENT\)/);
      expect(message.split('\n')).to.have.length(2);
    });
  });

  describe('secrets', () => {
    for (const [jsonPath, name, local] of [
      ['mqtt.password', 'MQTT_PASSWORD', { mqtt: { password: SECRET } }],
      ['weather.apiKey', 'OPENWEATHER_API_KEY', { weather: { apiKey: SECRET } }],
      ['slack.webhookUrl', 'SLACK_WEBHOOK_URL', { slack: { webhookUrl: `https://example.invalid/${SECRET}` } }],
      ['MQTT_PASSWORD', 'MQTT_PASSWORD', { MQTT_PASSWORD: SECRET }],
    ] as const) {
      it(`in a JSON config file is an error (${jsonPath}) that never shows the value`, () => {
        const message = rejected({}, configDir(local));
        expect(message).to.include(`${jsonPath} in `);
        expect(message).to.include(`secrets are never read from config files; set ${name} or ${name}_FILE`);
        expect(message).not.to.include(SECRET);
      });
    }

    it('come from the environment', () => {
      const c = loaded({ MQTT_PASSWORD: SECRET, OPENWEATHER_API_KEY: 'k', SLACK_WEBHOOK_URL: 'https://example.invalid/hook' });
      expect([c.mqtt.password, c.weather.apiKey, c.slack.webhookUrl]).to.deep.equal([SECRET, 'k', 'https://example.invalid/hook']);
    });

    it('come from <NAME>_FILE, without the trailing newline', () => {
      const c = loaded({
        MQTT_PASSWORD_FILE: secretFile(`${SECRET}\n`),
        OPENWEATHER_API_KEY_FILE: secretFile('key\r\n'),
        SLACK_WEBHOOK_URL_FILE: secretFile('https://example.invalid/hook'),
      });
      expect([c.mqtt.password, c.weather.apiKey, c.slack.webhookUrl]).to.deep.equal([SECRET, 'key', 'https://example.invalid/hook']);
    });

    it('reject both <NAME> and <NAME>_FILE, an unreadable file and an empty one', () => {
      const file = secretFile(SECRET);
      expect(rejected({ MQTT_PASSWORD: SECRET, MQTT_PASSWORD_FILE: file })).to.include('MQTT_PASSWORD and MQTT_PASSWORD_FILE are both set');
      expect(rejected({ MQTT_PASSWORD_FILE: path.join(tmp, 'nope') })).to.match(/MQTT_PASSWORD_FILE: cannot read the file .*nope.* \(ENOENT\)/);
      expect(rejected({ OPENWEATHER_API_KEY_FILE: secretFile('\n') })).to.match(/OPENWEATHER_API_KEY_FILE: the file .* is empty/);
    });

    it('are never shown in an error about them', () => {
      const message = rejected({ SLACK_WEBHOOK_URL: SECRET });
      expect(message).to.match(/SLACK_WEBHOOK_URL: expected an http:\/\/ or https:\/\/ URL, got a value that is not shown \(secret\)/);
      expect(message).not.to.include(SECRET);
      expect(rejected({ SLACK_WEBHOOK_URL_FILE: secretFile(SECRET) })).not.to.include(SECRET);
    });
  });

  describe('redaction', () => {
    const env = {
      MQTT_URL: `mqtt://backend:${SECRET}@broker:1883`,
      MQTT_PASSWORD: SECRET,
      OPENWEATHER_API_KEY: SECRET,
      SLACK_WEBHOOK_URL: `https://example.invalid/${SECRET}`,
      HTTP_TOKEN: SECRET,
    };

    it('shows every secret as *** and leaves the original alone', () => {
      const c = loaded(env);
      const r = redactConfig(c);
      expect([r.mqtt.password, r.weather.apiKey, r.slack.webhookUrl]).to.deep.equal(['***', '***', '***']);
      expect(r.mqtt.url).to.equal('mqtt://backend:***@broker:1883');
      expect(c.mqtt.password).to.equal(SECRET);
      expect(JSON.stringify(displayConfig(c))).not.to.include(SECRET);
    });

    it('redacts every setting that is a secret', () => {
      const display = displayConfig(loaded(env));
      for (const s of SETTINGS.filter((x) => x.env?.secret)) {
        // A secret may sit in a group (mqtt.password) or at the top (httpToken).
        const value = s.path.split('.').reduce<unknown>((o, key) => (o as Record<string, unknown> | undefined)?.[key], display);
        expect(value, s.path).to.equal('***');
      }
    });

    it('keeps absent secrets absent (null when displayed)', () => {
      const c = loaded();
      expect(redactConfig(c).mqtt.password).to.equal(undefined);
      expect(displayConfig(c).mqtt).to.deep.include({ password: null, url: null });
    });
  });

  describe('Firebase and its emulators', () => {
    const emulators = { FIREBASE_PROJECT_ID: 'demo-smarthome', FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080', FIREBASE_DATABASE_EMULATOR_HOST: '127.0.0.1:9000' };

    it('records the emulators and derives the RTDB URL', () => {
      expect(loaded(emulators).firebase).to.deep.equal({
        projectId: 'demo-smarthome',
        firestoreEmulatorHost: '127.0.0.1:8080',
        databaseEmulatorHost: '127.0.0.1:9000',
        databaseUrl: 'http://127.0.0.1:9000/?ns=demo-smarthome',
      });
    });

    it('applyEmulatorSafety sets METADATA_SERVER_DETECTION=none only with an emulator', () => {
      const env: NodeJS.ProcessEnv = {};
      expect(applyEmulatorSafety(loaded(), env)).to.equal(false);
      expect(env).to.deep.equal({});
      expect(applyEmulatorSafety(loaded(emulators), env)).to.equal(true);
      expect(env.METADATA_SERVER_DETECTION).to.equal('none');
    });

    it('applyEmulatorSafety agrees with the store on what is an emulator: a plain-http RTDB URL or an emulator variable counts', () => {
      const plainHttp = { FIREBASE_PROJECT_ID: 'demo-smarthome', FIREBASE_DATABASE_URL: 'http://127.0.0.1:9000/?ns=demo-smarthome' };
      const env: NodeJS.ProcessEnv = {};
      expect(usesEmulator(loaded(plainHttp).firebase, {})).to.equal(true);
      expect(applyEmulatorSafety(loaded(plainHttp), env)).to.equal(true);
      expect(env.METADATA_SERVER_DETECTION).to.equal('none');
      const cloud = { FIREBASE_PROJECT_ID: 'demo-smarthome', FIREBASE_DATABASE_URL: 'https://demo-smarthome-default-rtdb.firebaseio.com' };
      expect(applyEmulatorSafety(loaded(cloud), {})).to.equal(false);
      expect(applyEmulatorSafety(loaded(cloud), { FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' })).to.equal(true);
      expect(usesEmulator(loaded(cloud).firebase, { FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' })).to.equal(true);
    });

    it('refuses an emulator without a project id, and a project without an RTDB URL', () => {
      expect(rejected({ FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' })).to.match(/FIRESTORE_EMULATOR_HOST set but FIREBASE_PROJECT_ID is not/);
      expect(rejected({ FIREBASE_PROJECT_ID: 'p' })).to.match(/FIREBASE_DATABASE_URL: required with FIREBASE_PROJECT_ID/);
    });

    it('takes a real project with its key file, and checks that the file exists', () => {
      const key = secretFile('{}');
      const c = loaded({ FIREBASE_PROJECT_ID: 'p', FIREBASE_DATABASE_URL: 'https://p-default-rtdb.firebaseio.com', GOOGLE_APPLICATION_CREDENTIALS: key });
      expect(c.firebase).to.deep.equal({ projectId: 'p', databaseUrl: 'https://p-default-rtdb.firebaseio.com', credentialsFile: key });
      expect(rejected({ GOOGLE_APPLICATION_CREDENTIALS: path.join(tmp, 'missing.json') }))
        .to.match(/GOOGLE_APPLICATION_CREDENTIALS: expected a readable service-account key file, got .*missing\.json.* \(ENOENT\)/);
    });

    it('accepts emulator hosts only from the environment', () => {
      expect(rejected({}, configDir({ firebase: { firestoreEmulatorHost: '127.0.0.1:8080' } })))
        .to.include('set FIRESTORE_EMULATOR_HOST in the environment instead');
    });
  });

  describe('the embedded broker on the network (issue 14)', () => {
    it('refuses a non-loopback EMBEDDED_MQTT_HOST without a password file, saying how to make one', () => {
      const message = rejected({ EMBEDDED_MQTT_HOST: '0.0.0.0' });
      expect(message).to.include('EMBEDDED_MQTT_HOST=0.0.0.0 opens the embedded MQTT broker to the network')
        .and.to.include('mosquitto_passwd -c config/passwd android')
        .and.to.include('EMBEDDED_MQTT_PASSWORD_FILE=config/passwd')
        .and.to.include('EMBEDDED_MQTT_ALLOW_ANONYMOUS=true');
    });

    it('accepts it with a password file, with an account, with ALLOW_ANONYMOUS (then warns), or with an external broker', () => {
      expect(openBrokerWarning(loaded({ EMBEDDED_MQTT_HOST: '0.0.0.0', EMBEDDED_MQTT_PASSWORD_FILE: 'config/passwd' }))).to.equal(undefined);
      expect(openBrokerWarning(loaded({ EMBEDDED_MQTT_HOST: '192.168.0.10', MQTT_USERNAME: 'home', MQTT_PASSWORD: SECRET }))).to.equal(undefined);
      expect(openBrokerWarning(loaded({ EMBEDDED_MQTT_HOST: '0.0.0.0', MQTT_URL: 'mqtt://127.0.0.1:1883' }))).to.equal(undefined);
      expect(openBrokerWarning(loaded({ EMBEDDED_MQTT_HOST: '::', EMBEDDED_MQTT_ALLOW_ANONYMOUS: 'true' })))
        .to.match(/listens on :: and accepts anonymous clients/);
      for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) {
        expect(openBrokerWarning(loaded({ EMBEDDED_MQTT_HOST: host })), host).to.equal(undefined);
      }
      expect(rejected({ EMBEDDED_MQTT_ALLOW_ANONYMOUS: 'yes' })).to.include('EMBEDDED_MQTT_ALLOW_ANONYMOUS: expected true or false');
    });

    it('needs the port, certificate and key of the TLS listener together', () => {
      expect(rejected({ EMBEDDED_MQTTS_PORT: '8883' })).to.include('EMBEDDED_MQTTS_PORT set: the TLS listener needs all of EMBEDDED_MQTTS_PORT, EMBEDDED_MQTTS_CERT_FILE, EMBEDDED_MQTTS_KEY_FILE');
      expect(loaded({ EMBEDDED_MQTTS_PORT: '8883', EMBEDDED_MQTTS_CERT_FILE: 'c.pem', EMBEDDED_MQTTS_KEY_FILE: 'k.pem' }).mqtt.embeddedTlsPort).to.equal(8883);
    });
  });

  describe('npm run config (the real CLI)', () => {
    function runCli(extra: NodeJS.ProcessEnv) {
      // A clean environment, so that a developer's own settings cannot change the outcome.
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, METADATA_SERVER_DETECTION: 'none', ...extra };
      return spawnSync(process.execPath, ['--import=tsx', 'lib/cli/config-cli.ts'], { cwd: REPO, env, encoding: 'utf8' });
    }

    it('exits 2 and names EMBEDDED_MQTT_PORT when it is abc', () => {
      const run = runCli({ EMBEDDED_MQTT_PORT: 'abc' });
      expect(run.status).to.equal(2);
      expect(run.stderr).to.include('EMBEDDED_MQTT_PORT').and.to.include('"abc"');
      expect(run.stdout).to.equal('');
    });

    it('prints only JSON, with secrets as ***, and never the secret itself', () => {
      const run = runCli({ MQTT_PASSWORD: SECRET, OPENWEATHER_API_KEY: SECRET, SLACK_WEBHOOK_URL: `https://example.invalid/${SECRET}` });
      expect(run.status).to.equal(0);
      expect(run.stdout + run.stderr).not.to.include(SECRET);
      const shown: unknown = JSON.parse(run.stdout);
      expect(shown).to.have.nested.property('mqtt.password', '***');
      expect(shown).to.have.nested.property('slack.webhookUrl', '***');
    });

    it('exits 2 on a network address without a password file, and warns when anonymous clients are allowed', () => {
      const open = runCli({ EMBEDDED_MQTT_HOST: '0.0.0.0' });
      expect(open.status).to.equal(2);
      expect(open.stderr).to.include('mosquitto_passwd');
      const allowed = runCli({ EMBEDDED_MQTT_HOST: '0.0.0.0', EMBEDDED_MQTT_ALLOW_ANONYMOUS: 'true' });
      expect(allowed.status).to.equal(0);
      expect(allowed.stderr).to.match(/^warning: the embedded MQTT broker listens on 0\.0\.0\.0 and accepts anonymous clients/);
    });

    it('never shows a secret in an error either', () => {
      const run = runCli({ SLACK_WEBHOOK_URL: SECRET, HTTP_PORT: 'x' });
      expect(run.status).to.equal(2);
      expect(run.stdout + run.stderr).not.to.include(SECRET);
      expect(run.stderr).to.include('SLACK_WEBHOOK_URL').and.to.include('HTTP_PORT');
    });
  });
});
