/**
 * Core throughput: `pipeline()` in-process (no I/O) over the workload, against a plain function
 * that does the same decoding and state update without RxJS.
 *
 * What "the same" means (so that the ratio prices the stream composition and nothing else):
 * the plain function runs, for every event, the steps of every stream of `lib/core/streams` in the
 * pipeline's order (commands, status, alarms, recommendation, schedules, weather, check of work,
 * service alerts), with the same fold (`foldEvent`), the same decoders and helpers, the same
 * effect objects, the same per-step error guard and the same loop-back of the backend's own
 * writes (a queue in front of the fold). It must give the identical effect sequence, and the
 * bench checks that it does (`sameEffects`). It covers the inputs of the workload (commands,
 * controls, reports, user documents, ticks, and the recordings of spec/fixtures/traffic that
 * hold only those); anything else throws `NotCovered`, so a changed workload cannot quietly
 * compare unlike with unlike.
 *
 * It cannot drift from the streams unnoticed: spec/bench/core.spec.ts replays the recorded
 * traffic through it and compares it with the golden effects files byte for byte (the same
 * files the pipeline is checked against), and checks `sameEffects` on the workload. A stream
 * change that its mirror here misses fails `npm test`.
 */
import * as E from 'fp-ts/lib/Either.js';
import { Subject, asyncScheduler, type SchedulerLike } from 'rxjs';
import { confirms } from '../lib/core/protocol/apply.js';
import { decodeCommand, decodeEnvelope, type Command, type Envelope } from '../lib/core/protocol/commands.js';
import { truncate } from '../lib/core/protocol/errors.js';
import { encode, type HomeCode } from '../lib/core/protocol/home-code.js';
import { alarmDate, localParts, wallMinutes } from '../lib/core/protocol/local-time.js';
import { DEFAULT_TOPICS, deviceTopic, topicMatches } from '../lib/core/protocol/topics.js';
import { ALARMS, alarmIds, alarmsFor, excessIds, idCandidates, MAX_ALARMS } from '../lib/core/streams/alarms.js';
import { deviceError, log, systemError, warning } from '../lib/core/streams/alerts.js';
import { signinReply } from '../lib/core/streams/server-commands.js';
import type { Deps } from '../lib/core/streams/deps.js';
import { countUnknownUid, documentRefusal, limitsOf, refused, type UnknownUidWindows } from '../lib/core/streams/limits.js';
import type { Effect } from '../lib/core/protocol/effects.js';
import type { Event } from '../lib/core/protocol/events.js';
import { echoOf, pipeline } from '../lib/core/streams/pipeline.js';
import { NOTIFICATION_PATH, recommend } from '../lib/core/streams/recommendation.js';
import { emptyWorld, foldEvent, splitPath, touches, valueAt, type StatusChange, type World } from '../lib/core/streams/world.js';
import { contention } from './machine.js';
import { fullGc, median, sig, spreadPct } from './stats.js';
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

export interface CoreRun {
  readonly events: number;
  readonly effects: number;
  readonly ms: number;
}

/**
 * Runs the pipeline over the events, fed through a Subject as the service's sources feed it (a
 * hot source: every stream is subscribed before the first event). Calls `at(i)` after event i
 * (for memory probes) and `onEffect` for each effect. Only the events are timed, not the users.
 */
export function runPipeline(events: Iterable<Event>, options: { at?: (i: number) => void; onEffect?: (e: Effect) => void } = {}): CoreRun {
  const clock = benchClock();
  const { at, onEffect } = options;
  let effects = 0;
  const source = new Subject<Event>();
  const subscription = pipeline(source, benchDeps(clock.scheduler)).subscribe(
    onEffect === undefined ? () => effects++ : (e) => {
      effects++;
      onEffect(e);
    },
  );
  for (const e of userEvents()) source.next(e);
  let n = 0;
  const start = performance.now();
  for (const event of events) {
    source.next(event);
    clock.advance();
    at?.(n);
    n++;
  }
  const ms = performance.now() - start;
  source.complete();
  subscription.unsubscribe();
  return { events: n, effects, ms };
}

