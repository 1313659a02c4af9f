/**
 * Appliance alarms (SPEC 5): when the tracked status changes, one alarm for a new mode, else one
 * per appliance switched on or off. Ids are `10000000000 - unix seconds` so they sort newest
 * first; alarms in the same second get `_1`, `_2`, ... (`sameSecondSuffix`). Only the 20
 * smallest ids are kept.
 */
import { filter } from 'rxjs';
import type { HomeCode } from '../protocol/home-code.js';
import { alarmDate } from '../protocol/local-time.js';
import type { Effect } from '../protocol/effects.js';
import { stream } from './stream.js';
import { handle, type Doc } from './world.js';

export const ALARMS = 'appliance_alarm';
export const MAX_ALARMS = 20;
const ID_BASE = 10_000_000_000;

export interface Alarm {
  readonly icon: string;
  readonly inform: string;
}

type Appliance = 'airconState' | 'lightState' | 'window' | 'gas';

const APPLIANCES: ReadonlyArray<{ field: Appliance; icon: string; on: string; off: string }> = [
  { field: 'airconState', icon: 'aircon_icon', on: '에어컨이 켜졌어요.', off: '에어컨이 꺼졌어요.' },
  { field: 'lightState', icon: 'light_icon', on: '전등이 켜졌어요.', off: '전등이 꺼졌어요.' },
  { field: 'window', icon: 'window_icon', on: '창문이 열렸어요.', off: '창문이 닫혔어요.' },
  { field: 'gas', icon: 'gasvalve_icon', on: '가스밸브가 열렸어요.', off: '가스밸브가 닫혔어요.' },
];

/** The alarms a status change raises (the first status is a baseline and raises none). */
export function alarmsFor(before: HomeCode, after: HomeCode, modes: ReadonlyMap<string, Doc>): Alarm[] {
  if (after.mode !== before.mode && after.mode !== 0) {
    return [{ icon: `${after.mode}mode_icon`, inform: `${modeName(after.mode, modes)}가 실행되었습니다.` }];
  }
  return APPLIANCES.filter(({ field }) => after[field] !== before[field] && after[field] !== 2).map(({ field, icon, on, off }) => ({
    icon,
    inform: after[field] === 1 ? on : off,
  }));
}

function modeName(n: number, modes: ReadonlyMap<string, Doc>): string {
  for (const doc of modes.values()) {
    if (Number(doc.modeNum) === n && typeof doc.modeName === 'string') return doc.modeName;
  }
  return '모드정보없음';
}

/**
 * The suffix of the n-th alarm of one second (n >= 1). `_1`..`_9` are SPEC 5's; from the tenth
 * on, `_9`, then the number of digits minus one, then the number (`_10` -> `_9110`, `_99` ->
 * `_9199`, `_100` -> `_92100`): so the ids of one second sort in creation order as plain strings,
 * which is how Firestore and the app order them (a plain `_10` would sort before `_2`).
 */
export function sameSecondSuffix(n: number): string {
  return n < 10 ? `_${n}` : `_9${String(n).length - 1}${n}`;
}

/**
 * The candidate ids of the second last asked for: `base`, `base_1`, `base_2`, ... A busy second
 * asks for them again and again, and a kept string is cheaper to look up than a new one (its
 * hash is known). Each pipeline keeps its own (`alarms$` makes one).
 */
export interface IdCandidates {
  base: string;
  readonly ids: string[];
}

// Stryker disable next-line StringLiteral,ArrayDeclaration: the first alarmIds call replaces the initial candidates, since no second's base is '' or any other text
export const idCandidates = (): IdCandidates => ({ base: '', ids: [] });

/** Unique ids for `count` alarms raised at `epochMs`, given the ids that exist (a set, or the docs by id). */
export function alarmIds(epochMs: number, count: number, existing: Pick<ReadonlySet<string>, 'has'>, candidates = idCandidates()): string[] {
  const base = String(ID_BASE - Math.floor(epochMs / 1000));
  if (base !== candidates.base) {
    candidates.base = base;
    candidates.ids.length = 0;
  }
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++) {
    const id = (candidates.ids[n] ??= n === 0 ? base : `${base}${sameSecondSuffix(n)}`);
    if (!existing.has(id)) ids.push(id);
  }
  return ids;
}

/**
 * The ids beyond the newest `MAX_ALARMS`: the largest ids in plain string order, which is the
 * order Firestore lists document ids in, so the app's first 20 are exactly the ones kept.
 * Within one second that is creation order (see `sameSecondSuffix`), so the last ones made in
 * the oldest second go first.
 */
export function excessIds(ids: Iterable<string>): string[] {
  const all = [...ids];
  if (all.length <= MAX_ALARMS) return [];
  // Stryker disable next-line ArithmeticOperator,BlockStatement: a fast path for 21 ids: skipped, the sort below gives the same one largest id
  if (all.length === MAX_ALARMS + 1) {
    // The usual case (20 kept, one new): only the largest goes, no need to sort them all.
    // `>` compares UTF-16 code units, as sort() does.
    let largest = all[0]!;
    for (const id of all) if (id > largest) largest = id;
    return [largest];
  }
  return all.sort().slice(MAX_ALARMS);
}

/** A status change comes from an MQTT report or control, or the RTDB status path (world.ts). */
export const alarms$ = stream(['mqtt.status', 'rtdb.value'], (observed$, deps) => {
  const { topics, tz } = deps.settings;
  const candidates = idCandidates();
  return observed$.pipe(
    filter((o) => o.statusBefore !== undefined && o.world.status !== undefined && o.statusBefore !== o.world.status),
    // Stryker disable next-line StringLiteral: the stream's name, text of the crash message only (no valid or invalid input makes this step throw)
    handle('alarms', topics, ({ statusBefore, world }) => {
      const raised = alarmsFor(statusBefore!, world.status!, world.docs.modes);
      if (raised.length === 0) return [];
      const now = deps.scheduler.now();
      const existing = world.docs[ALARMS];
      const ids = alarmIds(now, raised.length, existing, candidates);
      const date = alarmDate(now, tz);
      const sets: Effect[] = raised.map((alarm, i) => ({
        type: 'firestore.set',
        collection: ALARMS,
        id: ids[i]!,
        data: { icon: alarm.icon, date, inform: alarm.inform },
      }));
      const deletes: Effect[] =
        existing.size + ids.length <= MAX_ALARMS
          ? []
          : excessIds([...existing.keys(), ...ids]).map((id) => ({ type: 'firestore.delete', collection: ALARMS, id }));
      return [...sets, ...deletes];
    }),
  );
});
