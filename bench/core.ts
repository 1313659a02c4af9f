/**
 * Core cost: the CPU time per event of `pipeline()` in-process (no I/O) over the workload, beside
 * two yardsticks run in the same process, on the same events, in the same rounds:
 *
 * - the **empty pipeline**: `pipeline()` with no stream of the backend, only one that reads no
 *   kind and never emits (with no stream at all `pipeline()` completes at once and never
 *   subscribes to its events, so there would be nothing to measure). What is left is the
 *   machinery every event pays whatever the streams do: the queue that loops own writes back,
 *   the world fold (`observe`), the router's lookup and the merge. pipeline / empty is what the
 *   streams themselves add (their behaviour and their RxJS hops);
 * - the **relay**: the end-to-end bench's yardstick (bench/relay.ts) without its transport: each
 *   command parsed to learn its sender and answered with one `mqtt.publish` (bench/relay-reply.ts);
 *   every other event ignored, as the relay never receives them. The least any service must do
 *   per event of this workload.
 *
 * All three are fed by the same loop through a Subject, as the service's sources feed the
 * pipeline (a hot source: everything is subscribed before the first event), so the loop's own
 * cost is in each figure alike. The figure is `process.cpuUsage()` (user + system, every thread
 * of the process, GC helpers included) around the loop, per event; the pipeline's wall-clock rate
 * is kept too (the goal of issue 8).
 */
import { NEVER, Subject, asyncScheduler, type SchedulerLike } from 'rxjs';
import { DEFAULT_TOPICS, topicFilter } from '../lib/core/protocol/topics.js';
import type { Deps } from '../lib/core/streams/deps.js';
import type { Effect } from '../lib/core/protocol/effects.js';
import type { Event } from '../lib/core/protocol/events.js';
import { pipeline, STREAMS, type StreamFactory } from '../lib/core/streams/pipeline.js';
import { stream } from '../lib/core/streams/stream.js';
import { contention } from './machine.js';
import { relayReplyTopic } from './relay-reply.js';
import { median, sig, spreadPct } from './stats.js';
import { EVENT_MS, makeEvents, userEvents } from './workload.js';

export const T0 = Date.parse('2021-09-22T19:00:00+09:00');

