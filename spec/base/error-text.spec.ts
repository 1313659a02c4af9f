import { expect } from 'chai';
import { errorText } from '../../lib/base/error-text.js';

describe('base/error-text', () => {
  it("is an Error's message, or the thrown value as text", () => {
    expect(errorText(new TypeError('bad input'))).to.equal('bad input');
    expect(errorText('plain text')).to.equal('plain text');
    expect(errorText(42)).to.equal('42');
    expect(errorText(undefined)).to.equal('undefined');
  });
});
