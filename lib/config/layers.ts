/**
 * Reading the layers: a JSON file (`config/default.json`, `config/local.json`) and the
 * environment, each value kept with where it came from (by the name the user gave it).
 * Secrets are read only from the environment or a `<NAME>_FILE` and never appear in a message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { truncate } from '../core/protocol/errors.js';
import { errorText } from '../base/error-text.js';
import { BY_ENV, BY_PATH, GROUPS, type Setting } from './settings.js';

/** A value and where it came from, with the given value already made safe to print. */
export interface Given {
  readonly value: unknown;
  /** `EMBEDDED_MQTT_PORT`, or `mqtt.embeddedPort in config/local.json`. */
  readonly where: string;
  readonly shown: string;
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

export function getAt(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, key) => (isRecord(o) ? o[key] : undefined), obj);
}

export function setAt(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const last = keys.pop() ?? dotted;
  let o = obj;
  for (const key of keys) {
    const existing = o[key];
    const next: Record<string, unknown> = isRecord(existing) ? existing : {};
    o[key] = next;
    o = next;
  }
  o[last] = value;
}

/** Hides the password of a URL's user info (`mqtt://user:pass@host`). */
export function maskUrl(text: string): string {
  return text.replace(/\/\/([^/@:\s]*):[^/@\s]*@/, '//$1:***@');
}

export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(maskUrl(text), 60);
}

const HIDDEN = 'a value that is not shown (secret)';

function displayName(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Reads one JSON file into `into`; `null` means "not set here", so the layer below stays. */
export function readFileLayer(file: string, optional: boolean, into: Map<string, Given>, problems: string[]): boolean {
  const name = displayName(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (optional && isNodeError(err) && err.code === 'ENOENT') return true;
    problems.push(`${name}: cannot read it (${errorCode(err)})`);
    return false;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    problems.push(`${name}: not valid JSON (${jsonProblem(err, text)})`);
    return false;
  }
  if (!isRecord(json)) {
    problems.push(`${name}: expected a JSON object of settings, got ${show(json)}`);
    return false;
  }
  readObject(json, '', name, into, problems);
  return true;
}

/**
 * V8's reason without the snippet of the file it may quote (a misplaced secret could be in it),
 * with the position as line and column.
 */
function jsonProblem(err: unknown, text: string): string {
  const message = errorText(err);
  const reason = (message.split('"')[0] ?? '').replace(/,\s*(\.\.\.)?\s*$/, '').replace(/ at position \d+.*$/, '').replace(/ in JSON$/, '');
  const at = /at position (\d+)/.exec(message);
  if (at === null) return truncate(reason, 80);
  const before = text.slice(0, Number(at[1])).split('\n');
  return `${truncate(reason, 80)} at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function readObject(obj: Record<string, unknown>, prefix: string, file: string, into: Map<string, Given>, problems: string[]): void {
  for (const [key, value] of Object.entries(obj)) {
    const at = prefix === '' ? key : `${prefix}.${key}`;
    const setting = BY_PATH.get(at) ?? BY_ENV.get(key);
    if (setting?.env?.secret) {
      // The value is never shown: it is a secret that was put where it must not be.
      problems.push(`${at} in ${file}: secrets are never read from config files; set ${setting.env.name} or ${setting.env.name}_FILE in the environment`);
    } else if (setting?.env?.envOnly) {
      problems.push(`${at} in ${file}: set ${setting.env.name} in the environment instead (firebase-admin reads it from there)`);
    } else if (setting && setting.path !== at) {
      problems.push(`${at} in ${file}: "${key}" is an environment variable; in a config file write ${setting.path}`);
    } else if (setting) {
      if (value !== null) into.set(at, { value, where: `${at} in ${file}`, shown: show(value) });
    } else if (GROUPS.has(at) && prefix === '') {
      if (isRecord(value)) readObject(value, at, file, into, problems);
      // Only the type: `"slack": "<webhook URL>"` is an easy slip, and its value must not be echoed.
      else if (value !== null) problems.push(`${at} in ${file}: expected an object of settings, got ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}`);
    } else {
      problems.push(`${file}: unknown setting ${truncate(JSON.stringify(at), 60)}`);
    }
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The environment's value for a setting; an empty variable counts as unset. */
export function readEnv(setting: Setting, env: NodeJS.ProcessEnv, into: Map<string, Given>, problems: string[]): void {
  const spec = setting.env;
  if (!spec) return;
  const direct = env[spec.name] || undefined;
  const fileVar = `${spec.name}_FILE`;
  const file = spec.secret ? env[fileVar] || undefined : undefined;
  if (direct !== undefined && file !== undefined) {
    problems.push(`${spec.name} and ${fileVar} are both set: set only one`);
    return;
  }
  if (file !== undefined) {
    try {
      // Secret files usually end with a newline that is not part of the secret.
      const secret = fs.readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
      if (secret === '') problems.push(`${fileVar}: the file ${show(file)} is empty`);
      else into.set(setting.path, { value: secret, where: fileVar, shown: HIDDEN });
    } catch (err) {
      problems.push(`${fileVar}: cannot read the file ${show(file)} (${errorCode(err)})`);
    }
    return;
  }
  if (direct === undefined) return;
  const shown = spec.secret ? HIDDEN : show(direct);
  if (spec.parse === 'number') {
    // Strict: "12abc" or "abc" stay strings, so the setting's codec rejects them with its own words.
    const trimmed = direct.trim();
    into.set(setting.path, { value: NUMBER.test(trimmed) ? Number(trimmed) : direct, where: spec.name, shown });
  } else if (spec.parse === 'json') {
    try {
      into.set(setting.path, { value: JSON.parse(direct), where: spec.name, shown });
    } catch {
      // Kept as text, which the codec rejects: the message then reads like every other one.
      into.set(setting.path, { value: direct, where: spec.name, shown: `${shown} (not valid JSON)` });
    }
  } else {
    into.set(setting.path, { value: direct, where: spec.name, shown });
  }
}

const isNodeError = (err: unknown): err is NodeJS.ErrnoException => err instanceof Error && 'code' in err;
export const errorCode = (err: unknown): string => (isNodeError(err) && err.code ? err.code : errorText(err));
