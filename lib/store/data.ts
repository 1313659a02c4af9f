/**
 * The rules both store implementations share, so that they accept and return the same things:
 * which ids, paths and values are valid (a subset of what Firestore and the RTDB accept), how a
 * Firestore merge combines maps, and how the RTDB stores a value (no nulls, no empty objects,
 * arrays as objects with integer keys, read back as arrays when dense enough).
 */
import type { DocData, DocWrite, TreeWrite } from './types.js';

export const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && (Object.getPrototypeOf(u) === Object.prototype || Object.getPrototypeOf(u) === null);

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');
const show = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s);

// ---- Firestore documents ----

const RESERVED = /^__.*__$/;

/** Why a collection or document id is invalid, or undefined. */
export function checkDocId(what: 'collection' | 'document', id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return `${what} id must be a non-empty string`;
  if (id.includes('/')) return `${what} id ${show(id)} must not contain "/"`;
  if (id === '.' || id === '..') return `${what} id ${show(id)} is not allowed`;
  if (RESERVED.test(id)) return `${what} id ${show(id)} is reserved (__...__)`;
  if (byteLength(id) > 1500) return `${what} id is longer than 1500 bytes`;
  return undefined;
}

const MAX_DEPTH = 20;
const MAX_DOC_BYTES = 1_000_000;

function checkFieldValue(value: unknown, at: string, depth: number, inArray: boolean): string | undefined {
  if (value === null || value === undefined || typeof value === 'boolean' || typeof value === 'string') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${at}: ${value} is not a finite number`;
  if (depth > MAX_DEPTH) return `${at}: nested deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(value)) {
    if (inArray) return `${at}: an array directly inside an array is not allowed`;
    for (let i = 0; i < value.length; i++) {
      const problem = checkFieldValue(value[i], `${at}[${i}]`, depth + 1, true);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isPlainObject(value)) return checkFields(value, at, depth + 1);
  return `${at}: ${typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`} is not JSON`;
}

function checkFields(data: Record<string, unknown>, at: string, depth: number): string | undefined {
  for (const [key, value] of Object.entries(data)) {
    const here = at === '' ? key : `${at}.${key}`;
    if (key === '') return `${at || 'data'}: empty field name`;
    if (RESERVED.test(key)) return `${here}: field name is reserved (__...__)`;
    const problem = checkFieldValue(value, here, depth, false);
    if (problem) return problem;
  }
  return undefined;
}

/** Why a document write cannot be made (however often it is retried), or undefined. */
export function checkDocWrite(write: DocWrite): string | undefined {
  const where = `${write.collection}/${write.id}`;
  const problem = checkDocId('collection', write.collection) ?? checkDocId('document', write.id);
  if (problem) return problem;
  if (write.op === 'delete') return undefined;
  if (!isPlainObject(write.data)) return `${where}: data must be a plain object`;
  const fieldProblem = checkFields(write.data, '', 1);
  if (fieldProblem) return `${where}: ${fieldProblem}`;
  if (byteLength(JSON.stringify(write.data)) > MAX_DOC_BYTES) return `${where}: document larger than 1 MB`;
  return undefined;
}

/** The JSON form of document data: `undefined` fields dropped, a fresh copy. */
export const plainData = (data: DocData): Record<string, unknown> => JSON.parse(JSON.stringify(data)) as Record<string, unknown>;

/** Firestore's `set(data, {merge: true})`: maps merge field by field, anything else replaces. */
export function mergeData(base: DocData, patch: DocData): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const old = out[key];
    out[key] = isPlainObject(value) && isPlainObject(old) ? mergeData(old, value) : value;
  }
  return out;
}

// ---- RTDB tree ----

// eslint-disable-next-line no-control-regex
const BAD_KEY = /[.#$[\]\u0000-\u001f\u007f]/;
const MAX_KEY_BYTES = 768;
const MAX_PATH_DEPTH = 32;

/** A path as its keys; leading, trailing and doubled slashes do not count ('' is the root). */
export const pathKeys = (path: string): string[] => path.split('/').filter((k) => k !== '');

/** The canonical form of a path: keys joined by '/', no leading slash, '' for the root. */
export const normalPath = (path: string): string => pathKeys(path).join('/');

function checkKey(key: string, at: string): string | undefined {
  if (BAD_KEY.test(key)) return `${at}: key ${show(key)} contains one of . # $ [ ] or a control character`;
  if (byteLength(key) > MAX_KEY_BYTES) return `${at}: key longer than ${MAX_KEY_BYTES} bytes`;
  return undefined;
}

