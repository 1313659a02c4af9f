/**
 * Real brokers for the MQTT specs, all on 127.0.0.1:
 * - aedes in-process on an ephemeral port (always available);
 * - Mosquitto at `MQTT_TEST_URL` (default mqtt://127.0.0.1:1883, the shared one: never stopped);
 * - our own Mosquitto (`mosquitto -c <tmp conf>`, persistence in a temp dir) for restart tests;
 * - RabbitMQ's MQTT plugin on 1884 (exchange `webos.topic`), configured on demand by
 *   `.ci/services rabbitmq-mqtt`, plus AMQP on 5672 for the interop tests;
 * - a TCP proxy that can cut the backend off from any of them (a network outage).
 * Locally an absent broker skips its suite with the reason printed; under CI (`CI` set) it fails.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import asyncMqtt, { type AsyncMqttClient, type IClientOptions } from 'async-mqtt';
import { pino } from 'pino';
import { Subscription, firstValueFrom, filter, timeout, type Observable } from 'rxjs';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { createLogger, silentLogger, type Logger } from '../../lib/base/log.js';
import {
  shareMqttConnection,
  type BackoffOptions, type Connack, type ConnectionState, type MqttConnection, type MqttConnectionOptions,
} from '../../lib/drivers/mqtt/connection.js';

export const inCi = Boolean(process.env.CI);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Short reconnect backoff for tests. */
export const testBackoff: BackoffOptions = { initialMs: 50, maxMs: 400, factor: 2 };

/** A random suffix for topics and client ids: other engineers share the same brokers. */
export function suffix(): string {
  return randomBytes(4).toString('hex');
}

export class BrokerUnavailable extends Error {
  override readonly name = 'BrokerUnavailable';
}

/**
 * Skip the current suite/test because a broker is absent, saying why; under CI fail instead
 * (`.ci/run` starts every broker first, so absence there is a bug).
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  if (inCi) throw new Error(`broker required in CI but unavailable: ${reason}`);
  console.log(`      (skipped: ${reason})`);
  ctx.skip();
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `predicate` until it holds or `ms` passes (then throw naming `what`). */
export async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

/** Resolve once the connection reports `state`. */
export function waitForState(connection: MqttConnection, state: ConnectionState, ms = 5_000): Promise<unknown> {
  return firstValueFrom((connection.state$ as Observable<ConnectionState>).pipe(filter((s) => s === state), timeout(ms)));
}

/**
 * Whether Node has turned Nagle's algorithm off on this socket (`setNoDelay(true)`), read from the
 * socket's own record of it (Node keeps no public getter; the kernel's flag is not visible to JS).
 */
export function noDelayOf(socket: unknown): boolean | undefined {
  if (typeof socket !== 'object' || socket === null) return undefined;
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kSetNoDelay');
  if (key === undefined) throw new Error('this Node.js keeps no kSetNoDelay on sockets: update noDelayOf');
  return (socket as Record<symbol, unknown>)[key] === true;
}

export function portOpen(port: number, host = '127.0.0.1', ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A device / observer client of the test itself (async-mqtt, auto-reconnect every 50 ms). */
export async function testClient(url: string, clientId: string, options: IClientOptions = {}): Promise<AsyncMqttClient> {
  const client = await asyncMqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 50, connectTimeout: 5_000, ...options }, false);
  client.on('error', () => undefined);
  return client;
}

/** Drop a persistent session from the broker (connect once with `clean: true`). */
export async function discardSession(url: string, clientId: string): Promise<void> {
  try {
    const client = await asyncMqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0, connectTimeout: 3_000 }, false);
    await client.end();
  } catch {
    // the broker is gone; so is the session, or it will expire
  }
}

export interface RunningBroker {
  readonly url: string;
  stop(): Promise<void>;
}

/** A broker the suite may stop and start again with its sessions kept (persistence). */
export interface RestartableBroker extends RunningBroker {
  /** Stops the broker; sessions and queued QoS 1 messages are kept for `start`. */
  down(): Promise<void>;
  /** Starts it again on the same port. */
  up(): Promise<void>;
}

export interface BrokerTarget {
  readonly name: string;
  /** Throws `BrokerUnavailable` (with the reason) when the broker is absent. */
  start(): Promise<RunningBroker>;
}

