/**
 * The embedded broker of the end-to-end bench, in its own process (as Mosquitto is): aedes via
 * `startBroker` of lib/broker/broker.ts, the broker `npm start` runs when MQTT_URL is unset, on a free
 * port of 127.0.0.1. Started by bench/e2e.ts.
 */
import { startBroker } from '../lib/broker/broker.js';
import { serveBench } from './child.js';

const broker = await startBroker({ host: '127.0.0.1', port: 0 });
serveBench({ url: broker.url }, () => broker.close());
