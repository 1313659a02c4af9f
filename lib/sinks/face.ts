/**
 * The face-recogniser driver (SPEC 4 `start_facer`, issue 6): a `face.run` effect runs
 * `FACE_COMMAND` (an argv array, no shell) and answers a `face.result` event, reported as
 * `{ kind: 'event', sink: 'face', event }`:
 *
 * - the first line of standard output, trimmed, when the program exits 0 and the line is a
 *   plausible UID (1 to 128 characters, Firebase's limit);
 * - `"fail"` on a timeout (default 120 s), a program that cannot start, a non-zero exit or
 *   signal, or an empty first line; the details go to the log;
 * - `"none"` at once when no command is configured.
 *
 * One run at a time: a `face.run` while one runs gets a `failed` report and no event (the
 * command stream already refuses a second `start_facer`; this is a second guard). The run ends
 * when its answer is out: on a timeout the program's process group gets SIGTERM, then SIGKILL
 * after a grace period, in the background. Unsubscribing kills a running program the same way.
 *
 * The program runs in its own process group (so helpers it starts die with it), with stdin
 * closed, and without the backend's own secrets in its environment.
 */
import { spawn } from 'node:child_process';
import { Observable, defer, filter, map, mergeMap, of, race, tap, timer } from 'rxjs';
import type { Logger } from '../log.js';
import { truncate } from '../protocol/errors.js';
import type { Effect, FaceRun } from '../streams/effects.js';
import type { SinkReport } from './report.js';

export interface FaceOptions {
  /** `FACE_COMMAND`, e.g. `["python3", "face.py"]`; unset or empty: answer `"none"`. */
  readonly command?: readonly string[] | undefined;
  /** Default 120 s. */
  readonly timeoutMs?: number;
  /** Between SIGTERM and SIGKILL after a timeout (default 2 s). */
  readonly killGraceMs?: number;
}

export const DEFAULT_FACE_TIMEOUT_MS = 120_000;
const DEFAULT_KILL_GRACE_MS = 2000;
/** Firebase Auth UIDs are 1 to 128 characters. */
const MAX_UID_LENGTH = 128;
/** Output kept for the answer and the log; a chatty program cannot fill memory. */
const MAX_OUTPUT = 8 * 1024;

/** Environment variables the recogniser has no business reading (SPEC 9, 11). */
const SECRET_ENV = ['SLACK_WEBHOOK_URL', 'OPENWEATHER_API_KEY', 'MQTT_PASSWORD'].flatMap((name) => [name, `${name}_FILE`]);

/** How one run ended: the answer, and what the log should say when it is `"fail"`. */
export interface FaceOutcome {
  readonly result: string;
  readonly why?: string;
}

export function makeFaceDriver(options: FaceOptions, logger: Logger): (effect$: Observable<Effect>) => Observable<SinkReport> {
  const command = options.command && options.command.length > 0 ? options.command : undefined;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FACE_TIMEOUT_MS;
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const log = logger.child({ sink: 'face' });

  const answer = (result: string): SinkReport => ({ kind: 'event', sink: 'face', event: { type: 'face.result', result } });

  const recognise = (argv: readonly string[]): Observable<SinkReport> =>
    race(
      runProgram(argv, graceMs),
      timer(timeoutMs).pipe(map((): FaceOutcome => ({ result: 'fail', why: `no answer within ${timeoutMs} ms; killed` }))),
    ).pipe(
      map((outcome) => {
        if (outcome.why === undefined) log.info(`face recogniser answered ${JSON.stringify(outcome.result)}`);
        else log.warn(`face recogniser failed: ${outcome.why}`);
        return answer(outcome.result);
      }),
    );

  return (effect$) =>
    defer(() => {
      let running = false;
      return effect$.pipe(
        filter((e): e is FaceRun => e.type === 'face.run'),
        // mergeMap, not exhaustMap: a run asked for while one runs must hear "no", not nothing.
        mergeMap((effect): Observable<SinkReport> => {
          if (!command) return of(answer('none'));
          if (running) {
            log.warn('face.run while the face recogniser runs: refused');
            return of({ kind: 'failed', sink: 'face', effect, error: 'the face recogniser is already running' });
          }
          running = true;
          // Free again as the answer goes out, so a run asked for in reaction to it is not refused.
          const free = () => (running = false);
          return recognise(command).pipe(tap({ next: free, finalize: free }));
        }),
      );
    });
}

/**
 * Runs a program once and answers how it ended, after it exited and closed its output.
 * Unsubscribing before that kills its process group.
 */
export function runProgram(argv: readonly string[], killGraceMs = DEFAULT_KILL_GRACE_MS): Observable<FaceOutcome> {
  return new Observable<FaceOutcome>((subscriber) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      subscriber.next({ result: 'fail', why: 'empty command' });
      subscriber.complete();
      return undefined;
    }
    const env = { ...process.env };
    for (const name of SECRET_ENV) delete env[name];
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false, env });
    let stdout = '';
    let stderr = '';
    let settled = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_OUTPUT);
    });
    const settle = (outcome: FaceOutcome) => {
      if (settled) return;
      settled = true;
      subscriber.next(outcome);
      subscriber.complete();
    };
    child.once('error', (err) => settle({ result: 'fail', why: `${JSON.stringify(file)} could not start: ${err.message}` }));
    child.once('close', (code, signal) => settle(outcome(stdout, stderr, code, signal)));
    return () => {
      if (!settled) {
        settled = true;
        killGroup(child.pid, killGraceMs);
      }
    };
  });
}

function outcome(stdout: string, stderr: string, code: number | null, signal: NodeJS.Signals | null): FaceOutcome {
  const said = stderr.trim() === '' ? '' : `; stderr: ${truncate(stderr.trim().replace(/\s+/g, ' '), 120)}`;
  if (code !== 0) return { result: 'fail', why: `${signal ? `killed by ${signal}` : `exit code ${code}`}${said}` };
  const line = (stdout.split('\n')[0] ?? '').trim();
  if (line === '') return { result: 'fail', why: `no UID on the first line of its output${said}` };
  if (line.length > MAX_UID_LENGTH) return { result: 'fail', why: `first line is not a UID: ${truncate(JSON.stringify(line), 60)}` };
  return { result: line };
}

/** SIGTERM to the whole process group, SIGKILL after the grace period for what is left. */
function killGroup(pid: number | undefined, graceMs: number): void {
  if (pid === undefined) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: the group is gone already
    }
  };
  signal('SIGTERM');
  setTimeout(() => signal('SIGKILL'), graceMs).unref();
}
