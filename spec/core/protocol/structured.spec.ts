import { expect } from 'chai';
import fc from 'fast-check';
import { decode, type HomeCode } from '../../../lib/core/protocol/home-code.js';
import { fromStructured, toStructured } from '../../../lib/core/protocol/structured.js';
import { leftOf, rightOf, statusArb } from './helpers.js';

const code = (s: string): HomeCode => rightOf(decode(s));

const view = {
  aircon: { enabled: true, fan_level: 60 },
  light: { enabled: false, brightness: 50, color: '2', mod: '0' },
  window: { enabled: true },
  gas: { enabled: false },
};

describe('structured view', () => {
  it('toStructured maps digits to percentages and digit strings (316052010)', () => {
    expect(toStructured(code('316052010'))).to.deep.equal(view);
  });

  it('toStructured reads a keep digit (2) as not enabled', () => {
    const v = toStructured(code('022222222'));
    expect([v.aircon.enabled, v.light.enabled, v.window.enabled, v.gas.enabled]).to.deep.equal([false, false, false, false]);
  });

  it('fromStructured reads the view back, with mode 0 unless told', () => {
    expect(rightOf(fromStructured(view))).to.deep.equal(code('016052010'));
    expect(rightOf(fromStructured(view, 3))).to.deep.equal(code('316052010'));
  });

  it('fromStructured rounds percentages to the nearest ten, 100 % to digit 9', () => {
    const at = (p: number): number =>
      rightOf(fromStructured({ ...view, aircon: { enabled: true, fan_level: p }, light: { ...view.light, brightness: p } })).airconPower;
    expect([0, 4, 5, 44, 55, 90, 95, 100].map(at)).to.deep.equal([0, 0, 1, 4, 6, 9, 9, 9]);
  });

  it('fromStructured rejects out-of-range levels, non-digit colours and missing fields, naming each path', () => {
    const err = leftOf(
      fromStructured({
        aircon: { enabled: true, fan_level: 101 },
        light: { enabled: true, brightness: 50, color: 'red', mod: '0' },
        window: { enabled: true },
        gas: {},
      }),
    );
    expect(err.message).to.include('aircon.fan_level').and.include('light.color').and.include('gas.enabled');
  });

  it('fromStructured rejects a negative level (-10 %), whether fan level or brightness', () => {
    expect(leftOf(fromStructured({ ...view, aircon: { enabled: true, fan_level: -10 } })).message).to.include(
      'aircon.fan_level: expected number 0-100, got -10',
    );
    expect(leftOf(fromStructured({ ...view, light: { ...view.light, brightness: -1 } })).message).to.include('light.brightness');
    expect(rightOf(fromStructured({ ...view, aircon: { enabled: true, fan_level: 0 } })).airconPower).to.equal(0);
  });

  it('fromStructured takes colour and light mode as one digit only: "12", "a1", "1a" and "" are rejected', () => {
    expect(leftOf(fromStructured({ ...view, light: { ...view.light, color: '12' } })).message).to.include(
      'light.color: expected digit string "0"-"9", got "12"',
    );
    for (const bad of ['12', 'a1', '1a', '']) {
      expect(leftOf(fromStructured({ ...view, light: { ...view.light, color: bad } })).message, bad).to.include('light.color');
      expect(leftOf(fromStructured({ ...view, light: { ...view.light, mod: bad } })).message, bad).to.include('light.mod');
    }
  });

  it('fromStructured wants window.enabled as a boolean', () => {
    expect(leftOf(fromStructured({ ...view, window: { enabled: 1 } })).message).to.include('window.enabled');
    expect(leftOf(fromStructured({ ...view, window: {} })).message).to.include('window.enabled');
  });

  it('fromStructured rejects a non-object', () => {
    expect(leftOf(fromStructured('016052010')).message).to.match(/^structured view: /);
  });

  it('round-trips every status whose state digits are 0/1: fromStructured(toStructured(c), c.mode) equals c', () => {
    fc.assert(
      fc.property(statusArb, (c) => {
        expect(rightOf(fromStructured(toStructured(c), c.mode))).to.deep.equal(c);
      }),
    );
  });
});
