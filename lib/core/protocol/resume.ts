/**
 * Durable state from the previous run (empty on a first start and in replays): kept in the state
 * file (drivers/state-sink.ts) and in the event journal's resume header (core/protocol/recording.ts), handed
 * to the streams in `Deps`.
 */
export interface Resume {
  /** Per schedule id, the last occurrence handled (local wall-clock minutes, see ScheduleHandled). */
  readonly scheduleFired: Readonly<Record<string, number>>;
  /** When the previous run last ticked (epoch ms): occurrences after it were missed while down. */
  readonly lastTickAt?: number;
  /** The tracked status when the previous run stopped (a 9-character code). */
  readonly status?: string;
}
