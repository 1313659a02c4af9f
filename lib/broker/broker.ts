/**
 * The embedded MQTT broker (aedes, in-process) the backend starts when no `MQTT_URL` is set
 * (SPEC 9, 11), so that a fresh checkout runs with `npm start` alone. Also what the tests use.
 */
import { timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import { allowed, parseAclFile, type Acl } from './broker-acl.js';
import { openServiceSession } from './broker-session.js';
import { uncachedPacketIds } from '../drivers/mqtt/quiet-debug.js';
import { acceptDottedTopics } from './broker-dots.js';
import { parsePasswordFile, verifyPassword, type PasswordTable } from './broker-passwords.js';
import { silentLogger, type Logger } from '../base/log.js';
import { errorText } from '../base/error-text.js';

export interface EmbeddedBrokerOptions {
  /** Default `127.0.0.1` (SPEC 11 `EMBEDDED_MQTT_HOST`). */
  readonly host?: string;
  /** Default 1883 (SPEC 11 `EMBEDDED_MQTT_PORT`); 0 picks a free port. */
  readonly port?: number;
  /** When set, clients must present exactly these credentials. */
  readonly username?: string;
  readonly password?: string;
  /** Serve MQTT over TLS (`mqtts://`) with this key and certificate (PEM). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /**
   * An aedes persistence to use, e.g. `previous.persistence` to restart a broker with its
   * sessions, subscriptions, queued QoS 1 messages and retained messages. Default: a fresh
   * in-memory one.
   */
  readonly persistence?: AedesOptions['persistence'];
  /** Accounts in Mosquitto's password-file format (`EMBEDDED_MQTT_PASSWORD_FILE`); anonymous clients are then refused. */
  readonly passwordFile?: string;
  /** Permissions in Mosquitto's ACL format (`EMBEDDED_MQTT_ACL_FILE`); what it does not grant is refused. */
  readonly aclFile?: string;
  /**
   * The service's own client id: only a connection whose password is `secret` may use it, so
   * nobody can take the service's session over. That connection is also exempt from the ACL
   * and the rate limit (it is the service itself).
   */
  readonly reserved?: { readonly clientId: string; readonly secret: string };
  /**
   * With `reserved`: the service's own session (`clean: false`) is subscribed to these topics
   * before the broker listens, so that nothing a device sends from the first instant is
   * acknowledged and dropped for want of a subscriber (lib/broker/broker-session.ts).
   */
  readonly serviceSession?: { readonly username?: string; readonly topics: readonly string[]; readonly qos: 0 | 1 | 2 };
  /** A second listener, MQTT over TLS, on the same host (`EMBEDDED_MQTTS_PORT`); the files are PEM. */
  readonly mqtts?: { readonly port: number; readonly certFile: string; readonly keyFile: string };
  /** PUBLISH packets a second one client may send; the connection of a client that sends more is closed. */
  readonly maxMessagesPerSecond?: number;
  /** An operator alert (a client over the rate limit); the service turns it into a Slack alert. */
  readonly onAlert?: (text: string) => void;
  readonly logger?: Logger;
}

export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  /** `mqtt://host:port` (or `mqtts://`), without credentials. */
  readonly url: string;
  readonly aedes: Aedes;
  /** The broker's persistence, to hand to a restarted broker. */
  readonly persistence: AedesOptions['persistence'];
  /** The TLS listener's port and `mqtts://host:port`, when `mqtts` was given. */
  readonly tlsPort?: number;
  readonly tlsUrl?: string;
  /**
   * Reads the password file, the ACL file and the TLS certificate again (SIGHUP). Connected
   * clients stay; what they do next is checked against the new files. A file that does not read
   * or parse keeps the old one in force; its problem is returned (empty: all reloaded).
   */
  reload(): string[];
  /** Stops listening and closes every client connection. Idempotent. */
  close(): Promise<void>;
}

/** The embedded broker's port is taken by another process. */
export class BrokerPortInUseError extends Error {
  override readonly name = 'BrokerPortInUseError';
  constructor(readonly host: string, readonly port: number) {
    super(
      `Cannot start the embedded MQTT broker: ${host}:${port} is already in use. ` +
      `If that is an MQTT broker, use it instead: set MQTT_URL=mqtt://${host}:${port} ` +
      `(or choose another port with EMBEDDED_MQTT_PORT).`,
    );
  }
}

