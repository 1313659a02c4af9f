/**
 * `npm run bench`: every benchmark of issue 8, with the goals side by side.
 *
 *   npm run bench                                    full run, a readable report on stdout
 *   npm run --silent bench -- --quick --json         quick run (under 2 minutes), one JSON object on stdout
 *   BENCH_MQTT_URL=mqtt://127.0.0.1:1883 npm run bench   end to end through that broker (default: aedes)
 *   npm run bench -- --only=core,memory              some sections only (codec, core, memory, writes, e2e, startup)
 *   npm run bench -- --save=FILE                     also write the JSON report (indented) to FILE
 *   BENCH_PROFILE_DIR=/tmp/x npm run bench           CPU profiles of the broker, relay and backend processes
 *   BENCH_PIN=1 npm run bench                        diagnostic: latency rounds with the target alone on core 1
 *   BENCH_RELAY_QUIET=1 npm run bench                the relay with mqtt.js's debug loggers quiet, as the backend has them
 *
 * Progress goes to stderr. The exit code is 0 whether or not goals are met (nothing here is a
 * test), 1 when a section fails to run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCodec, type CodecResult } from './codec.js';
import { runCore, type CoreFigures, type CoreResult } from './core.js';
import type { LoopStats } from './child.js';
import { runE2e, type E2eResult } from './e2e.js';
import { loadAvg, machine } from './machine.js';
import { runMemory, type MemoryResult } from './memory.js';
import { runStartup, type StartupResult } from './startup.js';
import { fullGc, progress, sig } from './stats.js';
import { runWrites, type WritesResult } from './writes.js';

const SECTIONS = ['codec', 'core', 'memory', 'writes', 'e2e', 'startup'] as const;
type Section = (typeof SECTIONS)[number];

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const asJson = argv.includes('--json');
const onlyArg = argv.find((a) => a.startsWith('--only='));
const saveArg = argv.find((a) => a.startsWith('--save='));
const only = onlyArg === undefined ? [...SECTIONS] : onlyArg.slice('--only='.length).split(',');
const unknown = argv.filter((a) => a !== '--quick' && a !== '--json' && !a.startsWith('--only=') && !a.startsWith('--save='));
if (unknown.length > 0 || only.some((s) => !(SECTIONS as readonly string[]).includes(s))) {
  process.stderr.write('usage: npm run bench -- [--quick] [--json] [--only=codec,core,memory,writes,e2e,startup] [--save=FILE]\n');
  process.exit(2);
}
const wanted = (s: Section): boolean => only.includes(s);

const P = quick
  ? {
      codec: { samples: 5, sliceMs: 100 },
      core: { events: 50_000, samples: 15 },
      memory: { events: 1_000_000 },
      writes: { changes: 10_000, runs: 1 },
      e2e: { rounds: 5, roundMs: 1500, warmupMs: 500, devices: 10, window: 50, latencyRounds: 3, latencyMs: 2000, lowLoadLatency: false },
      startup: { runs: 3 },
    }
  : {
      codec: { samples: 15, sliceMs: 200 },
      core: { events: 100_000, samples: 31 },
      memory: { events: 1_000_000 },
      writes: { changes: 10_000, runs: 5 },
      e2e: { rounds: 7, roundMs: 5000, warmupMs: 1000, devices: 10, window: 50, latencyRounds: 7, latencyMs: 4000, lowLoadLatency: true },
      startup: { runs: 7 },
    };

const started = performance.now();
const host = machine();
const brokerUrl = process.env.BENCH_MQTT_URL || undefined;
const results: { codec?: CodecResult; core?: CoreResult; memory?: MemoryResult; writes?: WritesResult; e2e?: E2eResult; startup?: StartupResult } = {};
const failures: string[] = [];

async function section<T>(name: Section, run: () => T | Promise<T>): Promise<T | undefined> {
  if (!wanted(name)) return undefined;
  progress(`${name}...`);
  const t = performance.now();
  try {
    const r = await run();
    progress(`${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    return r;
  } catch (err) {
    failures.push(`${name}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    progress(`${name} FAILED: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

const workDir = await mkdtemp(path.join(tmpdir(), 'smarthome-bench-'));
results.codec = await section('codec', () => runCodec(P.codec));
results.core = await section('core', () => {
  fullGc();
  return runCore(P.core);
});
results.memory = await section('memory', () => runMemory(P.memory));
results.writes = await section('writes', () => runWrites(P.writes));
results.e2e = await section('e2e', () => runE2e({ brokerUrl, workDir, pin: host.cores >= 2 && process.env.BENCH_PIN === '1', ...P.e2e }));
results.startup = await section('startup', () => runStartup({ workDir, ...P.startup }));
host.load_avg_end = loadAvg();
host.broker = results.e2e?.broker ?? (brokerUrl === undefined ? 'aedes (embedded, own process)' : brokerUrl);

const { codec, core, memory, writes, e2e, startup } = results;
const figures = {
  codec_ops_per_s: codec?.ops_per_s ?? null,
  codec_decode_ops_per_s: codec?.decode_ops_per_s ?? null,
  codec_encode_ops_per_s: codec?.encode_ops_per_s ?? null,
  core_events_per_s: core?.pipeline_events_per_s ?? null,
  core_cpu_us_per_event: core?.pipeline.cpu_us_per_event ?? null,
  core_empty_cpu_us_per_event: core?.empty.cpu_us_per_event ?? null,
  core_relay_cpu_us_per_event: core?.relay.cpu_us_per_event ?? null,
  core_ratio_vs_empty: core?.ratio_vs_empty ?? null,
  core_ratio_vs_relay: core?.ratio_vs_relay ?? null,
  e2e_relay_replies_per_s: e2e?.relay_replies_per_s ?? null,
  e2e_backend_replies_per_s: e2e?.backend_replies_per_s ?? null,
  e2e_ratio_vs_relay: e2e?.ratio_vs_relay ?? null,
  e2e_lost: e2e?.lost ?? null,
  e2e_duplicated: e2e?.duplicated ?? null,
  e2e_relay_lost: e2e?.relay_lost ?? null,
  cpu_us_per_command: e2e?.cpu_us_per_command.backend ?? null,
  cpu_relay_us_per_command: e2e?.cpu_us_per_command.relay ?? null,
  cpu_ratio_vs_relay: e2e?.cpu_ratio_vs_relay ?? null,
  latency_rate_per_s: e2e?.latency.rate_per_s ?? null,
  p50_relay_ms: e2e?.latency.relay.p50_ms ?? null,
  p99_relay_ms: e2e?.latency.relay.p99_ms ?? null,
  p50_backend_ms: e2e?.latency.backend.p50_ms ?? null,
  p99_backend_ms: e2e?.latency.backend.p99_ms ?? null,
  p99_added_ms: e2e?.latency.p99_added_ms ?? null,
  heap_at_20pct_mb: memory === undefined ? null : sig(memory.heap_at_20pct_bytes / 2 ** 20, 3),
  heap_at_100pct_mb: memory === undefined ? null : sig(memory.heap_at_100pct_bytes / 2 ** 20, 3),
  heap_growth_pct: memory?.heap_growth_pct ?? null,
  alarm_writes_per_s: writes?.local.alarms_per_s ?? null,
  alarm_peak_outbox: writes?.local.peak_outbox ?? null,
  alarm_writes_per_s_with_outbox: writes?.with_outbox.alarms_per_s ?? null,
  alarm_peak_outbox_with_outbox: writes?.with_outbox.peak_outbox ?? null,
  startup_compiled_healthy_ms: startup?.compiled.healthy_median_ms ?? null,
  startup_tsx_healthy_ms: startup?.tsx.healthy_median_ms ?? null,
  startup_healthy_ratio: startup?.healthy_ratio ?? null,
  startup_compiled_rss_mb: startup?.compiled.rss_median_mb ?? null,
  startup_tsx_rss_mb: startup?.tsx.rss_median_mb ?? null,
  startup_tsx_cli_healthy_ms: startup?.tsx_cli.healthy_median_ms ?? null,
};

type Goal = { readonly goal: string; readonly met: boolean | null };
const check = (ok: boolean | undefined): boolean | null => (ok === undefined ? null : ok);
const goals: Record<string, Goal> = {
  e2e: { goal: 'e2e_ratio_vs_relay >= 0.7 and e2e_lost = 0', met: check(e2e && e2e.ratio_vs_relay >= 0.7 && e2e.lost === 0) },
  cpu: { goal: 'cpu_ratio_vs_relay <= 1.1', met: check(e2e && e2e.cpu_ratio_vs_relay <= 1.1) },
  latency: { goal: 'p99_added_ms <= 1', met: check(e2e && e2e.latency.p99_added_ms <= 1) },
  core: { goal: 'core_events_per_s >= 200000', met: check(core && core.pipeline_events_per_s >= 200_000) },
  memory: { goal: 'heap_growth_pct <= 5', met: check(memory && memory.heap_growth_pct <= 5) },
  startup: { goal: 'startup_compiled_rss_mb <= 110 and startup_healthy_ratio <= 0.5', met: check(startup && startup.compiled.rss_median_mb <= 110 && startup.healthy_ratio <= 0.5) },
};

const report = {
  mode: quick ? 'quick' : 'full',
  ...figures,
  goals,
  machine: host,
  seconds: sig((performance.now() - started) / 1000, 3),
  details: results,
  ...(failures.length > 0 ? { failures } : {}),
};

if (saveArg !== undefined) await writeFile(saveArg.slice('--save='.length), `${JSON.stringify(report, null, 2)}\n`);
if (asJson) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  process.stdout.write(text());
}
if (failures.length === 0) await rm(workDir, { recursive: true, force: true });
else progress(`logs of the helper processes kept in ${workDir}`);
process.exitCode = failures.length > 0 ? 1 : 0;

function text(): string {
  const lines: string[] = [];
  const row = (what: string, value: unknown, note = ''): void => {
    lines.push(`  ${what.padEnd(44)} ${String(value ?? '-').padStart(12)}  ${note}`);
  };
  const n = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toLocaleString('en-US'));
  lines.push(`smarthome-backend benchmarks (${report.mode} run, ${report.seconds} s)`);
  lines.push(`  machine: ${host.cpu}, ${host.cores} cores, ${host.memory_gb} GB, Node ${host.node}, ${host.os}; load ${host.load_avg_start} -> ${host.load_avg_end}`);
  lines.push(`  broker:  ${host.broker}`);
  lines.push('');
  lines.push('1. codec');
  row('decode, ops/s', n(codec?.decode_ops_per_s));
  row('encode, ops/s', n(codec?.encode_ops_per_s));
  row('decode + encode alternately, ops/s', n(codec?.ops_per_s));
  lines.push(`2. core (in-process, no I/O; CPU per event, median of ${core?.samples ?? '-'} rounds of ${n(core?.events_per_sample)} events)`);
  const cpuRow = (what: string, f: CoreFigures | undefined, note: string): void =>
    row(`CPU us per event: ${what}`, f?.cpu_us_per_event, f === undefined ? '' : `spread ${f.spread_pct} %; ${f.effects_per_event} effects per event; ${note}`);
  cpuRow('pipeline', core?.pipeline, 'every stream');
  cpuRow('empty pipeline', core?.empty, 'queue, fold, router, no stream');
  cpuRow('relay', core?.relay, 'parse each command, reply');
  row('ratio pipeline / empty (median of rounds)', core?.ratio_vs_empty, 'what the streams add to the machinery');
  row('ratio pipeline / relay (median of rounds)', core?.ratio_vs_relay);
  row('pipeline, events/s (median, wall clock)', n(core?.pipeline_events_per_s), `goal >= 200,000; best ${n(core?.pipeline_best_events_per_s)}, spread ${core?.wall_spread_pct ?? '-'} %`);
  row('machine busy / this process, %', core === undefined ? '-' : `${core.machine_busy_pct ?? '-'} / ${core.process_cpu_pct}`, `of ${host.cores} cores / of one core`);
  lines.push('3. end to end (signin at QoS 1)');
  row('relay, replies/s (median)', n(e2e?.relay_replies_per_s));
  row('backend, replies/s (median)', n(e2e?.backend_replies_per_s));
  row('ratio backend / relay (median of pairs)', e2e?.ratio_vs_relay, `goal >= 0.7; pairs ${e2e?.ratios.join(' ')}`);
  row('backend: lost / duplicated replies', e2e === undefined ? '-' : `${e2e.lost} / ${e2e.duplicated}`, `goal 0 lost, of ${n(e2e?.commands_sent)} commands; stray ${e2e?.stray}, wrong ${e2e?.wrong_replies}`);
  row('relay: lost / duplicated replies', e2e === undefined ? '-' : `${e2e.relay_lost} / ${e2e.relay_duplicated}`, `of ${n(e2e?.relay_commands_sent)} commands`);
  for (const l of e2e?.losses ?? []) {
    if (l.lost > 0 || l.duplicated > 0) row(`  of which ${l.target}, ${l.phase} rounds`, `${l.lost} / ${l.duplicated}`, `of ${n(l.sent)} commands`);
  }
  if (e2e) {
    row('CPU us per command: relay / backend (median)', `${e2e.cpu_us_per_command.relay} / ${e2e.cpu_us_per_command.backend}`, 'own process, user + system, after warm-up');
    row('CPU ratio backend / relay (median of pairs)', e2e.cpu_ratio_vs_relay, `goal <= 1.1; pairs ${e2e.cpu_ratios.join(' ')}`);
    const c = e2e.cpu_ms_per_1000_replies;
    row('CPU ms per 1,000 replies: relay', `${c.relay.target}`, `broker ${c.relay.broker ?? '-'}, devices ${c.relay.devices}`);
    row('CPU ms per 1,000 replies: backend', `${c.backend.target}`, `broker ${c.backend.broker ?? '-'}, devices ${c.backend.devices}`);
    row('machine CPU busy in relay / backend rounds, %', `${e2e.machine_busy_pct.relay ?? '-'} / ${e2e.machine_busy_pct.backend ?? '-'}`, `of ${host.cores} cores, all processes`);
  }
  lines.push(`4. latency at ${n(e2e?.latency.rate_per_s)} commands/s (half the relay's maximum)${e2e?.latency_pinned ? '; target pinned to core 1, the rest to core 0' : ''}`);
  row('relay p50 / p99, ms', e2e === undefined ? '-' : `${e2e.latency.relay.p50_ms} / ${e2e.latency.relay.p99_ms}`);
  row('backend p50 / p99, ms', e2e === undefined ? '-' : `${e2e.latency.backend.p50_ms} / ${e2e.latency.backend.p99_ms}`);
  row('p99 added by the backend, ms (median of pairs)', e2e?.latency.p99_added_ms, `goal <= 1; pairs ${e2e?.latency.p99_added_pairs_ms.join(' ')}; pooled ${e2e?.latency.p99_added_pooled_ms}`);
  const loops = e2e === undefined ? undefined : [e2e.latency.relay.loop, e2e.latency.backend.loop];
  if (loops?.[0] !== undefined && loops[1] !== undefined) {
    row('event-loop delay p99 / max: relay, ms', `${loops[0].delay_p99_ms} / ${loops[0].delay_max_ms}`, `GC pause max ${loops[0].gc_max_ms} ms, heap ${loops[0].heap_mb} MB`);
    row('event-loop delay p99 / max: backend, ms', `${loops[1].delay_p99_ms} / ${loops[1].delay_max_ms}`, `GC pause max ${loops[1].gc_max_ms} ms, heap ${loops[1].heap_mb} MB`);
    const others = (l: LoopStats | undefined): string => (l === undefined ? '-' : `${l.delay_p99_ms} / ${l.delay_max_ms}`);
    const lr = e2e?.latency.relay;
    const lb = e2e?.latency.backend;
    row('  broker, in relay / backend rounds, ms', `${others(lr?.broker_loop)} | ${others(lb?.broker_loop)}`, 'event-loop delay p99 / max');
    row('  devices, in relay / backend rounds, ms', `${others(lr?.devices_loop)} | ${others(lb?.devices_loop)}`, 'event-loop delay p99 / max');
  }
  const low = e2e?.latency_low_load;
  if (low !== undefined) {
    row(`at ${n(low.rate_per_s)}/s (a tenth): relay p50 / p99, ms`, `${low.relay.p50_ms} / ${low.relay.p99_ms}`);
    row(`at ${n(low.rate_per_s)}/s (a tenth): backend p50 / p99, ms`, `${low.backend.p50_ms} / ${low.backend.p99_ms}`, `p99 added ${low.p99_added_ms} (pairs ${low.p99_added_pairs_ms.join(' ')}; pooled ${low.p99_added_pooled_ms})`);
  }
  if (e2e !== undefined) {
    const h = e2e.heap_after_gc_mb;
    row('backend heap after GC, start / end of e2e, MB', `${h.backend.start} / ${h.backend.end}`, `relay ${h.relay.start} / ${h.relay.end}; ${n(e2e.commands_sent)} commands between`);
  }
  lines.push('5. memory (1,000,000 core events)');
  row('heap after GC at 20 % / 100 %, MB', memory === undefined ? '-' : `${figures.heap_at_20pct_mb} / ${figures.heap_at_100pct_mb}`);
  row('growth, %', memory?.heap_growth_pct, 'goal <= 5');
  lines.push('6. writes (alarm storm, 10,000 status changes, local store)');
  row('alarms/s', n(writes?.local.alarms_per_s), `all writes ${n(writes?.local.writes_per_s)}/s in ${writes?.local.commits} commits`);
  row('peak outbox (writes accepted, not yet stored)', n(writes?.local.peak_outbox));
  row('with the durable outbox: alarms/s, peak', writes === undefined ? '-' : `${n(writes.with_outbox.alarms_per_s)} / ${n(writes.with_outbox.peak_outbox)}`);
  lines.push(`7. start-up (${startup?.runs ?? '-'} starts of each, embedded broker, empty DATA_DIR)`);
  row('time to /healthz 200: compiled / tsx, ms', startup === undefined ? '-' : `${startup.compiled.healthy_median_ms} / ${startup.tsx.healthy_median_ms}`, `ratio ${startup?.healthy_ratio ?? '-'}, goal <= 0.5 (medians)`);
  row('RSS of the serving process: compiled / tsx, MB', startup === undefined ? '-' : `${startup.compiled.rss_median_mb} / ${startup.tsx.rss_median_mb}`, 'goal <= 110 compiled (medians, 1 s after healthy)');
  row('the tsx command (npm start before): ms, MB', startup === undefined ? '-' : `${startup.tsx_cli.healthy_median_ms} / ${startup.tsx_cli.rss_median_mb}`, 'time to healthy / RSS of its serving child (medians)');
  lines.push('');
  lines.push('goals:');
  for (const [name, g] of Object.entries(goals)) lines.push(`  ${name.padEnd(8)} ${g.met === null ? 'not run' : g.met ? 'met   ' : 'MISSED'}  ${g.goal}`);
  for (const f of failures) lines.push(`FAILED ${f}`);
  return `${lines.join('\n')}\n`;
}
