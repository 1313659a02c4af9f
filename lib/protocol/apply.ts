/**
 * What the ESP32 does with a command (SPEC 3), and so how the backend tracks the home's state
 * when it only sees commands: position 0 is copied; a state digit 1 copies the appliance's
 * details, 0 switches it off and keeps the details, 2 keeps everything.
 */
import type { HomeCode } from './home-code.js';

export function apply(status: HomeCode, command: HomeCode): HomeCode {
  return {
    mode: command.mode,
    ...aircon(status, command),
    ...light(status, command),
    window: command.window === 2 ? status.window : command.window,
    gas: command.gas === 2 ? status.gas : command.gas,
  };
}

function aircon(status: HomeCode, command: HomeCode): Pick<HomeCode, 'airconState' | 'airconPower'> {
  switch (command.airconState) {
    case 1:
      return { airconState: 1, airconPower: command.airconPower };
    case 0:
      return { airconState: 0, airconPower: status.airconPower };
    case 2:
      return { airconState: status.airconState, airconPower: status.airconPower };
  }
}

function light(
  status: HomeCode,
  command: HomeCode,
): Pick<HomeCode, 'lightState' | 'lightBrightness' | 'lightColor' | 'lightMode'> {
  switch (command.lightState) {
    case 1:
      return {
        lightState: 1,
        lightBrightness: command.lightBrightness,
        lightColor: command.lightColor,
        lightMode: command.lightMode,
      };
    case 0:
      return { ...lightDetails(status), lightState: 0 };
    case 2:
      return { ...lightDetails(status), lightState: status.lightState };
  }
}

function lightDetails(c: HomeCode): Pick<HomeCode, 'lightBrightness' | 'lightColor' | 'lightMode'> {
  return { lightBrightness: c.lightBrightness, lightColor: c.lightColor, lightMode: c.lightMode };
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
