/**
 * What every stream receives besides its events: the clock (a scheduler whose `now()` is epoch
 * milliseconds, virtual in tests and replays), settings, and what a previous run left behind.
 */
import type { SchedulerLike } from 'rxjs';
import type { Resume } from '../protocol/resume.js';
import type { Topics } from '../protocol/topics.js';

/** What one client can make the service do (issue 14; `limits` in the configuration). */
export interface Limits {
  /** Largest document written on a client's behalf (a schedule, a user), as JSON in UTF-8 bytes. */
  readonly docBytes: number;
  /** Most schedules and users a client can create (replacing an existing one always works). */
  readonly schedules: number;
  readonly users: number;
  /** Unknown-UID sign-ins answered per Producer per minute; beyond that one error, then silence. */
  readonly unknownUidPerMin: number;
}

export const DEFAULT_LIMITS: Limits = { docBytes: 16_384, schedules: 200, users: 200, unknownUidPerMin: 10 };

/**
 * Who may send which command (SPEC 4, the original's table): command -> Producers, `*` = anyone.
 * A command missing from the table is accepted from nobody.
 */
export type Producers = Readonly<Record<string, readonly string[]>>;

export const DEFAULT_PRODUCERS: Producers = {
  signup: ['android', 'car'],
  signin: ['android', 'car'],
  start_facer: ['car'],
  add_schedule: ['android', 'car'],
  delete_schedule: ['android', 'car'],
  test: ['*'],
  alert: ['*'],
};

export interface PipelineSettings {
  /** IANA zone for schedules, alarm dates and the weather's update time. */
  readonly tz: string;
  readonly commandConfirmS: number;
  readonly scheduleGraceS: number;
  readonly topics: Topics;
  /** Default DEFAULT_LIMITS (replays and specs need not set them). */
  readonly limits?: Limits;

  /** Who may send which command; `DEFAULT_PRODUCERS` when not given (replays, benchmarks). */
  readonly producers?: Producers;
}

export interface Deps {
  readonly scheduler: SchedulerLike;
  readonly settings: PipelineSettings;
  readonly resume: Resume;
}

