import { expect } from 'chai';
import { commands$ } from '../../lib/streams/commands.js';
import { DEFAULT_TOPICS } from '../../lib/streams/deps.js';
import type { Effect } from '../../lib/streams/effects.js';
import type { Event } from '../../lib/streams/events.js';
import { observe } from '../../lib/streams/world.js';
import { command, doc, makeDeps, mqtt, testScheduler } from '../support/marbles.js';

const pub = (topic: string, body: unknown): Effect => ({
  type: 'mqtt.publish',
  topic,
  payload: typeof body === 'string' ? body : JSON.stringify(body),
});
const slack = (text: string): Effect => ({ type: 'slack.alert', text });

/** Runs the commands stream over a hot marble of events; returns the effects marble check. */
function check(events: string, values: Record<string, Event>, expected: string, effects: Record<string, Effect>): void {
  const ts = testScheduler();
  ts.run(({ hot, expectObservable }) => {
    const event$ = hot<Event>(events, values);
    expectObservable(commands$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts))).toBe(expected, effects);
  });
}

/** Collects every effect for a list of events (for tests that look at content, not timing). */
function effectsOf(events: Event[]): Effect[] {
  const ts = testScheduler();
  const out: Effect[] = [];
  ts.run(({ cold }) => {
    const letters = events.map((_, i) => String.fromCharCode(97 + i)).join('');
    const values = Object.fromEntries(events.map((e, i) => [String.fromCharCode(97 + i), e]));
    commands$(cold<Event>(letters, values).pipe(observe(DEFAULT_TOPICS)), makeDeps(ts)).subscribe((e) => out.push(e));
  });
  return out;
}

const mqttOnly = (effects: Effect[]) => effects.filter((e) => e.type === 'mqtt.publish');

