/**
 * The recommended action (SPEC 7), recomputed when the status, the home sensors or the weather
 * change, and written to `server/notification` only when it differs from what is there.
 */
import { filter } from 'rxjs';
import * as E from 'fp-ts/lib/Either.js';
import { SensorNumber } from '../protocol/fields.js';
import type { HomeCode } from '../protocol/home-code.js';
import { WEATHER_PATH } from './weather-sensor.js';
import { stream, type ObservedOf } from './stream.js';
import { react, splitPath, STATUS_PATH, touches, valueAt } from './world.js';

export const NOTIFICATION_PATH = 'server/notification';
const RAIN_PATH = 'sensor/hometemp/rain';
// Split once: these are read on every change of the status or the sensors.
const RAIN_PARTS = splitPath(RAIN_PATH);
const WEATHER_ICON_PARTS = splitPath(`${WEATHER_PATH}/icon`);
const AIR_LEVEL_PARTS = splitPath(`${WEATHER_PATH}/air_level`);
const NOTIFICATION_PARTS = splitPath(NOTIFICATION_PATH);
const RAIN_ICONS = new Set(['09d', '09n', '10d', '10n', '11d', '11n']);
const SNOW_ICONS = new Set(['13d', '13n']);

export interface Conditions {
  readonly status: HomeCode;
  /** `sensor/hometemp/rain` as stored (number or string). */
  readonly rain: unknown;
  readonly weatherIcon: unknown;
  readonly airLevel: unknown;
}

const asNumber = (u: unknown): number | undefined => {
  const n = SensorNumber.decode(u);
  return E.isRight(n) ? n.right : undefined;
};

/** SPEC 7's rules, first match wins. */
export function recommend({ status, rain, weatherIcon, airLevel }: Conditions): string {
  const windowOpen = status.window === 1;
  if (status.gas === 1) return '가스벨브가 열려있어요.';
  if (windowOpen && asNumber(rain) === 1) return '비가오니 창문을 닫아주세요.';
  if (windowOpen && typeof weatherIcon === 'string' && RAIN_ICONS.has(weatherIcon)) return '비 소식이 있으니 창문을 닫아주세요.';
  if (windowOpen && typeof weatherIcon === 'string' && SNOW_ICONS.has(weatherIcon)) return '눈 소식이 있으니 창문을 닫아주세요.';
  if (windowOpen && (asNumber(airLevel) ?? 0) >= 2) return '대기질이 나쁘니 창문을 닫아주세요.';
  return 'none';
}

type Read = ObservedOf<'mqtt.status' | 'rtdb.value'>;

function relevant({ event, change, statusBefore, world }: Read): boolean {
  if (event.type === 'rtdb.value') return touches(event.path, 'sensor') || touches(event.path, STATUS_PATH);
  // Stryker disable next-line StringLiteral: the kind checks are a fast path: only a report or control changes the status, which the last check decides alone
  return change.kind !== 'none' && change.kind !== 'invalid' && statusBefore !== world.status;
}

/**
 * Remembers what it wrote last, so the decision does not wait for the write's echo; before the
 * first write it compares with what the RTDB holds (a value left by an earlier run).
 */
export const recommendation$ = stream(['mqtt.status', 'rtdb.value'], (observed$, deps) =>
  observed$.pipe(
    filter((o) => o.world.status !== undefined && relevant(o)),
    // Stryker disable next-line StringLiteral: the stream's name, text of the crash message only (no valid or invalid input makes this step throw)
    react<string | undefined, Read>('recommendation', deps.settings.topics, undefined, (last, { world }) => {
      const advice = recommend({
        status: world.status!,
        rain: valueAt(world.tree, RAIN_PARTS),
        weatherIcon: valueAt(world.tree, WEATHER_ICON_PARTS),
        airLevel: valueAt(world.tree, AIR_LEVEL_PARTS),
      });
      const current = last ?? valueAt(world.tree, NOTIFICATION_PARTS);
      return advice === current ? [last, []] : [advice, [{ type: 'rtdb.set', path: NOTIFICATION_PATH, value: advice }]];
    }),
  ),
);
