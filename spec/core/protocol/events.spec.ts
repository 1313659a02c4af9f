import { expect } from 'chai';
import { COLLECTIONS, EVENT_TYPES } from '../../../lib/core/protocol/events.js';

describe('events', () => {
  it('EVENT_TYPES, which routes events to the streams, names each of the eight kinds once', () => {
    expect(EVENT_TYPES).to.have.members([
      'mqtt.message', 'rtdb.value', 'firestore.doc', 'weather.result', 'weather.failure', 'face.result', 'clock.tick', 'service.alert',
    ]);
    expect(new Set(EVENT_TYPES).size).to.equal(EVENT_TYPES.length);
  });

  it('the backend reads the four Firestore collections of SPEC 4-6', () => {
    expect(COLLECTIONS).to.deep.equal(['user_account', 'modes', 'schedule_mode', 'appliance_alarm']);
  });
});
