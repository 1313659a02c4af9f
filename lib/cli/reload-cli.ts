/**
 * `npm run reload`: the README's reload (SIGHUP: the embedded broker re-reads its password, ACL
 * and TLS files) for the service that uses this configuration's DATA_DIR, however it was started.
 * The service is found by the lock it holds on DATA_DIR's database (lib/store/database.ts: the
 * lock decides, the pid row names it, a live process confirms it), not by a process name:
 * under `npm start` the process a user sees is npm, which passes no SIGHUP on.
 *
 * Exit 0 when the signal was sent, 1 when no service runs on DATA_DIR, 2 on an invalid configuration.
 */
import * as path from 'node:path';
import { loadConfigOrExit } from '../config/load.js';
import { databaseHolder } from '../store/database.js';

const config = loadConfigOrExit();
const dir = path.resolve(config.dataDir);
const pid = databaseHolder(dir);
if (pid === undefined) {
  process.stderr.write(`reload: no service runs on DATA_DIR ${dir} (nothing holds its lock); nothing to reload\n`);
  process.exit(1);
}
try {
  process.kill(pid, 'SIGHUP');
} catch (err) {
  process.stderr.write(`reload: cannot signal the service (pid ${pid}) on DATA_DIR ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
  process.exit(1);
}
process.stdout.write(`reload: SIGHUP sent to the service (pid ${pid}) on DATA_DIR ${dir}; its log says what was reloaded\n`);
