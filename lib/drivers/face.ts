/**
 * The face-recogniser driver (SPEC 4 `start_facer`, SPEC 9, issues 6 and 13): a `face.run`
 * effect runs `FACE_COMMAND` (an argv array, no shell) in `FACE_CWD` and answers a `face.result`
 * event, reported as `{ kind: 'event', sink: 'face', event }`:
 *
 * - with `FACE_RESULT_FILE` (absolute, or relative to `FACE_CWD`): the first non-empty line of
 *   that file, read after the program exited 0 (the original writes the UID, then a timestamp, to
 *   its own absolute path `/home/pi/Face-Recognition/face.result`).
 *   The file is removed before each run, so an old answer is never taken for a new one;
 * - without it: the last non-empty line of standard output (the original prints progress lines
 *   first), trimmed;
 * - `"fail"` on a timeout (default 120 s), a program that cannot start, a non-zero exit or
 *   signal, no result file, or an answer that is not a plausible UID (1 to 128 characters,
 *   Firebase's limit); the details go to the log;
 * - `"none"` at once when no command is configured.
 *
 * One run at a time: a `face.run` while one runs gets a `failed` report and no event (the
 * command stream already refuses a second `start_facer`; this is a second guard). The run ends
 * when its answer is out: on a timeout the program's process group gets SIGTERM, then SIGKILL
 * after a grace period, in the background. Unsubscribing kills a running program the same way.
 *
 * The program runs in its own process group (so helpers it starts die with it), with stdin
 * closed, and an allow-list environment (issue 14): PATH, HOME, LANG and the names `FACE_ENV`
 * lists; never one of the service's secrets, nor a value holding a URL with credentials.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Observable, defer, filter, map, mergeMap, of, race, tap, timer } from 'rxjs';
import type { Logger } from '../base/log.js';
import { truncate } from '../core/protocol/errors.js';
import type { Effect, FaceRun } from '../core/protocol/effects.js';
import type { SinkReport } from './report.js';

export interface FaceOptions {
  /** `FACE_COMMAND`, e.g. `["python3", "face.py"]`; unset or empty: answer `"none"`. */
  readonly command?: readonly string[] | undefined;
  /** Default 120 s. */
  readonly timeoutMs?: number;
  /** Between SIGTERM and SIGKILL after a timeout (default 2 s). */
  readonly killGraceMs?: number;
  /** `FACE_CWD`: the program's working directory (default: the service's). */
  readonly cwd?: string | undefined;
  /** `FACE_RESULT_FILE`: where the program writes the UID, absolute or relative to `cwd`. */
  readonly resultFile?: string | undefined;
  /** `FACE_ENV`: names of environment variables passed on besides PATH, HOME and LANG. */
  readonly env?: readonly string[] | undefined;
}

export const DEFAULT_FACE_TIMEOUT_MS = 120_000;
const DEFAULT_KILL_GRACE_MS = 2000;
/** Firebase Auth UIDs are 1 to 128 characters. */
const MAX_UID_LENGTH = 128;
/** Output kept for the answer and the log; a chatty program cannot fill memory. */
const MAX_OUTPUT = 8 * 1024;

/** What every program gets from the service's environment. */
const BASE_ENV = ['PATH', 'HOME', 'LANG'];
/** The service's secrets (SPEC 9, 11): never passed on, even when `FACE_ENV` names them. */
const SECRET_ENV = new Set(
  ['SLACK_WEBHOOK_URL', 'OPENWEATHER_API_KEY', 'MQTT_PASSWORD', 'MQTT_URL', 'GOOGLE_APPLICATION_CREDENTIALS', 'HTTP_TOKEN'].flatMap((name) => [
    name,
    `${name}_FILE`,
  ]),
);
/** `scheme://user:password@`: a URL that carries credentials. */
const URL_WITH_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s@]*:[^/\s@]*@/i;

/**
 * The environment of a child process: an allow-list, never the service's own. A name that is a
 * secret or a value with a URL with credentials is left out (and named in `refused`).
 */
export function childEnv(names: readonly string[], from: NodeJS.ProcessEnv = process.env): { env: NodeJS.ProcessEnv; refused: string[] } {
  const env: NodeJS.ProcessEnv = {};
  const refused: string[] = [];
  for (const name of new Set([...BASE_ENV, ...names])) {
    const value = from[name];
    if (value === undefined) continue;
    if (SECRET_ENV.has(name) || URL_WITH_CREDENTIALS.test(value)) refused.push(name);
    else env[name] = value;
  }
  return { env, refused };
}

/** Where and how a program runs. */
export interface RunOptions {
  readonly killGraceMs?: number;
  readonly cwd?: string | undefined;
  readonly resultFile?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

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
  const { env, refused } = childEnv(options.env ?? []);
  if (refused.length > 0) log.warn(`not passed to the face recogniser (a secret, or a URL with credentials): ${refused.join(', ')}`);
  const run: RunOptions = { killGraceMs: graceMs, cwd: options.cwd, resultFile: options.resultFile, env };

  const answer = (result: string): SinkReport => ({ kind: 'event', sink: 'face', event: { type: 'face.result', result } });

  const recognise = (argv: readonly string[]): Observable<SinkReport> =>
    race(
      runProgram(argv, run),
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
export function runProgram(argv: readonly string[], options: RunOptions = {}): Observable<FaceOutcome> {
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  return new Observable<FaceOutcome>((subscriber) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      subscriber.next({ result: 'fail', why: 'empty command' });
      subscriber.complete();
      return undefined;
    }
    const resultPath = options.resultFile === undefined ? undefined : resolve(options.cwd ?? '.', options.resultFile);
    if (resultPath !== undefined) {
      try {
        rmSync(resultPath, { force: true });
      } catch (err) {
        subscriber.next({ result: 'fail', why: `cannot remove the old result file ${resultPath}: ${(err as Error).message}` });
        subscriber.complete();
        return undefined;
      }
    }
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false, env: options.env ?? {}, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    let settled = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // The answer is the last line: keep the tail.
      stdout = (stdout + chunk).slice(-MAX_OUTPUT);
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
    child.once('close', (code, signal) => settle(outcome(stdout, stderr, code, signal, resultPath)));
    return () => {
      if (!settled) {
        settled = true;
        killGroup(child.pid, killGraceMs);
      }
    };
  });
}

const nonEmptyLines = (text: string): string[] =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');

function outcome(stdout: string, stderr: string, code: number | null, signal: NodeJS.Signals | null, resultPath?: string): FaceOutcome {
  const said = stderr.trim() === '' ? '' : `; stderr: ${truncate(stderr.trim().replace(/\s+/g, ' '), 120)}`;
  if (code !== 0) return { result: 'fail', why: `${signal ? `killed by ${signal}` : `exit code ${code}`}${said}` };
  let line: string | undefined;
  let where: string;
  if (resultPath !== undefined) {
    where = `the result file ${resultPath}`;
    let text: string;
    try {
      text = readFileSync(resultPath, 'utf8').slice(0, MAX_OUTPUT);
    } catch (err) {
      return { result: 'fail', why: `no result file ${resultPath} after the program exited (${(err as NodeJS.ErrnoException).code ?? String(err)})${said}` };
    }
    line = nonEmptyLines(text)[0];
  } else {
    where = 'its output';
    line = nonEmptyLines(stdout).at(-1);
  }
  if (line === undefined) return { result: 'fail', why: `no UID in ${where}${said}` };
  if (line.length > MAX_UID_LENGTH) return { result: 'fail', why: `${where} holds no UID: ${truncate(JSON.stringify(line), 60)}` };
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
