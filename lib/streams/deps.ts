/**
 * What every stream receives besides its events: the clock (a scheduler whose `now()` is epoch
 * milliseconds, virtual in tests and replays), settings, and what a previous run left behind.
 */
import type { SchedulerLike } from 'rxjs';

export interface Topics {
  /** Filter for JSON commands (SPEC 4). */
  readonly commands: string;
  /** Filter for 9-character controls sent to the home by anyone (observed). */
  readonly controls: string;
  /** Optional topic on which the home reports its status; '' disables it. */
  readonly status: string;
  /** Where device commands go. */
  readonly deviceCommand: string;
  /** Reply and error topics for a device; `{device}` is replaced by the `Producer`. */
  readonly reply: string;
  readonly deviceError: string;
  readonly warning: string;
  readonly error: string;
  /** The backend's own online/offline topic; it lies under `commands`, so it is ignored there. */
  readonly serverStatus: string;
}

export const DEFAULT_TOPICS: Topics = {
  commands: 'webos/server/#',
  controls: 'webos/smarthome/#',
  status: 'data/smarthome/status',
  deviceCommand: 'webos/smarthome/info',
  reply: 'webos/{device}/info',
  deviceError: 'webos/{device}/error',
  warning: 'data/error/warning',
  error: 'data/error/error',
  serverStatus: 'webos/server/status',
};

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

/** Durable state from the previous run (empty on a first start and in replays). */
export interface Resume {
  /** Per schedule id, the last occurrence handled (local wall-clock minutes, see ScheduleFired). */
  readonly scheduleFired: Readonly<Record<string, number>>;
  /** When the previous run last ticked (epoch ms): occurrences after it were missed while down. */
  readonly lastTickAt?: number;
  /** The tracked status when the previous run stopped (a 9-character code). */
  readonly status?: string;
}

export interface Deps {
  readonly scheduler: SchedulerLike;
  readonly settings: PipelineSettings;
  readonly resume: Resume;
}

export const deviceTopic = (template: string, device: string): string => template.replace('{device}', device);
