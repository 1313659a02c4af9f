import { expect } from 'chai';
import { EFFECT_TYPES } from '../../../lib/core/protocol/effects.js';

describe('effects', () => {
  it('EFFECT_TYPES, which routes effects to the drivers, names each of the nine kinds once', () => {
    expect(EFFECT_TYPES).to.have.members([
      'mqtt.publish', 'rtdb.set', 'firestore.set', 'firestore.delete', 'slack.alert', 'face.run', 'log', 'state.schedule', 'state.status',
    ]);
    expect(new Set(EFFECT_TYPES).size).to.equal(EFFECT_TYPES.length);
  });
});