// ---- the plain baseline ----

/** An input the plain baseline does not mirror: it stops the run, never becomes an effect. */
export class NotCovered extends Error {
  override readonly name = 'NotCovered';
}

interface Pending {
  readonly code: HomeCode;
  readonly deadline: number;
}

/** The backend's behaviour on the workload's inputs as one plain function (see the header). */
// Split once, as recommendation.ts does.
const RAIN_PARTS = splitPath('sensor/hometemp/rain');
const ICON_PARTS = splitPath('sensor/openweather/icon');
const AIR_PARTS = splitPath('sensor/openweather/air_level');
const NOTIFICATION_PARTS = splitPath(NOTIFICATION_PATH);

export function plainBackend(deps: Deps, emit: (effect: Effect) => void): (event: Event) => void {
  const { topics, tz, commandConfirmS } = deps.settings;
  const waitMs = commandConfirmS * 1000;
  const world: World = emptyWorld(undefined);
  // per-stream state, as each stream's `react` keeps it
  const limits = limitsOf(deps.settings);
  let unknownUid: UnknownUidWindows = new Map();
  let lastAdvice: string | undefined;
  const signinReplies = new WeakMap<Record<string, unknown>, string>();
  const candidates = idCandidates();
  let pending: ReadonlyMap<string, Pending> = new Map();
  const schedules = new Map<string, unknown>();

  const queue: Event[] = [];
  let draining = false;

  const out = (effects: readonly Effect[]): void => {
    for (const effect of effects) {
      emit(effect);
      const echo = echoOf(effect);
      if (echo !== undefined) queue.push(echo);
    }
  };
  /** The guard `react` puts around every step. */
  const guarded = (name: string, step: () => readonly Effect[]): void => {
    let effects: readonly Effect[];
    try {
      effects = step();
    } catch (err) {
      if (err instanceof NotCovered) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      effects = systemError(topics, `${name} failed on an event and skipped it: ${reason}`);
    }
    out(effects);
  };

  const command = (env: Envelope, c: Command): readonly Effect[] => {
    switch (c.command) {
      case 'signup': {
        const users = world.docs.user_account;
        const refusal = documentRefusal('user', { name: c.name }, users.has(c.UID), users.size, limits);
        if (refusal) return refused(topics, env.Producer, `signup: ${refusal.toSender}`, `${env.Producer}: ${refusal.toOperator}`);
        return [
          { type: 'firestore.set', collection: 'user_account', id: c.UID, data: { name: c.name } },
          log('info', `${env.Producer} signed up user ${c.UID}`),
        ];
      }
      case 'signin': {
        const user = world.docs.user_account.get(c.UID);
        if (user !== undefined) return [{ type: 'mqtt.publish', topic: deviceTopic(topics.reply, env.Producer), payload: signinReply(user, signinReplies) }];
        const counted = countUnknownUid(unknownUid, env.Producer, deps.scheduler.now(), limits.unknownUidPerMin);
        unknownUid = counted.windows;
        switch (counted.verdict) {
          case 'answer':
            return deviceError(topics, env.Producer, `signin: unknown UID ${JSON.stringify(c.UID)}`);
          case 'limit':
            throw new NotCovered('the plain baseline does not cover the unknown-UID limit');
          case 'silent':
            return [];
        }
        break;
      }
      case 'test':
      case 'alert':
        return [log('info', `${c.command} from ${env.Producer}: ${JSON.stringify(c.body)}`)];
      default:
        throw new NotCovered(`the plain baseline does not cover the ${c.command} command`);
    }
  };

  const step = (event: Event): void => {
    if (event.type === 'weather.result' || event.type === 'weather.failure' || event.type === 'face.result' || event.type === 'service.alert') {
      throw new NotCovered(`the plain baseline does not cover ${event.type} events`);
    }
    if (event.type === 'firestore.doc' && event.collection === 'schedule_mode') {
      throw new NotCovered('the plain baseline does not cover schedules');
    }
    const statusBefore = world.status;
    const change: StatusChange = foldEvent(world, event, topics);
    const status = world.status;

    // commands
    if (event.type === 'mqtt.message' && event.topic !== topics.serverStatus && topicMatches(topics.commands, event.topic)) {
      guarded('commands', () => {
        const envelope = decodeEnvelope(event.payload);
        if (E.isLeft(envelope)) return warning(topics, `ignored message on ${event.topic}: ${envelope.left.message}`);
        const { envelope: env, body } = envelope.right;
        const decoded = decodeCommand(env, body);
        if (E.isLeft(decoded)) return deviceError(topics, env.Producer, decoded.left.message);
        return command(env, decoded.right);
      });
    }

    // status: invalid codes, then the tracked status
    if (change.kind === 'invalid') {
      guarded('status', () => warning(topics, truncate(`ignored invalid status code from ${change.source}: ${change.error.message}`)));
    }
    if (status !== undefined && status !== statusBefore) out([{ type: 'state.status', status: encode(status) }]);

    // alarms
    if (statusBefore !== undefined && status !== undefined && statusBefore !== status) {
      guarded('alarms', () => {
        const raised = alarmsFor(statusBefore, status, world.docs.modes);
        if (raised.length === 0) return [];
        const now = deps.scheduler.now();
        const existing = world.docs[ALARMS];
        const ids = alarmIds(now, raised.length, existing, candidates);
        const date = alarmDate(now, tz);
        const sets: Effect[] = raised.map((alarm, i) => ({ type: 'firestore.set', collection: ALARMS, id: ids[i]!, data: { icon: alarm.icon, date, inform: alarm.inform } }));
        const deletes: Effect[] =
          existing.size + ids.length <= MAX_ALARMS
            ? []
            : excessIds([...existing.keys(), ...ids]).map((id) => ({ type: 'firestore.delete', collection: ALARMS, id }));
        return [...sets, ...deletes];
      });
    }

    // recommendation
    const relevant =
      event.type === 'rtdb.value'
        ? touches(event.path, 'sensor') || touches(event.path, 'smarthome/status')
        : change.kind !== 'none' && change.kind !== 'invalid' && statusBefore !== status;
    if (status !== undefined && relevant) {
      guarded('recommendation', () => {
        const advice = recommend({
          status,
          rain: valueAt(world.tree, RAIN_PARTS),
          weatherIcon: valueAt(world.tree, ICON_PARTS),
          airLevel: valueAt(world.tree, AIR_PARTS),
        });
        const current = lastAdvice ?? valueAt(world.tree, NOTIFICATION_PARTS);
        if (advice === current) return [];
        lastAdvice = advice;
        return [{ type: 'rtdb.set', path: NOTIFICATION_PATH, value: advice }];
      });
    }

    // schedules: a tick looks at the wall clock and at every schedule (the workload has none)
    if (event.type === 'clock.tick') {
      guarded('schedules', () => {
        const now = localParts(deps.scheduler.now(), tz);
        const nowMinute = wallMinutes(now);
        for (const id of schedules.keys()) throw new NotCovered(`schedule ${id} at ${nowMinute}: not covered`);
        return [];
      });
    }

    // check of work
    if (event.type === 'clock.tick' || change.kind === 'control' || change.kind === 'report') {
      guarded('check of work', () => {
        if (change.kind === 'report') {
          let left: Map<string, Pending> | undefined;
          for (const [key, p] of pending) {
            if (!confirms(change.code, p.code)) continue;
            left ??= new Map(pending);
            left.delete(key);
          }
          if (left !== undefined) pending = left;
          return [];
        }
        if (change.kind === 'control') {
          if (world.report === undefined || confirms(world.report, change.code)) return [];
          const key = encode(change.code);
          if (pending.has(key)) return [];
          pending = new Map(pending).set(key, { code: change.code, deadline: deps.scheduler.now() + waitMs });
          return [];
        }
        const now = deps.scheduler.now();
        const late = [...pending].filter(([, p]) => p.deadline <= now);
        if (late.length === 0) return [];
        const left = new Map(pending);
        for (const [key] of late) left.delete(key);
        pending = left;
        return late.flatMap(([key]) => systemError(topics, `the home did not confirm control ${key} within ${commandConfirmS} s`));
      });
    }
  };

  return (event) => {
    queue.push(event);
    if (draining) return;
    draining = true;
    try {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) step(next);
    } finally {
      draining = false;
    }
  };
}

