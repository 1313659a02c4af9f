/**
 * The embedded MQTT broker (aedes, in-process) the backend starts when no `MQTT_URL` is set
 * (SPEC 9, 11), so that a fresh checkout runs with `npm start` alone. Also what the tests use.
 */
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type AedesOptions, type AuthenticateError } from 'aedes';
import { silentLogger, type Logger } from './log.js';

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

function authError(): AuthenticateError {
  // MQTT 3.1.1 CONNACK return code 4: bad user name or password
  return Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as AuthenticateError;
}

export async function startBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 1883;
  const logger = (options.logger ?? silentLogger).child({ component: 'broker' });
  const { username, password } = options;
  if ((username === undefined) !== (password === undefined)) {
    throw new Error('Embedded MQTT broker: set both a username and a password, or neither');
  }

  const aedesOptions: AedesOptions = {
    ...(options.persistence !== undefined ? { persistence: options.persistence } : {}),
    // client ids like `smarthome-backend-<suffix>` exceed aedes' default of 23 characters
    maxClientsIdLength: 256,
    ...(username !== undefined && password !== undefined
      ? {
          authenticate: (_client, user, pass, done) => {
            const ok = sameSecret(user, username) && sameSecret(pass, password);
            if (!ok) logger.warn('broker: client rejected (bad credentials)');
            done(ok ? null : authError(), ok);
          },
        }
      : {}),
  };
  const aedes = await Aedes.createBroker(aedesOptions);
  aedes.on('clientError', (client, err) => logger.debug({ clientId: client.id, err: err.message }, 'broker: client error'));

  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // MQTT's small packets (a PUBACK, then the next PUBLISH) must not wait for the peer's delayed
    // ACK (up to 40 ms) behind Nagle's algorithm; aedes does not set this itself.
    socket.setNoDelay(true);
    aedes.handle(socket);
  };
  const server: net.Server = options.tls
    ? tls.createServer({ key: options.tls.key, cert: options.tls.cert }, onConnection)
    : net.createServer(onConnection);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(requestedPort, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new BrokerPortInUseError(host, requestedPort);
    throw err;
  }
  server.on('error', (err) => logger.error({ err: err.message }, 'broker: server error'));

  const port = (server.address() as net.AddressInfo).port;
  const url = `${options.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`;
  logger.info({ url, auth: username !== undefined }, 'broker: listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.all([
      new Promise<void>((resolve) => server.close(() => resolve())),
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
    aedes,
    get persistence() {
      return (aedes as unknown as { persistence: AedesOptions['persistence'] }).persistence;
    },
    close,
  };
}
