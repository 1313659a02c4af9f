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
});