/** The plain baseline over the events, like `runPipeline`. */
export function runPlain(events: Iterable<Event>, options: { onEffect?: (e: Effect) => void } = {}): CoreRun {
  const clock = benchClock();
  const { onEffect } = options;
  let effects = 0;
  const handle = plainBackend(benchDeps(clock.scheduler), onEffect === undefined ? () => effects++ : (e) => {
    effects++;
    onEffect(e);
  });
  for (const e of userEvents()) handle(e);
  let n = 0;
  const start = performance.now();
  for (const event of events) {
    handle(event);
    clock.advance();
    n++;
  }
  return { events: n, effects, ms: performance.now() - start };
}

/** Whether both give the identical effect sequence; the first difference otherwise. */
export function sameEffects(events: readonly Event[]): { same: boolean; effects: number; difference?: string } {
  const a: string[] = [];
  const b: string[] = [];
  runPipeline(events, { onEffect: (e) => a.push(JSON.stringify(e)) });
  runPlain(events, { onEffect: (e) => b.push(JSON.stringify(e)) });
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return { same: false, effects: a.length, difference: `effect ${i}: pipeline ${a[i] ?? '(none)'} / plain ${b[i] ?? '(none)'}` };
  }
  return { same: true, effects: a.length };
}

export interface CoreResult {
  /** Median events per second of the pipeline and of the plain baseline. */
  readonly pipeline_events_per_s: number;
  readonly plain_events_per_s: number;
  /** Median, over back-to-back pairs, of pipeline rate / plain rate. */
  readonly ratio_vs_plain: number;
  readonly pipeline_best_events_per_s: number;
  readonly spread_pct: number;
  readonly events_per_sample: number;
  readonly samples: number;
  readonly effects_per_event: number;
  /** The plain baseline gave the identical effect sequence (checked on `checked_events`). */
  readonly same_effects: boolean;
  readonly checked_events: number;
  /** Contention while the samples ran: the whole machine's busy share (all cores) and ours (1 core = 100). */
  readonly machine_busy_pct: number | null;
  readonly process_cpu_pct: number;
}

