/**
 * The durability operator's intake (lib/durability/durable.ts): journal -> acknowledge -> handle,
 * with MQTT messages read ahead. The journal and the database are the real ones in a temporary
 * DATA_DIR; the deliveries are `MqttDelivery` values that record what was done to them and when
 * (what the MQTT driver's read-ahead does with a broker is spec/drivers/mqtt/mqtt-driver.spec.ts).
 */
import { readdirSync, readFileSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { Subject } from 'rxjs';
import { Lifetime } from '../../lib/base/lifetime.js';
import { silentLogger } from '../../lib/base/log.js';
import type { Event, MqttMessage } from '../../lib/core/protocol/events.js';
import type { MqttDelivery } from '../../lib/drivers/mqtt/mqtt-driver.js';
import { openDurable } from '../support/durable-parts.js';
import { EVENTS_DIR } from '../../lib/durability/event-journal.js';

describe('durability/durable: the intake', () => {
  let dir: string;
  let lifetime: Lifetime;
  /** What happened, in order: `readOn a`, `ack a (journal holds N)`, `handled a`. */
  let log: string[];

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'smarthome-durable-'));
    lifetime = new Lifetime(silentLogger);
    log = [];
  });
  afterEach(async () => {
    await lifetime.closeAll();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** MQTT lines in the journal's files now (read synchronously: an `ack` looks at the disk as it is called). */
  const journaledNow = (): number => {
    let n = 0;
    for (const name of readdirSync(path.join(dir, EVENTS_DIR))) {
      n += readFileSync(path.join(dir, EVENTS_DIR, name), 'utf8').split('\n').filter((l) => l.includes('"source":"mqtt"')).length;
    }
    return n;
  };

  function delivery(payload: string, messageId: number): MqttDelivery {
    const event: MqttMessage = { type: 'mqtt.message', topic: 'webos/server/info', payload };
    return {
      type: 'mqtt.delivery', event, messageId, dup: false,
      readOn: () => log.push(`readOn ${payload}`),
      // the journal as it is on disk at the moment of the acknowledgement
      ack: () => log.push(`ack ${payload} (journal holds ${journaledNow()})`),
    };
  }

  async function intake(): Promise<Subject<Event | MqttDelivery>> {
    const durability = await openDurable(dir, lifetime);
    const source = new Subject<Event | MqttDelivery>();
    const subscription = source.pipe(durability.intake(() => undefined)).subscribe((event) => {
      log.push(`handled ${event.type === 'mqtt.message' ? event.payload : event.type}`);
    });
    lifetime.add(async () => subscription.unsubscribe());
    return source;
  }

  it('reads on at once, then at the end of the turn writes the lines, acknowledges every message, and handles them in order', async () => {
    const source = await intake();
    source.next(delivery('a', 1));
    source.next(delivery('b', 2));
    source.next(delivery('c', 3));
    expect(log, 'mqtt.js may read on; nothing acknowledged or handled yet').to.deep.equal(['readOn a', 'readOn b', 'readOn c']);
    expect(journaledNow(), 'the lines are held').to.equal(0);
    await Promise.resolve(); // the microtask
    expect(log.slice(3)).to.deep.equal([
      'ack a (journal holds 3)', 'ack b (journal holds 3)', 'ack c (journal holds 3)',
      'handled a', 'handled b', 'handled c',
    ]);
  });

  it('has what is held written and handled before any other event, which then goes through at once', async () => {
    const source = await intake();
    source.next(delivery('a', 1));
    source.next({ type: 'rtdb.value', path: 'smarthome/status', value: '000000000' });
    expect(log).to.deep.equal(['readOn a', 'ack a (journal holds 1)', 'handled a', 'handled rtdb.value']);
    await Promise.resolve();
    expect(log, 'nothing left for the microtask').to.have.length(4);
  });
});
