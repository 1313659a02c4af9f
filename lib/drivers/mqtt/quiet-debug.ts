/**
 * mqtt.js and mqtt-packet call their `debug` loggers about thirty times per message received and
 * answered. Disabled, each call still costs: `debug`'s logger takes its arguments as a rest
 * array and asks a getter whether it is enabled, and the caller builds the arguments. A bare
 * relay with the loggers below costs about a fifth less CPU per command than one without
 * (BENCHMARKS.md, issue 17). So when `DEBUG` is not set, the `debug` that
 * mqtt.js loads in this process hands out loggers that do nothing at all: what it prints is the
 * same (nothing). With `DEBUG=mqttjs*` set at start, the real `debug` is kept and prints as ever.
 *
 * It must run before mqtt.js is loaded, and a static `import` of a CommonJS package from an ES
 * module loads that package while the import graph is linked, before any module's code runs. So
 * mqtt.js and async-mqtt are loaded here, with `require`, right after the quiet loggers are in
 * place (`loadMqtt`), and `lib/drivers/mqtt/connection.ts` takes them from here.
 */
import { createRequire } from 'node:module';
import type AsyncMqtt from 'async-mqtt';
import type Mqtt from 'mqtt';

type Logger = ((...args: unknown[]) => void) & { enabled: boolean; namespace: string; extend: (ns: string, delimiter?: string) => Logger };

const DEBUG_ENABLED_BY_ENV = (process.env.DEBUG ?? '') !== '';

function quietLogger(namespace: string): Logger {
  // A bound built-in no-op rather than an arrow of ours: each logger is its own object (it gets
  // properties), and a call runs no JavaScript at all (nor shows in `npm run path`).
  const logger = Function.prototype.bind(undefined) as unknown as Logger;
  logger.enabled = false;
  logger.namespace = namespace;
  logger.extend = (ns, delimiter = ':') => quietLogger(`${namespace}${delimiter}${ns}`);
  return logger;
}

/** Puts the quiet `debug` in the module cache where mqtt.js and mqtt-packet look it up. */
function quietMqttDebug(): void {
  if (DEBUG_ENABLED_BY_ENV) return;
  const fromHere = createRequire(import.meta.url);
  const mqttPath = fromHere.resolve('mqtt');
  // mqtt.js already loaded (by someone before us): its loggers are made; leave them.
  if (fromHere.cache[mqttPath] !== undefined) return;
  const fromMqtt = createRequire(mqttPath);
  const paths = new Set([fromMqtt.resolve('debug'), createRequire(fromMqtt.resolve('mqtt-packet')).resolve('debug')]);
  for (const path of paths) {
    // The real module's other functions (enable, disable, ...) stay as they are.
    const real = fromMqtt(path) as object;
    const quiet = Object.assign((namespace: string) => quietLogger(namespace), real);
    const cached = fromMqtt.cache[path];
    if (cached !== undefined) cached.exports = Object.assign(quiet, { default: quiet, debug: quiet });
  }
}

/**
 * mqtt-packet (each MQTT library has its own copy) builds, on its first write, a cache of 65,536
 * two-byte Buffers for packet ids: 60-100 ms of a start-up (garbage collection included) and
 * about 10 MB resident for the two copies (issue 24). Made on the fly instead (its documented
 * `cacheNumbers = false`), a packet id costs one pooled 2-byte allocation per packet.
 */
export function uncachedPacketIds(packageFile: string): void {
  const writer = createRequire(packageFile)('mqtt-packet') as { writeToStream: { cacheNumbers: boolean } };
  writer.writeToStream.cacheNumbers = false;
}

/** mqtt.js and async-mqtt, loaded after their debug loggers were made quiet (when DEBUG is unset). */
export function loadMqtt(): { readonly mqtt: typeof Mqtt; readonly asyncMqtt: typeof AsyncMqtt } {
  quietMqttDebug();
  const fromHere = createRequire(import.meta.url);
  uncachedPacketIds(fromHere.resolve('mqtt'));
  return { mqtt: fromHere('mqtt') as typeof Mqtt, asyncMqtt: fromHere('async-mqtt') as typeof AsyncMqtt };
}
