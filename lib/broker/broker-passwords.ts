/**
 * Mosquitto password files (`EMBEDDED_MQTT_PASSWORD_FILE`), so the accounts a user made with
 * `mosquitto_passwd` work on the embedded broker unchanged, and back. One `user:hash` per line:
 * - `$7$<iterations>$<salt b64>$<hash b64>`: PBKDF2-HMAC-SHA512, 64 bytes (mosquitto_passwd's
 *   default since 2.0);
 * - `$6$<salt b64>$<hash b64>`: SHA-512 of the password followed by the salt (`-H sha512`, the
 *   default up to 1.6).
 * The salt is used as the bytes its base64 stands for, as Mosquitto does. Empty lines and lines
 * starting with `#` are skipped; anything else (a plain-text password, another hash) is an error
 * naming the line, never quoting it (it may hold a password).
 */
import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';

export type PasswordHash =
  | { readonly kind: 'pbkdf2-sha512'; readonly iterations: number; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly kind: 'sha512'; readonly salt: Buffer; readonly hash: Buffer };

export type PasswordTable = ReadonlyMap<string, PasswordHash>;

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Mosquitto refuses more; a huge count would make each CONNECT a denial of service. */
const MAX_ITERATIONS = 10_000_000;

function parseHash(text: string): PasswordHash | string {
  const parts = text.split('$');
  if (parts[0] !== '' || !parts.slice(2).every((p) => B64.test(p))) return 'not a Mosquitto hash (make it with mosquitto_passwd)';
  if (parts[1] === '7' && parts.length === 5) {
    const iterations = Number(parts[2]);
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) return 'a $7$ hash with a bad iteration count';
    const hash = Buffer.from(parts[4] ?? '', 'base64');
    if (hash.length !== 64) return 'a $7$ hash that is not 64 bytes long';
    return { kind: 'pbkdf2-sha512', iterations, salt: Buffer.from(parts[3] ?? '', 'base64'), hash };
  }
  if (parts[1] === '6' && parts.length === 4) {
    const hash = Buffer.from(parts[3] ?? '', 'base64');
    if (hash.length !== 64) return 'a $6$ hash that is not 64 bytes long';
    return { kind: 'sha512', salt: Buffer.from(parts[2] ?? '', 'base64'), hash };
  }
  return 'an unsupported hash (only $7$ and $6$, as mosquitto_passwd writes them)';
}

/** Parses a password file's text; `where` names the file in messages. */
export function parsePasswordFile(text: string, where: string): PasswordTable | { readonly error: string } {
  const table = new Map<string, PasswordHash>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: `${where} line ${i + 1}: expected user:hash` };
    const user = line.slice(0, colon);
    const hash = parseHash(line.slice(colon + 1).trim());
    if (typeof hash === 'string') return { error: `${where} line ${i + 1} (user ${JSON.stringify(user)}): ${hash}` };
    table.set(user, hash);
  }
  return table;
}

function digest(hash: PasswordHash, password: Buffer): Promise<Buffer> {
  if (hash.kind === 'sha512') return Promise.resolve(createHash('sha512').update(password).update(hash.salt).digest());
  // Asynchronous: a burst of CONNECTs must not stall the event loop (the pipeline runs on it).
  return new Promise((resolve, reject) =>
    pbkdf2(password, hash.salt, hash.iterations, 64, 'sha512', (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** A hash for unknown users, so that "no such user" takes as long as "wrong password". */
const DECOY: PasswordHash = { kind: 'pbkdf2-sha512', iterations: 101, salt: Buffer.alloc(12), hash: Buffer.alloc(64) };

/** Whether `password` is the one `table` holds for `user` (constant time in the hash). */
export async function verifyPassword(table: PasswordTable, user: string | undefined, password: Buffer | string | undefined): Promise<boolean> {
  const known = user === undefined ? undefined : table.get(user);
  const given = password === undefined ? Buffer.alloc(0) : Buffer.isBuffer(password) ? password : Buffer.from(password, 'utf8');
  const hash = known ?? DECOY;
  const computed = await digest(hash, given);
  return known !== undefined && password !== undefined && timingSafeEqual(computed, hash.hash);
}
