/**
 * Prometheus metrics (prom-client) for `/metrics`: what came in, what went out, what failed,
 * how full the queues are, and how long a command waits for its answer.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Events into the pipeline, by source (`mqtt`, `rtdb`, `firestore`, `weather`, `face`, `clock`). */
  readonly eventsIn: Counter<'source'>;
  /** Effects performed, by sink. */
  readonly effectsOut: Counter<'sink'>;
  /** Errors, by kind (`sink.mqtt`, `alert.warning`, `source.rtdb`, ...). */
  readonly errors: Counter<'kind'>;
  /** Items waiting: the MQTT offline queue, the Firebase outbox. */
  readonly queueSize: Gauge<'queue'>;
  /** Seconds from an inbound MQTT command to its reply or device command being published. */
  readonly commandLatency: Histogram<'kind'>;
}

export function createMetrics(withDefaults = true): Metrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'smarthome_' });
  return {
    registry,
    eventsIn: new Counter({ name: 'smarthome_events_in_total', help: 'Events into the pipeline, by source', labelNames: ['source'], registers: [registry] }),
    effectsOut: new Counter({ name: 'smarthome_effects_out_total', help: 'Effects performed, by sink', labelNames: ['sink'], registers: [registry] }),
    errors: new Counter({ name: 'smarthome_errors_total', help: 'Errors, by kind', labelNames: ['kind'], registers: [registry] }),
    queueSize: new Gauge({ name: 'smarthome_queue_size', help: 'Items waiting to be sent, by queue', labelNames: ['queue'], registers: [registry] }),
    commandLatency: new Histogram({
      name: 'smarthome_command_latency_seconds',
      help: 'From an inbound MQTT command to its reply or device command being published',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
