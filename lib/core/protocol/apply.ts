/**
 * What the ESP32 does with a command (SPEC 3), and so how the backend tracks the home's state
 * when it only sees commands: position 0 is copied; a state digit 1 copies the appliance's
 * details, 0 switches it off and keeps the details, 2 keeps everything.
 */
import type { HomeCode } from './home-code.js';

export function apply(status: HomeCode, command: HomeCode): HomeCode {
  const aircon = command.airconState === 2 ? status : command;
  const light = command.lightState === 2 ? status : command;
  return {
    mode: command.mode,
    airconState: aircon.airconState,
    // Off keeps the details it had, so switching back on with "keep" restores them.
    airconPower: command.airconState === 1 ? command.airconPower : status.airconPower,
    lightState: light.lightState,
    lightBrightness: command.lightState === 1 ? command.lightBrightness : status.lightBrightness,
    lightColor: command.lightState === 1 ? command.lightColor : status.lightColor,
    lightMode: command.lightState === 1 ? command.lightMode : status.lightMode,
    window: command.window === 2 ? status.window : command.window,
    gas: command.gas === 2 ? status.gas : command.gas,
  };
}

/** Whether two codes are the same digit for digit. */
export function sameCode(a: HomeCode, b: HomeCode): boolean {
  return (
    a.mode === b.mode &&
    a.airconState === b.airconState &&
    a.airconPower === b.airconPower &&
    a.lightState === b.lightState &&
    a.lightBrightness === b.lightBrightness &&
    a.lightColor === b.lightColor &&
    a.lightMode === b.lightMode &&
    a.window === b.window &&
    a.gas === b.gas
  );
}

/**
 * Whether a status report agrees with a command on every position the command sets
 * (the check of work, SPEC 5): mode always; a state digit 0/1 and, when 1, its details.
 */
export function confirms(report: HomeCode, command: HomeCode): boolean {
  if (report.mode !== command.mode) return false;
  if (command.airconState !== 2) {
    if (report.airconState !== command.airconState) return false;
    if (command.airconState === 1 && report.airconPower !== command.airconPower) return false;
  }
  if (command.lightState !== 2) {
    if (report.lightState !== command.lightState) return false;
    if (
      command.lightState === 1 &&
      (report.lightBrightness !== command.lightBrightness ||
        report.lightColor !== command.lightColor ||
        report.lightMode !== command.lightMode)
    ) {
      return false;
    }
  }
  if (command.window !== 2 && report.window !== command.window) return false;
  if (command.gas !== 2 && report.gas !== command.gas) return false;
  return true;
}
