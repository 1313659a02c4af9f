/**
 * `npm run backup -- FILE` (`backup-cli.js backup FILE`): a consistent copy of DATA_DIR's
 * database, made while the service runs or not. `npm run restore -- FILE` (`backup-cli.js
 * restore FILE`): a backup put into an empty DATA_DIR that no service uses, once it is checked to
 * be a sound database of this schema. How: lib/store/backup.ts. FILE is taken relative to the
 * directory the command was typed in (npm's INIT_CWD), not the package root npm runs scripts in.
 *
 * Exit 0 when done; 1 when refused (backup: FILE exists, no database; restore: a service runs on
 * DATA_DIR, DATA_DIR not empty, FILE missing or not such a database) or failed; 2 on a missing
 * FILE or an invalid configuration.
 */
import * as path from 'node:path';
import { loadConfigOrExit } from '../config/load.js';
import { BackupError, backupDatabase, restoreDatabase } from '../store/backup.js';

const USAGE = {
  backup: 'npm run backup -- FILE   (a new file: a backup never overwrites one)',
  restore: 'npm run restore -- FILE   (into an empty DATA_DIR, with no service running on it)',
} as const;

const [mode, arg] = process.argv.slice(2);
if (mode !== 'backup' && mode !== 'restore') {
  process.stderr.write(`usage: ${USAGE.backup}\n       ${USAGE.restore}\n`);
  process.exit(2);
}
if (arg === undefined || arg === '') {
  process.stderr.write(`usage: ${USAGE[mode]}\n`);
  process.exit(2);
}
const dir = path.resolve(loadConfigOrExit().dataDir);
const file = path.resolve(process.env.INIT_CWD ?? process.cwd(), arg);
try {
  if (mode === 'backup') {
    const { pages } = await backupDatabase(dir, file);
    process.stdout.write(`backup: DATA_DIR ${dir} copied to ${file} (${pages} pages)\n`);
  } else {
    await restoreDatabase(file, dir);
    process.stdout.write(`restore: ${file} is now the database of DATA_DIR ${dir}; start the service on it\n`);
  }
} catch (err) {
  process.stderr.write(`${mode}: ${err instanceof BackupError ? err.message : `failed: ${(err as Error).message}`}\n`);
  process.exit(1);
}