export const aedesTarget: BrokerTarget = {
  name: 'aedes (in-process)',
  async start() {
    const broker = await startBroker({ port: 0 });
    return { url: broker.url, stop: () => broker.close() };
  },
};

export const mosquittoUrl = process.env.MQTT_TEST_URL ?? 'mqtt://127.0.0.1:1883';

export const mosquittoTarget: BrokerTarget = {
  name: `Mosquitto (${mosquittoUrl})`,
  async start() {
    const u = new URL(mosquittoUrl);
    const host = u.hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') throw new BrokerUnavailable(`MQTT_TEST_URL must be on 127.0.0.1, not ${host}`);
    if (!(await portOpen(Number(u.port || 1883), host))) {
      throw new BrokerUnavailable(`no Mosquitto at ${mosquittoUrl} (start it, or set MQTT_TEST_URL)`);
    }
    return { url: mosquittoUrl, stop: async () => undefined };
  },
};

export const rabbitMqttPort = 1884;
export const rabbitMqttUrl = `mqtt://127.0.0.1:${rabbitMqttPort}`;
export const amqpUrl = process.env.AMQP_TEST_URL ?? 'amqp://127.0.0.1:5672';

function run(file: string, args: string[], ms: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: ms, cwd: repoRoot }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim() || (err ? err.message : '') });
    });
  });
}

let rabbitSetup: Promise<void> | undefined;

/** RabbitMQ's MQTT plugin on 1884, enabled and configured by `.ci/services rabbitmq-mqtt` if needed. */
export function ensureRabbitMqtt(): Promise<void> {
  rabbitSetup ??= (async () => {
    if (await portOpen(rabbitMqttPort)) return;
    if (!(await portOpen(5672))) throw new BrokerUnavailable('RabbitMQ is not running on 127.0.0.1:5672');
    const { ok, output } = await run(path.join(repoRoot, '.ci/services'), ['rabbitmq-mqtt'], 90_000);
    if (!ok || !(await portOpen(rabbitMqttPort))) {
      throw new BrokerUnavailable(`could not enable RabbitMQ's MQTT plugin on ${rabbitMqttPort}: ${output.slice(-300)}`);
    }
  })();
  return rabbitSetup;
}

export const rabbitTarget: BrokerTarget = {
  name: `RabbitMQ MQTT plugin (${rabbitMqttUrl})`,
  async start() {
    await ensureRabbitMqtt();
    return { url: rabbitMqttUrl, stop: async () => undefined };
  },
};

/** The targets every source/sink suite runs against. */
export const targets: readonly BrokerTarget[] = [aedesTarget, mosquittoTarget, rabbitTarget];

/** aedes on an ephemeral port; `down`/`up` restart it on the same port with the same persistence. */
export async function startRestartableAedes(): Promise<RestartableBroker> {
  let broker: EmbeddedBroker | undefined = await startBroker({ port: 0 });
  const { port } = broker;
  let persistence = broker.persistence;
  return {
    url: broker.url,
    async down() {
      persistence = broker?.persistence;
      await broker?.close();
      broker = undefined;
    },
    async up() {
      broker = await startBroker({ port, persistence });
    },
    async stop() {
      await broker?.close();
      broker = undefined;
    },
  };
}

