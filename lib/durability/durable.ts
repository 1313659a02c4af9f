/**
 * The durability operator (issue 26): the one owner of the sequence every event goes through,
 *
 *   journal (to the OS) -> acknowledge (the MQTT PUBACK) -> handle (the pipeline) -> checkpoint
 *   -> settled (each effect done or given up by its driver moves the checkpoint on)
 *
 * and of what it needs around it: the journal opened from DATA_DIR (docs/storage.md), recovery's
 * effects taken over (lib/durability/recovery.ts), the checkpoint saved every second, and the
 * heartbeat (handled schedule occurrences, last tick, status) written with the clock's ticks.
 * MQTT messages read together are journaled in one write (see `intake`).
 *
 * An MQTT message comes as an `MqttDelivery` whose `ack` travels with it (the MQTT driver);
 * every other source's events come as they are. A message redelivered after a crash whose PUBACK
 * was lost (DUP=1, journaled before) is acknowledged and dropped instead of handled twice.
 * A failing disk never stops the home: the event is still acknowledged and handled, and the
 * failure is reported once (`alert`) until the journal works again.
 */
import { from, ignoreElements, Observable, race, take, tap, timer, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { errorText } from '../base/error-text.js';
import { StartupError, STORE_LOAD_WAIT_MS, type Lifetime } from '../base/lifetime.js';
import type { Logger } from '../base/log.js';
import type { Effect } from '../core/protocol/effects.js';
import type { Event } from '../core/protocol/events.js';
import type { Resume } from '../core/protocol/resume.js';
import type { MqttDelivery } from '../drivers/mqtt/mqtt-driver.js';
import type { Database } from '../store/database.js';
import { CheckpointTracker, keepCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { deliveryKey, EventJournal } from './event-journal.js';

export type OpenedJournal = Awaited<ReturnType<typeof EventJournal.open>>;

export interface JournalSettings {
  readonly dataDir: string;
  readonly tz: string;
  readonly events: { readonly fsyncMs: number; readonly retainDays: number; readonly maxMb: number };
}

export async function openJournal(config: JournalSettings, db: Database, logger: Logger, lifetime: Lifetime): Promise<OpenedJournal> {
  const opened = await EventJournal.open(config.dataDir, loadCheckpoint(db, logger), {
    logger, tz: config.tz, fsyncMs: config.events.fsyncMs, retainDays: config.events.retainDays, maxBytes: config.events.maxMb * 1024 * 1024,
  }).catch((err: unknown) => {
    throw new StartupError(`cannot open the event journal: ${errorText(err)}`);
  });
  lifetime.add(async () => opened.journal.close());
  return opened;
}

/** What recovery (lib/durability/recovery.ts `recover`) handled again: the effects to perform, the status after. */
export interface Recovered {
  readonly effects: readonly Effect[];
  readonly status?: string;
}

export interface DurableParts {
  readonly opened: OpenedJournal;
  readonly db: Database;
  /** The state saved by the last run (handled occurrences, last tick, status). */
  readonly saved: Resume;
  readonly recovered: Recovered | undefined;
  readonly logger: Logger;
  readonly lifetime: Lifetime;
  /** Reports a problem to the operators (the journal cannot be written). */
  readonly alert: (text: string) => void;
  /** For the wait on the recovered writes. */
  readonly scheduler: SchedulerLike;
}

export type Durable = ReturnType<typeof durable>;

export function durable(parts: DurableParts) {
  const { opened, db, saved, recovered, logger, lifetime, alert, scheduler } = parts;
  const { journal, redelivered } = opened;
  const tracker = new CheckpointTracker(opened.checkpoint);
  const resume = recovered === undefined ? saved : { ...saved, ...(recovered.status === undefined ? {} : { status: recovered.status }) };
  if (recovered !== undefined) {
    tracker.begin(opened.pending.at(-1)!.seq);
    for (const effect of recovered.effects) tracker.effect(effect);
    tracker.setStatus(recovered.status);
    tracker.end();
    logger.warn(
      { events: opened.pending.length, effects: recovered.effects.length, after: opened.checkpoint.seq },
      `handling again the ${opened.pending.length} journaled event(s) past the checkpoint (a crash cut them off)`,
    );
  }
  tracker.setStatus(resume.status);
  // The sources start once the recovered store writes are done (so that their first state has them).
  const unwritten = new Set<Effect>(recovered?.effects ?? []);
  let recoveryWritten: () => void = () => undefined;
  const recoveryWritten$: Observable<never> = race(
    from(new Promise<void>((resolve) => (unwritten.size === 0 ? resolve() : (recoveryWritten = resolve)))),
    timer(STORE_LOAD_WAIT_MS, scheduler).pipe(tap(() => logger.warn(`the recovered store writes were not all done within ${STORE_LOAD_WAIT_MS / 1000} s; going on`))),
  ).pipe(take(1), ignoreElements());
  const scheduleFired: Record<string, number> = { ...resume.scheduleFired };
  journal.start(resume, Date.now(), opened.checkpoint.seq);
  const checkpoints = keepCheckpoint(tracker, (c) => saveCheckpoint(db, c), 1000, (err) =>
    logger.error({ err: errorText(err) }, 'event journal: cannot save the checkpoint'));
  lifetime.add(async () => checkpoints.stop());

  let journalFailed = false;
  /** The event being handled (its effects are emitted meanwhile) and since when (`performance.now()`). */
  const handling: { event: Event | undefined; since: number } = { event: undefined, since: 0 };
  const heartbeat = (now: number) => (): Resume =>
    ({ scheduleFired, lastTickAt: now, ...(tracker.trackedStatus === undefined ? {} : { status: tracker.trackedStatus }) });
  const checkpointSeq = (): number => tracker.checkpoint.seq;

  /**
   * Journal, acknowledge, handle: every event's way into the pipeline. `seen` is told of each event
   * first.
   *
   * MQTT messages are read ahead (issue 26, item 6): each one's line is held and mqtt.js reads on
   * at once (`readOn`: its PUBACK waits in the corked connection). At the end of the turn (a
   * microtask: mqtt.js hands over what one read brought on `process.nextTick`, before it) the held
   * lines are written in one write, then the messages are acknowledged, then handled, in order.
   * So a burst costs one write(2) per read instead of one per message, and still nothing is
   * acknowledged or handled before its line is with the OS. Any other event first has what is held
   * written and handled, then goes through at once (a clock tick may begin a new file, whose
   * header must come after every event before it).
   */
  const intake = (seen: (event: Event) => void): OperatorFunction<Event | MqttDelivery, Event> => (source$) =>
    new Observable<Event>((subscriber) => {
      let deliveries: MqttDelivery[] = [];
      let seqs: Array<number | undefined> = [];
      let flushAsked = false;
      const journalFailing = (err: unknown): void => {
        // A failing disk must not stop the home: the event is still handled (and acknowledged).
        if (!journalFailed) alert(`cannot write the event journal (${errorText(err)}); events are handled without it`);
        journalFailed = true;
      };
      const handle = (event: Event, seq: number | undefined): void => {
        if (seq !== undefined) tracker.begin(seq, event);
        handling.event = event;
        handling.since = performance.now();
        subscriber.next(event);
        handling.event = undefined;
        tracker.end();
      };
      /** The held lines written, their messages acknowledged, then handled. */
      const flush = (): void => {
        flushAsked = false;
        if (deliveries.length === 0) return;
        const held = deliveries;
        const heldSeqs = seqs;
        // handling may bring an event in (a sink's feedback), which flushes: start a new batch
        deliveries = [];
        seqs = [];
        try {
          journal.flush();
          journalFailed = false;
        } catch (err) {
          journalFailing(err);
        }
        for (const delivery of held) delivery.ack();
        for (let i = 0; i < held.length; i++) handle(held[i]!.event, heldSeqs[i]);
      };
      return source$.subscribe({
        next: (item) => {
          const delivery = item.type === 'mqtt.delivery' ? item : undefined;
          const event = delivery === undefined ? item as Event : delivery.event;
          seen(event);
          if (delivery?.dup === true && delivery.messageId !== undefined &&
            redelivered.delete(deliveryKey(delivery.messageId, delivery.event.topic, delivery.event.payload))) {
            logger.info({ topic: delivery.event.topic }, 'a message journaled before the crash came again (its PUBACK was lost): not handled twice');
            delivery.ack();
            return;
          }
          const now = Date.now();
          let seq: number | undefined;
          if (delivery !== undefined) {
            try {
              seq = journal.hold(event, now, delivery.messageId);
            } catch (err) {
              journalFailing(err);
            }
            deliveries.push(delivery);
            seqs.push(seq);
            if (!flushAsked) {
              flushAsked = true;
              queueMicrotask(flush);
            }
            delivery.readOn();
            return;
          }
          flush();
          try {
            seq = event.type === 'clock.tick' ? journal.tick(now, heartbeat(now), checkpointSeq) : journal.append(event, now);
            journalFailed = false;
          } catch (err) {
            journalFailing(err);
          }
          handle(event, seq);
        },
        error: (err: unknown) => {
          flush();
          subscriber.error(err);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
    });

  return {
    journal,
    resume,
    tracker,
    recoveryWritten$,
    intake,
    /** The event whose effects are being emitted now, if any (for the command latency metric). */
    handling: handling as { readonly event: Event | undefined; readonly since: number },
    /** Every effect of the pipeline, in order, before any driver sees it. */
    effect(effect: Effect): void {
      if (effect.type === 'state.schedule') scheduleFired[effect.id] = effect.occurrence;
      tracker.effect(effect);
    },
    /** A driver is done with `effect` (or gave up on it): the checkpoint may move past its event. */
    settled(effect: Effect): void {
      tracker.settled(effect);
      if (unwritten.delete(effect) && unwritten.size === 0) recoveryWritten();
    },
    flush: () => checkpoints.flush(),
  };
}
