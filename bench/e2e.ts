/**
 * End to end through a broker: simulated devices publish `signin` commands at QoS 1 and count
 * the replies, against the real backend and against a bare async-mqtt relay on the same broker.
 *
 * Processes (2 cores here, so who runs where matters, and is the same for both targets):
 * - the broker: aedes (lib/broker/broker.ts) in its own process by default, or the Mosquitto at
 *   BENCH_MQTT_URL;
 * - the backend (bench/backend.ts: the real service) and the relay (bench/relay.ts), each in its
 *   own process, both started once and left running; a round addresses one of them by topic
 *   prefix, so the other idles;
 * - the devices (this process): one MQTT client per device, each with its own Producer name
 *   per round, so a reply is matched to its device and round by its topic.
 *
 * Throughput rounds are closed-loop: each device keeps `window` commands outstanding and sends
 * the next when a reply comes; replies per second are counted over a window after a warm-up.
 * Relay and backend rounds alternate; the ratio is taken per back-to-back pair, then the median.
 * Latency rounds are open-loop at a fixed rate (half the relay's median maximum): commands go
 * out on schedule whatever the replies do, and latency runs from the scheduled send time (so a
 * stalled sender cannot hide a slow reply) to the reply's arrival, per device in FIFO order
 * (both targets answer a device's commands in order). Lost and duplicated replies are counted
 * per device and round after a final drain, over every round.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { cpus as osCpus } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import asyncMqtt, { type AsyncMqttClient } from 'async-mqtt';
import hdr from 'hdr-histogram-js';
import { loopMonitor, startChild, type Child, type LoopStats } from './child.js';
import { machineCpu } from './machine.js';
import { withNoDelay } from './nodelay.js';
import { median, progress, sig, sleep } from './stats.js';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface E2eOptions {
  /** BENCH_MQTT_URL; undefined starts aedes in a child process. */
  readonly brokerUrl: string | undefined;
  readonly workDir: string;
  /** Throughput rounds per target. */
  readonly rounds: number;
  readonly roundMs: number;
  readonly warmupMs: number;
  readonly devices: number;
  /** Commands outstanding per device in throughput rounds. */
  readonly window: number;
  /** Latency rounds per target, and each one's measured length. */
  readonly latencyRounds: number;
  readonly latencyMs: number;
  /** Also measure latency at a tenth of the relay's maximum. */
  readonly lowLoadLatency: boolean;
  /** Diagnostic: pin processes to cores in latency rounds (needs 2 cores and taskset). */
  readonly pin: boolean;
}

export interface LatencyFigures {
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly replies: number;
  /** The process's own event loop over these rounds (worst round): stalls there delay every reply. */
  readonly loop?: LoopStats;
  /** The same for the broker (when it is ours) and the devices' process: their stalls delay replies too. */
  readonly broker_loop?: LoopStats;
  readonly devices_loop?: LoopStats;
}

