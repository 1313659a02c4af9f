/**
 * What the bare relay does with a command, the yardstick's whole behaviour: parse the JSON to
 * learn the sender and name the topic of its reply. One copy, run by the relay process of the
 * end-to-end bench (bench/relay.ts) and in-process by the core bench (bench/core.ts).
 */
import { deviceTopic } from '../lib/core/protocol/topics.js';

/** The reply topic for a command (`template` holds `{device}`), or undefined when it names no sender. */
export function relayReplyTopic(message: string, template: string): string | undefined {
  let producer: unknown;
  try {
    producer = (JSON.parse(message) as { Producer?: unknown }).Producer;
  } catch {
    return undefined;
  }
  return typeof producer === 'string' ? deviceTopic(template, producer) : undefined;
}
