/**
 * Runs one sink driver over effects read from a JSON file, against the store the environment
 * selects (SPEC 11 names), and prints every report as a JSON line. It never completes: the
 * contract suite kills it with SIGKILL while Firebase is down, to check that the next run
 * delivers what the durable outbox holds.
 *
 *   node --import=tsx spec/support/sink-writer.ts <firestore|rtdb> <effects.json>
 */
import { promises as fs } from 'node:fs';
import { concat, from, NEVER } from 'rxjs';
import { silentLogger } from '../../lib/base/log.js';
import { makeFirestoreDriver } from '../../lib/drivers/firebase/firestore-sink.js';
import { makeRtdbDriver } from '../../lib/drivers/firebase/rtdb-sink.js';
import { openStore, storeOptionsFromEnv } from '../../lib/store/open-store.js';
import type { Effect } from '../../lib/core/protocol/effects.js';

const [sink, effectsFile] = process.argv.slice(2);
if ((sink !== 'firestore' && sink !== 'rtdb') || effectsFile === undefined) {
  process.stderr.write('usage: sink-writer.ts <firestore|rtdb> <effects.json>\n');
  process.exit(2);
}
const effects = JSON.parse(await fs.readFile(effectsFile, 'utf8')) as Effect[];
const store = await openStore(storeOptionsFromEnv(), silentLogger);
const driver = sink === 'firestore' ? makeFirestoreDriver(store, { logger: silentLogger }) : makeRtdbDriver(store, { logger: silentLogger });
process.stdout.write(`${JSON.stringify({ ready: store.kind })}\n`);
driver(concat(from(effects), NEVER)).subscribe((report) => process.stdout.write(`${JSON.stringify(report)}\n`));
