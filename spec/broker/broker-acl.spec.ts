import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { allowed, covers, parseAclFile, type Acl } from '../../lib/broker/broker-acl.js';

function acl(text: string): Acl {
  const result = parseAclFile(text, 'test');
  if ('error' in result) throw new Error(result.error as string);
  return result as Acl;
}

const as = (username: string | undefined, clientId = 'cid') => ({ username, clientId });

describe('lib/broker/broker-acl (Mosquitto ACL files)', () => {
  it('gives anonymous clients the lines before the first user line, and a user only its own lines', () => {
    const a = acl('topic read public/#\nuser car\ntopic write webos/server/info\ntopic webos/car/#\n');
    expect(allowed(a, as(undefined), 'read', 'public/x')).to.equal(true);
    expect(allowed(a, as(undefined), 'write', 'public/x')).to.equal(false);
    expect(allowed(a, as('car'), 'read', 'public/x')).to.equal(false);
    expect(allowed(a, as('car'), 'write', 'webos/server/info')).to.equal(true);
    expect(allowed(a, as('car'), 'read', 'webos/server/info')).to.equal(false);
    // no access word: readwrite
    expect(allowed(a, as('car'), 'write', 'webos/car/info')).to.equal(true);
    expect(allowed(a, as('car'), 'read', 'webos/car/error')).to.equal(true);
    expect(allowed(a, as('other'), 'read', 'webos/car/error')).to.equal(false);
  });

  it('checks deny before any grant', () => {
    const a = acl('user ops\ntopic readwrite webos/#\ntopic deny webos/smarthome/info\n');
    expect(allowed(a, as('ops'), 'write', 'webos/server/info')).to.equal(true);
    expect(allowed(a, as('ops'), 'write', 'webos/smarthome/info')).to.equal(false);
    expect(allowed(a, as('ops'), 'read', 'webos/smarthome/info')).to.equal(false);
  });

  it('substitutes %c and %u in patterns for every client, never for an anonymous %u or a wildcard id', () => {
    const a = acl('pattern read devices/%u/#\npattern write clients/%c\n');
    expect(allowed(a, as('car'), 'read', 'devices/car/x')).to.equal(true);
    expect(allowed(a, as('car'), 'read', 'devices/android/x')).to.equal(false);
    expect(allowed(a, as(undefined), 'read', 'devices//x')).to.equal(false);
    expect(allowed(a, as(undefined, 'c1'), 'write', 'clients/c1')).to.equal(true);
    expect(allowed(a, as('#'), 'read', 'devices/anything')).to.equal(false);
    expect(allowed(a, as(undefined, '+'), 'write', 'clients/c1')).to.equal(false);
  });

  it('allows a subscription only within what the client may read', () => {
    const a = acl('user car\ntopic read webos/car/#\ntopic read webos/+/status\n');
    expect(allowed(a, as('car'), 'subscribe', 'webos/car/#')).to.equal(true);
    expect(allowed(a, as('car'), 'subscribe', 'webos/car/info')).to.equal(true);
    expect(allowed(a, as('car'), 'subscribe', 'webos/server/status')).to.equal(true);
    expect(allowed(a, as('car'), 'subscribe', 'webos/#')).to.equal(false);
    expect(allowed(a, as('car'), 'subscribe', '#')).to.equal(false);
    expect(allowed(a, as('car'), 'subscribe', 'webos/+/info')).to.equal(false);
    expect(covers('a/+/c', 'a/+/c')).to.equal(true);
    expect(covers('a/b', 'a/b/c')).to.equal(false);
    expect(covers('a/+', 'a/#')).to.equal(false);
  });

  it('reports a bad line by file and line number', () => {
    expect(parseAclFile('user car\nallow everything\n', 'test')).to.deep.equal({ error: 'test line 2: expected "user", "topic" or "pattern", got "allow"' });
    expect(parseAclFile('topic read a/#/b', 'test')).to.have.property('error').that.matches(/line 1: "a\/#\/b" is not a topic filter/);
    expect(parseAclFile('user\n', 'test')).to.have.property('error').that.matches(/needs a user name/);
  });

  it('the example ACL in config/ gives each device exactly the topics of SPEC 1 and 2', () => {
    const a = acl(readFileSync(new URL('../../config/acl.example', import.meta.url), 'utf8'));
    const can = (user: string | undefined, op: 'read' | 'write' | 'subscribe', topic: string) => allowed(a, as(user), op, topic);
    // the car: commands, controls, its replies; nothing of the others
    expect(can('car', 'write', 'webos/server/info')).to.equal(true);
    expect(can('car', 'write', 'webos/smarthome/info')).to.equal(true);
    expect(can('car', 'subscribe', 'webos/car/#')).to.equal(true);
    expect(can('car', 'subscribe', 'webos/android/#')).to.equal(false);
    expect(can('car', 'write', 'webos/server/status')).to.equal(false);
    expect(can('car', 'subscribe', '#')).to.equal(false);
    // the app
    expect(can('android', 'write', 'webos/smarthome')).to.equal(true);
    expect(can('android', 'read', 'webos/android/error')).to.equal(true);
    expect(can('android', 'read', 'webos/car/info')).to.equal(false);
    // the ESP32 obeys commands but cannot send them
    expect(can('esp32', 'subscribe', 'webos/smarthome/#')).to.equal(true);
    expect(can('esp32', 'write', 'webos/smarthome/info')).to.equal(false);
    expect(can('esp32', 'write', 'data/smarthome/status')).to.equal(true);
    // the camera only hears its signs
    expect(can('camera', 'read', 'webos/camera/info')).to.equal(true);
    expect(can('camera', 'write', 'webos/server/info')).to.equal(false);
    // anonymous: nothing
    expect(can(undefined, 'read', 'webos/car/info')).to.equal(false);
    expect(can(undefined, 'write', 'webos/smarthome/info')).to.equal(false);
  });

  it("the README's copy of the example ACL says the same as config/acl.example", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /\n {3}```\n( {3}user android\n[\s\S]*?) {3}```/.exec(readme)?.[1] ?? '';
    const strip = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    expect(strip(block)).to.deep.equal(strip(readFileSync(new URL('../../config/acl.example', import.meta.url), 'utf8')));
  });
});
