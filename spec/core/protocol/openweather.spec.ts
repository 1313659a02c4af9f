import { expect } from 'chai';
import { decodeAirPollution, decodeCurrentWeather, weatherValue } from '../../../lib/core/protocol/openweather.js';
import { leftOf, rightOf } from './helpers.js';

/** A `GET /data/2.5/weather?q=Seoul&lang=kr` body in OpenWeatherMap's documented shape. */
const currentBody = {
  coord: { lon: 126.9778, lat: 37.5683 },
  weather: [{ id: 500, main: 'Rain', description: '실 비', icon: '10n' }],
  base: 'stations',
  main: { temp: 293.15, feels_like: 293.4, temp_min: 291.84, temp_max: 294.26, pressure: 1012, humidity: 83, sea_level: 1012, grnd_level: 1002 },
  visibility: 9000,
  wind: { speed: 2.06, deg: 250 },
  rain: { '1h': 0.42 },
  clouds: { all: 75 },
  dt: 1632304800,
  sys: { type: 1, id: 8105, country: 'KR', sunrise: 1632258953, sunset: 1632302904 },
  timezone: 32400,
  id: 1835848,
  name: 'Seoul',
  cod: 200,
};

/** A `GET /data/2.5/air_pollution?lat=&lon=` body. */
const airBody = {
  coord: { lon: 126.9778, lat: 37.5683 },
  list: [
    {
      main: { aqi: 2 },
      components: { co: 270.37, no: 0.01, no2: 15.42, o3: 43.99, so2: 3.04, pm2_5: 9.12, pm10: 14.6, nh3: 0.47 },
      dt: 1632304800,
    },
  ],
};

const withTemp = (temp: number) => rightOf(decodeCurrentWeather({ ...currentBody, main: { ...currentBody.main, temp } }));
const air = () => rightOf(decodeAirPollution(airBody));

describe('weather', () => {
  it('decodes a real-shaped current weather body, keeping coord, weather and main.temp', () => {
    const w = rightOf(decodeCurrentWeather(currentBody));
    expect(w.coord).to.deep.equal({ lon: 126.9778, lat: 37.5683 });
    expect(w.weather[0]).to.include({ description: '실 비', icon: '10n' });
    expect(w.main.temp).to.equal(293.15);
  });

  it('rejects a weather body without coordinates, with an empty weather list or a string temperature', () => {
    const { coord: _c, ...noCoord } = currentBody;
    expect(leftOf(decodeCurrentWeather(noCoord)).message).to.match(/^weather body: coord: /);
    expect(leftOf(decodeCurrentWeather({ ...currentBody, weather: [] })).message).to.include('weather: expected non-empty weather list');
    expect(leftOf(decodeCurrentWeather({ ...currentBody, main: { temp: '293.15' } })).message).to.include('main.temp: expected number');
  });

  it('rejects a weather entry without its icon or description (the value and the recommendation read both)', () => {
    expect(leftOf(decodeCurrentWeather({ ...currentBody, weather: [{ id: 500, main: 'Rain', description: '실 비' }] })).message).to.include(
      'weather.0.icon: expected string',
    );
    expect(leftOf(decodeCurrentWeather({ ...currentBody, weather: [{ id: 500, main: 'Rain', icon: '10n' }] })).message).to.include(
      'weather.0.description: expected string',
    );
  });

  it("rejects OpenWeatherMap's error body (bad key) with a readable message", () => {
    const err = leftOf(decodeCurrentWeather({ cod: 401, message: 'Invalid API key. Please see https://openweathermap.org/faq#error401' }));
    expect(err.message).to.match(/^weather body: /);
    expect(err.message.length).to.be.at.most(200);
  });

  it('decodes an air pollution body; an empty list or a missing aqi is rejected', () => {
    expect(air().list[0]!.main.aqi).to.equal(2);
    expect(leftOf(decodeAirPollution({ ...airBody, list: [] })).message).to.include('non-empty pollution list');
    expect(leftOf(decodeAirPollution({ list: [{ main: {} }] })).message).to.match(/^air pollution body: list\.0\.main\.aqi: /);
  });

  it('weatherValue takes the first weather entry, the aqi and the given update time', () => {
    const w = rightOf(decodeCurrentWeather({ ...currentBody, weather: [...currentBody.weather, { description: '안개', icon: '50n' }] }));
    expect(weatherValue(w, air(), '2021-09-22T19:00:00.000+09:00')).to.deep.equal({
      description: '실 비',
      icon: '10n',
      temp: '20.0',
      air_level: 2,
      update: '2021-09-22T19:00:00.000+09:00',
    });
  });

  it('temp is Celsius with one decimal, (K - 273.15).toFixed(1): 293.15 -> "20.0", 280.0 -> "6.9"', () => {
    const temp = (k: number): string => weatherValue(withTemp(k), air(), 'now').temp;
    expect(temp(293.15)).to.equal('20.0');
    expect(temp(280.0)).to.equal('6.9');
    expect(temp(273.15)).to.equal('0.0');
    expect(temp(263.15)).to.equal('-10.0');
    expect(temp(303.71)).to.equal('30.6');
  });
});
