/**
 * A burst of appliance-alarm writes through the Firestore sink into the local store, printing
 * each acknowledged doc id on its own stdout line (stdout is synchronous for pipes on Linux, so
 * a printed id was acknowledged before it was printed). The store-durability spec kills this
 * process with SIGKILL in the middle and checks that every printed id survived.
 *
 *   node --import=tsx spec/support/alarm-burst.ts <DATA_DIR> <count> [first-index]
 */
import { interval, map, take } from 'rxjs';
import { silentLogger } from '../../lib/base/log.js';
import { makeFirestoreDriver } from '../../lib/sinks/firestore.js';
import { openStore } from '../../lib/store/index.js';
import type { Effect } from '../../lib/protocol/effects.js';

const [dataDir, countArg = '1000', firstArg = '0'] = process.argv.slice(2);
if (dataDir === undefined) {
  process.stderr.write('usage: alarm-burst.ts <DATA_DIR> <count> [first-index]\n');
  process.exit(2);
}
const count = Number(countArg);
const first = Number(firstArg);

const store = await openStore({ dataDir }, silentLogger);
const alarm = (i: number): Effect => ({
  type: 'firestore.set',
  collection: 'appliance_alarm',
  id: `${8367682800 - first - i}`,
  data: { icon: 'light_icon', date: `2021.9.22.20.36.${i % 60}`, inform: '전등이 켜졌어요.', seq: first + i },
});

process.stdout.write('ready\n');
makeFirestoreDriver(store, { logger: silentLogger })(interval(1).pipe(take(count), map(alarm))).subscribe({
  next: (report) => {
    if (report.kind === 'done' && report.effect.type === 'firestore.set') process.stdout.write(`${report.effect.id}\n`);
    else if (report.kind !== 'done') process.stderr.write(`${JSON.stringify(report)}\n`);
  },
  complete: () => {
    void store.close().then(() => process.stdout.write('complete\n'));
  },
});
