/**
 * The yardstick of the end-to-end bench: a bare async-mqtt relay in its own process, on the same
 * broker as the backend. It subscribes to the command topics at QoS 1 and answers each message
 * with the same reply the backend sends for a sign-in (same size, same topic scheme, QoS 1):
 * the least any MQTT service must do per command (receive, parse the JSON to learn the sender,
 * publish; bench/relay-reply.ts, which the core bench runs in-process too). No validation, no
 * state, no store, no RxJS.
 *
 * `quietDebug` (BENCH_RELAY_QUIET=1): mqtt.js loaded as the backend loads it, with debug loggers
 * that do nothing (lib/drivers/mqtt/quiet-debug.ts), to compare against the transport at its best rather
 * than as shipped (issue 17: the as-shipped relay pays ~30 disabled debug calls per command).
 */
import type AsyncMqtt from 'async-mqtt';
import { loadMqtt } from '../lib/drivers/mqtt/quiet-debug.js';
import { childArgs, serveBench } from './child.js';
import { withNoDelay } from './nodelay.js';
import { relayReplyTopic } from './relay-reply.js';

interface RelayArgs {
  readonly url: string;
  readonly clientId: string;
  /** The command filter, e.g. `bench/<run>/relay/webos/server/#`. */
  readonly commands: string;
  /** Reply topic with `{device}`, e.g. `bench/<run>/relay/webos/{device}/info`. */
  readonly reply: string;
  readonly payload: string;
  readonly quietDebug?: boolean;
}

const args = childArgs<RelayArgs>();
const asyncMqtt: typeof AsyncMqtt = args.quietDebug === true ? loadMqtt().asyncMqtt : (await import('async-mqtt')).default;
// TCP_NODELAY like the backend's connection, so that the yardstick is the transport's best
const client = withNoDelay(await asyncMqtt.connectAsync(args.url, { clientId: args.clientId, clean: true, reconnectPeriod: 1000 }, false));
let failures = 0;
client.on('message', (_topic, message) => {
  const topic = relayReplyTopic(message.toString('utf8'), args.reply);
  if (topic === undefined) return;
  client.publish(topic, args.payload, { qos: 1 }).catch(() => {
    failures++;
  });
});
await client.subscribe(args.commands, { qos: 1 });
serveBench({}, async () => {
  if (failures > 0) process.stderr.write(`relay: ${failures} publish(es) failed\n`);
  await client.end();
});