/** A clock that advances EVENT_MS per event, so ticks mean seconds and alarm ids move. */
export function benchClock(): { scheduler: SchedulerLike; advance(): void } {
  let now = T0;
  return {
    scheduler: { now: () => now, schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'] },
    advance: () => {
      now += EVENT_MS;
    },
  };
}

export function benchDeps(scheduler: SchedulerLike): Deps {
  return {
    scheduler,
    settings: { tz: 'Asia/Seoul', commandConfirmS: 30, scheduleGraceS: 300, topics: DEFAULT_TOPICS },
    resume: { scheduleFired: {} },
  };
}

/** The empty pipeline's one stream: it reads no kind and never emits. */
export const NO_STREAMS: Readonly<Record<string, StreamFactory>> = { none: stream([], () => NEVER) };

/** What the relay answers (the bytes do not matter here: a constant, as the relay's is). */
const RELAY_REPLY = JSON.stringify({ name: 'bench user', Producer: 'server', command: 'return_name' });

export interface CoreRun {
  readonly events: number;
  readonly effects: number;
  /** Wall-clock and CPU (user + system) time of the timed loop. */
  readonly ms: number;
  readonly cpuUs: number;
}

interface RunOptions {
  /** Called after event i (memory probes); inside the timed loop. */
  readonly at?: (i: number) => void;
  readonly onEffect?: (e: Effect) => void;
}

/**
 * Feeds the events to `target` through a Subject, after the users' documents (not timed), and
 * times the loop. `target` subscribes to the events and hands each effect to `emit`.
 */
function drive(events: Iterable<Event>, options: RunOptions, target: (event$: Subject<Event>, deps: Deps, emit: (e: Effect) => void) => { unsubscribe(): void }): CoreRun {
  const clock = benchClock();
  const { at, onEffect } = options;
  let effects = 0;
  const emit = onEffect === undefined ? () => void effects++ : (e: Effect) => {
    effects++;
    onEffect(e);
  };
  const source = new Subject<Event>();
  const subscription = target(source, benchDeps(clock.scheduler), emit);
  if (!source.observed) throw new Error('bench: the target did not subscribe to the events (a pipeline that completed at once?)');
  for (const e of userEvents()) source.next(e);
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (const event of events) {
    source.next(event);
    clock.advance();
    at?.(n);
    n++;
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  source.complete();
  subscription.unsubscribe();
  return { events: n, effects, ms, cpuUs: cpu.user + cpu.system };
}

/** `pipeline()` over the events, with every stream (STREAMS) unless told otherwise. */
export function runPipeline(events: Iterable<Event>, options: RunOptions & { streams?: Readonly<Record<string, StreamFactory>> } = {}): CoreRun {
  return drive(events, options, (event$, deps, emit) => pipeline(event$, deps, options.streams ?? STREAMS).subscribe(emit));
}

/** The relay's work in-process: a reply to each command, nothing else. */
export function runRelay(events: Iterable<Event>, options: RunOptions = {}): CoreRun {
  return drive(events, options, (event$, deps, emit) => {
    const { commands, reply } = deps.settings.topics;
    const isCommand = topicFilter(commands); // what the broker's subscription does for the relay
    return event$.subscribe((event) => {
      if (event.type !== 'mqtt.message' || !isCommand(event.topic)) return;
      const topic = relayReplyTopic(event.payload, reply);
      if (topic !== undefined) emit({ type: 'mqtt.publish', topic, payload: RELAY_REPLY });
    });
  });
}

const TARGETS = {
  pipeline: (events: readonly Event[]) => runPipeline(events),
  empty: (events: readonly Event[]) => runPipeline(events, { streams: NO_STREAMS }),
  relay: (events: readonly Event[]) => runRelay(events),
} as const;
type Target = keyof typeof TARGETS;
const NAMES = Object.keys(TARGETS) as Target[];

export interface CoreFigures {
  /** Median over the rounds of CPU time (user + system) per event, and its spread. */
  readonly cpu_us_per_event: number;
  readonly spread_pct: number;
  readonly effects_per_event: number;
}

export interface CoreResult {
  /** The real pipeline, the empty pipeline (fold, queue, router, no stream) and the relay. */
  readonly pipeline: CoreFigures;
  readonly empty: CoreFigures;
  readonly relay: CoreFigures;
  /** Median over the rounds of the round's pipeline / empty CPU per event, and the rounds'. */
  readonly ratio_vs_empty: number;
  readonly ratios_vs_empty: readonly number[];
  /** The same against the relay. */
  readonly ratio_vs_relay: number;
  /** Effects of each target in one round (the same every round: the run is deterministic). */
  readonly effects: Readonly<Record<Target, number>>;
  /** The real pipeline's wall-clock rate: median, best, spread. */
  readonly pipeline_events_per_s: number;
  readonly pipeline_best_events_per_s: number;
  readonly wall_spread_pct: number;
  readonly events_per_sample: number;
  readonly samples: number;
  /** Contention while the rounds ran: the whole machine's busy share (all cores) and ours (1 core = 100). */
  readonly machine_busy_pct: number | null;
  readonly process_cpu_pct: number;
}

/**
 * `samples` rounds over the same events, each running the three targets back to back, the one
 * that goes first rotating per round; the ratios are taken per round, then the median. No forced
 * GC between runs: after a full GC V8 shrinks the young generation, and the next run would pay
 * for growing it back (measured: 20-40 % slower samples); the caller collects once before.
 */
export function runCore(options: { events: number; samples: number; warmups?: number }): CoreResult {
  const events = makeEvents(options.events);
  for (let i = 0; i < (options.warmups ?? 3); i++) for (const name of NAMES) TARGETS[name](events);
  const cpu: Record<Target, number[]> = { pipeline: [], empty: [], relay: [] };
  const effects: Record<Target, number> = { pipeline: 0, empty: 0, relay: 0 };
  const rates: number[] = [];
  const vsEmpty: number[] = [];
  const vsRelay: number[] = [];
  const load = contention();
  for (let s = 0; s < options.samples; s++) {
    const round = {} as Record<Target, number>;
    for (let k = 0; k < NAMES.length; k++) {
      const name = NAMES[(s + k) % NAMES.length]!;
      const run = TARGETS[name](events);
      round[name] = run.cpuUs / run.events;
      cpu[name].push(round[name]);
      effects[name] = run.effects;
      if (name === 'pipeline') rates.push((run.events / run.ms) * 1000);
    }
    vsEmpty.push(round.pipeline / round.empty);
    vsRelay.push(round.pipeline / round.relay);
  }
  const { machine_busy_pct, process_cpu_pct } = load();
  const figures = (name: Target): CoreFigures => ({
    cpu_us_per_event: sig(median(cpu[name])),
    spread_pct: spreadPct(cpu[name]),
    effects_per_event: sig(effects[name] / options.events, 3),
  });
  return {
    pipeline: figures('pipeline'),
    empty: figures('empty'),
    relay: figures('relay'),
    ratio_vs_empty: sig(median(vsEmpty), 3),
    ratios_vs_empty: vsEmpty.map((x) => sig(x, 3)),
    ratio_vs_relay: sig(median(vsRelay), 3),
    effects,
    pipeline_events_per_s: sig(median(rates)),
    pipeline_best_events_per_s: sig(Math.max(...rates)),
    wall_spread_pct: spreadPct(rates),
    events_per_sample: options.events,
    samples: options.samples,
    machine_busy_pct,
    process_cpu_pct,
  };
}
