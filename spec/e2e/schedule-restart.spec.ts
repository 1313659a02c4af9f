/**
 * End to end, in real time (issue 7, "done when"): a schedule whose minute comes while the
 * service is down fires exactly once after a restart, and never again after a further restart.
 *
 * The service is killed with SIGKILL one second before the schedule's minute and started again
 * 30 seconds later: the occurrence fell due while it was down, so the restarted service fires it
 * (it is still inside its minute, and well within SCHEDULE_GRACE_S). The restarted run starts
 * from the killed run's last tick (checked in its journal header); what the pipeline does from
 * such a header, for occurrences outside their minute (late, skipped, passed while up, clock
 * changes), is in the replay fixtures spec/fixtures/traffic/restart-*.ndjson, not waited for
 * here in real time. Then a clean stop and a
 * third start that runs on into the minute after the schedule's: the occurrence must not fire
 * again (the database's schedule_fired table says it was handled).
 *
 * The third run ends one tick into the minute after instead of at its end: a tick anywhere in
 * that minute sees the same occurrence and the same durable state, so waiting out the other
 * 58 s would test nothing more and push the spec past two minutes.
 *
 * Slow by nature (about 1.5 to 2 minutes, depending on where in the minute it starts), so it has
 * its own timeout. The broker is aedes in this test process, so it (and the test's subscription
 * to the device-command topic) lives through the service's kill and restarts.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { startBroker, type EmbeddedBroker } from '../../lib/broker/broker.js';
import { suffix } from '../support/brokers.js';
import { connectDevice, killAll, startService, type Device, type ServiceEnv } from '../support/service.js';
import { peek, peekCollection, poll, removeDir, sleep, tempDir } from './helpers.js';

const TZ = 'Asia/Seoul';
const DEVICE_COMMANDS = 'webos/smarthome/info';

/** `HHMM` of `ms` on the wall clock of `tz`. */
function hhmm(ms: number, tz: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.hour}${parts.minute}`;
}

/** The resume header of the newest file of the event journal (docs/storage.md). */
async function lastResumeHeader(dataDir: string): Promise<{ resume: { lastTickAt?: number } }> {
  const dir = path.join(dataDir, 'events');
  const files = (await fs.readdir(dir)).filter((f) => f.startsWith('events-')).sort(); // zero-padded numbers
  const text = await fs.readFile(path.join(dir, files.at(-1)!), 'utf8');
  return JSON.parse(text.split('\n')[0]!) as { resume: { lastTickAt?: number } };
}

/** Sleeps until the wall clock reads `at` (epoch ms). */
const until = (at: number): Promise<void> => sleep(Math.max(0, at - Date.now()));

describe('the service end to end: a schedule across a SIGKILL and restarts (real time)', function () {
  this.timeout(200_000);
  let broker: EmbeddedBroker;
  let dataDir: string;
  let device: Device;

  before(async () => {
    broker = await startBroker({ port: 0 });
    dataDir = await tempDir();
    device = await connectDevice(broker.url, `e2e-home-${suffix()}`, [DEVICE_COMMANDS]);
  });

  after(async () => {
    await killAll();
    await device.end();
    await broker.close();
    await removeDir(dataDir);
  });

  it('fires a schedule that fell due while the service was killed exactly once, and not again after another restart', async () => {
    const settings: ServiceEnv = {
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: `e2e-backend-${suffix()}`,
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SMARTHOME_TZ: TZ,
    };
    const commands = (): string[] => device.on(DEVICE_COMMANDS).map((m) => m.payload);
    let service = await startService(settings);

    // The next minute boundary at least 5 s away (Seoul is a whole number of hours from UTC,
    // so its minutes start when UTC's do).
    const boundary = Math.ceil((Date.now() + 5_000) / 60_000) * 60_000;
    const title = `e2e-${suffix()}`;
    await device.command({
      Producer: 'android',
      command: 'add_schedule',
      title,
      enabled: true,
      startTime: hhmm(boundary, TZ),
      repeat: true,
      daysOfWeek: [true, true, true, true, true, true, true],
      modeNum: 0,
      airconEnable: true,
      airconWindPower: 5,
      lightEnable: false,
      windowOpen: false,
      gasValveEnable: false,
    });
    await poll(async () => (await peekCollection(dataDir, 'schedule_mode')).get(title), 'the schedule in the store');

    await until(boundary - 1_000);
    const killedAt = Date.now();
    await service.kill();
    expect(killedAt, 'killed before the minute').to.be.below(boundary);
    expect(commands(), 'nothing fired before the minute').to.deep.equal([]);

    await until(boundary - 1_000 + 30_000);
    service = await startService(settings);
    // The restart starts from the killed run's last tick (its heartbeat, a second at most before
    // the kill): the header of the new journal file says so, and the replay fixtures
    // restart-*.ndjson show what the pipeline does from such a header.
    const { lastTickAt } = (await lastResumeHeader(dataDir)).resume;
    expect(lastTickAt, 'the last tick of the killed run').to.be.within(killedAt - 2_500, killedAt);
    await poll(() => commands().length > 0, 'the schedule to fire after the restart', 10_000);
    await sleep(2_000); // a second tick or two: still one
    expect(commands()).to.deep.equal(['015000000']);
    const fired = peek<{ schedule: string }>(dataDir, 'SELECT schedule FROM schedule_fired').map((r) => r.schedule);
    expect(fired).to.include(title);
    expect((await service.stop()).code).to.equal(0);

    service = await startService(settings);
    await until(boundary + 62_000); // into the minute after the schedule's (see above)
    expect(service.exitedAlready()).to.equal(false);
    expect((await service.stop()).code).to.equal(0);
    expect(commands(), 'device commands over all three runs').to.deep.equal(['015000000']);
    // a repeating schedule stays
    expect((await peekCollection(dataDir, 'schedule_mode')).has(title)).to.equal(true);
  });
});
