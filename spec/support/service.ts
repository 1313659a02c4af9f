/**
 * The real service process for the end-to-end specs (issue 7): `node --import=tsx lib/main.ts`
 * (the TypeScript itself, no build needed), or as it ships (issue 24): `node dist/main.js` as the
 * systemd unit runs it, or `npm start`; started from the repository root with a small, explicit
 * environment (nothing inherited from the shell but PATH, HOME and the temp dir), so a setting in
 * the developer's environment cannot change what a spec tests.
 *
 * Its stdout is read as pino JSON lines (LOG_LEVEL=info on a non-TTY stdout): the start line
 * names the health endpoint (`health http://HOST:PORT/healthz`) and the broker
 * (`MQTT mqtt://HOST:PORT`, `(embedded broker)` when it started its own), which is how a spec
 * learns the ephemeral ports it asked for with HTTP_PORT=0 / EMBEDDED_MQTT_PORT=0.
 *
 * Every process started here is remembered until it exits: `killAll()` (for after/afterEach
 * hooks) and a process `exit` hook SIGKILL whatever is left, so a failing spec leaves nothing
 * running.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import asyncMqtt, { type AsyncMqttClient } from 'async-mqtt';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = 'lib/main.ts';

/**
 * How the service is started: `tsx` runs lib/ through tsx (the default, no build), `node` the
 * compiled dist/main.js as the systemd unit does, `npm` is `npm start` as the README says;
 * `tsx-cli` is the tsx command, which serves from a child node (what `npm start` ran before issue
 * 24, for the start-up bench). All but `tsx` run in a process group of their own (`detached`),
 * which a kill ends whole.
 */
export type Launch = 'tsx' | 'node' | 'npm' | 'tsx-cli';

const COMMANDS: Readonly<Record<Launch, readonly string[]>> = {
  tsx: [process.execPath, '--import=tsx', MAIN],
  node: [process.execPath, 'dist/main.js'],
  'tsx-cli': [process.execPath, 'node_modules/tsx/dist/cli.mjs', MAIN],
  // npm must not look for its own updates (the network); `--` passes the args to the script
  npm: ['npm', 'start', '--'],
};

let built: Promise<void> | undefined;

/**
 * Compiles lib/ to dist/ (incremental: quick when nothing changed), once per test process, so a
 * spec of the compiled service never runs a dist/ older than lib/.
 */
export function buildDist(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    const tsc = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    tsc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    tsc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    tsc.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc -p tsconfig.build.json failed (${code}): ${out.slice(-2000)}`))));
  });
  return built;
}

/** One pino line of the service's stdout (`msg` is the text). */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg?: string };

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** The stdout lines that are JSON, parsed. */
  logs(): LogLine[];
  /** Resolves with the first log line (already written or to come) that matches. */
  waitForLog(match: RegExp | ((line: LogLine) => boolean), what: string, ms?: number): Promise<LogLine>;
  /** Resolves when the process has exited (and its output streams are closed). */
  readonly exited: Promise<Exit>;
  readonly exitedAlready: () => boolean;
  /** SIGTERM (or `signal`), then the exit and how long it took; SIGKILL (and reject) after `ms`. */
  stop(ms?: number, signal?: NodeJS.Signals): Promise<Exit & { readonly ms: number }>;
  /** SIGKILL and the exit. */
  kill(): Promise<Exit>;
}

/** What the start line says, once the service is up. */
export interface RunningService extends ServiceProcess {
  /** `http://127.0.0.1:PORT` of /healthz and /metrics. */
  readonly http: string;
  /** The broker the service uses (redacted URL as logged). */
  readonly mqttUrl: string;
  readonly embeddedBroker: boolean;
}

export type ServiceEnv = Readonly<Record<string, string | undefined>>;

/** Each running child and how to SIGKILL all of it (its process group, when it has one). */
const live = new Map<ChildProcessWithoutNullStreams, () => void>();
process.once('exit', () => {
  for (const kill of live.values()) kill();
});

