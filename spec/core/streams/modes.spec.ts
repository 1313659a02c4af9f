/**
 * The operator's notice about `modes` documents (issue 13 item 7), through the whole pipeline:
 * one warning per document version when `modeNum` or `modeName` is missing or a field is wrong.
 */
import { expect } from 'chai';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { modes$ } from '../../../lib/core/streams/modes.js';
import { pipeline } from '../../../lib/core/streams/pipeline.js';
import { observe } from '../../../lib/core/streams/world.js';
import { doc, makeDeps, testScheduler } from '../../support/marbles.js';

/** The warnings on data/error/warning for a sequence of events through the pipeline. */
function warningsFor(events: Event[]): string[] {
  const ts = testScheduler();
  const out: Effect[] = [];
  ts.run(({ cold }) => {
    const letters = events.map((_, i) => String.fromCharCode(97 + i)).join('');
    const values = Object.fromEntries(events.map((e, i) => [String.fromCharCode(97 + i), e]));
    pipeline(cold<Event>(letters, values), makeDeps(ts)).subscribe((e) => out.push(e));
  });
  return out.flatMap((e) => (e.type === 'mqtt.publish' && e.topic === DEFAULT_TOPICS.warning ? [e.payload] : []));
}

const mode = (id: string, data: Record<string, unknown> | null) => doc('modes', id, data);

describe('streams/modes', () => {
  it('warns once about a mode without modeName, without modeNum, or without both', () => {
    expect(
      warningsFor([
        mode('a', { modeNum: 1, modeName: null, lightEnable: true }),
        mode('a', { modeNum: 1, modeName: null, lightEnable: true }), // the listener's echo: same version
        mode('b', { modeName: '외출' }),
        mode('c', { lightEnable: false }),
      ]),
    ).to.deep.equal([
      'modes/a has no modeName; schedules and alarms cannot use it as it is',
      'modes/b has no modeNum; schedules and alarms cannot use it as it is',
      'modes/c has no modeNum and no modeName; schedules and alarms cannot use it as it is',
    ]);
  });

  it('says nothing about a complete mode with null fields, and names a wrong field', () => {
    expect(
      warningsFor([mode('ok', { modeNum: 1, modeName: '외출', lightColor: null }), mode('bad', { modeNum: 3, modeName: '파티', lightColor: 'red' })]),
    ).to.deep.equal(['modes/bad: lightColor: expected digit 0-9, got "red"']);
  });

  it('warns again about a new version, and after the document was deleted and came back', () => {
    const bad = { modeNum: 1 };
    expect(warningsFor([mode('a', bad), mode('a', { modeNum: 1, lightEnable: 1 }), mode('a', null), mode('a', bad), mode('a', { modeNum: 1, modeName: 'x' })])).to.deep.equal([
      'modes/a has no modeName; schedules and alarms cannot use it as it is',
      'modes/a has no modeName; schedules and alarms cannot use it as it is',
      'modes/a has no modeName; schedules and alarms cannot use it as it is',
    ]);
  });

  it('survives a poison event: a mode that is not an object', () => {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>('-a-x----b-', {
        a: mode('a', { modeNum: 1, modeName: 'x' }),
        x: { type: 'firestore.doc', collection: 'modes', id: 'x', data: [1, 2] as unknown as Record<string, unknown> },
        b: mode('b', { modeNum: 2 }),
      });
      const out = modes$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts));
      expectObservable(out).toBe('---(wk)-(vl)-', {
        w: { type: 'mqtt.publish', topic: 'data/error/warning', payload: 'modes/x has no modeNum and no modeName; schedules and alarms cannot use it as it is' },
        k: { type: 'slack.alert', text: 'warning: modes/x has no modeNum and no modeName; schedules and alarms cannot use it as it is' },
        v: { type: 'mqtt.publish', topic: 'data/error/warning', payload: 'modes/b has no modeName; schedules and alarms cannot use it as it is' },
        l: { type: 'slack.alert', text: 'warning: modes/b has no modeName; schedules and alarms cannot use it as it is' },
      });
    });
  });

  it('emits nothing for a deleted mode, a valid one, or the same invalid version again', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      const event$ = cold<Event>('abcde', {
        a: mode('a', null),
        b: mode('b', { modeNum: 2, modeName: 'x' }),
        c: mode('c', { modeNum: 3 }),
        d: mode('c', { modeNum: 3 }),
        e: mode('c', null),
      });
      modes$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e) => out.push(e));
    });
    expect(out.map((e) => e.type)).to.deep.equal(['mqtt.publish', 'slack.alert']);
  });

  it('warns again about a version it warned about once the document was fixed or deleted in between', () => {
    const bad = { modeNum: 1 };
    const warning = 'modes/a has no modeName; schedules and alarms cannot use it as it is';
    expect(warningsFor([mode('a', bad), mode('a', null), mode('a', bad)])).to.deep.equal([warning, warning]);
    expect(warningsFor([mode('a', bad), mode('a', { modeNum: 1, modeName: 'x' }), mode('a', bad)])).to.deep.equal([warning, warning]);
  });
});
