import { expect } from 'chai';
import fc from 'fast-check';
import { apply, confirms, sameCode } from '../../../lib/core/protocol/apply.js';
import { decode, encode, type HomeCode } from '../../../lib/core/protocol/home-code.js';
import { digitArb, homeCodeArb, rightOf, statusArb } from './helpers.js';

const code = (s: string): HomeCode => rightOf(decode(s));
/** apply on the wire form, so the examples read like the SPEC. */
const applied = (status: string, command: string): string => encode(apply(code(status), code(command)));

describe('apply', () => {
  describe('the client captures of SPEC 2 on a status', () => {
    // 009060210: manual, air-con off (power 9), light off (brightness 6, colour 0, mode 2), window open, gas closed.
    it('016222222 turns the air-con on at power 6 and keeps the rest', () => {
      expect(applied('009060210', '016222222')).to.equal('016060210');
    });

    it('002222222 turns the air-con off and keeps its power digit', () => {
      expect(applied('016060210', '002222222')).to.equal('006060210');
    });

    it('022152022 turns the light on with brightness 5, colour 2, mode 0', () => {
      expect(applied('009060210', '022152022')).to.equal('009152010');
    });

    it('022022222 turns the light off and keeps its details', () => {
      expect(applied('009152010', '022022222')).to.equal('009052010');
    });

    it('022222221 opens and 022222220 closes the gas valve', () => {
      expect(applied('009060210', '022222221')).to.equal('009060211');
      expect(applied('009060211', '022222220')).to.equal('009060210');
    });

    it('a window digit 0 closes the window, 2 keeps it', () => {
      expect(applied('009060210', '022222202')).to.equal('009060200');
      expect(applied('009060200', '022222222')).to.equal('009060200');
    });

    it('copies the mode digit, so a mode command switches the mode', () => {
      expect(applied('009060210', '312145611')).to.equal('312145611');
      expect(applied('312145611', '022222222')).to.equal('012145611');
    });

    it('a literal 222222222 sets mode 2 (position 0 is always copied) and keeps every appliance', () => {
      expect(applied('016152011', '222222222')).to.equal('216152011');
    });
  });

  describe('properties', () => {
    it('a command whose state digits are all 2 and whose mode equals the status mode changes nothing', () => {
      fc.assert(
        fc.property(homeCodeArb, digitArb, digitArb, digitArb, digitArb, (status, p, b, col, m) => {
          const command: HomeCode = {
            mode: status.mode,
            airconState: 2,
            airconPower: p,
            lightState: 2,
            lightBrightness: b,
            lightColor: col,
            lightMode: m,
            window: 2,
            gas: 2,
          };
          expect(apply(status, command)).to.deep.equal(status);
        }),
      );
    });

    it('applying the same command twice equals applying it once', () => {
      fc.assert(
        fc.property(homeCodeArb, homeCodeArb, (s, c) => {
          expect(apply(apply(s, c), c)).to.deep.equal(apply(s, c));
        }),
      );
    });

    it('a status stays a status: state digits 0/1 in, 0/1 out', () => {
      fc.assert(
        fc.property(statusArb, homeCodeArb, (s, c) => {
          const r = apply(s, c);
          return [r.airconState, r.lightState, r.window, r.gas].every((d) => d === 0 || d === 1);
        }),
      );
    });
  });
});

