/**
 * `npm run --silent replay -- FILE [--tz ZONE] [--until ISO]`: prints the effect lines of a
 * recording on stdout and nothing else; logs and invalid lines go to stderr. Exit code 1 when
 * a line was invalid (its effects are still printed), 2 on bad arguments.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkZone, systemZone } from '../core/protocol/local-time.js';
import { replay } from '../durability/replay.js';

const USAGE = 'usage: npm run --silent replay -- FILE [--tz ZONE] [--until ISO-8601]';

function fail(message: string): never {
  process.stderr.write(`replay: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function main(): void {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { tz: { type: 'string' }, until: { type: 'string' } } });
  } catch (err) {
    fail((err as Error).message);
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) fail('expected exactly one recording file');
  const tz = parsed.values.tz ?? process.env.SMARTHOME_TZ ?? systemZone();
  try {
    checkZone(tz);
  } catch {
    fail(`--tz: ${JSON.stringify(tz)} is not an IANA time zone (e.g. Asia/Seoul)`);
  }
  let until: number | undefined;
  if (parsed.values.until !== undefined) {
    until = Date.parse(parsed.values.until);
    if (Number.isNaN(until)) fail(`--until: ${JSON.stringify(parsed.values.until)} is not an ISO-8601 time`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${(err as Error).message}`);
  }

  const result = replay(text, { tz, until });
  for (const { line, message } of result.errors) process.stderr.write(`${file}:${line}: skipped invalid line: ${message}\n`);
  for (const log of result.logs) process.stderr.write(`${log}\n`);
  process.stdout.write(result.lines.map((l) => `${l}\n`).join(''));
  process.exitCode = result.errors.length > 0 ? 1 : 0;
}

main();