/**
 * The child's environment: the given settings on top of the bare minimum a Node process needs.
 * Always METADATA_SERVER_DETECTION=none (firebase-admin must never probe the cloud) and, unless
 * given, LOG_LEVEL=info (the start line is an info line).
 */
export function serviceEnv(settings: ServiceEnv): Record<string, string> {
  const base: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? os.homedir(),
    TMPDIR: process.env.TMPDIR,
    LANG: process.env.LANG,
    LOG_LEVEL: 'info',
    ...settings,
    METADATA_SERVER_DETECTION: 'none',
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Starts the process (with `args` after `lib/main.ts`, e.g. `--record FILE`) and returns at once. */
export function spawnService(settings: ServiceEnv, args: readonly string[] = [], launch: Launch = 'tsx'): ServiceProcess {
  const env = launch === 'npm' ? { ...serviceEnv(settings), npm_config_update_notifier: 'false' } : serviceEnv(settings);
  const [command = '', ...rest] = COMMANDS[launch];
  const group = launch !== 'tsx';
  const child = spawn(command, [...rest, ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'], detached: group });
  const killAllOf = (): void => {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // gone already
    }
  };
  live.set(child, killAllOf);
  let out = '';
  let err = '';
  const parsed: LogLine[] = [];
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null) parsed.push(value as LogLine);
      } catch {
        // not a log line (a stray print): kept in stdout() only
      }
    }
    notify();
  });
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      // npm's group may hold the service still (that is what a spec checks): ended at the end
      if (!group) live.delete(child);
      notify();
      resolve({ code, signal });
    });
  });
  const describeExit = (): string => `the service exited (code ${child.exitCode}, signal ${child.signalCode}); stderr: ${err.slice(-2000) || '(empty)'}; last log lines: ${out.slice(-1500)}`;

  const waitForLog = (match: RegExp | ((line: LogLine) => boolean), what: string, ms = 15_000): Promise<LogLine> =>
    new Promise<LogLine>((resolve, reject) => {
      const test = typeof match === 'function' ? match : (line: LogLine) => match.test(line.msg ?? '');
      let seen = 0;
      const check = (): void => {
        for (; seen < parsed.length; seen++) {
          const line = parsed[seen]!;
          if (test(line)) return finish(() => resolve(line));
        }
        if (done) finish(() => reject(new Error(`waiting for ${what}: ${describeExit()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; stdout so far: ${out.slice(-1500)}`))), ms);
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });

  const proc: ServiceProcess = {
    child,
    pid: child.pid ?? -1,
    env,
    stdout: () => out,
    stderr: () => err,
    logs: () => [...parsed],
    waitForLog,
    exited,
    exitedAlready: () => done,
    async stop(ms = 10_000, signal: NodeJS.Signals = 'SIGTERM') {
      const t0 = Date.now();
      if (!done) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), ms);
      });
      const result = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (result === 'late') {
        killAllOf();
        await exited;
        throw new Error(`the service did not exit within ${ms} ms of ${signal} (killed); last output: ${out.slice(-1500)}`);
      }
      return { ...result, ms: Date.now() - t0 };
    },
    async kill() {
      killAllOf();
      return exited;
    },
  };
  return proc;
}

const START_LINE = /^smarthome backend running: MQTT (\S+?)(,| \(embedded broker\),).* health (http:\/\/\S+)\/healthz$/;

export interface StartOptions {
  /**
   * What "up" means: `mqtt` (default) waits, after the start line, until the backend's MQTT
   * session holds its subscriptions (a SUBACK, or a CONNACK with the session kept from an
   * earlier run), so a command published next reaches it; `http` only for the start line.
   */
  readonly ready?: 'mqtt' | 'http';
  readonly ms?: number;
  /** Arguments after `lib/main.ts`. */
  readonly args?: readonly string[];
  /** Default `tsx`. */
  readonly launch?: Launch;
}