export interface E2eResult {
  readonly broker: string;
  /** mqtt.js's debug loggers in the relay: as shipped (the default yardstick) or quiet like the backend's (BENCH_RELAY_QUIET=1). */
  readonly relay_debug: 'as shipped' | 'quiet';
  readonly devices: number;
  readonly window: number;
  readonly rounds_each: number;
  readonly round_ms: number;
  readonly relay_replies_per_s: number;
  readonly backend_replies_per_s: number;
  readonly ratio_vs_relay: number;
  readonly ratios: readonly number[];
  readonly relay_rounds_per_s: readonly number[];
  readonly backend_rounds_per_s: readonly number[];
  /** The backend's replies never received / received more than once, over all its rounds (throughput and latency). */
  readonly lost: number;
  readonly duplicated: number;
  readonly commands_sent: number;
  /** The same for the relay (the yardstick: its losses say the broker dropped, not the backend). */
  readonly relay_lost: number;
  readonly relay_duplicated: number;
  readonly relay_commands_sent: number;
  /** Heap after a full GC of the backend and the relay process, once both answer and after every round: a leak check of the whole service. */
  readonly heap_after_gc_mb: {
    readonly backend: { readonly start: number; readonly end: number };
    readonly relay: { readonly start: number; readonly end: number };
  };
  /** The same per target and kind of round. */
  readonly losses: ReadonlyArray<{ readonly target: Target; readonly phase: 'throughput' | 'latency'; readonly sent: number; readonly lost: number; readonly duplicated: number }>;
  /** Replies on no topic of ours, and replies that are not the user's doc (both must be 0). */
  readonly stray: number;
  readonly wrong_replies: number;
  /** CPU ms each process spent per 1,000 replies in the throughput rounds (medians). */
  readonly cpu_ms_per_1000_replies: {
    readonly relay: { readonly target: number; readonly broker: number | null; readonly devices: number };
    readonly backend: { readonly target: number; readonly broker: number | null; readonly devices: number };
  };
  /**
   * CPU time (user + system, `process.cpuUsage()` of the target's own process, all its threads)
   * per answered command in the throughput rounds, counted after each round's warm-up; medians
   * over rounds. The service spawns no process on sign-ins, so its process is all of its cost.
   */
  readonly cpu_us_per_command: { readonly relay: number; readonly backend: number };
  /** Median over back-to-back round pairs of backend / relay CPU per command, and the pairs. */
  readonly cpu_ratio_vs_relay: number;
  readonly cpu_ratios: readonly number[];
  /** Whole-machine CPU busy during the throughput rounds (all processes, also other users'), median. */
  readonly machine_busy_pct: { readonly relay: number | null; readonly backend: number | null };
  /** Full runs: the same at a tenth of the relay's maximum, where queueing is small. */
  /** Whether the latency rounds ran with the target on core 1 and everything else on core 0. */
  readonly latency_pinned: boolean;
  readonly latency_low_load?: LatencyResult;
  readonly latency: LatencyResult;
}

/** Latency at one rate: both targets' figures over all rounds, and what the backend adds. */
export interface LatencyResult {
  readonly rate_per_s: number;
  readonly rounds_each: number;
  readonly round_ms: number;
  readonly relay: LatencyFigures;
  readonly backend: LatencyFigures;
  /**
   * Median over back-to-back round pairs of (backend p99 - relay p99): a stall of another
   * process's making lands in one round of one target, and the median of pairs sets it aside.
   */
  readonly p99_added_ms: number;
  readonly p99_added_pairs_ms: readonly number[];
  /** The same from the p99s of all rounds pooled (moved by every single stall). */
  readonly p99_added_pooled_ms: number;
  readonly p50_added_ms: number;
}

type Target = 'relay' | 'backend';
type Phase = 'probe' | 'throughput' | 'latency';
type Histogram = ReturnType<typeof hdr.build>;

function figures(h: Histogram): LatencyFigures {
  return {
    p50_ms: sig(h.getValueAtPercentile(50) / 1000, 3),
    p99_ms: sig(h.getValueAtPercentile(99) / 1000, 3),
    max_ms: sig(h.maxValue / 1000, 3),
    replies: h.totalCount,
  };
}

/** Counts of one device in one round. */
interface Slot {
  readonly target: Target;
  /** Which kind of round: closed-loop throughput, open-loop latency, or the readiness probe. */
  readonly phase: Phase;
  sent: number;
  received: number;
  /** Scheduled send times of the commands not answered yet (open-loop rounds). */
  readonly times: number[];
  onReply: ((now: number) => void) | undefined;
}

interface Device {
  readonly client: AsyncMqttClient;
  readonly index: number;
}

const USER_REPLY = JSON.stringify({ name: 'bench user', Producer: 'server', command: 'return_name' });
const USER_REPLY_BYTES = Buffer.byteLength(USER_REPLY);

