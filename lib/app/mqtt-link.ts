/**
 * The service's MQTT link: which broker (the configured `MQTT_URL`, or the embedded one started
 * here), the credentials of the service's own connection, that one connection (shared by the
 * MQTT source, the MQTT sink and the watch below), and the watch that keeps the link's health
 * and alerts when it goes down and comes back.
 */
import { randomBytes } from 'node:crypto';
import { distinctUntilChanged, ignoreElements, skip, skipWhile, takeUntil, tap, type Observable } from 'rxjs';
import type { Logger } from '../base/log.js';
import { errorText } from '../base/error-text.js';
import { startBroker, type EmbeddedBroker } from '../broker/broker.js';
import { openBrokerWarning } from '../config/checks.js';
import type { Config } from '../config/codec.js';
import { connectionState, redactUrl, shareMqttConnection, type MqttConnection } from '../drivers/mqtt/connection.js';
import type { ServiceHealth } from './health.js';
import { StartupError, type Lifetime } from '../base/lifetime.js';

export interface MqttLink {
  /** The broker's URL (with credentials if configured so: redact it before showing it). */
  readonly url: string;
  /** The embedded broker, when no `MQTT_URL` is configured. */
  readonly broker?: EmbeddedBroker;
  readonly connection$: Observable<MqttConnection>;
}

/** The topics the service subscribes to: commands, controls and (unless turned off) the home's status. */
export function inboundTopics({ topics }: Config): string[] {
  return [topics.commands, topics.controls, ...(topics.status === '' ? [] : [topics.status])];
}

function embeddedSettings(config: Config, reserved: { clientId: string; secret: string }, health: ServiceHealth, logger: Logger) {
  const { mqtt } = config;
  return {
    host: mqtt.embeddedHost,
    port: mqtt.embeddedPort,
    username: mqtt.username,
    password: mqtt.password,
    passwordFile: mqtt.embeddedPasswordFile,
    aclFile: mqtt.embeddedAclFile,
    reserved,
    // subscribed before the broker listens: a device's first message is queued for the service
    serviceSession: { username: mqtt.username ?? mqtt.clientId, topics: inboundTopics(config), qos: mqtt.qos },
    ...(mqtt.embeddedTlsPort !== undefined && mqtt.embeddedTlsCertFile !== undefined && mqtt.embeddedTlsKeyFile !== undefined
      ? { mqtts: { port: mqtt.embeddedTlsPort, certFile: mqtt.embeddedTlsCertFile, keyFile: mqtt.embeddedTlsKeyFile } }
      : {}),
    maxMessagesPerSecond: mqtt.embeddedMaxMessagesPerS,
    onAlert: (text: string) => health.alert('warning', text),
    logger,
  };
}

export async function openMqttLink(config: Config, logger: Logger, health: ServiceHealth, lifetime: Lifetime): Promise<MqttLink> {
  let broker: EmbeddedBroker | undefined;
  let mqttUrl = config.mqtt.url;
  // With the embedded broker, the service's own connection proves itself with a secret made
  // now: nobody else can use its client id (and take its session over).
  let own = { username: config.mqtt.username, password: config.mqtt.password };
  if (mqttUrl === undefined) {
    const { mqtt } = config;
    const reserved = { clientId: mqtt.clientId, secret: randomBytes(32).toString('hex') };
    own = { username: mqtt.username ?? mqtt.clientId, password: reserved.secret };
    const warning = openBrokerWarning(config);
    if (warning !== undefined) {
      logger.warn(warning);
      health.alert('warning', warning);
    }
    const started = await startBroker(embeddedSettings(config, reserved, health, logger)).catch((err: unknown) => {
      throw new StartupError(errorText(err));
    });
    broker = started;
    lifetime.add(() => started.close());
    mqttUrl = started.url;
  }
  const connection$ = shareMqttConnection({
    url: mqttUrl,
    clientId: config.mqtt.clientId,
    username: own.username,
    password: own.password,
    status: { topic: config.topics.serverStatus, online: 'online', offline: 'offline' },
    logger,
    // a message is acknowledged once journaled, so one that comes before the source listens waits
    holdUnhandled: true,
  });
  return { url: mqttUrl, ...(broker === undefined ? {} : { broker }), connection$ };
}

/**
 * Health and outage alerts of the broker link: one alert when it goes down, one when it is
 * back (after the first connection, every change is news). Part of the root subscription.
 */
export function watchMqttLink(link: MqttLink, health: ServiceHealth, stop$: Observable<void>): Observable<never> {
  const where = redactUrl(link.url);
  return connectionState(link.connection$).pipe(
    distinctUntilChanged(),
    tap((state) => health.set('mqtt', state === 'up' ? { up: true } : { up: false, reason: `broker ${where} unreachable` })),
    skipWhile((state) => state === 'down'),
    skip(1),
    tap((state) =>
      state === 'down'
        ? health.alert('error', `lost the MQTT broker ${where}; reconnecting`)
        : health.alert('info', `the MQTT broker ${where} is reachable again`),
    ),
    ignoreElements(),
    takeUntil(stop$),
  );
}