/** Starts the service and waits until it is up (see `StartOptions.ready`). */
export async function startService(settings: ServiceEnv, options: StartOptions = {}): Promise<RunningService> {
  const proc = spawnService(settings, options.args, options.launch);
  const ms = options.ms ?? 20_000;
  try {
    const line = await proc.waitForLog(START_LINE, 'the start line', ms);
    const [, mqttUrl = '', embedded, healthz = ''] = START_LINE.exec(line.msg ?? '') ?? [];
    if ((options.ready ?? 'mqtt') === 'mqtt') {
      await proc.waitForLog(
        (l) => l.msg === 'mqtt: subscribed' || (l.msg === 'mqtt: connected' && l.sessionPresent === true),
        'the MQTT subscriptions',
        ms,
      );
    }
    return { ...proc, http: new URL(healthz).origin, mqttUrl, embeddedBroker: embedded !== ',' };
  } catch (err) {
    await proc.kill();
    throw err;
  }
}

/** SIGKILLs every service process still running (for after/afterEach hooks). */
export async function killAll(): Promise<void> {
  const closing = [...live].map(([child, kill]) => new Promise<void>((resolve) => {
    live.delete(child);
    kill();
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
  }));
  await Promise.all(closing);
}

/** GET `url` (loopback only): status and body. */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`e2e specs stay on 127.0.0.1, not ${u.hostname}`);
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

/** The value of one Prometheus sample, e.g. `metric(text, 'smarthome_events_in_total', { source: 'mqtt' })`; 0 when absent. */
export function metric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[4]);
  }
  return total;
}

/** A message the test's MQTT client received. */
export interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly at: number;
}

/**
 * An MQTT client playing the devices (app, car, home controller): it records every message on
 * `filters` and publishes at QoS 1. Reconnects on its own (e.g. across a restart of the
 * service's embedded broker) and subscribes again when it does.
 */
export interface Device {
  readonly client: AsyncMqttClient;
  readonly received: Received[];
  on(topic: string): Received[];
  publish(topic: string, payload: string): Promise<void>;
  /** Publishes a JSON command on `webos/server/info`. */
  command(body: Record<string, unknown>): Promise<void>;
  /** The first message on `topic` (or one of them) after index `from` of `received` that satisfies `match`. */
  next(topic: string | readonly string[], what: string, options?: { from?: number; match?: (payload: string) => boolean; ms?: number }): Promise<Received>;
  end(): Promise<void>;
}

export async function connectDevice(url: string, clientId: string, filters: readonly string[] = ['#']): Promise<Device> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`e2e specs stay on 127.0.0.1, not ${u.hostname}`);
  const client = await asyncMqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 100, connectTimeout: 5_000 }, false);
  client.on('error', () => undefined);
  const received: Received[] = [];
  client.on('message', (topic, payload) => {
    received.push({ topic, payload: payload.toString('utf8'), at: Date.now() });
  });
  await client.subscribe([...filters], { qos: 1 });
  const device: Device = {
    client,
    received,
    on: (topic) => received.filter((m) => m.topic === topic),
    publish: async (topic, payload) => {
      await client.publish(topic, payload, { qos: 1 });
    },
    command: (body) => device.publish('webos/server/info', JSON.stringify(body)),
    next: async (topic, what, { from = 0, match = () => true, ms = 10_000 } = {}) => {
      const deadline = Date.now() + ms;
      const topics: readonly string[] = typeof topic === 'string' ? [topic] : topic;
      for (;;) {
        const found = received.slice(from).find((m) => topics.includes(m.topic) && match(m.payload));
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${ms} ms waiting for ${what} on ${topics.join(', ')}; received: ${JSON.stringify(received.slice(from).slice(-10))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    end: async () => {
      await client.end(true);
    },
  };
  return device;
}