export async function runE2e(options: E2eOptions): Promise<E2eResult> {
  const run = randomBytes(4).toString('hex');
  const prefix = `bench/${run}`;
  const relayQuiet = process.env.BENCH_RELAY_QUIET === '1';
  const bases: Record<Target, string> = { relay: `${prefix}/relay/webos`, backend: `${prefix}/backend/webos` };
  const children: Child[] = [];
  const devices: Device[] = [];
  const slots = new Map<string, Slot>();
  const allSlots: Slot[] = [];
  let stray = 0;
  let wrong = 0;
  const backendClientId = `bench-${run}-backend`;

  try {
    // ---- the broker ----
    let url = options.brokerUrl;
    let brokerChild: Child | undefined;
    let brokerName: string;
    if (url === undefined) {
      brokerChild = await startChild('broker', 'broker.ts', {}, { logFile: path.join(options.workDir, 'broker.log') });
      children.push(brokerChild);
      url = String(brokerChild.info.url);
      brokerName = `aedes ${await packageVersion('aedes')} (embedded, own process, ${url})`;
    } else {
      brokerName = `${(await brokerVersion(url)) ?? 'MQTT broker'} at ${url}`;
    }
    progress(`e2e: broker ${brokerName}`);

    // ---- the backend and the relay ----
    const configDir = path.join(options.workDir, 'config');
    await mkdir(configDir, { recursive: true });
    await copyFile(path.join(ROOT, 'config', 'default.json'), path.join(configDir, 'default.json'));
    const b = bases.backend;
    const topics = {
      commands: `${b}/server/#`,
      controls: `${b}/smarthome/#`,
      status: `${prefix}/backend/data/smarthome/status`,
      deviceCommand: `${b}/smarthome/info`,
      reply: `${b}/{device}/info`,
      deviceError: `${b}/{device}/error`,
      warning: `${prefix}/backend/data/error/warning`,
      error: `${prefix}/backend/data/error/error`,
      serverStatus: `${b}/server/status`,
    };
    // Each simulated device signs in under its own Producer name (its replies get their own
    // topic), so sign-up and sign-in are accepted from anyone here, not only android and car.
    const producers = { signup: ['*'], signin: ['*'] };
    await writeFile(path.join(configDir, 'local.json'), `${JSON.stringify({ topics, producers }, null, 2)}\n`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      MQTT_URL: url,
      MQTT_CLIENT_ID: backendClientId,
      DATA_DIR: path.join(options.workDir, 'data'),
      HTTP_PORT: '0',
      METADATA_SERVER_DETECTION: 'none',
      LOG_LEVEL: 'warn',
    };
    const [backend, relay] = await Promise.all([
      startChild('backend', 'backend.ts', { configDir }, { env, logFile: path.join(options.workDir, 'backend.log') }),
      startChild('relay', 'relay.ts', {
        url,
        clientId: `bench-${run}-relay`,
        commands: `${bases.relay}/server/#`,
        reply: `${bases.relay}/{device}/info`,
        payload: USER_REPLY,
        quietDebug: relayQuiet,
      }, { logFile: path.join(options.workDir, 'relay.log') }),
    ]);
    children.push(backend, relay);
    const targets: Record<Target, Child> = { relay, backend };

    // ---- the devices ----
    for (let i = 0; i < options.devices; i++) {
      const client = withNoDelay(await asyncMqtt.connectAsync(url, { clientId: `bench-${run}-d${i}`, clean: true, reconnectPeriod: 1000 }, false));
      client.on('message', (topic: string, payload: Buffer) => {
        const slot = slots.get(topic);
        if (slot === undefined) {
          stray++;
          return;
        }
        // the user's doc, as both targets answer it (a length check: cheap, and an error text differs)
        if (payload.length !== USER_REPLY_BYTES) wrong++;
        slot.received++;
        slot.onReply?.(performance.now());
      });
      devices.push({ client, index: i });
    }

    const ownLoop = loopMonitor();
    let roundNo = 0;
    /** Fresh Producer names (and reply subscriptions) for a round. */
    const openSlots = async (target: Target, phase: Phase): Promise<{ slots: Slot[]; topics: string[]; payloads: string[] }> => {
      roundNo++;
      const names = devices.map((d) => `b${run}r${roundNo}d${d.index}`);
      const replyTopics = names.map((n) => `${bases[target]}/${n}/info`);
      const own = names.map((): Slot => ({ target, phase, sent: 0, received: 0, times: [], onReply: undefined }));
      replyTopics.forEach((t, i) => slots.set(t, own[i]!));
      allSlots.push(...own);
      await Promise.all(devices.map((d, i) => d.client.subscribe(replyTopics[i]!, { qos: 1 })));
      return { slots: own, topics: replyTopics, payloads: names.map((n) => JSON.stringify({ Producer: n, command: 'signin', UID: 'u1' })) };
    };
    const commandTopic = (target: Target): string => `${bases[target]}/server/info`;
    const send = (d: Device, target: Target, payload: string, slot: Slot): void => {
      slot.sent++;
      d.client.publish(commandTopic(target), payload, { qos: 1 }).catch(() => undefined);
    };
    /** Waits until every reply is in, or nothing has come for `quietMs`. */
    const drain = async (own: readonly Slot[], quietMs = 3000): Promise<void> => {
      let last = -1;
      let since = performance.now();
      for (;;) {
        const got = own.reduce((n, s) => n + s.received, 0);
        const want = own.reduce((n, s) => n + s.sent, 0);
        if (got >= want) return;
        if (got !== last) {
          last = got;
          since = performance.now();
        } else if (performance.now() - since > quietMs) {
          return;
        }
        await sleep(20);
      }
    };

    // ---- the user, and both targets answering ----
    await devices[0]!.client.publish(commandTopic('backend'), JSON.stringify({ Producer: 'bench', command: 'signup', UID: 'u1', name: 'bench user' }), { qos: 1 });
    for (const target of ['backend', 'relay'] as const) {
      const { slots: own, payloads } = await openSlots(target, 'probe');
      const slot = own[0]!;
      const first = new Promise<void>((resolve) => {
        slot.onReply = () => resolve();
      });
      const deadline = performance.now() + 20_000;
      let answered = false;
      void first.then(() => {
        answered = true;
      });
      while (!answered) {
        if (performance.now() > deadline) throw new Error(`the ${target} does not answer sign-ins (see ${options.workDir})`);
        if (target === 'backend' && slot.sent > 0) {
          // the sign-up may have gone out before the backend subscribed: again
          await devices[0]!.client.publish(commandTopic('backend'), JSON.stringify({ Producer: 'bench', command: 'signup', UID: 'u1', name: 'bench user' }), { qos: 1 });
        }
        send(devices[0]!, target, payloads[0]!, slot);
        await Promise.race([first, sleep(300)]);
      }
      await drain(own, 1000);
      // the probes are not part of any count
      slot.sent = slot.received;
    }
    progress(`e2e: backend and relay answer; ${options.devices} devices, window ${options.window}`);
    const heapAtStart = { backend: await backend.heapMb(), relay: await relay.heapMb() };

    // ---- throughput rounds ----
    const cpu = async (target: Target): Promise<{ target: number; broker: number | null; devices: number }> => {
      const [t, br] = await Promise.all([targets[target].cpuMs(), brokerChild?.cpuMs() ?? Promise.resolve(null)]);
      const own = process.cpuUsage();
      return { target: t, broker: br, devices: (own.user + own.system) / 1000 };
    };
    const closedRound = async (
      target: Target,
    ): Promise<{ perS: number; busyPct: number | null; cpuUsPerCommand: number; cpuPer1000: { target: number; broker: number | null; devices: number } }> => {
      const { slots: own, payloads } = await openSlots(target, 'throughput');
      let sending = true;
      let total = 0;
      own.forEach((slot, i) => {
        slot.onReply = () => {
          total++;
          if (sending) send(devices[i]!, target, payloads[i]!, slot);
        };
      });
      own.forEach((slot, i) => {
        for (let w = 0; w < options.window; w++) send(devices[i]!, target, payloads[i]!, slot);
      });
      await sleep(options.warmupMs);
      const c0 = await cpu(target);
      const m0 = machineCpu();
      const n0 = total;
      const t0 = performance.now();
      await sleep(options.roundMs);
      const n1 = total;
      const t1 = performance.now();
      const m1 = machineCpu();
      const c1 = await cpu(target);
      sending = false;
      await drain(own);
      const replies = n1 - n0;
      const per = (a: number, z: number): number => sig(((z - a) / replies) * 1000, 3);
      return {
        perS: (replies / (t1 - t0)) * 1000,
        // ms per reply * 1000 = us per reply; unrounded, for the pair ratio
        cpuUsPerCommand: ((c1.target - c0.target) / replies) * 1000,
        busyPct: m0 === undefined || m1 === undefined ? null : ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100,
        cpuPer1000: {
          target: per(c0.target, c1.target),
          broker: c0.broker === null || c1.broker === null ? null : per(c0.broker, c1.broker),
          devices: per(c0.devices, c1.devices),
        },
      };
    };

    const rates: Record<Target, number[]> = { relay: [], backend: [] };
    const cpus: Record<Target, Array<{ target: number; broker: number | null; devices: number }>> = { relay: [], backend: [] };
    const ratios: number[] = [];
    const cpuUs: Record<Target, number[]> = { relay: [], backend: [] };
    const cpuRatios: number[] = [];
    const busy: Record<Target, number[]> = { relay: [], backend: [] };
    for (let r = 0; r < options.rounds; r++) {
      // alternate which goes first, so neither always follows the other
      const order: Target[] = r % 2 === 0 ? ['relay', 'backend'] : ['backend', 'relay'];
      const got: Partial<Record<Target, number>> = {};
      const gotCpu: Partial<Record<Target, number>> = {};
      for (const target of order) {
        const res = await closedRound(target);
        got[target] = res.perS;
        gotCpu[target] = res.cpuUsPerCommand;
        cpuUs[target].push(res.cpuUsPerCommand);
        rates[target].push(res.perS);
        cpus[target].push(res.cpuPer1000);
        if (res.busyPct !== null) busy[target].push(res.busyPct);
      }
      ratios.push(got.backend! / got.relay!);
      cpuRatios.push(gotCpu.backend! / gotCpu.relay!);
      progress(
        `e2e: round ${r + 1}/${options.rounds}: relay ${Math.round(got.relay!)}/s, backend ${Math.round(got.backend!)}/s, ratio ${(got.backend! / got.relay!).toFixed(2)}; ` +
          `CPU per command relay ${gotCpu.relay!.toFixed(1)} us, backend ${gotCpu.backend!.toFixed(1)} us, ratio ${(gotCpu.backend! / gotCpu.relay!).toFixed(2)}`,
      );
    }

    // ---- latency at half the relay's maximum (and, in full runs, at a tenth) ----
    const newHist = (): Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
    const openRound = async (target: Target, rate: number, hists: readonly Histogram[]): Promise<void> => {
      const { slots: own, payloads } = await openSlots(target, 'latency');
      const start = performance.now();
      const measureFrom = start + options.warmupMs;
      const end = measureFrom + options.latencyMs;
      const last = Math.floor(((end - start) * rate) / 1000);
      own.forEach((slot) => {
        slot.onReply = (now) => {
          const scheduled = slot.times.shift();
          if (scheduled === undefined || scheduled < measureFrom) return;
          const us = Math.max(1, Math.round((now - scheduled) * 1000));
          for (const hist of hists) hist.recordValue(us);
        };
      });
      let n = 0;
      await new Promise<void>((resolve) => {
        const tick = setInterval(() => {
          const now = performance.now();
          const due = Math.min(Math.floor(((now - start) * rate) / 1000), last);
          for (; n < due; n++) {
            const i = n % devices.length;
            const slot = own[i]!;
            slot.times.push(start + (n * 1000) / rate);
            send(devices[i]!, target, payloads[i]!, slot);
          }
          if (n >= last) {
            clearInterval(tick);
            resolve();
          }
        }, 1);
      });
      await drain(own);
    };
    const latencyAt = async (rate: number): Promise<LatencyResult> => {
      const hist: Record<Target, Histogram> = { relay: newHist(), backend: newHist() };
      const pairs: number[] = [];
      const loops: Record<Target, LoopStats[]> = { relay: [], backend: [] };
      const brokerLoops: Record<Target, LoopStats[]> = { relay: [], backend: [] };
      const deviceLoops: Record<Target, LoopStats[]> = { relay: [], backend: [] };
      for (let r = 0; r < options.latencyRounds; r++) {
        const order: Target[] = r % 2 === 0 ? ['relay', 'backend'] : ['backend', 'relay'];
        const round: Record<Target, Histogram> = { relay: newHist(), backend: newHist() };
        for (const target of order) {
          await pinFor(target);
          // the devices are the harness: start each round with their heap collected (this process
          // ran the other sections before), so their major GCs do not land in the figures
          (globalThis as { gc?: () => void }).gc?.();
          await Promise.all([targets[target].loop(true), brokerChild?.loop(true)]);
          ownLoop.stats(true);
          await openRound(target, rate, [hist[target], round[target]]);
          deviceLoops[target].push(ownLoop.stats(true));
          const [own, broker] = await Promise.all([targets[target].loop(true), brokerChild?.loop(true)]);
          loops[target].push(own);
          if (broker !== undefined) brokerLoops[target].push(broker);
        }
        pairs.push((round.backend.getValueAtPercentile(99) - round.relay.getValueAtPercentile(99)) / 1000);
      }
      const worst = (xs: readonly LoopStats[]): LoopStats => ({
        delay_p99_ms: Math.max(...xs.map((x) => x.delay_p99_ms)),
        delay_max_ms: Math.max(...xs.map((x) => x.delay_max_ms)),
        gc_max_ms: Math.max(...xs.map((x) => x.gc_max_ms)),
        gc_total_ms: sig(xs.reduce((a, x) => a + x.gc_total_ms, 0), 3),
        heap_mb: Math.max(...xs.map((x) => x.heap_mb)),
      });
      const figuresOf = (target: Target): LatencyFigures => ({
        ...figures(hist[target]),
        loop: worst(loops[target]),
        ...(brokerLoops[target].length > 0 ? { broker_loop: worst(brokerLoops[target]) } : {}),
        devices_loop: worst(deviceLoops[target]),
      });
      const lat: LatencyResult = {
        rate_per_s: rate,
        rounds_each: options.latencyRounds,
        round_ms: options.latencyMs,
        relay: figuresOf('relay'),
        backend: figuresOf('backend'),
        p99_added_ms: sig(median(pairs), 3),
        p99_added_pairs_ms: pairs.map((x) => sig(x, 3)),
        p99_added_pooled_ms: sig((hist.backend.getValueAtPercentile(99) - hist.relay.getValueAtPercentile(99)) / 1000, 3),
        p50_added_ms: sig((hist.backend.getValueAtPercentile(50) - hist.relay.getValueAtPercentile(50)) / 1000, 3),
      };
      progress(
        `e2e: latency at ${rate}/s: p99 added ${lat.p99_added_ms} ms (pairs ${lat.p99_added_pairs_ms.join(' ')}); ` +
          `relay p50 ${lat.relay.p50_ms} ms p99 ${lat.relay.p99_ms} ms; backend p50 ${lat.backend.p50_ms} ms p99 ${lat.backend.p99_ms} ms; ` +
          `event-loop delay max relay ${lat.relay.loop!.delay_max_ms} ms, backend ${lat.backend.loop!.delay_max_ms} ms (GC max ${lat.backend.loop!.gc_max_ms} ms), ` +
          `broker ${lat.relay.broker_loop?.delay_max_ms ?? '-'} / ${lat.backend.broker_loop?.delay_max_ms ?? '-'} ms, ` +
          `devices ${lat.relay.devices_loop!.delay_max_ms} / ${lat.backend.devices_loop!.delay_max_ms} ms`,
      );
      return lat;
    };
    // Diagnostic (BENCH_PIN=1): latency rounds with the target on a core of its own, the broker
    // (when ours), the devices and the idle target on the other, so that a reply's p99 is the
    // target's own doing rather than the scheduler's. At half the relay's maximum the other core
    // is then overloaded with aedes, so it is not the default.
    let pinned = options.pin;
    const pinFor = async (target: Target): Promise<void> => {
      if (!pinned) return;
      const other: Target = target === 'relay' ? 'backend' : 'relay';
      const rest = [process.pid, targets[other].process.pid, brokerChild?.process.pid];
      try {
        await Promise.all([pin(targets[target].process.pid, '1'), ...rest.map((pid) => pin(pid, '0'))]);
      } catch (err) {
        pinned = false;
        progress(`e2e: cannot pin processes to cores (${err instanceof Error ? err.message : String(err)}); latency rounds unpinned`);
        await unpinAll();
      }
    };
    const unpinAll = async (): Promise<void> => {
      await Promise.all([process.pid, ...children.map((c) => c.process.pid)].map((pid) => pin(pid, `0-${osCpus().length - 1}`).catch(() => undefined)));
    };
    const rate = Math.max(10, Math.round(median(rates.relay) / 2));
    const lat = await latencyAt(rate);
    const lowRate = Math.max(10, Math.round(median(rates.relay) / 10));
    const low = options.lowLoadLatency ? await latencyAt(lowRate) : undefined;
    if (pinned) await unpinAll();

    // ---- losses, over everything ----
    await drain(allSlots, 2000);
    const count = (target: Target) => {
      const these = allSlots.filter((s) => s.target === target);
      return {
        lost: these.reduce((n, s) => n + Math.max(0, s.sent - s.received), 0),
        duplicated: these.reduce((n, s) => n + Math.max(0, s.received - s.sent), 0),
        sent: these.reduce((n, s) => n + s.sent, 0),
      };
    };
    const ofBackend = count('backend');
    const ofRelay = count('relay');
    const heapAtEnd = { backend: await backend.heapMb(), relay: await relay.heapMb() };
    const losses: Array<E2eResult['losses'][number]> = [];
    for (const target of ['relay', 'backend'] as const) {
      for (const phase of ['throughput', 'latency'] as const) {
        const these = allSlots.filter((s) => s.target === target && s.phase === phase);
        losses.push({
          target,
          phase,
          sent: these.reduce((n, s) => n + s.sent, 0),
          lost: these.reduce((n, s) => n + Math.max(0, s.sent - s.received), 0),
          duplicated: these.reduce((n, s) => n + Math.max(0, s.received - s.sent), 0),
        });
      }
    }

    const medianCpu = (xs: ReadonlyArray<{ target: number; broker: number | null; devices: number }>) => ({
      target: sig(median(xs.map((x) => x.target)), 3),
      broker: xs.some((x) => x.broker === null) ? null : sig(median(xs.map((x) => x.broker!)), 3),
      devices: sig(median(xs.map((x) => x.devices)), 3),
    });
    return {
      broker: brokerName,
      relay_debug: relayQuiet ? 'quiet' : 'as shipped',
      devices: options.devices,
      window: options.window,
      rounds_each: options.rounds,
      round_ms: options.roundMs,
      relay_replies_per_s: sig(median(rates.relay)),
      backend_replies_per_s: sig(median(rates.backend)),
      ratio_vs_relay: sig(median(ratios), 2),
      ratios: ratios.map((x) => sig(x, 2)),
      relay_rounds_per_s: rates.relay.map((x) => sig(x)),
      backend_rounds_per_s: rates.backend.map((x) => sig(x)),
      lost: ofBackend.lost,
      duplicated: ofBackend.duplicated,
      commands_sent: ofBackend.sent,
      relay_lost: ofRelay.lost,
      relay_duplicated: ofRelay.duplicated,
      relay_commands_sent: ofRelay.sent,
      losses,
      heap_after_gc_mb: {
        backend: { start: heapAtStart.backend, end: heapAtEnd.backend },
        relay: { start: heapAtStart.relay, end: heapAtEnd.relay },
      },
      stray,
      wrong_replies: wrong,
      cpu_ms_per_1000_replies: { relay: medianCpu(cpus.relay), backend: medianCpu(cpus.backend) },
      cpu_us_per_command: { relay: sig(median(cpuUs.relay), 3), backend: sig(median(cpuUs.backend), 3) },
      cpu_ratio_vs_relay: sig(median(cpuRatios), 3),
      cpu_ratios: cpuRatios.map((x) => sig(x, 3)),
      machine_busy_pct: {
        relay: busy.relay.length === 0 ? null : sig(median(busy.relay), 2),
        backend: busy.backend.length === 0 ? null : sig(median(busy.backend), 2),
      },
      latency_pinned: pinned,
      latency: lat,
      ...(low === undefined ? {} : { latency_low_load: low }),
    };
  } finally {
    await Promise.all(devices.map((d) => d.client.end().catch(() => undefined)));
    // relay and backend first, then the broker they use
    const brokerChild = children.find((c) => c.name === 'broker');
    await Promise.all(children.filter((c) => c !== brokerChild).map((c) => c.stop().catch(() => undefined)));
    if (options.brokerUrl !== undefined) await cleanSharedBroker(options.brokerUrl, backendClientId, `${bases.backend}/server/status`);
    await brokerChild?.stop().catch(() => undefined);
  }
}

