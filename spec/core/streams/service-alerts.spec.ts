import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { serviceAlerts$ } from '../../../lib/core/streams/service-alerts.js';
import { observe } from '../../../lib/core/streams/world.js';
import { makeDeps, mqtt, testScheduler } from '../../support/marbles.js';

describe('streams/service-alerts', () => {
  it('reports the service alerts by level, and ignores everything else: -a-x-b-c', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('-a---x-b---c---', {
        a: { type: 'service.alert', level: 'error', text: 'MQTT broker unreachable' },
        x: mqtt('webos/server/info', 'not for this stream'),
        b: { type: 'service.alert', level: 'warning', text: '3 publishes dropped' },
        c: { type: 'service.alert', level: 'info', text: 'MQTT broker reachable again' },
      });
      expectObservable(serviceAlerts$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts))).toBe('-(ab)--(cd)(ef)', {
        a: { type: 'mqtt.publish', topic: 'data/error/error', payload: 'MQTT broker unreachable' },
        b: { type: 'slack.alert', text: 'error: MQTT broker unreachable' },
        c: { type: 'mqtt.publish', topic: 'data/error/warning', payload: '3 publishes dropped' },
        d: { type: 'slack.alert', text: 'warning: 3 publishes dropped' },
        e: { type: 'slack.alert', text: 'MQTT broker reachable again' },
        f: { type: 'log', level: 'info', msg: 'MQTT broker reachable again' },
      });
    });
  });
});
