/**
 * The checkpoint: the last event complete with every event handled before it, and the state
 * after it (tracked status, alarm ids).
 */
import { expect } from 'chai';
import { CheckpointTracker } from '../../lib/durability/checkpoint.js';
import type { Effect } from '../../lib/core/protocol/effects.js';
import type { Event } from '../../lib/core/protocol/events.js';

const control: Event = { type: 'mqtt.message', topic: 'webos/smarthome', payload: '022222221' };
const alarm = (id: string): Effect => ({ type: 'firestore.set', collection: 'appliance_alarm', id, data: { icon: 'gasvalve_icon' } });
const reply: Effect = { type: 'mqtt.publish', topic: 'webos/car/info', payload: '{}' };

describe('checkpoint tracker', () => {
  it('advances over events whose effects are all reported, never past one still waiting', () => {
    const tracker = new CheckpointTracker({ seq: 4, status: '000000000', alarms: ['old'] });
    expect(tracker.checkpoint).to.deep.equal({ seq: 4, status: '000000000', alarms: ['old'] });

    const a1 = alarm('8000000000');
    tracker.begin(5, control);
    tracker.effect({ type: 'state.status', status: '000000001' });
    tracker.effect(a1);
    tracker.effect({ type: 'log', level: 'info', msg: 'not waited for' });
    tracker.end();
    tracker.begin(6, control);
    tracker.effect(reply);
    tracker.end();
    tracker.begin(7, { type: 'rtdb.value', path: 'smarthome', value: null }); // no effects
    tracker.end();
    expect(tracker.checkpoint.seq).to.equal(4);
    expect(tracker.open).to.equal(3);

    tracker.settled(reply); // 6 is complete, but 5 is not
    expect(tracker.checkpoint.seq).to.equal(4);
    tracker.settled(a1);
    expect(tracker.checkpoint).to.deep.equal({ seq: 7, status: '000000001', alarms: ['old', '8000000000'] });
    expect(tracker.open).to.equal(0);
  });

  it('waits for publishes reported out of order, and ignores a report of one it never tracked', () => {
    const tracker = new CheckpointTracker({ seq: 0 });
    const [p1, p2, p3] = [1, 2, 3].map((n): Effect => ({ ...reply, payload: String(n) }));
    tracker.begin(1, control);
    tracker.effect(p1!);
    tracker.effect(p2!);
    tracker.end();
    tracker.begin(2, control);
    tracker.effect(p3!);
    tracker.end();
    tracker.settled({ ...reply }); // an equal object, not one it tracked
    tracker.settled(p3!);
    tracker.settled(p2!);
    expect([tracker.checkpoint.seq, tracker.open]).to.deep.equal([0, 2]);
    tracker.settled(p1!);
    expect([tracker.checkpoint.seq, tracker.open]).to.deep.equal([2, 0]);
  });

  it('lets go of each event as soon as it is complete, without waiting for the checkpoint to be read', () => {
    const tracker = new CheckpointTracker({ seq: 0 });
    for (let seq = 1; seq <= 1000; seq++) {
      const effect: Effect = { ...reply, payload: String(seq) };
      tracker.begin(seq, control);
      tracker.effect(effect);
      tracker.end();
      expect(tracker.open).to.equal(1);
      tracker.settled(effect);
      expect(tracker.open).to.equal(0); // nothing of a busy second is held until the once-a-second save
    }
    tracker.begin(1001, control); // no effects: complete when handled
    tracker.end();
    expect(tracker.open).to.equal(0);
    expect(tracker.checkpoint.seq).to.equal(1001);
  });

  it('keeps the state after each event: a later event does not leak into an earlier checkpoint', () => {
    const tracker = new CheckpointTracker({ seq: 0 });
    tracker.begin(1, control);
    tracker.effect({ type: 'state.status', status: '000000001' });
    tracker.end();
    const late = alarm('7999999999');
    tracker.begin(2, control);
    tracker.effect({ type: 'state.status', status: '000000000' });
    tracker.effect(late);
    tracker.effect({ type: 'firestore.delete', collection: 'appliance_alarm', id: 'gone' });
    tracker.end();
    expect(tracker.checkpoint).to.deep.equal({ seq: 1, status: '000000001', alarms: [] });
    tracker.settled(late);
    expect(tracker.checkpoint.seq).to.equal(1); // the delete is not reported yet
  });

  it('follows the alarm documents the store delivers, and ignores effects made outside an event (ticks, timers)', () => {
    const tracker = new CheckpointTracker({ seq: 0 });
    tracker.effect(reply); // belongs to no event
    tracker.begin(1, { type: 'firestore.doc', collection: 'appliance_alarm', id: 'a', data: { icon: 'x' } });
    tracker.end();
    tracker.begin(2, { type: 'firestore.doc', collection: 'appliance_alarm', id: 'b', data: { icon: 'x' } });
    tracker.end();
    tracker.begin(3, { type: 'firestore.doc', collection: 'appliance_alarm', id: 'a', data: null });
    tracker.end();
    expect(tracker.checkpoint).to.deep.equal({ seq: 3, alarms: ['b'] });
  });
});
