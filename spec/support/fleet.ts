/**
 * The home's existing clients as they really behave (issue 23), written from their sources so
 * that the fleet suite meets what a family's devices do, quirks included:
 *
 * - the Android app (ThreeAmericano/Android, `MQTT_Thread.kt`, `SignupActivity.kt`; the RabbitMQ
 *   Java client, here amqplib): one connection per sign-up or sign-in; a sign-in publishes
 *   `{"Producer":"android","command":"signin","UID":...}` to `webos.topic` with routing key
 *   `webos.server.info`, then `basicConsume`s the queue `webos.android` with auto-ack and takes the
 *   FIRST delivery as the answer (`getString("name")`), then closes; controls go to routing key
 *   `webos.smarthome` over one connection that the main screen keeps;
 * - the car dashboard (ThreeAmericano/CarDashboard, `service/webos_service.js`, amqplib): every
 *   publish opens a new connection (never closed), `assertExchange("webos.topic", "topic",
 *   {durable: true})` and publishes; a sign-in then opens another connection,
 *   `assertQueue("webos.car", {durable: true})`, waits 300 ms and `get`s the OLDEST message with
 *   noAck; with nothing there it waits 400 ms and its retry reads `.queue` of `false`, which
 *   throws: the sign-in fails. Controls go to routing key `webos.smarthome.info`;
 * - the ESP32 home controller (ThreeAmericano/ESP32, `main.ino`; PubSubClient through RabbitMQ's
 *   MQTT plugin): client id `PSW_Arduino`, clean session, subscribes `webos.smarthome.#` (QoS 0);
 *   a payload of exactly 9 characters is applied to its status as `MQTT_Received` does (position
 *   0 copied; air-con `1` copies 1-2, `0` clears 1; light `1` copies 3-6, `0` clears 3; window
 *   and gas `0`/`1` copied), anything else is ignored ("WrongData Received"); then it writes the
 *   whole status to the RTDB's `smarthome/status` (`Firebase.setString`). At boot it reads its
 *   status from there.
 *
 * All of them log in with the one account compiled into them.
 */
import amqp from 'amqplib';
import net from 'node:net';
import { delay } from './brokers.js';

export interface Account {
  readonly username: string;
  readonly password: string;
}

function amqpUrl(port: number, account: Account): string {
  return `amqp://${encodeURIComponent(account.username)}:${encodeURIComponent(account.password)}@127.0.0.1:${port}`;
}

const EXCHANGE = 'webos.topic';

/** The Android app. */
export class AndroidApp {
  private controlChannel: Promise<{ connection: amqp.ChannelModel; channel: amqp.Channel }> | undefined;

  constructor(private readonly port: number, private readonly account: Account) {}

  /** `SignupActivity`: publish the sign-up, close. */
  async signUp(uid: string, name: string): Promise<void> {
    await this.publishOnce('webos.server.info', JSON.stringify({ Producer: 'android', command: 'signup', UID: uid, name }));
  }

  /** Any JSON (or not) to the server, the way the app publishes. */
  async publishOnce(routingKey: string, body: string): Promise<void> {
    const connection = await amqp.connect(amqpUrl(this.port, this.account));
    const channel = await connection.createChannel();
    channel.publish(EXCHANGE, routingKey, Buffer.from(body));
    await channel.close();
    await connection.close();
  }

