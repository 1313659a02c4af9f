/**
 * The service's own MQTT session in the embedded broker, made before the broker listens (issue
 * 24): the service's client id connects with `clean: false` over an in-process stream (no port),
 * subscribes to the service's inbound topics and disconnects. From the broker's first instant, a
 * QoS 1 message a device sends there is then queued for the service's session and handed over
 * when the service connects, instead of being acknowledged to the device with nobody subscribed
 * (aedes keeps sessions in memory: a restarted broker has none).
 */
import { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import { loadMqtt } from '../drivers/mqtt/quiet-debug.js';

export interface ServiceSession {
  readonly clientId: string;
  readonly username?: string;
  /** The reserved client id's secret (lib/broker/broker.ts `reserved`). */
  readonly secret: string;
  readonly topics: readonly string[];
  readonly qos: 0 | 1 | 2;
}

/** Longer than any in-process handshake; a broker that takes this long is broken. */
const SESSION_TIMEOUT_MS = 10_000;

/** Two connected in-memory streams: what one is written, the other reads. */
function duplexPair(): [Duplex, Duplex] {
  const end = (peer: () => Duplex): Duplex => new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      peer().push(chunk);
      done();
    },
    final(done) {
      peer().push(null);
      done();
    },
    // a side closed (aedes after DISCONNECT) closes the other: mqtt.js's `end` waits for that
    destroy(err, done) {
      peer().destroy();
      done(err);
    },
  });
  const a: Duplex = end(() => b);
  const b: Duplex = end(() => a);
  return [a, b];
}

export async function openServiceSession(aedes: Aedes, session: ServiceSession): Promise<void> {
  const { mqtt } = loadMqtt();
  const [ours, theirs] = duplexPair();
  aedes.handle(theirs);
  const client = new mqtt.MqttClient(() => ours, {
    clientId: session.clientId,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...(session.username !== undefined ? { username: session.username } : { username: session.clientId }),
    password: session.secret,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the service's own MQTT session was not made within ${SESSION_TIMEOUT_MS / 1000} s`)), SESSION_TIMEOUT_MS);
      client.once('error', reject);
      client.once('connect', () => {
        const filters = Object.fromEntries(session.topics.map((topic) => [topic, { qos: session.qos }]));
        client.subscribe(filters, (err, granted) => {
          const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
          if (err) reject(err);
          else if (refused.length > 0) reject(new Error(`the broker refused the service's subscriptions ${refused.join(', ')}`));
          else resolve();
        });
      });
    });
  } finally {
    clearTimeout(timer);
    // a clean DISCONNECT: the session (clean: false) stays in the broker for the service
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }
}