/** A Mosquitto of our own on an ephemeral port, persistence in a temp dir (never the shared one). */
export async function startOwnMosquitto(extraConf: readonly string[] = []): Promise<RestartableBroker> {
  const found = await run('mosquitto', ['-h'], 5_000);
  if (!/mosquitto version/i.test(found.output)) throw new BrokerUnavailable('no mosquitto binary on PATH');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mqtt-spec-mosquitto-'));
  await chmod(dir, 0o777); // mosquitto started as root drops to its own user
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(conf, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${dir}/`,
    `log_dest file ${dir}/mosquitto.log`,
    ...extraConf,
    '',
  ].join('\n'));
  let child: ChildProcess | undefined;

  const up = async (): Promise<void> => {
    const proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    child = proc;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 5_000;
    while (!(await portOpen(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        throw new BrokerUnavailable(`own mosquitto did not start on ${port} (see ${dir}/mosquitto.log)`);
      }
      await Promise.race([delay(20), exited]);
    }
  };
  const down = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM'); // mosquitto saves its persistence file on the way out
    await exited;
  };

  await up();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    up,
    down,
    async stop() {
      await down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy in front of a broker: `cut()` drops every connection and refuses new ones. */
export interface TcpProxy {
  readonly url: string;
  /** Stop relaying broker -> client on the open connections (PUBACKs and all go missing). */
  stall(): void;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 1883);
  const open = new Set<net.Socket>();
  const pairs = new Set<{ inbound: net.Socket; outbound: net.Socket }>();
  let cutOff = false;
  const server = net.createServer((inbound) => {
    if (cutOff) { inbound.destroy(); return; }
    const outbound = net.connect({ host: target.hostname, port: targetPort });
    open.add(inbound);
    open.add(outbound);
    const pair = { inbound, outbound };
    pairs.add(pair);
    const drop = (): void => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
      pairs.delete(pair);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    stall() {
      for (const { inbound, outbound } of pairs) {
        outbound.unpipe(inbound);
        outbound.pause();
      }
    },
    cut() {
      cutOff = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      cutOff = false;
    },
    async close() {
      cutOff = true;
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A pino logger whose lines the test can read (to check what is, and is not, logged). */
export function captureLogger(level: pino.LevelWithSilent = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level, base: undefined }, { write: (line: string) => { lines.push(line); } });
  return { logger, lines };
}

/** Logs of the code under test: silent unless `MQTT_SPEC_LOG` names a level. */
export const specLogger: Logger = process.env.MQTT_SPEC_LOG ? createLogger(process.env.MQTT_SPEC_LOG, 'stderr') : silentLogger;

/** The backend's shared connection, held open by the test until `close()`. */
export interface TestConnection {
  readonly clientId: string;
  readonly connection$: Observable<MqttConnection>;
  readonly connection: MqttConnection;
  readonly connacks: Connack[];
  /** Subscriptions to end with the connection (the source/sink under test). */
  readonly hold: Subscription;
  /** Unsubscribe everything and wait for the client to end; the broker keeps the session. */
  end(): Promise<void>;
  /** `end()`, then drop the broker-side session. */
  close(): Promise<void>;
}

export function openConnection(
  url: string,
  options: Partial<MqttConnectionOptions> & { readonly sessionUrl?: string } = {},
): TestConnection {
  const clientId = options.clientId ?? `be-${suffix()}`;
  const connection$ = shareMqttConnection({
    url,
    clientId,
    backoff: testBackoff,
    status: false,
    logger: specLogger,
    ...options,
  });
  let connection: MqttConnection | undefined;
  const connacks: Connack[] = [];
  const hold = new Subscription();
  hold.add(connection$.subscribe((c) => { connection = c; }));
  if (!connection) throw new Error('connectMqtt did not emit synchronously');
  const conn: MqttConnection = connection;
  hold.add(conn.connack$.subscribe((c) => connacks.push(c)));
  let ending: Promise<void> | undefined;
  const end = (): Promise<void> => {
    ending ??= new Promise<void>((resolve) => {
      conn.client.once('end', () => resolve());
      setTimeout(resolve, 3_000).unref();
      hold.unsubscribe();
    });
    return ending;
  };
  return {
    clientId,
    connection$,
    connection: conn,
    connacks,
    hold,
    end,
    async close() {
      await end();
      await discardSession(options.sessionUrl ?? url, clientId);
    },
  };
}

/**
 * The mocha hooks of a suite run against one broker: start it (or skip, saying why), give each
 * test a fresh topic prefix, and close what the test opened (pushed on `open`).
 */
export function useBroker(target: BrokerTarget): {
  url(): string;
  topicBase(): string;
  open: Array<{ close(): Promise<unknown> }>;
} {
  let broker: RunningBroker | undefined;
  let base = '';
  const open: Array<{ close(): Promise<unknown> }> = [];
  before(async function () {
    this.timeout(100_000);
    try {
      broker = await target.start();
    } catch (err) {
      if (err instanceof BrokerUnavailable) skipBecause(this, err.message);
      throw err;
    }
  });
  after(async () => {
    await broker?.stop();
  });
  beforeEach(() => {
    base = `spec-${suffix()}`;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((o) => o.close().catch(() => undefined)));
  });
  return { url: () => (broker as RunningBroker).url, topicBase: () => base, open };
}
