/** The rules both stores share: valid ids, paths and values, merges, and the RTDB's value model. */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  checkDocWrite, checkTreeWrite, fromTree, mergeData, nodeAt, pathKeys, pathsOverlap, toTree, withNode, type TreeNode,
} from '../../lib/store/data.js';

describe('store data rules', () => {
  it('document ids: no slash, not . or .., not __reserved__', () => {
    expect(checkDocWrite({ op: 'delete', collection: 'modes', id: '10000000000' })).to.equal(undefined);
    expect(checkDocWrite({ op: 'delete', collection: 'modes', id: 'a/b' })).to.match(/must not contain "\/"/);
    expect(checkDocWrite({ op: 'delete', collection: 'modes', id: '..' })).to.match(/not allowed/);
    expect(checkDocWrite({ op: 'delete', collection: '__x__', id: 'a' })).to.match(/reserved/);
  });

  it('document data: plain JSON, no array directly in an array, finite numbers', () => {
    expect(checkDocWrite({ op: 'set', collection: 'c', id: 'd', data: { a: [{ b: [1] }], u: undefined } })).to.equal(undefined);
    expect(checkDocWrite({ op: 'set', collection: 'c', id: 'd', data: { a: [[1]] } })).to.match(/a\[0\]: an array directly inside an array/);
    expect(checkDocWrite({ op: 'set', collection: 'c', id: 'd', data: { when: new Date(0) } })).to.match(/when: a non-plain object/);
  });

  it('tree paths and keys: none of . # $ [ ] or control characters', () => {
    expect(checkTreeWrite({ path: '/sensor/hometemp/', value: { temp: 1 } })).to.equal(undefined);
    expect(checkTreeWrite({ path: 'a/b.c', value: 1 })).to.match(/contains one of/);
    expect(checkTreeWrite({ path: 'a', value: { 'x\u0001': 1 } })).to.match(/contains one of/);
  });

  it('merge: maps merge field by field, everything else replaces', () => {
    expect(mergeData({ a: { b: 1, c: 2 }, l: [1, 2], s: 'x' }, { a: { c: 3 }, l: [3], s: { now: 'map' } }))
      .to.deep.equal({ a: { b: 1, c: 3 }, l: [3], s: { now: 'map' } });
  });

  it('paths: slashes do not matter, overlap means one contains the other', () => {
    expect(pathKeys('/a//b/')).to.deep.equal(['a', 'b']);
    expect(pathsOverlap('smarthome', 'smarthome/status')).to.equal(true);
    expect(pathsOverlap('', 'x')).to.equal(true);
    expect(pathsOverlap('smarthome/status', 'smarthome/stat')).to.equal(false);
  });

  it('the RTDB value model: nulls and empty objects vanish, dense integer keys read as arrays', () => {
    expect(toTree({ a: null, b: {}, c: { d: [] } })).to.equal(null);
    expect(fromTree(toTree(['x', null, 'z']))).to.deep.equal(['x', null, 'z']);
    expect(fromTree(toTree({ 0: 'a', 5: 'b' }))).to.deep.equal({ 0: 'a', 5: 'b' });
    let root: TreeNode | null = null;
    root = withNode(root, ['a', 'b'], 1);
    root = withNode(root, ['a', 'c'], 2);
    root = withNode(root, ['a', 'b', 'x'], null);
    expect(root).to.deep.equal({ a: { b: 1, c: 2 } });
    root = withNode(root, ['a', 'b'], null);
    root = withNode(root, ['a', 'c'], null);
    expect(root).to.equal(null);
  });

  it('a value set at a path reads back as its RTDB form (property)', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/);
    const leaf = fc.oneof(fc.boolean(), fc.integer(), fc.string({ maxLength: 5 }));
    const value = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.constant(null), fc.dictionary(key, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(fc.property(fc.array(key, { maxLength: 3 }), value, value, (keys, before, after) => {
      let root = withNode(null, [], toTree(before));
      root = withNode(root, keys, toTree(after));
      expect(fromTree(nodeAt(root, keys))).to.deep.equal(fromTree(toTree(after)));
    }));
  });
});
