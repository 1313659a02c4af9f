/**
 * Target state from a schedule or mode document (SPEC 3, 6): the appliance fields become a
 * 9-character command, and `wouldChange` says whether sending it would do anything.
 * An absent enable field means "keep" (2) and an absent detail means 0, so a document that names
 * only the window moves only the window.
 */
import * as t from 'io-ts';
import { DetailField, EnableField } from './fields.js';
import type { Digit, HomeCode } from './home-code.js';

export const ApplianceFields = t.partial({
  airconEnable: EnableField,
  airconWindPower: DetailField,
  lightEnable: EnableField,
  lightBrightness: DetailField,
  lightColor: DetailField,
  lightMode: DetailField,
  windowOpen: EnableField,
  gasValveEnable: EnableField,
});
export type ApplianceFields = t.TypeOf<typeof ApplianceFields>;

export function targetFrom(fields: ApplianceFields, modeNum: Digit): HomeCode {
  return {
    mode: modeNum,
    airconState: fields.airconEnable ?? 2,
    airconPower: fields.airconWindPower ?? 0,
    lightState: fields.lightEnable ?? 2,
    lightBrightness: fields.lightBrightness ?? 0,
    lightColor: fields.lightColor ?? 0,
    lightMode: fields.lightMode ?? 0,
    window: fields.windowOpen ?? 2,
    gas: fields.gasValveEnable ?? 2,
  };
}

/**
 * SPEC 6: a target changes something when, for some appliance, its state digit is 0/1 and
 * differs from the current one, or air-con/light stay on but their details differ.
 */
export function wouldChange(current: HomeCode, target: HomeCode): boolean {
  const differs = (want: number, have: number): boolean => want !== 2 && want !== have;
  if (differs(target.airconState, current.airconState)) return true;
  if (target.airconState === 1 && target.airconPower !== current.airconPower) return true;
  if (differs(target.lightState, current.lightState)) return true;
  if (
    target.lightState === 1 &&
    (target.lightBrightness !== current.lightBrightness ||
      target.lightColor !== current.lightColor ||
      target.lightMode !== current.lightMode)
  ) {
    return true;
  }
  return differs(target.window, current.window) || differs(target.gas, current.gas);
}