/**
 * Alternates pipeline and plain samples over the same events, so both see the same machine; the
 * ratio is taken per pair, then the median. No forced GC between samples: after a full GC V8
 * shrinks the young generation, and the next sample would pay for growing it back (measured:
 * 20-40 % slower samples).
 */
export function runCore(options: { events: number; samples: number; check: number }): CoreResult {
  const check = sameEffects(makeEvents(options.check));
  if (!check.same) process.stderr.write(`bench: WARNING the plain baseline differs from the pipeline: ${check.difference}\n`);
  const events = makeEvents(options.events);
  fullGc();
  // warm-up
  for (let i = 0; i < 3; i++) {
    runPipeline(events);
    runPlain(events);
  }
  const pipe: number[] = [];
  const plain: number[] = [];
  const ratios: number[] = [];
  let effects = 0;
  const load = contention();
  for (let s = 0; s < options.samples; s++) {
    const p = runPipeline(events);
    const q = runPlain(events);
    const pr = (p.events / p.ms) * 1000;
    const qr = (q.events / q.ms) * 1000;
    pipe.push(pr);
    plain.push(qr);
    ratios.push(pr / qr);
    effects = p.effects;
  }
  const { machine_busy_pct, process_cpu_pct } = load();
  return {
    pipeline_events_per_s: sig(median(pipe)),
    plain_events_per_s: sig(median(plain)),
    ratio_vs_plain: sig(median(ratios), 2),
    pipeline_best_events_per_s: sig(Math.max(...pipe)),
    spread_pct: spreadPct(pipe),
    events_per_sample: options.events,
    samples: options.samples,
    effects_per_event: sig(effects / options.events, 3),
    same_effects: check.same,
    checked_events: options.check,
    machine_busy_pct,
    process_cpu_pct,
  };
}
