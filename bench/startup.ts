/**
 * Start-up (issue 24): how long until /healthz answers 200, and the resident memory of the
 * serving process, for the compiled service (`node dist/main.js`, what `npm start` and the
 * systemd unit run) against the TypeScript run through tsx (`node --import=tsx lib/main.ts`,
 * the tsx start of the issue), and for context the tsx command as `npm start` ran it before
 * issue 24 (`tsx lib/main.ts`: a tsx process that serves from a child node, whose RSS counts).
 * Each run starts the three, in rotating order, on ports 0 with an
 * empty DATA_DIR and the embedded broker; the time runs from spawn to the first 200, the RSS is
 * read from /proc one second after that (start-up's garbage settled, no traffic yet).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { buildDist, get, spawnService, type Launch } from '../spec/support/service.js';
import { median, progress, sig, sleep } from './stats.js';

export interface StartupFigures {
  readonly healthy_ms: readonly number[];
  readonly rss_mb: readonly number[];
  readonly healthy_median_ms: number;
  readonly rss_median_mb: number;
}

export interface StartupResult {
  readonly runs: number;
  readonly compiled: StartupFigures;
  readonly tsx: StartupFigures;
  readonly tsx_cli: StartupFigures;
  /** Median compiled time to healthy / median tsx time to healthy. */
  readonly healthy_ratio: number;
}

/** The serving process: `pid`, or for the tsx command its one child. */
async function servingPid(pid: number, launch: Launch): Promise<number> {
  if (launch !== 'tsx-cli') return pid;
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  if (children.length !== 1) throw new Error(`the tsx command has ${children.length} children, expected 1`);
  return children[0]!;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return sig(kb / 1024, 3);
}

async function startOnce(launch: Launch, workDir: string): Promise<{ healthy_ms: number; rss_mb: number }> {
  const dataDir = await mkdtemp(path.join(workDir, `startup-${launch}-`));
  const t0 = performance.now();
  const proc = spawnService({ DATA_DIR: dataDir, HTTP_PORT: '0', EMBEDDED_MQTT_PORT: '0' }, [], launch);
  try {
    const line = await proc.waitForLog(/ health http:\/\/\S+\/healthz$/, 'the start line', 30_000);
    const healthz = / health (http:\/\/\S+\/healthz)$/.exec(line.msg ?? '')?.[1] ?? '';
    while ((await get(healthz)).status !== 200) await sleep(5);
    const healthy = performance.now() - t0;
    await sleep(1000);
    const rss = await rssMb(await servingPid(proc.pid, launch));
    const exit = await proc.stop();
    if (exit.code !== 0) throw new Error(`${launch}: exit ${exit.code}: ${proc.stderr().slice(-500)}`);
    return { healthy_ms: sig(healthy, 3), rss_mb: rss };
  } finally {
    await proc.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const figures = (runs: ReadonlyArray<{ healthy_ms: number; rss_mb: number }>): StartupFigures => ({
  healthy_ms: runs.map((r) => r.healthy_ms),
  rss_mb: runs.map((r) => r.rss_mb),
  healthy_median_ms: sig(median(runs.map((r) => r.healthy_ms)), 3),
  rss_median_mb: sig(median(runs.map((r) => r.rss_mb)), 3),
});

export async function runStartup(options: { runs: number; workDir: string }): Promise<StartupResult> {
  await buildDist();
  const compiled: Array<{ healthy_ms: number; rss_mb: number }> = [];
  const tsx: Array<{ healthy_ms: number; rss_mb: number }> = [];
  const tsxCli: Array<{ healthy_ms: number; rss_mb: number }> = [];
  const runsOf: Record<'node' | 'tsx' | 'tsx-cli', typeof compiled> = { node: compiled, tsx, 'tsx-cli': tsxCli };
  const launches = ['node', 'tsx', 'tsx-cli'] as const;
  // one unmeasured start of each first: the disk cache (and tsx's cache of compiled files) hold them afterwards
  for (const launch of launches) await startOnce(launch, options.workDir);
  for (let i = 0; i < options.runs; i++) {
    for (let k = 0; k < launches.length; k++) {
      const launch = launches[(i + k) % launches.length]!;
      runsOf[launch].push(await startOnce(launch, options.workDir));
    }
    const show = (runs: typeof compiled): string => `${runs.at(-1)?.healthy_ms} ms ${runs.at(-1)?.rss_mb} MB`;
    progress(`startup run ${i + 1}/${options.runs}: compiled ${show(compiled)}, tsx ${show(tsx)}, tsx command ${show(tsxCli)}`);
  }
  const result = { runs: options.runs, compiled: figures(compiled), tsx: figures(tsx), tsx_cli: figures(tsxCli) };
  return { ...result, healthy_ratio: sig(result.compiled.healthy_median_ms / result.tsx.healthy_median_ms, 3) };
}