  /**
   * `SigninThread`: publish, then the first delivery of `webos.android` is the answer. Resolves
   * with its `name` (undefined when the message has none) or rejects after `ms` (the app would
   * wait on its login screen).
   */
  async signIn(uid: string, ms = 5_000): Promise<{ name: string | undefined; body: string }> {
    const connection = await amqp.connect(amqpUrl(this.port, this.account));
    try {
      const channel = await connection.createChannel();
      channel.publish(EXCHANGE, 'webos.server.info', Buffer.from(JSON.stringify({ Producer: 'android', command: 'signin', UID: uid })));
      const first = new Promise<string>((resolve) => {
        void channel.consume('webos.android', (delivery) => {
          if (delivery !== null) resolve(delivery.content.toString());
        }, { noAck: true, consumerTag: 'PSW_android' });
      });
      const body = await Promise.race([first, delay(ms).then(() => { throw new Error(`android sign-in of ${uid}: no answer in webos.android within ${ms} ms`); })]);
      const name = (JSON.parse(body) as { name?: unknown }).name;
      return { name: typeof name === 'string' ? name : undefined, body };
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  /** `ControlThread.sendMQTT`: a 9-character control to `webos.smarthome`, one kept connection. */
  async control(code: string): Promise<void> {
    this.controlChannel ??= (async () => {
      const connection = await amqp.connect(amqpUrl(this.port, this.account));
      return { connection, channel: await connection.createChannel() };
    })();
    (await this.controlChannel).channel.publish(EXCHANGE, 'webos.smarthome', Buffer.from(code));
  }

  async close(): Promise<void> {
    const held = await this.controlChannel?.catch(() => undefined);
    await held?.connection.close().catch(() => undefined);
  }
}

/** What the car's sign-in screen ends with. */
export interface CarSignIn {
  /** `String(msg.name)` of the oldest message, or undefined when the sign-in failed. */
  readonly name: string | undefined;
  /** The message it read, if any. */
  readonly body: string | undefined;
}

/** The car dashboard's webOS service. */
export class CarDashboard {
  /** Its connections are never closed by the original; the simulator closes them at the end. */
  private readonly connections: amqp.ChannelModel[] = [];

  constructor(private readonly port: number, private readonly account: Account) {}

  private async connect(): Promise<amqp.Channel> {
    const connection = await amqp.connect(amqpUrl(this.port, this.account));
    this.connections.push(connection);
    return connection.createChannel();
  }

  /** `sendMqttFunc(exchange, routingKey, msg)`. */
  async send(routingKey: string, msg: string): Promise<void> {
    const channel = await this.connect();
    await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
    channel.publish(EXCHANGE, routingKey, Buffer.from(msg));
  }

  async signUp(uid: string, name: string): Promise<void> {
    await this.send('webos.server.info', JSON.stringify({ Producer: 'car', command: 'signup', UID: uid, name }));
  }

  /** A 9-character control, as the car's appliance screen sends it. */
  async control(code: string): Promise<void> {
    await this.send('webos.smarthome.info', code);
  }

  /** `signIn`: publish, then `getMqtt("webos.car")`; `published` is told when the request went out. */
  async signIn(uid: string, published: () => void = () => undefined): Promise<CarSignIn> {
    await this.send('webos.server.info', JSON.stringify({ Producer: 'car', command: 'signin', UID: uid }));
    published();
    return this.getMqtt('webos.car');
  }

  private async getMqtt(queue: string): Promise<CarSignIn> {
    const channel = await this.connect();
    const declared = await channel.assertQueue(queue, { durable: true });
    await delay(300);
    const message = await channel.get(declared.queue, { noAck: true });
    if (message !== false) {
      const body = message.content.toString();
      return { name: String((JSON.parse(body) as { name?: unknown }).name), body };
    }
    // The original waits 400 ms more, then reads `response.queue` of `false`: a TypeError, caught
    // and logged; the sign-in screen gets nothing.
    await delay(400);
    return { name: undefined, body: undefined };
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.splice(0).map((c) => c.close().catch(() => undefined)));
  }
}

/** The ESP32's way of applying a received command to its status (`MQTT_Received`). */
export function esp32Apply(status: string, received: string): string {
  const s = status.split('');
  const r = (i: number): string => received.charAt(i);
  s[0] = r(0);
  if (r(1) === '0') s[1] = '0';
  else if (r(1) === '1') { s[1] = '1'; s[2] = r(2); }
  if (r(3) === '0') s[3] = '0';
  else if (r(3) === '1') for (let i = 3; i < 7; i++) s[i] = r(i);
  for (const i of [7, 8]) if (r(i) === '0' || r(i) === '1') s[i] = r(i);
  return s.join('');
}

/** MQTT 3.1.1 remaining length (variable-length integer). */
function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

const str = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const packet = (first: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([first, ...remainingLength(body.length)]), body]);

