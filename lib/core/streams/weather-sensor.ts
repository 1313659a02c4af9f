/**
 * Weather (SPEC 8): a poll's bodies become `sensor/openweather`. A failed poll (or a body that
 * does not decode) is reported once when the weather goes from working to failing, and once
 * more when it works again; the last good weather stays in the RTDB meanwhile.
 */
import * as E from 'fp-ts/lib/Either.js';
import { alarmDate } from '../protocol/local-time.js';
import { decodeAirPollution, decodeCurrentWeather, weatherValue } from '../protocol/openweather.js';
import { log, warning } from './alerts.js';
import type { Effect } from '../protocol/effects.js';
import { stream, type ObservedOf } from './stream.js';
import { react } from './world.js';

export const WEATHER_PATH = 'sensor/openweather';

interface State {
  readonly failing: boolean;
}

export const weather$ = stream(['weather.result', 'weather.failure'], (observed$, deps) => {
  const { topics, tz } = deps.settings;
  const failed = (state: State, reason: string): readonly [State, readonly Effect[]] =>
    state.failing
      ? [state, [log('warn', `weather poll failed again: ${reason}`)]]
      : [{ failing: true }, warning(topics, `weather poll failed: ${reason} (the last good weather is kept)`)];

  return observed$.pipe(
    // Stryker disable next-line StringLiteral,ObjectLiteral: the stream's name is text of the crash message only (no input makes this step throw); an initial {} has failing undefined, which reads as false too
    react<State, ObservedOf<'weather.result' | 'weather.failure'>>('weather', topics, { failing: false }, (state, { event }) => {
      if (event.type === 'weather.failure') return failed(state, event.reason);
      const current = decodeCurrentWeather(event.current);
      if (E.isLeft(current)) return failed(state, current.left.message);
      const air = decodeAirPollution(event.air);
      if (E.isLeft(air)) return failed(state, air.left.message);
      const write: Effect = {
        type: 'rtdb.set',
        path: WEATHER_PATH,
        value: weatherValue(current.right, air.right, alarmDate(deps.scheduler.now(), tz)),
      };
      return state.failing
        ? [{ failing: false }, [write, { type: 'slack.alert', text: 'weather poll works again' }, log('info', 'weather poll works again')]]
        : [state, [write]];
    }),
  );
});
