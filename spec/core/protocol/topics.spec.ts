import { expect } from 'chai';
import fc from 'fast-check';
import { topicFilter, topicMatches } from '../../../lib/core/protocol/topics.js';

describe('topics', () => {
  it('a filter without wildcards matches only the same topic', () => {
    expect(topicMatches('webos/smarthome/info', 'webos/smarthome/info')).to.equal(true);
    expect(topicMatches('webos/smarthome/info', 'webos/smarthome')).to.equal(false);
    expect(topicMatches('webos/smarthome', 'webos/smarthome/info')).to.equal(false);
    expect(topicMatches('webos/smarthome/info', 'webos/smarthome/Info')).to.equal(false);
  });

  it('+ matches exactly one level, an empty one too', () => {
    expect(topicMatches('webos/+/info', 'webos/car/info')).to.equal(true);
    expect(topicMatches('webos/+/info', 'webos//info')).to.equal(true);
    expect(topicMatches('webos/+/info', 'webos/car/x/info')).to.equal(false);
    expect(topicMatches('webos/+', 'webos')).to.equal(false);
    expect(topicMatches('+/+', 'a/b')).to.equal(true);
  });

  it('# matches every level below', () => {
    expect(topicMatches('webos/server/#', 'webos/server/info')).to.equal(true);
    expect(topicMatches('webos/server/#', 'webos/server/a/b/c')).to.equal(true);
    expect(topicMatches('#', 'data/smarthome/status')).to.equal(true);
  });

  it('# also matches the parent level itself (webos/server/# matches webos/server)', () => {
    expect(topicMatches('webos/server/#', 'webos/server')).to.equal(true);
    expect(topicMatches('webos/smarthome/#', 'webos/smarthome')).to.equal(true);
  });

  it('# does not match a sibling or a topic that only shares a prefix', () => {
    expect(topicMatches('webos/server/#', 'webos/serverx/info')).to.equal(false);
    expect(topicMatches('webos/server/#', 'webos/car/info')).to.equal(false);
    expect(topicMatches('webos/server/#', 'webos')).to.equal(false);
  });

  it('# anywhere but last matches nothing (invalid filter)', () => {
    expect(topicMatches('webos/#/info', 'webos/car/info')).to.equal(false);
    expect(topicMatches('webos/#/#', 'webos/car/info')).to.equal(false);
    expect(topicMatches('webos/#/#', 'webos/#/info')).to.equal(false);
    expect(topicMatches('webos/#/#', 'webos/#')).to.equal(false);
  });

  it('a literal level after + must still match ("webos/+/info" does not match "webos/car/status")', () => {
    expect(topicMatches('webos/+/info', 'webos/car/status')).to.equal(false);
    expect(topicMatches('+/smarthome/info', 'webos/server/info')).to.equal(false);
  });

  it('+ as the last level does not match a longer topic ("webos/+" and "webos/car/info")', () => {
    expect(topicMatches('webos/+', 'webos/car/info')).to.equal(false);
    expect(topicMatches('webos/+', 'webos/car')).to.equal(true);
  });

  it('+ then # matches one level and everything below it, but not a topic that differs before the +', () => {
    expect(topicMatches('webos/+/#', 'webos/car/info')).to.equal(true);
    expect(topicMatches('webos/+/#', 'webos/car')).to.equal(true);
    expect(topicMatches('webos/+/#', 'data/car/info')).to.equal(false);
    expect(topicMatches('+/#', 'webos/car/info')).to.equal(true);
  });

  it('# glued to a level ("webos/server#") is no wildcard: it matches only that literal level', () => {
    expect(topicMatches('webos/server#', 'webos/server/info')).to.equal(false);
    expect(topicMatches('webos/server#', 'webos/serverx')).to.equal(false);
    expect(topicMatches('webos/server#', 'webos/server#')).to.equal(true);
  });

  it('topicFilter and topicMatches follow MQTT 4.7 (written out below) for every filter and topic of a few levels', () => {
    const level = fc.constantFrom('a', 'b', '', '+', '#');
    const topicLevel = fc.constantFrom('a', 'b', '', '#', '+');
    const filter = fc.array(level, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('/'));
    const topic = fc.array(topicLevel, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('/'));
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        expect(topicFilter(f)(t), `${f} ~ ${t}`).to.equal(reference(f, t));
        expect(topicMatches(f, t)).to.equal(reference(f, t));
      }),
    );
  });
});

/** MQTT 3.1.1, 4.7 written out plainly: level by level, + one level, # (the last level only) the rest, its parent too. */
function reference(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (f.slice(0, -1).includes('#')) return false;
  if (f[f.length - 1] === '#') {
    const head = f.slice(0, -1);
    return t.length >= head.length && head.every((l, i) => l === '+' || l === t[i]);
  }
  return f.length === t.length && f.every((l, i) => l === '+' || l === t[i]);
}
