import { expect } from 'chai';
import { alarmIds, alarms$, alarmsFor, excessIds, idCandidates, MAX_ALARMS } from '../../../lib/core/streams/alarms.js';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { observe } from '../../../lib/core/streams/world.js';
import { code, control, doc, makeDeps, status, T0, testScheduler } from '../../support/marbles.js';

/** 2021-09-22T19:00:00+09:00 is unix 1632304800; its id is 10000000000 - that. */
const ID0 = String(10_000_000_000 - T0 / 1000);

function run(events: string, values: Record<string, Event>, expected: string, effects: Record<string, Effect>): void {
  const ts = testScheduler();
  ts.run(({ hot, expectObservable }) => {
    expectObservable(alarms$(hot<Event>(events, values).pipe(observe(DEFAULT_TOPICS)), makeDeps(ts))).toBe(expected, effects);
  });
}

describe('streams/alarms', () => {
  it('raises nothing for the first status (the baseline)', () => {
    run('-a-', { a: status('011111111') }, '---', {});
  });

  it('writes one alarm per appliance switched, with a newest-first id and an unpadded local date', () => {
    run('a-b-', { a: status('000000000'), b: control('016222221') }, '--(xy)', {
      x: { type: 'firestore.set', collection: 'appliance_alarm', id: ID0, data: { icon: 'aircon_icon', date: '2021.9.22.19.0.0', inform: '에어컨이 켜졌어요.' } },
      y: { type: 'firestore.set', collection: 'appliance_alarm', id: `${ID0}_1`, data: { icon: 'gasvalve_icon', date: '2021.9.22.19.0.0', inform: '가스밸브가 열렸어요.' } },
    });
  });

  it('survives a poison message: -a-x-b gives ---A', () => {
    run('a-x-b', { a: status('000000000'), x: control('0xx'), b: control('022152022') }, '----A', {
      A: { type: 'firestore.set', collection: 'appliance_alarm', id: ID0, data: { icon: 'light_icon', date: '2021.9.22.19.0.0', inform: '전등이 켜졌어요.' } },
    });
  });

  it('raises one mode alarm, named from the modes collection, when the mode digit changes to n', () => {
    const modes = new Map([['x', { modeNum: '3', modeName: '외출모드' }]]);
    expect(alarmsFor(code('000000000'), code('311000000'), modes)).to.deep.equal([{ icon: '3mode_icon', inform: '외출모드가 실행되었습니다.' }]);
    expect(alarmsFor(code('000000000'), code('411000000'), modes)).to.deep.equal([{ icon: '4mode_icon', inform: '모드정보없음가 실행되었습니다.' }]);
  });

  it('raises appliance alarms when the mode goes back to 0, and none when only details change', () => {
    expect(alarmsFor(code('311000000'), code('001000000'), new Map()).map((a) => a.inform)).to.deep.equal(['에어컨이 꺼졌어요.']);
    expect(alarmsFor(code('016000000'), code('019000000'), new Map())).to.deep.equal([]);
    expect(alarmsFor(code('000000010'), code('000000001'), new Map()).map((a) => a.inform)).to.deep.equal(['창문이 닫혔어요.', '가스밸브가 열렸어요.']);
  });

  it('gives alarms in the same second unique ids, skipping ids that exist', () => {
    expect(alarmIds(T0 + 999, 3, new Set([ID0, `${ID0}_2`]))).to.deep.equal([`${ID0}_1`, `${ID0}_3`, `${ID0}_4`]);
    expect(alarmIds(T0 + 1000, 1, new Set())).to.deep.equal([String(Number(ID0) - 1)]);
  });

  it('keeps the newest 20: the largest ids beyond the 20th are deleted', () => {
    const ids = Array.from({ length: 23 }, (_, i) => String(8_000_000_000 + i));
    expect(excessIds(ids.reverse())).to.deep.equal(['8000000020', '8000000021', '8000000022']);
  });

  it('names the alarms of one second so that they sort in creation order as strings; _1.._9 as SPEC 5', () => {
    const ids = alarmIds(T0, 120, new Set());
    expect(ids.slice(0, 12)).to.deep.equal([ID0, ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `${ID0}_${n}`), `${ID0}_9110`, `${ID0}_9111`]);
    expect(ids[99]).to.equal(`${ID0}_9199`);
    expect(ids[100]).to.equal(`${ID0}_92100`);
    expect([...ids].sort()).to.deep.equal(ids);
    expect(new Set(ids).size).to.equal(120);
    // A later second still sorts before all of them (newest first).
    expect(alarmIds(T0 + 1000, 1, new Set())[0]! < ids[0]!).to.equal(true);
  });

  it("orders ids as Firestore lists them (plain strings): the app's first 20 are the ones kept, the last made of the oldest second go", () => {
    const older = alarmIds(T0 - 1000, 12, new Set());
    const newer = alarmIds(T0, 10, new Set());
    expect(excessIds([...older, ...newer].reverse())).to.deep.equal([older[10], older[11]]);
    expect(older[10]).to.equal(`${String(Number(ID0) + 1)}_9110`);
  });

  it('deletes the oldest alarm docs once there are more than 20', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      const old = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`d${i}`, doc('appliance_alarm', String(9_000_000_000 + i), { icon: 'x' })]));
      const letters = Object.keys(old).map((_, i) => String.fromCharCode(65 + i)).join('');
      const values: Record<string, Event> = Object.fromEntries(Object.values(old).map((e, i) => [String.fromCharCode(65 + i), e]));
      const event$ = cold<Event>(`${letters}ab`, { ...values, a: status('000000000'), b: control('011111111') });
      alarms$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e) => out.push(e));
    });
    expect(out.filter((e) => e.type === 'firestore.set')).to.have.length(4);
    expect(out.filter((e) => e.type === 'firestore.delete').map((e) => (e as { id: string }).id)).to.deep.equal([
      '9000000016',
      '9000000017',
      '9000000018',
      '9000000019',
    ]);
  });

  it('SPEC 5 alarm table: each appliance has its icon and its on (opened) and off (closed) text', () => {
    const informs = (before: string, after: string) => alarmsFor(code(before), code(after), new Map());
    expect(informs('000000000', '010100011')).to.deep.equal([
      { icon: 'aircon_icon', inform: '에어컨이 켜졌어요.' },
      { icon: 'light_icon', inform: '전등이 켜졌어요.' },
      { icon: 'window_icon', inform: '창문이 열렸어요.' },
      { icon: 'gasvalve_icon', inform: '가스밸브가 열렸어요.' },
    ]);
    expect(informs('010100011', '000000000')).to.deep.equal([
      { icon: 'aircon_icon', inform: '에어컨이 꺼졌어요.' },
      { icon: 'light_icon', inform: '전등이 꺼졌어요.' },
      { icon: 'window_icon', inform: '창문이 닫혔어요.' },
      { icon: 'gasvalve_icon', inform: '가스밸브가 닫혔어요.' },
    ]);
  });

  it('raises appliance alarms, not a mode alarm, when the mode stays the same non-zero mode', () => {
    expect(alarmsFor(code('311000000'), code('301000000'), new Map())).to.deep.equal([{ icon: 'aircon_icon', inform: '에어컨이 꺼졌어요.' }]);
  });

  it('raises no alarm for an appliance whose state goes to 2 (keep)', () => {
    expect(alarmsFor(code('010100011'), code('020200022'), new Map())).to.deep.equal([]);
  });

  it('names a mode only from a doc whose modeName is a string, else the default name', () => {
    const named = (modes: Map<string, Record<string, unknown>>) => alarmsFor(code('000000000'), code('300000000'), modes)[0]!.inform;
    expect(named(new Map([['x', { modeNum: '3', modeName: 7 }]]))).to.equal('모드정보없음가 실행되었습니다.');
    expect(named(new Map<string, Record<string, unknown>>([['x', { modeNum: 3, modeName: null }], ['y', { modeNum: '3', modeName: '취침' }]]))).to.equal('취침가 실행되었습니다.');
  });

  it('gives the alarms of a later second ids of that second, with candidates kept from an earlier one', () => {
    const candidates = idCandidates();
    expect(alarmIds(T0, 2, new Set(), candidates)).to.deep.equal([ID0, `${ID0}_1`]);
    const next = String(Number(ID0) - 1);
    expect(alarmIds(T0 + 1000, 2, new Set(), candidates)).to.deep.equal([next, `${next}_1`]);
    expect(alarmIds(T0, 1, new Set([ID0]), candidates)).to.deep.equal([`${ID0}_1`]);
  });

  it(`deletes nothing with exactly ${MAX_ALARMS} ids, and the one largest id with ${MAX_ALARMS + 1}, wherever it is`, () => {
    const ids = Array.from({ length: MAX_ALARMS + 1 }, (_, i) => String(8_000_000_000 + i));
    expect(excessIds(ids.slice(0, MAX_ALARMS))).to.deep.equal([]);
    const largest = ids[MAX_ALARMS]!;
    for (const at of [0, 7, MAX_ALARMS]) {
      const shuffled = ids.slice(0, MAX_ALARMS);
      shuffled.splice(at, 0, largest);
      expect(excessIds(shuffled), `largest at ${at}`).to.deep.equal([largest]);
    }
  });

  it('deletes no alarm doc on a status change that raises no alarm, even with more than 20 stored', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      const stored = Array.from({ length: MAX_ALARMS + 1 }, (_, i) => doc('appliance_alarm', String(9_000_000_000 + i), { icon: 'x' }));
      const values: Record<string, Event> = Object.fromEntries(stored.map((e, i) => [String.fromCharCode(65 + i), e]));
      const letters = Object.keys(values).join('');
      // Only the air-con power changes: no appliance switched, no mode.
      alarms$(cold<Event>(`${letters}ab`, { ...values, a: status('011111111'), b: control('015111111') }).pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e) => out.push(e));
    });
    expect(out).to.deep.equal([]);
  });
});
