/**
 * RabbitMQ-style topics on the embedded broker (issue 23 item 5). RabbitMQ's MQTT plugin maps MQTT
 * topic `a/b/c` to AMQP routing key `a.b.c` and back, so there `.` and `/` are one separator: the
 * filter `webos.smarthome.#` is `webos/smarthome/#`, and the ESP32 firmware subscribes with exactly
 * that. Here every topic a client sends (PUBLISH, SUBSCRIBE, UNSUBSCRIBE, the will in CONNECT) has
 * its `.` turned into `/` as the packet is parsed, so the ACL, the sessions, retained messages and
 * deliveries only ever see `/` (a delivery to that subscription says `webos/smarthome/info`, as
 * RabbitMQ's does).
 */
import type { EventEmitter } from 'node:events';
import type { Client, ConnectPacket, PublishPacket, SubscribePacket, UnsubscribePacket } from 'aedes';

export const slashed = (topic: string): string => topic.replaceAll('.', '/');

type TopicPacket = PublishPacket | SubscribePacket | UnsubscribePacket | ConnectPacket;

/** Rewrites the topics of one packet, as mqtt-packet parsed it, in place (other kinds have none). */
export function slashTopics(packet: { readonly cmd: string }): void {
  const p = packet as TopicPacket;
  switch (p.cmd) {
    case 'publish':
      p.topic = slashed(p.topic);
      break;
    case 'subscribe':
      for (const sub of p.subscriptions) sub.topic = slashed(sub.topic);
      break;
    case 'unsubscribe':
      p.unsubscriptions = p.unsubscriptions.map(slashed);
      break;
    case 'connect':
      if (p.will) p.will.topic = slashed(p.will.topic);
      break;
  }
}

/**
 * Makes aedes read `client`'s topics with `/` for `.`. aedes checks a filter (`#` only after a
 * `/`) before its authorizeSubscribe hook runs, and persists the SUBSCRIBE's own filters, so a
 * hook is too late: the one place every packet passes first is the client's mqtt-packet parser,
 * whose `packet` listener hands it to aedes. Call right after `aedes.handle()`, before any read.
 */
export function acceptDottedTopics(client: Client): void {
  const parser = (client as unknown as { _parser?: EventEmitter })._parser;
  if (parser === undefined || typeof parser.prependListener !== 'function') {
    throw new Error('aedes changed: its client has no packet parser to rewrite dotted topics on (lib/broker/broker-dots.ts)');
  }
  parser.prependListener('packet', slashTopics);
}
