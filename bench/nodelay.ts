/**
 * TCP_NODELAY for the bench's own MQTT clients (the relay and the devices), as the backend
 * (lib/drivers/mqtt/connection.ts) and the embedded broker (lib/broker/broker.ts) set it: otherwise
 * Nagle's algorithm holds a small packet behind an unacknowledged one until the peer's delayed
 * ACK (up to 40 ms), and those timers, not the targets, would make the latency figures.
 * mqtt.js 4 has no option for it; each (re)connect has a new socket.
 */
import type { AsyncMqttClient } from 'async-mqtt';

type Inner = { readonly stream?: { setNoDelay?(noDelay?: boolean): unknown } };

export function withNoDelay(client: AsyncMqttClient): AsyncMqttClient {
  const inner = (client as unknown as { _client?: Inner })._client;
  const set = (): void => {
    inner?.stream?.setNoDelay?.(true);
  };
  set();
  client.on('connect', set);
  return client;
}
