/**
 * The service's own alerts (a source down or back, a sink failing for long, messages dropped):
 * errors and warnings go out like the pipeline's own (MQTT error topic and Slack), news that
 * something works again goes to Slack and the log only.
 */
import { log, systemError, warning } from './alerts.js';
import type { Effect } from '../protocol/effects.js';
import { stream, type ObservedOf } from './stream.js';
import { handle } from './world.js';

export const serviceAlerts$ = stream(['service.alert'], (observed$, deps) => {
  const { topics } = deps.settings;
  return observed$.pipe(
    // Stryker disable next-line StringLiteral: the stream's name, text of the crash message only (no valid or invalid input makes this step throw)
    handle('service alerts', topics, ({ event }: ObservedOf<'service.alert'>): readonly Effect[] => {
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
});
