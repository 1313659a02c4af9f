/**
 * Mosquitto ACL files (`EMBEDDED_MQTT_ACL_FILE`), with Mosquitto's meaning (mosquitto.conf(5),
 * acl_file), so one file serves both brokers:
 * - `topic [read|write|readwrite|deny] FILTER`: no access word means readwrite; the filter may
 *   hold spaces, `+` and `#`. Lines before the first `user` line are for anonymous clients.
 * - `user NAME`: the `topic` lines after it are for clients that signed in as NAME.
 * - `pattern [access] FILTER`: for every client, with `%c` = its client id and `%u` = its user
 *   name (a pattern with `%u` never applies to an anonymous client, and none applies when the
 *   substituted value holds `+` or `#`, which would widen it).
 * - `deny` lines are checked before any grant: one that matches refuses.
 * - With an ACL, whatever is not granted is refused.
 * Subscribing needs read access to everything the filter can match (ACL `webos/car/#` allows
 * `webos/car/info` but not `#`); each message delivered is checked again against read access.
 */
import { topicFilter, topicMatches } from '../core/protocol/topics.js';

export type Access = 'read' | 'write' | 'readwrite' | 'deny';
export type Operation = 'read' | 'write' | 'subscribe';

interface Rule {
  readonly access: Access;
  readonly filter: string;
  /** A pattern made for one client: matched without the shared cache (client ids are many). */
  readonly once?: true;
}

export interface Acl {
  readonly anonymous: readonly Rule[];
  readonly users: ReadonlyMap<string, readonly Rule[]>;
  readonly patterns: readonly Rule[];
}

export interface AclClient {
  readonly clientId: string;
  /** Undefined for an anonymous client. */
  readonly username: string | undefined;
}

const ACCESS = new Set<string>(['read', 'write', 'readwrite', 'deny']);

function isFilter(s: string): boolean {
  return s !== '' && s.split('/').every((level, i, all) => (level === '#' ? i === all.length - 1 : level === '+' || !/[+#]/.test(level)));
}

function parseRule(rest: string): Rule | string {
  const space = rest.indexOf(' ');
  const first = space < 0 ? rest : rest.slice(0, space);
  const rule = ACCESS.has(first) && space > 0
    ? { access: first as Access, filter: rest.slice(space + 1).trim() }
    : { access: 'readwrite' as const, filter: rest };
  return isFilter(rule.filter) ? rule : `${JSON.stringify(rule.filter)} is not a topic filter`;
}

/** Parses an ACL file's text; `where` names the file in messages. */
export function parseAclFile(text: string, where: string): Acl | { readonly error: string } {
  const anonymous: Rule[] = [];
  const users = new Map<string, Rule[]>();
  const patterns: Rule[] = [];
  let current = anonymous;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const space = line.search(/\s/);
    const keyword = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? '' : line.slice(space + 1).trim();
    const at = `${where} line ${i + 1}`;
    if (keyword === 'user') {
      if (rest === '') return { error: `${at}: "user" needs a user name` };
      current = users.get(rest) ?? [];
      users.set(rest, current);
    } else if (keyword === 'topic' || keyword === 'pattern') {
      const rule = parseRule(rest);
      if (typeof rule === 'string') return { error: `${at}: ${rule}` };
      (keyword === 'topic' ? current : patterns).push(rule);
    } else {
      return { error: `${at}: expected "user", "topic" or "pattern", got ${JSON.stringify(keyword.slice(0, 20))}` };
    }
  }
  return { anonymous, users, patterns };
}

/** Whether every topic that `filter` matches is matched by `acl` (Mosquitto's sub_matches_acl). */
export function covers(acl: string, filter: string): boolean {
  const a = acl.split('/');
  const f = filter.split('/');
  for (let i = 0; i < a.length; i++) {
    const level = a[i];
    if (level === '#') return true;
    const given = f[i];
    if (given === undefined || given === '#') return false;
    if (level !== '+' && (given === '+' || given !== level)) return false;
  }
  return a.length === f.length;
}

function substitute(filter: string, client: AclClient): string | undefined {
  if (filter.includes('%u') && (client.username === undefined || /[+#]/.test(client.username))) return undefined;
  if (filter.includes('%c') && /[+#]/.test(client.clientId)) return undefined;
  return filter.replaceAll('%c', client.clientId).replaceAll('%u', client.username ?? '');
}

const GRANTS: Readonly<Record<Operation, ReadonlySet<Access>>> = {
  read: new Set(['read', 'readwrite']),
  subscribe: new Set(['read', 'readwrite']),
  write: new Set(['write', 'readwrite']),
};

/** Whether `client` may `operation` the topic (or, to subscribe, the filter) under `acl`. */
export function allowed(acl: Acl, client: AclClient, operation: Operation, topic: string): boolean {
  const own = client.username === undefined ? acl.anonymous : acl.users.get(client.username) ?? [];
  const rules: Rule[] = [...own];
  for (const rule of acl.patterns) {
    const filter = substitute(rule.filter, client);
    if (filter !== undefined) rules.push({ access: rule.access, filter, once: true });
  }
  const matches = operation === 'subscribe'
    ? (r: Rule) => covers(r.filter, topic)
    : (r: Rule) => (r.once ? topicFilter(r.filter)(topic) : topicMatches(r.filter, topic));
  if (rules.some((r) => r.access === 'deny' && matches(r))) return false;
  const grants = GRANTS[operation];
  return rules.some((r) => grants.has(r.access) && matches(r));
}
