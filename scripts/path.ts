/**
 * `npm run path` (issue 26, item 4): how many of the project's files one input runs code in,
 * measured from the running service rather than counted by hand.
 *
 * The compiled service (`node dist/main.js`, as `npm start` runs it) is started with the inspector
 * on loopback, against a broker in this process and a temporary DATA_DIR. V8's precise coverage
 * (call counts) is taken around one input: counts reset (taken and discarded), the input sent,
 * its answer awaited, counts taken; the files under lib/ with a function called are listed.
 * Six rounds per input; a file counts when every round ran it, so what only sometimes runs
 * beside the input (the clock's tick each second, a timer) drops out.
 *
 * Inputs: a sign-in of a known user (until its reply on webos/android/info), and a 9-character
 * control on webos/smarthome/info (until the alarm it raises is written, which the metrics show;
 * they are read after the counts are taken, so reading them is not counted).
 *
 * Usage: npm run path [-- --json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startBroker } from '../lib/broker/broker.js';
import { filesRun, Inspector } from './inspector.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROUNDS = 6;
const START_LINE = /^smarthome backend running: .* health (http:\/\/\S+)\/healthz$/;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  readonly child: ChildProcess;
  readonly inspectorUrl: string;
  readonly http: string;
}

/** Starts the compiled service with the inspector; resolves once it says it runs. */
function startService(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', 'dist/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePromise, reject) => {
    let inspectorUrl: string | undefined;
    let err = '';
    let out = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(err)?.[1];
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (;;) {
        const nl = out.indexOf('\n');
        if (nl < 0) break;
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const msg = (JSON.parse(line) as { msg?: string }).msg ?? '';
        const http = START_LINE.exec(msg)?.[1];
        if (http !== undefined && inspectorUrl !== undefined) resolvePromise({ child, inspectorUrl, http: new URL(http).origin });
      }
    });
    child.once('exit', (code) => reject(new Error(`the service exited (${code}) before it ran: ${err}`)));
  });
}

/** A counter of the service's metrics (one label), 0 when absent. */
async function metric(http: string, name: string, label: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

export interface PathReport {
  readonly signin: readonly string[];
  readonly control: readonly string[];
}

export async function measurePaths(): Promise<PathReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'path-'));
  const broker = await startBroker({ port: 0 });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MQTT_URL: broker.url, MQTT_CLIENT_ID: 'path-backend',
    DATA_DIR: dataDir, HTTP_PORT: '0', SMARTHOME_TZ: 'Asia/Seoul', METADATA_SERVER_DETECTION: 'none', LOG_LEVEL: 'info',
  };
  const service = await startService(env);
  const inspector = await Inspector.connect(service.inspectorUrl);
  const device = mqtt.connect(broker.url, { clientId: 'path-device', clean: true });
  const replies: string[] = [];
  try {
    await new Promise((r) => device.once('connect', r));
    device.on('message', (topic) => replies.push(topic));
    await new Promise((r) => device.subscribe('webos/android/#', { qos: 1 }, r));
    const publish = (topic: string, payload: string): Promise<unknown> => new Promise((r) => device.publish(topic, payload, { qos: 1 }, r));
    const signin = async (): Promise<void> => {
      const before = replies.length;
      await publish('webos/server/info', JSON.stringify({ Producer: 'android', command: 'signin', UID: 'path-user' }));
      while (!replies.slice(before).includes('webos/android/info')) await sleep(2);
      await sleep(50); // the reply's PUBACK back at the service: the publish done
    };
    await inspector.call('Profiler.enable');
    await inspector.call('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

    // The known user, and the home's status (a control alone cannot set it); one of each input first.
    await publish('webos/server/info', JSON.stringify({ Producer: 'android', command: 'signup', UID: 'path-user', name: 'path' }));
    await sleep(300);
    await signin();
    await publish('data/smarthome/status', '000000000');
    await sleep(300);

    const signins: Set<string>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await inspector.takeCoverage();
      await signin();
      signins.push(filesRun(await inspector.takeCoverage(), ROOT));
    }

    const controls: Set<string>[] = [];
    let wait = 200;
    for (let round = 0; controls.length < ROUNDS; round++) {
      const code = round % 2 === 0 ? '000100000' : '000000000';
      const done = (): Promise<number> => metric(service.http, 'smarthome_effects_out_total', 'sink="firestore"');
      const before = await done();
      await inspector.takeCoverage();
      await publish('webos/smarthome/info', code);
      await sleep(wait); // no request to the service meanwhile: the metrics are read after the take
      const files = filesRun(await inspector.takeCoverage(), ROOT);
      // The home confirms the control (outside the counts), so no check-of-work alert is pending.
      await publish('data/smarthome/status', code);
      await sleep(100);
      if ((await done()) > before) controls.push(files);
      else wait *= 2; // the writes were not done in time: that round does not count
    }
    return { signin: common(signins), control: common(controls) };
  } finally {
    inspector.close();
    device.end(true);
    service.child.kill('SIGTERM');
    await new Promise((r) => service.child.once('exit', r));
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The files in every round, sorted. */
function common(rounds: readonly Set<string>[]): string[] {
  return [...rounds[0]!].filter((f) => rounds.every((r) => r.has(f))).sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = await measurePaths();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(report));
  } else {
    for (const [input, files] of Object.entries(report)) {
      console.log(`${input === 'signin' ? 'a sign-in' : 'a control'}: ${files.length} files (in all ${ROUNDS} rounds)`);
      for (const file of files) console.log(`  ${file}`);
    }
  }
}
