/**
 * Which journaled events are finished (issue 12): an event is complete when every effect it
 * caused while it was handled (store writes, MQTT publishes, schedule state) is reported `done`
 * or `failed` by its sink. The checkpoint is the last event that is complete with every event
 * handled before it, together with the state after it that a restart needs to handle the later
 * ones again exactly as before: the tracked status, and the ids of the appliance alarms (a new
 * alarm takes the first free id of its second, so the ones an unfinished event wrote must not
 * count as taken when it is handled again).
 *
 * Effects a stream makes later (timers, ticks) belong to no event and are not waited for.
 */
import { InFlight } from '../base/in-flight.js';
import { ALARMS } from '../core/streams/alarms.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';
import type { Logger } from '../base/log.js';
import type { Database } from '../store/database.js';
import type { Checkpoint } from './event-journal.js';

interface Entry {
  readonly seq: number;
  /** Effects not yet reported. */
  left: number;
  handled: boolean;
  status?: string;
  alarms?: readonly string[];
}

/** The effects whose sinks report `done` or `failed` for each one. */
const TRACKED: ReadonlySet<Effect['type']> = new Set<Effect['type']>(['mqtt.publish', 'firestore.set', 'firestore.delete', 'rtdb.set', 'state.schedule']);

export class CheckpointTracker {
  /**
   * The handled events not complete yet, oldest first. The oldest leaves as soon as it completes
   * (at `end` and `settled`), so an entry lives as long as its effects are in flight,
   * milliseconds, and dies young: kept until a once-a-second read, every entry of a busy second
   * outlived the young generation and cost the old generation's collector (issue 17). A queue
   * that reuses its arrays, for the same reason as `publishes`.
   */
  private readonly entries = new InFlight<Entry, Entry>();
  private current: Entry | undefined;
  /**
   * The event of each tracked effect not yet reported. MQTT publishes (one or more per command)
   * in an `InFlight` queue: the MQTT sink reports them in the order it was given them, and a Map
   * churned per command costs the old generation's collector (issue 17). The other sinks' effects
   * (store writes, coalesced and retried in their own order) in a Map. Every tracked effect is
   * reported `done` or `failed` by its sink, which removes it.
   */
  private readonly publishes = new InFlight<Effect, Entry>();
  private readonly owner = new Map<Effect, Entry>();
  private status: string | undefined;
  private readonly alarmIds = new Set<string>();
  private alarmList: readonly string[] | undefined;
  /** The newest complete entry (the checkpoint is built from it when asked), or the start. */
  private lastComplete: Entry | undefined;
  private last: Checkpoint;

  constructor(start: Checkpoint) {
    this.last = start;
    this.status = start.status;
    for (const id of start.alarms ?? []) this.alarmIds.add(id);
  }

  /** The status the pipeline starts from (after a recovery, the one it ended with). */
  setStatus(status: string | undefined): void {
    this.status = status;
  }

  /** The tracked status as of the last effect seen. */
  get trackedStatus(): string | undefined {
    return this.status;
  }

  /** Event `seq` is being handled: effects from now until `end()` are its own. */
  begin(seq: number, event?: Event): void {
    if (event?.type === 'firestore.doc' && event.collection === ALARMS) this.alarm(event.id, event.data !== null);
    const entry: Entry = { seq, left: 0, handled: false };
    this.current = entry;
    this.entries.add(entry, entry);
  }

  end(): void {
    const entry = this.current;
    if (entry === undefined) return;
    this.current = undefined;
    entry.handled = true;
    entry.status = this.status;
    entry.alarms = this.alarmList ??= [...this.alarmIds];
    if (entry.left === 0) this.advance();
  }

  /** An effect the pipeline made (call for every effect, before the sinks get it). */
  effect(effect: Effect): void {
    if (effect.type === 'state.status') this.status = effect.status;
    else if (effect.type === 'firestore.set' && effect.collection === ALARMS) this.alarm(effect.id, true);
    else if (effect.type === 'firestore.delete' && effect.collection === ALARMS) this.alarm(effect.id, false);
    const entry = this.current;
    if (entry === undefined || !TRACKED.has(effect.type)) return;
    entry.left++;
    if (effect.type === 'mqtt.publish') this.publishes.add(effect, entry);
    else this.owner.set(effect, entry);
  }

