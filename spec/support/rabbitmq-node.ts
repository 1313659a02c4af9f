/**
 * A RabbitMQ node of the spec's own (issue 23): a second node beside the machine's shared one,
 * with its own name, ports on 127.0.0.1, data and config in a temp dir, so that a spec can load
 * the project's `config/rabbitmq/` into a fresh broker exactly as a family would (anonymous MQTT
 * off, which the shared node cannot have: other suites connect to it anonymously), restart it,
 * and throw it away. Started the way Debian's `rabbitmq-server` wrapper does it: as the
 * `rabbitmq` user (the Erlang cookie is that user's), so it needs root, as `rabbitmqctl` does.
 *
 * The node reads `conf.d/` (RABBITMQ_CONFIG_FILES) in name order: `config/rabbitmq/setup`
 * installs the project's file there as `50-smarthome.conf`, and `90-ports.conf` moves the
 * listeners to free ports after it.
 */
import { execFile } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BrokerUnavailable, freePort, portOpen } from './brokers.js';

export interface RabbitNode {
  /** `name@localhost`, for `rabbitmqctl -n`. */
  readonly node: string;
  readonly amqpPort: number;
  readonly mqttPort: number;
  /** The directory the node reads its `.conf` files from. */
  readonly confDir: string;
  /** The environment `rabbitmqctl`, `rabbitmq-plugins` and `config/rabbitmq/setup` need for it. */
  readonly env: Record<string, string>;
  /** `rabbitmqctl -n NODE ARGS`; rejects with its output when it fails. */
  ctl(...args: string[]): Promise<string>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function exec(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
    // Nothing to say on stdin; a command that exits at once must not make the end an EPIPE.
    child.stdin?.on('error', () => undefined).end();
  });
}

async function uidOf(user: string): Promise<number | undefined> {
  const { code, out } = await exec('id', ['-u', user]);
  return code === 0 ? Number(out.trim()) : undefined;
}

/** Starts a fresh node; throws `BrokerUnavailable` (with the reason) when this machine cannot. */
export async function startRabbitNode(): Promise<RabbitNode> {
  if (process.getuid?.() !== 0) throw new BrokerUnavailable('a RabbitMQ node of its own needs root (to run as the rabbitmq user)');
  const rabbitUid = await uidOf('rabbitmq');
  if (rabbitUid === undefined || (await exec('rabbitmqctl', ['version'])).code !== 0) {
    throw new BrokerUnavailable('RabbitMQ is not installed (no rabbitmq user or rabbitmqctl)');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spec-rabbit-'));
  const confDir = path.join(dir, 'conf.d');
  await mkdir(confDir);
  const [amqpPort, mqttPort, distPort] = [await freePort(), await freePort(), await freePort()];
  const node = `spec-${path.basename(dir).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}@localhost`;
  await writeFile(path.join(dir, 'rabbitmq.conf'), '');
  await writeFile(path.join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(path.join(confDir, '90-ports.conf'), [
    `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
    `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
    '',
  ].join('\n'));
  await chownTree(dir, rabbitUid);
  const pidFile = path.join(dir, 'pid');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/var/lib/rabbitmq',
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_CONFIG_FILES: confDir,
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: pidFile,
  };
  const ctl = async (...args: string[]): Promise<string> => {
    const { code, out } = await exec('rabbitmqctl', ['-n', node, ...args], env);
    if (code !== 0) throw new Error(`rabbitmqctl ${args.join(' ')}: exit ${code}: ${out.trim().slice(-400)}`);
    return out;
  };
  const start = async (): Promise<void> => {
    await chownTree(dir, rabbitUid);
    const assignments = Object.entries(env).map(([k, v]) => `${k}='${v}'`).join(' ');
    const started = await exec('su', ['rabbitmq', '-s', '/bin/sh', '-c', `cd /var/lib/rabbitmq && env ${assignments} /usr/lib/rabbitmq/bin/rabbitmq-server -detached`]);
    if (started.code !== 0) throw new BrokerUnavailable(`rabbitmq-server did not start: ${started.out.trim().slice(-300)}`);
    const waited = await exec('rabbitmqctl', ['-n', node, 'wait', pidFile, '--timeout', '90'], env);
    if (waited.code !== 0 || !(await portOpen(amqpPort))) {
      throw new BrokerUnavailable(`RabbitMQ node ${node} did not come up (see ${dir}/log): ${waited.out.trim().slice(-300)}`);
    }
  };
  const stop = async (): Promise<void> => {
    await exec('rabbitmqctl', ['-n', node, 'stop', pidFile], env);
  };
  await start();
  return {
    node, amqpPort, mqttPort, confDir, env, ctl,
    async restart() {
      await stop();
      await start();
    },
    async stop() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await exec('chown', ['-R', `${uid}:${uid}`, dir]);
  await chown(dir, uid, uid);
}
