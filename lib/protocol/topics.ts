/** MQTT topic filters: `+` matches one level, a trailing `#` the rest (MQTT 3.1.1, 4.7). */

function matchLevels(f: readonly string[], topic: string): boolean {
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
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
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter;
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
  if (test === undefined) {
    test = topicFilter(filter);
    compiled.set(filter, test);
  }
  return test(topic);
}