function sameSecret(given: string | Buffer | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.isBuffer(given) ? given : Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** MQTT 3.1.1 CONNACK return codes: 2 identifier rejected, 4 bad user name or password. */
function authError(returnCode: 2 | 4 = 4): AuthenticateError {
  const text = returnCode === 2 ? 'identifier rejected' : 'bad user name or password';
  return Object.assign(new Error(text), { returnCode }) as AuthenticateError;
}

/** What a connected client signed in as, and whether it is the service itself. */
interface Session {
  readonly username: string | undefined;
  readonly service: boolean;
  /** Start of the current one-second window of the rate limit, and PUBLISHes in it. */
  second: number;
  count: number;
}

/** A file the broker reads (at start and on reload); an error says which and why. */
function readFile(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read the ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}

function loadFile<T>(what: string, file: string | undefined, parse: (text: string, where: string) => T | { readonly error: string }): T | undefined {
  if (file === undefined) return undefined;
  const result = parse(readFile(what, file).toString('utf8'), `${what} ${file}`);
  if (typeof result === 'object' && result !== null && 'error' in result) throw new Error(result.error);
  return result as T;
}

const readTls = (files: { readonly certFile: string; readonly keyFile: string }): { cert: Buffer; key: Buffer } =>
  ({ cert: readFile('TLS certificate file', files.certFile), key: readFile('TLS key file', files.keyFile) });

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 1883;
  const logger = (options.logger ?? silentLogger).child({ component: 'broker' });
  const { username, password } = options;
  if ((username === undefined) !== (password === undefined)) {
    throw new Error('Embedded MQTT broker: set both a username and a password, or neither');
  }

  // The files are read before anything listens: a broken one stops start-up with its reason.
  let passwords: PasswordTable | undefined = loadFile('password file', options.passwordFile, parsePasswordFile);
  let acl: Acl | undefined = loadFile('ACL file', options.aclFile, parseAclFile);
  let tlsFiles = options.mqtts ? readTls(options.mqtts) : undefined;
  const { reserved } = options;
  const maxPerSecond = options.maxMessagesPerSecond ?? 0;
  const sessions = new WeakMap<Client, Session>();

  const authenticate = async (client: Client, user: string | undefined, pass: Buffer | undefined): Promise<AuthenticateError | Session> => {
    if (reserved !== undefined && client.id === reserved.clientId) {
      if (sameSecret(pass, reserved.secret)) return { username: user, service: true, second: 0, count: 0 };
      logger.warn({ clientId: client.id }, "broker: refused a connection with the service's own client id");
      return authError(2);
    }
    const session: Session = { username: user, service: false, second: 0, count: 0 };
    if (username !== undefined && password !== undefined && sameSecret(user, username) && sameSecret(pass, password)) return session;
    if (passwords !== undefined) {
      if (await verifyPassword(passwords, user, pass)) return session;
    } else if (username === undefined) {
      return { ...session, username: undefined }; // anonymous: allowed without accounts
    }
    logger.warn({ clientId: client.id }, 'broker: client rejected (bad credentials)');
    return authError();
  };

  /** Counts a PUBLISH; false when the client is over the rate limit (alerted once a window). */
  const withinRate = (client: Client, session: Session): boolean => {
    if (maxPerSecond <= 0 || session.service) return true;
    const now = Date.now();
    if (now - session.second >= 1000) {
      session.second = now;
      session.count = 0;
    }
    session.count++;
    if (session.count === maxPerSecond + 1) {
      const text = `MQTT client ${JSON.stringify(client.id)} sent more than ${maxPerSecond} messages a second (EMBEDDED_MQTT_MAX_MESSAGES_PER_S); its connection was closed`;
      logger.warn(text);
      options.onAlert?.(text);
    }
    return session.count <= maxPerSecond;
  };

  const aedesOptions: AedesOptions = {
    ...(options.persistence !== undefined ? { persistence: options.persistence } : {}),
    // client ids like `smarthome-backend-<suffix>` exceed aedes' default of 23 characters
    maxClientsIdLength: 256,
    authenticate: (client, user, pass, done) => {
      authenticate(client, user, pass).then(
        (result) => {
          if (result instanceof Error) return done(result, false);
          sessions.set(client, result);
          done(null, true);
        },
        (err: unknown) => {
          logger.error({ err }, 'broker: authentication failed');
          done(authError(), false);
        },
      );
    },
    // MQTT 3.1.1 has no way to refuse one PUBLISH: an error closes the client's connection.
    authorizePublish: (client, packet, done) => {
      if (client === null) return done(null); // a will the broker publishes for a client long gone
      const session = sessions.get(client);
      if (session === undefined) return done(new Error('not authenticated'));
      if (!withinRate(client, session)) return done(new Error('over the rate limit'));
      if (acl !== undefined && !session.service && !allowed(acl, { clientId: client.id, username: session.username }, 'write', packet.topic)) {
        logger.warn({ clientId: client.id, topic: packet.topic }, 'broker: publish refused by the ACL; connection closed');
        return done(new Error(`not allowed to publish to ${packet.topic}`));
      }
      done(null);
    },
    authorizeSubscribe: (client, sub, done) => {
      const session = sessions.get(client);
      if (acl === undefined || session?.service) return done(null, sub);
      if (allowed(acl, { clientId: client.id, username: session?.username }, 'subscribe', sub.topic)) return done(null, sub);
      logger.warn({ clientId: client.id, filter: sub.topic }, 'broker: subscription refused by the ACL');
      done(null, null); // SUBACK 0x80 for this filter; the client stays connected
    },
    authorizeForward: (client, packet) => {
      const session = sessions.get(client);
      if (acl === undefined || session?.service) return packet;
      return allowed(acl, { clientId: client.id, username: session?.username }, 'read', packet.topic) ? packet : null;
    },
  };
  uncachedPacketIds(createRequire(import.meta.url).resolve('aedes'));
  const aedes = await Aedes.createBroker(aedesOptions);
  aedes.on('clientError', (client, err) => logger.debug({ clientId: client.id, err: err.message }, 'broker: client error'));
  if (reserved !== undefined && options.serviceSession !== undefined) {
    await openServiceSession(aedes, { ...options.serviceSession, clientId: reserved.clientId, secret: reserved.secret }).catch(async (err: unknown) => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw err;
    });
  }

  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // MQTT's small packets (a PUBACK, then the next PUBLISH) must not wait for the peer's delayed
    // ACK (up to 40 ms) behind Nagle's algorithm; aedes does not set this itself.
    socket.setNoDelay(true);
    // RabbitMQ-style `webos.smarthome.#` (the ESP32's filter) means `webos/smarthome/#`
    acceptDottedTopics(aedes.handle(socket));
  };
  const server: net.Server = options.tls
    ? tls.createServer({ key: options.tls.key, cert: options.tls.cert }, onConnection)
    : net.createServer(onConnection);
  const secure = tlsFiles ? tls.createServer(tlsFiles, onConnection) : undefined;
  const servers = secure ? [server, secure] : [server];

  let listening = server;
  try {
    await listen(server, requestedPort, host);
    if (secure && options.mqtts) {
      listening = secure;
      await listen(secure, options.mqtts.port, host);
    }
  } catch (err) {
    await Promise.all([
      new Promise<void>((resolve) => aedes.close(() => resolve())),
      ...servers.filter((s) => s.listening).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ]);
    const failedPort = listening === server ? requestedPort : options.mqtts?.port ?? requestedPort;
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new BrokerPortInUseError(host, failedPort);
    throw err;
  }
  for (const s of servers) s.on('error', (err) => logger.error({ err: err.message }, 'broker: server error'));

  const port = (server.address() as net.AddressInfo).port;
  const url = `${options.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`;
  const tlsPort = secure ? (secure.address() as net.AddressInfo).port : undefined;
  const tlsUrl = tlsPort === undefined ? undefined : `mqtts://${host}:${tlsPort}`;
  logger.info({ url, tlsUrl, auth: username !== undefined || passwords !== undefined, acl: acl !== undefined }, 'broker: listening');

  const reload = (): string[] => {
    const problems: string[] = [];
    const attempt = (what: string, load: () => void): void => {
      try {
        load();
      } catch (err) {
        problems.push(`${errorText(err)}; the previous ${what} stays in force`);
      }
    };
    attempt('password file', () => (passwords = loadFile('password file', options.passwordFile, parsePasswordFile)));
    attempt('ACL file', () => (acl = loadFile('ACL file', options.aclFile, parseAclFile)));
    if (secure && options.mqtts) {
      const files = options.mqtts;
      attempt('TLS certificate', () => {
        const next = readTls(files);
        secure.setSecureContext(next);
        tlsFiles = next;
      });
    }
    logger.info({ problems }, problems.length === 0 ? 'broker: accounts and permissions reloaded' : 'broker: reload incomplete');
    return problems;
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.all([
      ...servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      new Promise<void>((resolve) => aedes.close(() => resolve())),
      // connections that never sent CONNECT are not aedes clients: cut them so server.close ends
      new Promise<void>((resolve) => setImmediate(() => {
        for (const socket of sockets) socket.destroy();
        resolve();
      })),
    ]).then(() => logger.info({ url }, 'broker: closed'));
    return closing;
  };

  return {
    host,
    port,
    url,
    ...(tlsPort !== undefined && tlsUrl !== undefined ? { tlsPort, tlsUrl } : {}),
    aedes,
    reload,
    get persistence() {
      return (aedes as unknown as { persistence: AedesOptions['persistence'] }).persistence;
    },
    close,
  };
}
