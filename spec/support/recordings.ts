/** The recorded traffic of spec/fixtures/traffic, each with its golden effects and its home's zone. */
import { readdirSync } from 'node:fs';

export const DIR = 'spec/fixtures/traffic';
export const TZ = 'Asia/Seoul';
export const recordings = readdirSync(DIR).filter((f) => f.endsWith('.ndjson'));
/** Recordings made in a home with clock changes (the others are in Seoul). */
const ZONES: Readonly<Record<string, string>> = {
  'dst-spring.ndjson': 'America/New_York',
  'dst-fall.ndjson': 'Europe/Berlin',
  'restart-dst-spring.ndjson': 'America/New_York',
  'restart-dst-fall.ndjson': 'Europe/Berlin',
};
export const zoneOf = (name: string): string => ZONES[name] ?? TZ;