  /** A sink reported the effect `done` or `failed`. */
  settled(effect: Effect): void {
    let entry: Entry | undefined;
    if (effect.type === 'mqtt.publish') entry = this.publishes.take(effect);
    else {
      entry = this.owner.get(effect);
      this.owner.delete(effect);
    }
    if (entry === undefined) return;
    entry.left--;
    if (entry.left === 0 && entry.handled) this.advance();
  }

  /** How many handled events are not complete yet. */
  get open(): number {
    return this.entries.size;
  }

  /** The newest checkpoint: the last event complete with every event handled before it. */
  get checkpoint(): Checkpoint {
    const entry = this.lastComplete;
    if (entry !== undefined && entry.seq !== this.last.seq) {
      this.last = {
        seq: entry.seq,
        ...(entry.status === undefined ? {} : { status: entry.status }),
        alarms: entry.alarms ?? [],
      };
    }
    return this.last;
  }

  /** Lets go of every complete event at the front. */
  private advance(): void {
    for (let entry = this.entries.oldest(); entry !== undefined && entry.handled && entry.left === 0; entry = this.entries.oldest()) {
      this.lastComplete = entry;
      this.entries.shift();
    }
  }

  private alarm(id: string, exists: boolean): void {
    if (exists === this.alarmIds.has(id)) return;
    if (exists) this.alarmIds.add(id);
    else this.alarmIds.delete(id);
    this.alarmList = undefined;
  }
}

/**
 * Saves the tracker's checkpoint every `everyMs` when it moved (one write at a time, in the
 * background: a checkpoint that lags only means more events handled again after a crash).
 * `flush()` saves it once more now (at stop).
 */
export function keepCheckpoint(
  tracker: CheckpointTracker,
  save: (checkpoint: Checkpoint) => Promise<void>,
  everyMs: number,
  onError: (err: unknown) => void,
): { flush(): Promise<void>; stop(): void } {
  let saved = tracker.checkpoint.seq;
  let writing: Promise<void> | undefined;
  const write = async (): Promise<void> => {
    while (writing !== undefined) await writing;
    const checkpoint = tracker.checkpoint;
    if (checkpoint.seq === saved) return;
    writing = save(checkpoint)
      .then(() => {
        saved = checkpoint.seq;
      }, onError)
      .finally(() => {
        writing = undefined;
      });
    await writing;
  };
  const timer = setInterval(() => void write(), everyMs);
  timer.unref();
  return {
    flush: write,
    stop: () => clearInterval(timer),
  };
}

/** The checkpoint a previous run saved (the `service` row `checkpoint`), or the start. */
export function loadCheckpoint(db: Database, logger: Logger): Checkpoint {
  const row = db.sql.prepare(`SELECT value FROM service WHERE key = 'checkpoint'`).get() as { value: string } | undefined;
  if (row === undefined) return { seq: 0 };
  try {
    const json = JSON.parse(row.value) as Partial<Checkpoint>;
    if (typeof json.seq !== 'number') throw new Error('no seq');
    return {
      seq: json.seq,
      ...(typeof json.status === 'string' ? { status: json.status } : {}),
      ...(Array.isArray(json.alarms) ? { alarms: json.alarms.filter((id): id is string => typeof id === 'string') } : {}),
    };
  } catch (err) {
    // Everything in the journal is then handled again: safe, since handling an event twice does no harm.
    logger.error(`event journal: checkpoint unreadable (${(err as Error).message}); handling the whole journal again`);
    return { seq: 0 };
  }
}

/** Saves the checkpoint, in the database's transaction of this turn (with the writes made then). */
export const saveCheckpoint = (db: Database, checkpoint: Checkpoint): Promise<void> =>
  db.write(() => db.sql.prepare(`INSERT OR REPLACE INTO service (key, value) VALUES ('checkpoint', ?)`).run(JSON.stringify(checkpoint)));
