import { expect } from 'chai';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { status$ } from '../../../lib/core/streams/status.js';
import { observe } from '../../../lib/core/streams/world.js';
import { code, control, makeDeps, mqtt, status, testScheduler } from '../../support/marbles.js';

describe('streams/status', () => {
  it('reports an invalid code and goes on: -a-x-b gives -A-E-B', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('-a-x----b-', { a: status('000000000'), x: status('01a222222'), b: control('016222222') });
      expectObservable(status$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts))).toBe('-A-(ws)-B-', {
        A: { type: 'state.status', status: '000000000' },
        B: { type: 'state.status', status: '016000000' },
        w: {
          type: 'mqtt.publish',
          topic: 'data/error/warning',
          payload: 'ignored invalid status code from RTDB smarthome/status: position 2 (air-con power): "a" is not a digit in "01a222222"',
        },
        s: {
          type: 'slack.alert',
          text: 'warning: ignored invalid status code from RTDB smarthome/status: position 2 (air-con power): "a" is not a digit in "01a222222"',
        },
      } satisfies Record<string, Effect>);
    });
  });

  it('names the source of a bad control or status-topic report', () => {
    const ts = testScheduler();
    const texts: string[] = [];
    ts.run(({ cold }) => {
      const event$ = cold<Event>('ab', { a: control('0162222'), b: mqtt('data/smarthome/status', '030000000') });
      status$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e) => {
        expect(e.type).to.not.equal('state.status');
        if (e.type === 'mqtt.publish') texts.push(e.payload);
      });
    });
    expect(texts).to.have.length(2);
    expect(texts[0]).to.match(/topic webos\/smarthome\/info: expected 9 characters, got 7/);
    expect(texts[1]).to.match(/topic data\/smarthome\/status: position 1 \(air-con state\): 3 is out of range 0-2/);
  });

  it('emits the tracked status for persisting only when it changes, starting from a resumed one', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('-a-b-c-', { a: control('016222222'), b: status('016000000'), c: control('002222222') });
      expectObservable(status$(event$.pipe(observe(DEFAULT_TOPICS, code('000000000'))), makeDeps(ts))).toBe('-a---c-', {
        a: { type: 'state.status', status: '016000000' },
        c: { type: 'state.status', status: '006000000' },
      });
    });
  });
});