describe('streams/commands', () => {
  it('answers signin with the user doc plus Producer and command', () => {
    check(
      '-u-s-',
      { u: doc('user_account', 'u1', { name: 'Kim', age: 3 }), s: command({ Producer: 'android', command: 'signin', UID: 'u1' }) },
      '---r-',
      { r: pub('webos/android/info', { name: 'Kim', age: 3, Producer: 'server', command: 'return_name' }) },
    );
  });

  it('answers signin of an unknown UID with an error to the device and to Slack', () => {
    check('-s-', { s: command({ Producer: 'car', command: 'signin', UID: 'nobody' }) }, '-(ab)-', {
      a: pub('webos/car/error', 'signin: unknown UID "nobody"'),
      b: slack('error for car: signin: unknown UID "nobody"'),
    });
  });

  it('stores a sign-up as user_account/{UID} = {name}', () => {
    const effects = effectsOf([command({ Producer: 'android', command: 'signup', UID: 'u2', name: '홍길동' })]);
    expect(effects[0]).to.deep.equal({ type: 'firestore.set', collection: 'user_account', id: 'u2', data: { name: '홍길동' } });
  });

  it('survives a poison message: -a-x-b gives -A-E-B', () => {
    check(
      '-u-a-x----b-',
      {
        u: doc('user_account', 'u1', { name: 'Kim' }),
        a: command({ Producer: 'android', command: 'signin', UID: 'u1' }),
        x: mqtt('webos/server/info', '{"Producer": "android", "command": '),
        b: command({ Producer: 'car', command: 'signin', UID: 'u1' }),
      },
      '---A-(EF)-B-',
      {
        A: pub('webos/android/info', { name: 'Kim', Producer: 'server', command: 'return_name' }),
        E: pub('data/error/warning', 'ignored message on webos/server/info: not JSON (Unexpected end of JSON input): {"Producer": "android", "command": '),
        F: slack('warning: ignored message on webos/server/info: not JSON (Unexpected end of JSON input): {"Producer": "android", "command": '),
        B: pub('webos/car/info', { name: 'Kim', Producer: 'server', command: 'return_name' }),
      },
    );
  });

  it('warns on data/error/warning about JSON without Producer or command', () => {
    for (const body of [{ command: 'signin', UID: 'u1' }, { Producer: 'android' }, [1, 2], 'text']) {
      const [first, second] = effectsOf([mqtt('webos/server/info', JSON.stringify(body))]);
      expect(first).to.include({ type: 'mqtt.publish', topic: 'data/error/warning' });
      expect(second).to.include({ type: 'slack.alert' });
    }
  });

  it('refuses a Producer that would escape its topic', () => {
    const [first] = effectsOf([command({ Producer: 'android/#', command: 'signin', UID: 'u1' })]);
    expect(first).to.include({ topic: 'data/error/warning' });
    expect((first as { payload: string }).payload).to.match(/Producer/);
  });

  it('answers an unknown command on webos/{Producer}/error, naming the known ones', () => {
    const [first] = effectsOf([command({ Producer: 'android', command: 'dance' })]);
    expect(first).to.include({ type: 'mqtt.publish', topic: 'webos/android/error' });
    expect((first as { payload: string }).payload).to.match(/unknown command "dance".*signin/);
  });

  it('answers a handler with a missing or invalid field on webos/{Producer}/error', () => {
    for (const body of [
      { Producer: 'android', command: 'signup', UID: 'u1' },
      { Producer: 'android', command: 'signin' },
      { Producer: 'android', command: 'signin', UID: 'a/b' },
      { Producer: 'android', command: 'delete_schedule' },
      { Producer: 'android', command: 'add_schedule', title: 'x', enabled: true, startTime: '2599', repeat: false, activeDate: '2021.09.22' },
    ]) {
      const [first] = effectsOf([command(body)]);
      expect(first, JSON.stringify(body)).to.include({ type: 'mqtt.publish', topic: 'webos/android/error' });
    }
  });

  it('runs the face exchange: camera start, recogniser, camera end, reply to the car', () => {
    check(
      '-u-s----f-',
      {
        u: doc('user_account', 'u1', { name: 'Kim' }),
        s: command({ Producer: 'car', command: 'start_facer' }),
        f: { type: 'face.result', result: 'u1' },
      },
      '---(ab)-(cd)-',
      {
        a: pub('webos/camera/info', { Producer: 'server', command: 'facer_sign', sign: 'start' }),
        b: { type: 'face.run' },
        c: pub('webos/camera/info', { Producer: 'server', command: 'facer_sign', sign: 'end' }),
        d: pub('webos/car/info', { Producer: 'server', command: 'return_facer', result: 'u1', name: 'Kim' }),
      },
    );
  });

  it('names "fail" when the recogniser answers none, fail or an unknown UID', () => {
    for (const result of ['none', 'fail', 'stranger']) {
      const effects = mqttOnly(effectsOf([command({ Producer: 'car', command: 'start_facer' }), { type: 'face.result', result }]));
      expect(JSON.parse((effects[2] as { payload: string }).payload)).to.deep.equal({
        Producer: 'server',
        command: 'return_facer',
        result,
        name: 'fail',
      });
    }
  });

  it('refuses a second start_facer while one runs, and accepts one after the result', () => {
    const effects = mqttOnly(
      effectsOf([
        command({ Producer: 'car', command: 'start_facer' }),
        command({ Producer: 'android', command: 'start_facer' }),
        { type: 'face.result', result: 'none' },
        command({ Producer: 'car', command: 'start_facer' }),
      ]),
    ).map((e) => (e as { topic: string }).topic);
    expect(effects).to.deep.equal(['webos/camera/info', 'webos/android/error', 'webos/camera/info', 'webos/car/info', 'webos/camera/info']);
  });

  it('ignores a face result nobody asked for (logged)', () => {
    const effects = effectsOf([{ type: 'face.result', result: 'u1' }]);
    expect(effects).to.have.length(1);
    expect(effects[0]).to.include({ type: 'log', level: 'warn' });
  });

  it('stores a valid add_schedule as schedule_mode/{title}, without Producer and command', () => {
    const body = { title: 'wake', enabled: true, startTime: '0730', repeat: true, daysOfWeek: [false, true, true, true, true, true, false], lightEnable: true, lightBrightness: 5 };
    const [first] = effectsOf([command({ Producer: 'android', command: 'add_schedule', ...body })]);
    expect(first).to.deep.equal({ type: 'firestore.set', collection: 'schedule_mode', id: 'wake', data: body });
  });

  it('deletes schedule_mode/{title} on delete_schedule', () => {
    const [first] = effectsOf([command({ Producer: 'android', command: 'delete_schedule', title: 'wake' })]);
    expect(first).to.deep.equal({ type: 'firestore.delete', collection: 'schedule_mode', id: 'wake' });
  });

  it('only logs test and alert commands', () => {
    const effects = effectsOf([command({ Producer: 'car', command: 'test', x: 1 }), command({ Producer: 'car', command: 'alert' })]);
    expect(effects.map((e) => e.type)).to.deep.equal(['log', 'log']);
  });

  it('ignores its own online/offline status under webos/server/#', () => {
    expect(effectsOf([mqtt('webos/server/status', 'online'), mqtt('webos/server/status', 'offline')])).to.deep.equal([]);
  });
});
