/**
 * Checks that span settings or touch the file system, and what is derived from settings.
 */
import * as fs from 'node:fs';
import type { Config } from './codec.js';
import { errorCode, getAt, show, type Given } from './layers.js';
import { BY_PATH } from './settings.js';

function label(setting: string, given: Map<string, Given>): string {
  return given.get(setting)?.where ?? BY_PATH.get(setting)?.env?.name ?? setting;
}

export function checkFirebase(config: Config, given: Map<string, Given>): string[] {
  const fb = config.firebase;
  const problems: string[] = [];
  const emulators = ['firebase.firestoreEmulatorHost', 'firebase.databaseEmulatorHost'].filter((p) => given.has(p));
  if (fb.projectId === undefined && emulators.length > 0) {
    // Without a project id the local store is used, so the emulator would be silently ignored.
    problems.push(`${emulators.map((p) => label(p, given)).join(' and ')} set but ${label('firebase.projectId', given)} is not: set it (any id, e.g. demo-smarthome, for emulators)`);
  }
  if (fb.projectId !== undefined && fb.databaseUrl === undefined && fb.databaseEmulatorHost === undefined) {
    problems.push(`${label('firebase.databaseUrl', given)}: required with ${label('firebase.projectId', given)} (or set FIREBASE_DATABASE_EMULATOR_HOST)`);
  }
  if (fb.credentialsFile !== undefined) {
    try {
      if (!fs.statSync(fb.credentialsFile).isFile()) throw new Error('not a file');
      fs.accessSync(fb.credentialsFile, fs.constants.R_OK);
    } catch (err) {
      // The path is shown, never the content: that is the secret.
      problems.push(`${label('firebase.credentialsFile', given)}: expected a readable service-account key file, got ${show(fb.credentialsFile)} (${errorCode(err)})`);
    }
  }
  return problems;
}

/** Addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '[::1]';
}

/**
 * The embedded broker must not be open to the network by accident (issue 14): listening beyond
 * this machine needs accounts, or an explicit EMBEDDED_MQTT_ALLOW_ANONYMOUS=true.
 */
export function checkEmbeddedBroker(config: Config, given: Map<string, Given>): string[] {
  const { mqtt } = config;
  if (mqtt.url !== undefined) return [];
  const problems: string[] = [];
  const accounts = mqtt.embeddedPasswordFile !== undefined || mqtt.username !== undefined;
  if (!isLoopback(mqtt.embeddedHost) && !accounts && !mqtt.embeddedAllowAnonymous) {
    problems.push(
      `${label('mqtt.embeddedHost', given)}=${mqtt.embeddedHost} opens the embedded MQTT broker to the network, but ` +
        `${label('mqtt.embeddedPasswordFile', given)} is not set, so anyone who reaches it could read every message and send ` +
        `device commands. Create accounts with mosquitto_passwd (e.g. mosquitto_passwd -c config/passwd android, then ` +
        `mosquitto_passwd config/passwd car) and set EMBEDDED_MQTT_PASSWORD_FILE=config/passwd (README: "Opening the broker ` +
        `to your home network"); or set EMBEDDED_MQTT_ALLOW_ANONYMOUS=true to accept anonymous clients knowingly`,
    );
  }
  const tls = ['mqtt.embeddedTlsPort', 'mqtt.embeddedTlsCertFile', 'mqtt.embeddedTlsKeyFile'];
  const set = tls.filter((p) => getAt(config, p) !== undefined);
  if (set.length > 0 && set.length < tls.length) {
    problems.push(`${set.map((p) => label(p, given)).join(' and ')} set: the TLS listener needs all of ${tls.map((p) => label(p, given)).join(', ')}`);
  }
  return problems;
}

/** The warning to give at every start when the embedded broker is knowingly open to anonymous clients. */
export function openBrokerWarning(config: Config): string | undefined {
  const { mqtt } = config;
  if (mqtt.url !== undefined || isLoopback(mqtt.embeddedHost) || mqtt.embeddedPasswordFile !== undefined || mqtt.username !== undefined) return undefined;
  return `the embedded MQTT broker listens on ${mqtt.embeddedHost} and accepts anonymous clients (EMBEDDED_MQTT_ALLOW_ANONYMOUS=true): ` +
    'anyone on the network can read every message and send device commands; set EMBEDDED_MQTT_PASSWORD_FILE to require accounts';
}

/** With the RTDB emulator and no URL, the namespace is the project id (firebase-tools' convention). */
export function deriveDatabaseUrl(config: Config): Config {
  const { projectId, databaseUrl, databaseEmulatorHost } = config.firebase;
  if (databaseUrl !== undefined || databaseEmulatorHost === undefined || projectId === undefined) return config;
  return { ...config, firebase: { ...config.firebase, databaseUrl: `http://${databaseEmulatorHost}/?ns=${encodeURIComponent(projectId)}` } };
}
