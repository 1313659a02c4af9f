/**
 * Configuration (SPEC 11): `config/default.json`, then an optional `config/local.json`, then the
 * environment, decoded by the codec (codec.ts) setting by setting (settings.ts, layers.ts), then
 * checked as a whole (checks.ts).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { formatErrors } from '../core/protocol/errors.js';
import { systemZone } from '../core/protocol/local-time.js';
import { usesEmulator } from '../store/firebase.js';
import { checkEmbeddedBroker, checkFirebase, deriveDatabaseUrl } from './checks.js';
import { ConfigCodec, type Config, type ConfigError } from './codec.js';
import { readEnv, readFileLayer, setAt, show, type Given } from './layers.js';
import { GROUPS, SETTINGS } from './settings.js';

export const CONFIG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'config');

const fail = (problems: readonly string[]): ConfigError => ({
  _tag: 'ConfigError',
  problems,
  message: `Invalid configuration (see README.md, Configuration):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env, dir: string = CONFIG_DIR): E.Either<ConfigError, Config> {
  const given = new Map<string, Given>();
  const problems: string[] = [];
  // Without the defaults every setting would be reported missing: one message is clearer.
  if (!readFileLayer(path.join(dir, 'default.json'), false, given, problems)) return E.left(fail(problems));
  readFileLayer(path.join(dir, 'local.json'), true, given, problems);
  for (const setting of SETTINGS) readEnv(setting, env, given, problems);
  if (!given.has('tz')) given.set('tz', { value: systemZone(), where: 'the system zone', shown: show(systemZone()) });

  // Each setting on its own, so that every wrong one is reported, by the name it was given.
  const tree: Record<string, unknown> = Object.fromEntries([...GROUPS].map((g) => [g, {}]));
  for (const setting of SETTINGS) {
    const g = given.get(setting.path);
    if (g === undefined) {
      if (setting.required) problems.push(`${setting.env?.name ?? setting.path}: not set (config/default.json should set ${setting.path})`);
    } else if (E.isLeft(setting.codec.decode(g.value))) {
      problems.push(`${g.where}: expected ${setting.codec.name}, got ${g.shown}`);
    } else {
      setAt(tree, setting.path, g.value);
    }
  }
  if (problems.length > 0) return E.left(fail(problems));

  // The settings are valid one by one; decoding the whole gives the typed object.
  const decoded = formatErrors('configuration', ConfigCodec.decode(tree));
  if (E.isLeft(decoded)) return E.left(fail([decoded.left.message]));
  const crossProblems = [...checkFirebase(decoded.right, given), ...checkEmbeddedBroker(decoded.right, given)];
  return crossProblems.length > 0 ? E.left(fail(crossProblems)) : E.right(deriveDatabaseUrl(decoded.right));
}

/** For `main`: the configuration, or a message on stderr and exit code 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env, dir: string = CONFIG_DIR): Config {
  const result = loadConfig(env, dir);
  if (E.isLeft(result)) {
    process.stderr.write(`${result.left.message}\n`);
    process.exit(2);
  }
  return result.right;
}

/**
 * With emulators, firebase-admin must never probe the cloud metadata server (slow, and wrong
 * off-cloud): SPEC 11 says the service sets METADATA_SERVER_DETECTION=none. Returns whether it did.
 * Whether there is an emulator is the store's one rule (`usesEmulator` in store/firebase.ts).
 */
export function applyEmulatorSafety(config: Config, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!usesEmulator(config.firebase, env)) return false;
  env.METADATA_SERVER_DETECTION = 'none';
  return true;
}