function checkTreeValue(value: unknown, at: string, depth: number): string | undefined {
  if (value === null || value === undefined || typeof value === 'boolean' || typeof value === 'string') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${at}: ${value} is not a finite number`;
  if (depth > MAX_PATH_DEPTH) return `${at}: nested deeper than ${MAX_PATH_DEPTH} levels`;
  if (Array.isArray(value) || isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const here = `${at}/${key}`;
      const problem = (key === '' ? `${at}: empty key` : checkKey(key, here)) ?? checkTreeValue(child, here, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  return `${at}: ${typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`} is not JSON`;
}

/** Why a tree write cannot be made (however often it is retried), or undefined. */
export function checkTreeWrite(write: TreeWrite): string | undefined {
  if (typeof write.path !== 'string') return 'path must be a string';
  const keys = pathKeys(write.path);
  if (keys.length > MAX_PATH_DEPTH) return `path ${show(write.path)} is deeper than ${MAX_PATH_DEPTH} levels`;
  for (const key of keys) {
    const problem = checkKey(key, `path ${show(write.path)}`);
    if (problem) return problem;
  }
  return checkTreeValue(write.value, `/${keys.join('/')}`, keys.length);
}

/** True when one path is the other or lies under it. */
export function pathsOverlap(a: string, b: string): boolean {
  const ka = pathKeys(a);
  const kb = pathKeys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) if (ka[i] !== kb[i]) return false;
  return true;
}

/** A node of the stored tree: a leaf, or an object with at least one child. */
export type TreeNode = boolean | number | string | { [key: string]: TreeNode };

/** How the RTDB stores a value: nulls and empty objects vanish, arrays become objects. `null` = nothing. */
export function toTree(value: unknown): TreeNode | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value !== 'object') return null;
  const out: { [key: string]: TreeNode } = {};
  let any = false;
  for (const [key, child] of Object.entries(value as object)) {
    const node = toTree(child);
    if (node !== null) {
      out[key] = node;
      any = true;
    }
  }
  return any ? out : null;
}

/**
 * How the RTDB reads a value back: an object whose keys are all integers is an array when more
 * than half of the indices up to the largest are present (holes are null). Always a fresh copy.
 */
export function fromTree(node: TreeNode | null | undefined): unknown {
  if (node === null || node === undefined) return null;
  if (typeof node !== 'object') return node;
  const keys = Object.keys(node);
  let max = -1;
  let allIndices = true;
  for (const key of keys) {
    if (!/^(0|[1-9]\d{0,8})$/.test(key)) {
      allIndices = false;
      break;
    }
    max = Math.max(max, Number(key));
  }
  if (allIndices && keys.length > 0 && keys.length * 2 > max + 1) {
    const array: unknown[] = new Array<unknown>(max + 1).fill(null);
    for (const key of keys) array[Number(key)] = fromTree(node[key]);
    return array;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = fromTree(node[key]);
  return out;
}

/** The node at `keys` under `root`, or null. */
export function nodeAt(root: TreeNode | null, keys: readonly string[]): TreeNode | null {
  let node: TreeNode | null = root;
  for (const key of keys) {
    if (node === null || typeof node !== 'object') return null;
    node = node[key] ?? null;
  }
  return node;
}

/**
 * `root` with the node at `keys` replaced by `node` (already normalised by `toTree`); parents
 * left empty vanish, leaves on the way become objects. Changes `root` in place where it can.
 */
export function withNode(root: TreeNode | null, keys: readonly string[], node: TreeNode | null): TreeNode | null {
  if (keys.length === 0) return node;
  // Removing something under a leaf (or under nothing) changes nothing.
  if (node === null && (root === null || typeof root !== 'object')) return root;
  const [key, ...rest] = keys as [string, ...string[]];
  const parent: { [key: string]: TreeNode } = root !== null && typeof root === 'object' ? root : {};
  const child = withNode(parent[key] ?? null, rest, node);
  if (child === null) delete parent[key];
  else parent[key] = child;
  return Object.keys(parent).length > 0 ? parent : null;
}
