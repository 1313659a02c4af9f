/**
 * The service's own alerts (a source down or back, a sink failing for long, messages dropped):
 * errors and warnings go out like the pipeline's own (MQTT error topic and Slack), news that
 * something works again goes to Slack and the log only.
 */
import { filter, type Observable } from 'rxjs';
import { log, systemError, warning } from './alerts.js';
import type { Deps } from './deps.js';
import type { Effect } from '../protocol/effects.js';
import type { ServiceAlert } from '../protocol/events.js';
import { handle, type Observed } from './world.js';

export function serviceAlerts$(observed$: Observable<Observed>, deps: Deps): Observable<Effect> {
  const { topics } = deps.settings;
  return observed$.pipe(
    filter((o): o is Observed & { event: ServiceAlert } => o.event.type === 'service.alert'),
    handle('service alerts', topics, ({ event }) => {
      switch (event.level) {
        case 'error':
          return systemError(topics, event.text);
        case 'warning':
          return warning(topics, event.text);
        case 'info':
          return [{ type: 'slack.alert', text: event.text }, log('info', event.text)];
      }
    }),
  );
}
