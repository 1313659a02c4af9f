import { expect } from 'chai';
import { from, ignoreElements, of, tap } from 'rxjs';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import type { Kind } from '../../../lib/core/streams/kinds.js';
import { pipeline, type StreamFactory } from '../../../lib/core/streams/pipeline.js';
import { stream } from '../../../lib/core/streams/stream.js';
import { observe } from '../../../lib/core/streams/world.js';
import { command, control, makeDeps, mqtt, testScheduler } from '../../support/marbles.js';

/** A stream that notes the topic of each MQTT message it is given. */
const reader = (seen: string[], name: string, kinds: Kind[]) =>
  stream(kinds, (observed$) => observed$.pipe(tap(({ event }) => seen.push(`${name} ${event.type === 'mqtt.message' ? event.topic : event.type}`)), ignoreElements()));

describe('streams/kinds', () => {
  // Topics configured to overlap: the status topic is also a command topic.
  const topics = { ...DEFAULT_TOPICS, status: 'webos/server/home' };
  const both = mqtt('webos/server/home', '000000000');

  it('a message that is both a command and a status reaches the readers of either, in the pipeline', () => {
    const seen: string[] = [];
    const streams = { commands: reader(seen, 'commands', ['mqtt.command']), status: reader(seen, 'status', ['mqtt.status']) };
    pipeline(of(both, command({ Producer: 'android', command: 'test' }), control('000000000')), makeDeps(testScheduler(), { settings: { topics } }), streams).subscribe();
    expect(seen).to.deep.equal(['commands webos/server/home', 'status webos/server/home', 'commands webos/server/info', 'status webos/smarthome/info']);
  });

  it('the same for a stream run alone', () => {
    const seen: string[] = [];
    const deps = makeDeps(testScheduler(), { settings: { topics } });
    const event$ = from<Event[]>([both, command({ Producer: 'android', command: 'test' }), control('000000000')]).pipe(observe(topics));
    reader(seen, 'commands', ['mqtt.command'])(event$, deps).subscribe();
    reader(seen, 'status', ['mqtt.status'])(event$, deps).subscribe();
    expect(seen).to.deep.equal(['commands webos/server/home', 'commands webos/server/info', 'status webos/server/home', 'status webos/smarthome/info']);
  });

  it('an observer sees every event, a message on no topic the backend reads included', () => {
    const seen: string[] = [];
    const all: StreamFactory = (observed$) => observed$.pipe(tap(({ event }) => seen.push(event.type === 'mqtt.message' ? event.topic : event.type)), ignoreElements());
    const events = [mqtt('webos/server/status', 'online'), mqtt('some/other/topic', 'x'), { type: 'clock.tick' } as Event];
    pipeline(of(...events), makeDeps(testScheduler()), {}, { all }).subscribe();
    expect(seen).to.deep.equal(['webos/server/status', 'some/other/topic', 'clock.tick']);
  });
});