/** Sets the CPU affinity of every thread of a process (`taskset -a -p -c`). */
async function pin(pid: number | undefined, cpus: string): Promise<void> {
  if (pid === undefined) return;
  await execFileAsync('taskset', ['-a', '-p', '-c', cpus, String(pid)]);
}

/**
 * On a shared broker, leave nothing behind: the backend's persistent session (it would queue
 * commands for a client that never comes back) and its retained online/offline status.
 */
async function cleanSharedBroker(url: string, clientId: string, statusTopic: string): Promise<void> {
  try {
    const client = await asyncMqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0, connectTimeout: 5000 }, false);
    await client.publish(statusTopic, '', { qos: 1, retain: true });
    await client.end();
  } catch (err) {
    progress(`e2e: could not clean up the backend's session on ${url}: ${String(err)}`);
  }
}

async function packageVersion(name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '?';
}

/** The broker's `$SYS/broker/version` (Mosquitto publishes it retained), if it answers within a second. */
async function brokerVersion(url: string): Promise<string | undefined> {
  let client: AsyncMqttClient | undefined;
  try {
    client = await asyncMqtt.connectAsync(url, { clientId: `bench-probe-${randomBytes(4).toString('hex')}`, clean: true, reconnectPeriod: 0, connectTimeout: 3000 }, false);
    const c = client;
    const version = new Promise<string>((resolve) => c.on('message', (_t: string, p: Buffer) => resolve(p.toString('utf8'))));
    await client.subscribe('$SYS/broker/version', { qos: 0 });
    return await Promise.race([version, sleep(1000).then(() => undefined)]);
  } catch {
    return undefined;
  } finally {
    await client?.end().catch(() => undefined);
  }
}
