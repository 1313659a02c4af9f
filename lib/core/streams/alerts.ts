/**
 * "Reported" (issue 3): a message on an MQTT error topic plus a Slack alert. System warnings and
 * errors are plain text (SPEC 2); an error for a device is JSON, as every message to a device
 * (SPEC 4), in the original's shape `{"Producer":"server","command":"alert","msg":...}`: the car
 * and the app parse what arrives on their topics as JSON.
 * Texts are cut to 200 characters, since they may embed what a device sent.
 */
import { truncate } from '../protocol/errors.js';
import type { Effect, LogLevel } from '../protocol/effects.js';
import { deviceTopic, type Topics } from '../protocol/topics.js';

function report(topic: string, label: string, text: string, asJson = false): Effect[] {
  const cut = truncate(text);
  return [
    { type: 'mqtt.publish', topic, payload: asJson ? deviceAlert(cut) : cut },
    { type: 'slack.alert', text: truncate(`${label}: ${text}`) },
  ];
}

/** A system warning on `data/error/warning`. */
export const warning = (topics: Topics, text: string): Effect[] => report(topics.warning, 'warning', text);

/** A system error on `data/error/error`. */
export const systemError = (topics: Topics, text: string): Effect[] => report(topics.error, 'error', text);

/** An error about a message that `device` sent, on `webos/{device}/error`. */
export const deviceError = (topics: Topics, device: string, text: string): Effect[] =>
  report(deviceTopic(topics.deviceError, device), `error for ${device}`, text, true);

/** The original backend's error message to a device (its `alert_error`). */
export const deviceAlert = (msg: string): string => JSON.stringify({ Producer: 'server', command: 'alert', msg });

export const log = (level: LogLevel, msg: string): Effect => ({ type: 'log', level, msg: truncate(msg, 500) });
