/**
 * OpenWeatherMap bodies (SPEC 8) and the RTDB `sensor/openweather` value made from them.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { formatErrors, type DecodeError } from './errors.js';

const NonEmptyArray = <C extends t.Mixed>(codec: C, name: string) =>
  t.refinement(t.array(codec), (a) => a.length > 0, name);

/** `GET /weather?q=<city>`: only the fields the backend uses are checked. */
export const CurrentWeather = t.type({
  coord: t.type({ lat: t.number, lon: t.number }),
  weather: NonEmptyArray(t.type({ description: t.string, icon: t.string }), 'non-empty weather list'),
  main: t.type({ temp: t.number }),
});
export type CurrentWeather = t.TypeOf<typeof CurrentWeather>;

/** `GET /air_pollution?lat=&lon=`. */
export const AirPollution = t.type({
  list: NonEmptyArray(t.type({ main: t.type({ aqi: t.number }) }), 'non-empty pollution list'),
});
export type AirPollution = t.TypeOf<typeof AirPollution>;

export const decodeCurrentWeather = (u: unknown): E.Either<DecodeError, CurrentWeather> =>
  formatErrors('weather body', CurrentWeather.decode(u));
export const decodeAirPollution = (u: unknown): E.Either<DecodeError, AirPollution> =>
  formatErrors('air pollution body', AirPollution.decode(u));

export interface WeatherValue {
  readonly description: string;
  readonly icon: string;
  readonly temp: string;
  readonly air_level: number;
  readonly update: string;
}

/** The value written to `sensor/openweather`; `update` is the poll time as the caller formats it. */
export function weatherValue(current: CurrentWeather, air: AirPollution, update: string): WeatherValue {
  const now = current.weather[0]!;
  return {
    description: now.description,
    icon: now.icon,
    temp: (current.main.temp - 273.15).toFixed(1),
    air_level: air.list[0]!.main.aqi,
    update,
  };
}
