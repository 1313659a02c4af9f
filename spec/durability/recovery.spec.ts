/**
 * Handling the events past the checkpoint again (lib/durability/recovery.ts): the same effects as the first
 * time, whatever of them the crash let through. (With the real process: spec/e2e/crash.spec.ts.)
 */
import { expect } from 'chai';
import type { JournaledEvent } from '../../lib/durability/event-journal.js';
import { recover } from '../../lib/durability/recovery.js';
import type { PipelineSettings } from '../../lib/core/streams/deps.js';
import { DEFAULT_TOPICS } from '../../lib/core/protocol/topics.js';
import type { Effect } from '../../lib/core/protocol/effects.js';
import type { Event } from '../../lib/core/protocol/events.js';

const settings: PipelineSettings = { tz: 'Asia/Seoul', commandConfirmS: 30, scheduleGraceS: 300, topics: DEFAULT_TOPICS };
const T = Date.parse('2026-11-29T10:00:00+09:00');
const idAt = (ms: number): string => String(10_000_000_000 - Math.floor(ms / 1000));
const gasOpen: Event = { type: 'mqtt.message', topic: 'webos/smarthome', payload: '022222221' };
const alarmDoc = { icon: 'gasvalve_icon', date: '2026.11.29.10.0.5', inform: '가스밸브가 열렸어요.' };
const sets = (effects: Effect[], collection: string): Array<{ id: string; data: unknown }> =>
  effects.flatMap((e) => (e.type === 'firestore.set' && e.collection === collection ? [{ id: e.id, data: e.data }] : []));

describe('recovery', () => {
  it('writes the alarm of a control cut off by a crash under the same id, whether or not the crash let it through', () => {
    const pending: JournaledEvent[] = [{ seq: 8, at: T + 5000, event: gasOpen }];
    const checkpoint = { seq: 7, status: '000000000', alarms: [] };
    const written: Event = { type: 'firestore.doc', collection: 'appliance_alarm', id: idAt(T + 5000), data: alarmDoc };
    const before = recover([], pending, checkpoint, { scheduleFired: {} }, settings);
    const after = recover([written], pending, checkpoint, { scheduleFired: {} }, settings);
    expect(sets(before.effects, 'appliance_alarm')).to.deep.equal([{ id: idAt(T + 5000), data: alarmDoc }]);
    expect(sets(after.effects, 'appliance_alarm')).to.deep.equal(sets(before.effects, 'appliance_alarm'));
    expect(after.status).to.equal('000000001');
  });

  it('keeps the alarms that existed at the checkpoint: a second alarm in the same second gets _1', () => {
    const pending: JournaledEvent[] = [{ seq: 8, at: T + 5000, event: gasOpen }];
    const earlier: Event = { type: 'firestore.doc', collection: 'appliance_alarm', id: idAt(T + 5000), data: { icon: 'light_icon', inform: 'x' } };
    const result = recover([earlier], pending, { seq: 7, status: '000000000', alarms: [idAt(T + 5000)] }, { scheduleFired: {} }, settings);
    expect(sets(result.effects, 'appliance_alarm').map((s) => s.id)).to.deep.equal([`${idAt(T + 5000)}_1`]);
  });

  it('handles from the checkpoint\'s status, not the newer one a heartbeat saved', () => {
    const pending: JournaledEvent[] = [{ seq: 3, at: T, event: gasOpen }];
    const result = recover([], pending, { seq: 2, status: '000000000', alarms: [] }, { scheduleFired: {}, status: '000000001' }, settings);
    expect(sets(result.effects, 'appliance_alarm')).to.have.length(1);
  });

  it('repeats a sign-up with the same result but not its sign-in reply (the next sign-in would read it); fires no schedule (no ticks)', () => {
    const signup: Event = { type: 'mqtt.message', topic: 'webos/server/info', payload: JSON.stringify({ Producer: 'car', command: 'signup', UID: 'u1', name: 'Park' }) };
    const signin: Event = { type: 'mqtt.message', topic: 'webos/server/info', payload: JSON.stringify({ Producer: 'car', command: 'signin', UID: 'u1' }) };
    const due: Event = {
      type: 'firestore.doc', collection: 'schedule_mode', id: 'wake',
      data: { enabled: true, startTime: '1000', repeat: true, daysOfWeek: [true, true, true, true, true, true, true], modeNum: 0, gasValveEnable: true },
    };
    const pending: JournaledEvent[] = [{ seq: 1, at: T + 1000, event: signup }, { seq: 2, at: T + 2000, event: signin }];
    const result = recover([due], pending, { seq: 0 }, { scheduleFired: {} }, settings);
    expect(sets(result.effects, 'user_account')).to.deep.equal([{ id: 'u1', data: { name: 'Park' } }]);
    const published = result.effects.flatMap((e) => (e.type === 'mqtt.publish' ? [e.topic] : []));
    expect(published).to.deep.equal([]);
  });

  it('sends no reply or error to a device again: the next request would read it as its answer', () => {
    const events: Event[] = [
      { type: 'mqtt.message', topic: 'webos/server/info', payload: JSON.stringify({ Producer: 'android', command: 'signin', UID: 'nobody' }) },
      { type: 'mqtt.message', topic: 'webos/server/info', payload: JSON.stringify({ Producer: 'car', command: 'start_facer' }) },
      { type: 'face.result', result: 'u1' },
    ];
    const pending: JournaledEvent[] = events.map((event, i) => ({ seq: i + 1, at: T + i * 1000, event }));
    const result = recover([], pending, { seq: 0 }, { scheduleFired: {} }, settings);
    expect(result.effects.filter((e) => e.type === 'mqtt.publish')).to.deep.equal([]);
  });
});
