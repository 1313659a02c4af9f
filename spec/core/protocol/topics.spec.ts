import { expect } from 'chai';
import { topicMatches } from '../../../lib/core/protocol/topics.js';

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
  });
});
