/**
 * Diagnostic only (BENCH_TCP_NODELAY=1): TCP_NODELAY on every TCP socket this process opens or
 * accepts, to show what the end-to-end figures would be if the MQTT clients and the embedded
 * broker turned Nagle's algorithm off. Neither mqtt.js 4 nor aedes does, and neither does
 * lib/sources/mqtt-connection.ts or lib/broker.ts; the default bench run changes nothing.
 * Loaded with `--import` into the helper processes and imported by the bench itself.
 */
import net from 'node:net';

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  this.setNoDelay(true);
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof connect;

const emit = net.Server.prototype.emit as (this: net.Server, event: string | symbol, ...args: unknown[]) => boolean;
net.Server.prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
  if (event === 'connection' && args[0] instanceof net.Socket) args[0].setNoDelay(true);
  return emit.call(this, event, ...args);
} as typeof net.Server.prototype.emit;
