import { expect } from 'chai';
import { countUnknownUid, documentRefusal, type UnknownUidWindows } from '../../../lib/core/streams/limits.js';

describe('streams/limits', () => {
  const limits = { docBytes: 20, schedules: 1, users: 1, unknownUidPerMin: 1 };

  it('measures a document as UTF-8 JSON bytes', () => {
    expect(documentRefusal('user', { name: 'ab' }, false, 0, limits)).to.equal(undefined); // {"name":"ab"} = 13 bytes
    expect(documentRefusal('user', { name: '홍길동홍' }, false, 0, limits)?.toSender).to.equal('the user is 23 bytes as JSON, more than the 20 allowed; it was not saved');
  });

  it('keeps its memory bounded whatever the number of Producers (the excess share one window)', () => {
    let windows: UnknownUidWindows = new Map();
    for (let i = 0; i < 10_000; i++) windows = countUnknownUid(windows, `p${i}`, 1_000, 1).windows;
    expect(windows.size).to.be.at.most(257);
    // the invented ones share one window, which is over its limit at once
    expect(countUnknownUid(windows, 'car', 1_000, 1).verdict).to.equal('silent');
    // a minute later the old windows make room again
    expect(countUnknownUid(windows, 'car', 61_000, 1).verdict).to.equal('answer');
    expect(countUnknownUid(windows, 'car', 61_000, 1).windows.size).to.be.at.most(257);
  });
  it('accepts a document of exactly the allowed size; nothing as JSON is no bytes', () => {
    expect(documentRefusal('user', { name: 'ab' }, false, 0, { ...limits, docBytes: 13 })).to.equal(undefined);
    expect(documentRefusal('user', { name: 'abc' }, false, 0, { ...limits, docBytes: 13 })).to.not.equal(undefined);
    expect(documentRefusal('schedule', undefined, false, 0, { ...limits, docBytes: 1 })).to.equal(undefined);
  });

  it('counts schedules and users against their own limits', () => {
    const apart = { ...limits, schedules: 3, users: 2 };
    expect(documentRefusal('schedule', {}, false, 2, apart)).to.equal(undefined);
    expect(documentRefusal('schedule', {}, false, 3, apart)?.toOperator).to.equal('a new schedule was refused: the 3 schedules allowed (LIMIT_SCHEDULES) exist');
    expect(documentRefusal('user', {}, false, 1, apart)).to.equal(undefined);
    expect(documentRefusal('user', {}, false, 2, apart)?.toOperator).to.equal('a new user was refused: the 2 users allowed (LIMIT_USERS) exist');
  });

  it('opens a new window exactly one minute after the first answer of the last one', () => {
    let windows: UnknownUidWindows = new Map();
    const verdicts = [0, 59_999, 60_000, 60_001].map((now) => {
      const counted = countUnknownUid(windows, 'car', now, 1);
      windows = counted.windows;
      return counted.verdict;
    });
    expect(verdicts).to.deep.equal(['answer', 'limit', 'answer', 'limit']);
  });

  it('when 256 Producers are tracked, frees the windows a minute old, and only those, for new Producers', () => {
    let windows: UnknownUidWindows = new Map();
    for (let i = 0; i < 255; i++) windows = countUnknownUid(windows, `p${i}`, 0, 1).windows;
    windows = countUnknownUid(windows, 'recent', 30_000, 1).windows;
    expect(windows.size).to.equal(256);
    const verdicts = ['car', 'bus', 'recent'].map((producer) => {
      const counted = countUnknownUid(windows, producer, 60_000, 1);
      windows = counted.windows;
      return counted.verdict;
    });
    // car and bus have windows of their own (not one shared: the second would be over), and
    // recent's window, half a minute old, is kept
    expect(verdicts).to.deep.equal(['answer', 'answer', 'limit']);
    expect([...windows.keys()].sort()).to.deep.equal(['bus', 'car', 'recent']);
  });
});