/**
 * The ESP32 home controller. Its MQTT is PubSubClient's: a few hand-built MQTT 3.1.1 packets, so
 * the filter goes out exactly as the firmware writes it (a full client such as mqtt.js refuses
 * `webos.smarthome.#` before sending it). `writeStatus` is its `Firebase.setString("/smarthome/status", ...)`.
 */
export class Esp32 {
  /** Every 9-character payload it received, in order. */
  readonly received: string[] = [];
  private status = '000000000';
  private writes = Promise.resolve();
  private buffer = Buffer.alloc(0);
  private readonly ping: NodeJS.Timeout;
  private readonly acks = new Map<number, (packet: Buffer) => void>();

  private constructor(private readonly socket: net.Socket, private readonly writeStatus: (status: string) => Promise<void>) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    // PubSubClient's loop(): PINGREQ every keep-alive (15 s).
    this.ping = setInterval(() => socket.write(Buffer.from([0xc0, 0])), 15_000);
  }

  static async boot(mqttPort: number, account: Account, readStatus: () => Promise<string>, writeStatus: (status: string) => Promise<void>): Promise<Esp32> {
    const socket = net.connect({ host: '127.0.0.1', port: mqttPort });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const esp = new Esp32(socket, writeStatus);
    // client.connect("PSW_Arduino", mqtt_user, mqtt_pass): clean session, keep-alive 15 s.
    const connack = esp.expect(0x20);
    socket.write(packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 15]), str('PSW_Arduino'), str(account.username), str(account.password)])));
    const code = (await connack)[3];
    if (code !== 0) {
      await esp.close();
      throw new Error(`the broker refused the ESP32's CONNECT (return code ${code})`);
    }
    // setup(): read the status from the RTDB, statusUpdate() writes it back.
    esp.status = await readStatus();
    await writeStatus(esp.status);
    const suback = esp.expect(0x90);
    socket.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str('webos.smarthome.#'), Buffer.from([0])])));
    if ((await suback)[4] === 0x80) throw new Error('the broker refused the ESP32\'s subscription webos.smarthome.#');
    return esp;
  }

  get current(): string {
    return this.status;
  }

  /** The next packet of this type (CONNACK, SUBACK), within 5 s. */
  private expect(type: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ESP32: no packet 0x${type.toString(16)} within 5 s`)), 5_000);
      this.acks.set(type, (p) => { clearTimeout(timer); resolve(p); });
    });
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (; i < this.buffer.length; i++) {
        length += (this.buffer[i]! & 0x7f) * multiplier;
        multiplier *= 128;
        if ((this.buffer[i]! & 0x80) === 0) break;
      }
      if (i >= this.buffer.length || this.buffer.length < i + 1 + length) return;
      const whole = this.buffer.subarray(0, i + 1 + length);
      this.buffer = this.buffer.subarray(i + 1 + length);
      const type = whole[0]! & 0xf0;
      if (type === 0x30) this.onPublish(whole.subarray(i + 1), (whole[0]! >> 1) & 3);
      else this.acks.get(type)?.(whole);
    }
  }

  /** `MQTT_Received`: 9 characters are applied and written to the RTDB; anything else is ignored. */
  private onPublish(body: Buffer, qos: number): void {
    const topicLength = body.readUInt16BE(0);
    const payload = body.subarray(2 + topicLength + (qos > 0 ? 2 : 0)).toString('latin1');
    if (payload.length !== 9) return; // "WrongData Received"
    this.received.push(payload);
    this.status = esp32Apply(this.status, payload);
    const now = this.status;
    this.writes = this.writes.then(() => this.writeStatus(now)).catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.ping);
    this.socket.end(Buffer.from([0xe0, 0]));
    this.socket.destroy();
    await this.writes;
  }
}
