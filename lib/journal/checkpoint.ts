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
import { ALARMS } from '../streams/alarms.js';
import type { Effect } from '../protocol/effects.js';
import type { Event } from '../protocol/events.js';
import type { Checkpoint } from './events.js';

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
   * The handled events not complete yet, oldest first, from `head` on. The head advances as soon
   * as an event completes (at `end` and `settled`), so an entry lives as long as its effects are
   * in flight, milliseconds, and dies young: kept until a once-a-second read, every entry of a busy
   * second outlived the young generation and cost the old generation's collector (issue 17).
   */
  private entries: Entry[] = [];
  private head = 0;
  private current: Entry | undefined;
  /**
   * The event of each tracked effect not yet reported. A Map, not a WeakMap (cheaper per effect,
   * issue 17): every tracked effect is reported `done` or `failed` by its sink, which removes it.
   */
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
    this.current = { seq, left: 0, handled: false };
    this.entries.push(this.current);
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
    this.owner.set(effect, entry);
  }

  /** A sink reported the effect `done` or `failed`. */
  settled(effect: Effect): void {
    const entry = this.owner.get(effect);
    if (entry === undefined) return;
    this.owner.delete(effect);
    entry.left--;
    if (entry.left === 0 && entry.handled) this.advance();
  }

  /** How many handled events are not complete yet. */
  get open(): number {
    return this.entries.length - this.head;
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

  /** Moves the head over every complete event at the front. */
  private advance(): void {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      if (!entry.handled || entry.left > 0) break;
      this.lastComplete = entry;
      this.head++;
    }
    if (this.head === this.entries.length) {
      this.entries.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
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