describe('confirms', () => {
  it('a report that carries out the command confirms it', () => {
    expect(confirms(code('016060210'), code('016222222'))).to.equal(true);
  });

  it('a report in another mode does not confirm', () => {
    expect(confirms(code('116060210'), code('016222222'))).to.equal(false);
  });

  it('air-con on at another power does not confirm an "on at 6"', () => {
    expect(confirms(code('015060210'), code('016222222'))).to.equal(false);
  });

  it('air-con off confirms "off" whatever its power digit', () => {
    expect(confirms(code('009060210'), code('002222222'))).to.equal(true);
  });

  it('light on with another colour does not confirm; light off confirms "off" whatever its details', () => {
    expect(confirms(code('009154010'), code('022152022'))).to.equal(false);
    expect(confirms(code('009099910'), code('022022222'))).to.equal(true);
  });

  it('positions the command keeps (2) are not compared; window and gas 0/1 are', () => {
    expect(confirms(code('016152011'), code('022222221'))).to.equal(true);
    expect(confirms(code('016152010'), code('022222221'))).to.equal(false);
    expect(confirms(code('016152001'), code('022222211'))).to.equal(false);
  });

  it('confirms(apply(s, c), c) for every status and command', () => {
    fc.assert(fc.property(homeCodeArb, homeCodeArb, (s, c) => confirms(apply(s, c), c)));
  });

  it('a report confirms a command exactly when applying the command to it changes nothing', () => {
    fc.assert(
      fc.property(statusArb, homeCodeArb, (r, c) => {
        expect(confirms(r, c)).to.equal(encode(apply(r, c)) === encode(r));
      }),
    );
  });
});

/** The fields in wire order, written out here, and a code with one position set to another digit. */
const FIELDS = ['mode', 'airconState', 'airconPower', 'lightState', 'lightBrightness', 'lightColor', 'lightMode', 'window', 'gas'] as const;
const STATE_POSITIONS = new Set([1, 3, 7, 8]);
/** Position i of c set to another digit: another 0/1 in a state position (a report is a status), another 0-9 elsewhere. */
const withOther = (c: HomeCode, i: number, pick: number): HomeCode => {
  const field = FIELDS[i]!;
  const old = c[field] as number;
  const choices = (STATE_POSITIONS.has(i) ? [0, 1] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).filter((d) => d !== old);
  return { ...c, [field]: choices[pick % choices.length] };
};
const positionArb = fc.integer({ min: 0, max: 8 });
const pickArb = fc.nat({ max: 8 });

describe('sameCode', () => {
  it('a code is the same as itself and as an equal copy', () => {
    fc.assert(fc.property(homeCodeArb, (c) => sameCode(c, c) && sameCode(c, { ...c })));
  });

  it('compares all nine positions: one digit changed anywhere makes the codes differ', () => {
    fc.assert(
      fc.property(statusArb, positionArb, pickArb, (c, i, pick) => {
        const other = withOther(c, i, pick);
        expect(sameCode(c, other), `${encode(c)} vs ${encode(other)}`).to.equal(false);
        expect(sameCode(other, c)).to.equal(false);
      }),
    );
  });
});

describe('confirms: which positions of the report the command sets (SPEC 5)', () => {
  /** Whether command c sets position i: mode always, a state 0/1, the details of an appliance it turns on. */
  const sets = (c: HomeCode, i: number): boolean =>
    [
      true,
      c.airconState !== 2,
      c.airconState === 1,
      c.lightState !== 2,
      c.lightState === 1,
      c.lightState === 1,
      c.lightState === 1,
      c.window !== 2,
      c.gas !== 2,
    ][i]!;

  it('a report that carried out the command, with one position changed, confirms it exactly when the command does not set that position', () => {
    fc.assert(
      fc.property(statusArb, homeCodeArb, positionArb, pickArb, (s, c, i, pick) => {
        const report = withOther(apply(s, c), i, pick);
        expect(confirms(report, c), `report ${encode(report)}, command ${encode(c)}, position ${i}`).to.equal(!sets(c, i));
      }),
    );
  });

  it('examples: air-con state, light state, brightness and light mode each break a confirmation', () => {
    expect(confirms(code('006060210'), code('016222222'))).to.equal(false);
    expect(confirms(code('009160210'), code('022022222'))).to.equal(false);
    expect(confirms(code('009162010'), code('022152022'))).to.equal(false);
    expect(confirms(code('009152110'), code('022152022'))).to.equal(false);
  });
});
