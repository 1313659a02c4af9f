import { expect } from 'chai';
import fc from 'fast-check';
import { ApplianceFields, targetFrom, wouldChange } from '../../../lib/core/protocol/appliance.js';
import { apply } from '../../../lib/core/protocol/apply.js';
import { decode, encode, KEEP_ALL, type HomeCode } from '../../../lib/core/protocol/home-code.js';
import { digitArb, homeCodeArb, leftOf, rightOf, statusArb } from './helpers.js';

const code = (s: string): HomeCode => rightOf(decode(s));
const fields = (u: unknown): ApplianceFields => rightOf(ApplianceFields.decode(u));
/** The target of a document's fields, on the wire. */
const target = (u: unknown, modeNum: HomeCode['mode'] = 0): string => encode(targetFrom(fields(u), modeNum));

describe('appliance', () => {
  describe('targetFrom', () => {
    it('booleans from Android: true -> 1, false -> 0', () => {
      const doc = {
        airconEnable: true,
        airconWindPower: 6,
        lightEnable: false,
        lightBrightness: 5,
        lightColor: 2,
        lightMode: 1,
        windowOpen: false,
        gasValveEnable: true,
      };
      expect(target(doc)).to.equal('016052101');
    });

    it('0/1/2 numbers and numeric strings for enables, numeric strings for details', () => {
      const doc = {
        airconEnable: '2',
        airconWindPower: '3',
        lightEnable: 1,
        lightBrightness: '9',
        lightColor: '7',
        lightMode: '0',
        windowOpen: '1',
        gasValveEnable: 2,
      };
      expect(target(doc)).to.equal('023197012');
    });

    it('missing enable fields keep (2), missing details are 0: a doc naming only the window moves only the window', () => {
      expect(target({ windowOpen: true })).to.equal('020200012');
      expect(target({})).to.equal('020200022');
    });

    it('the mode digit is modeNum: a mode-based target carries the mode number', () => {
      const mode = { airconEnable: true, airconWindPower: 4, lightEnable: true, lightBrightness: 8, lightColor: 1, lightMode: 3 };
      expect(target(mode, 3)).to.equal('314181322');
    });

    it('rejects enable values outside 0/1/2 and details above 9, naming the field', () => {
      const err = leftOf(ApplianceFields.decode({ airconEnable: 3, lightBrightness: 12 }));
      expect(err.map((e) => e.context.map((c) => c.key).join('/')).join(' ')).to.include('airconEnable').and.include('lightBrightness');
    });
  });

  describe('wouldChange (SPEC 6)', () => {
    const current = code('016152010'); // air-con on at 6, light on 5/2/0, window open, gas closed

    it('a state digit 0/1 that differs from the current one changes something (each appliance)', () => {
      expect(wouldChange(current, code('002222222')), 'air-con off').to.equal(true);
      expect(wouldChange(current, code('022022222')), 'light off').to.equal(true);
      expect(wouldChange(current, code('022222202')), 'window closed').to.equal(true);
      expect(wouldChange(current, code('022222221')), 'gas open').to.equal(true);
    });

    it('a state digit equal to the current one changes nothing when it is 0 (details ignored)', () => {
      const off = code('006052000');
      expect(wouldChange(off, code('009099900'))).to.equal(false);
    });

    it('air-con staying on with a different power changes something; same power does not', () => {
      expect(wouldChange(current, code('017222222'))).to.equal(true);
      expect(wouldChange(current, code('016222222'))).to.equal(false);
    });

    it('light staying on with a different brightness, colour or mode changes something', () => {
      expect(wouldChange(current, code('022162022')), 'brightness').to.equal(true);
      expect(wouldChange(current, code('022153022')), 'colour').to.equal(true);
      expect(wouldChange(current, code('022152122')), 'mode').to.equal(true);
      expect(wouldChange(current, code('022152022')), 'same').to.equal(false);
    });

    it('a target equal to the current state on every appliance changes nothing, whatever its mode digit', () => {
      expect(wouldChange(current, code('516152010'))).to.equal(false);
    });

    it('an all-keep target changes nothing', () => {
      expect(wouldChange(current, KEEP_ALL)).to.equal(false);
      expect(wouldChange(current, targetFrom(fields({}), 4))).to.equal(false);
    });

    it('is true exactly when applying the target changes an appliance of the current state', () => {
      const appliances = (c: HomeCode): string => encode(c).slice(1);
      fc.assert(
        fc.property(statusArb, homeCodeArb, (s, t) => {
          expect(wouldChange(s, t)).to.equal(appliances(apply(s, t)) !== appliances(s));
        }),
      );
    });

    it('a target built from the current state with every enable given changes nothing', () => {
      fc.assert(
        fc.property(statusArb, digitArb, (s, modeNum) => {
          const doc = {
            airconEnable: s.airconState === 1,
            airconWindPower: s.airconPower,
            lightEnable: s.lightState === 1,
            lightBrightness: s.lightBrightness,
            lightColor: s.lightColor,
            lightMode: s.lightMode,
            windowOpen: s.window === 1,
            gasValveEnable: s.gas === 1,
          };
          expect(wouldChange(s, targetFrom(fields(doc), modeNum))).to.equal(false);
        }),
      );
    });
  });
});
