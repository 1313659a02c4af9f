import { expect } from 'chai';
import { deviceAlert } from '../../../lib/core/streams/alerts.js';
import { commands$, FACER_QUEUE } from '../../../lib/core/streams/server-commands.js';
import { DEFAULT_PRODUCERS } from '../../../lib/core/streams/deps.js';
import { DEFAULT_TOPICS, type Topics } from '../../../lib/core/protocol/topics.js';
import type { Effect } from '../../../lib/core/protocol/effects.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { observe } from '../../../lib/core/streams/world.js';
import { command, doc, makeDeps, mqtt, testScheduler } from '../../support/marbles.js';

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
      a: pub('webos/car/error', { Producer: 'server', command: 'alert', msg: 'signin: unknown UID "nobody"' }),
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
    expect(JSON.parse((first as { payload: string }).payload).msg).to.match(/unknown command "dance".*signin/);
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

  it('queues a start_facer that arrives while one runs and starts it as the first one is answered', () => {
    const start = command({ Producer: 'car', command: 'start_facer' });
    const effects = effectsOf([start, start, { type: 'face.result', result: 'none' }, { type: 'face.result', result: 'fail' }, start]);
    const shown = effects.filter((e) => e.type !== 'log').map((e) => (e.type === 'mqtt.publish' ? `${e.topic} ${JSON.parse(e.payload).sign ?? JSON.parse(e.payload).result}` : e.type));
    expect(shown).to.deep.equal([
      'webos/camera/info start', 'face.run', // first request
      'webos/camera/info end', 'webos/car/info none', 'webos/camera/info start', 'face.run', // its answer, then the waiting one
      'webos/camera/info end', 'webos/car/info fail', // the second's answer; nothing waits
      'webos/camera/info start', 'face.run', // a later one starts at once
    ]);
  });

  it(`refuses a start_facer beyond ${FACER_QUEUE} waiting, with a JSON error for the car`, () => {
    const start = command({ Producer: 'car', command: 'start_facer' });
    const effects = mqttOnly(effectsOf(Array.from({ length: FACER_QUEUE + 2 }, () => start)));
    expect(effects.map((e) => (e as { topic: string }).topic)).to.deep.equal(['webos/camera/info', 'webos/car/error']);
    expect(JSON.parse((effects[1] as { payload: string }).payload)).to.deep.equal({
      Producer: 'server',
      command: 'alert',
      msg: `start_facer: a face recognition runs and ${FACER_QUEUE} more wait; try again later`,
    });
  });

  it('accepts each command only from the Producers of the table (SPEC 4 defaults)', () => {
    const from = (Producer: string, body: Record<string, unknown>) => mqttOnly(effectsOf([doc('user_account', 'u1', { name: 'Kim' }), command({ Producer, ...body })]));
    const start = { command: 'start_facer' };
    const signin = { command: 'signin', UID: 'u1' };
    expect(from('android', start).map((e) => (e as { topic: string }).topic)).to.deep.equal(['webos/android/error']);
    expect(JSON.parse((from('android', start)[0] as { payload: string }).payload).msg).to.equal('start_facer is not accepted from android (accepted only from car)');
    expect(from('fridge', signin).map((e) => (e as { topic: string }).topic)).to.deep.equal(['webos/fridge/error']);
    expect(from('car', signin).map((e) => (e as { topic: string }).topic)).to.deep.equal(['webos/car/info']);
    expect(from('android', signin).map((e) => (e as { topic: string }).topic)).to.deep.equal(['webos/android/info']);
    expect(mqttOnly(effectsOf([command({ Producer: 'fridge', command: 'test' })]))).to.deep.equal([]);
  });

  it('takes its Producer table from the settings', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      const deps = makeDeps(ts, { settings: { producers: { ...DEFAULT_PRODUCERS, start_facer: ['car', 'android'], signin: [] } } });
      const events = cold<Event>('ab', { a: command({ Producer: 'android', command: 'start_facer' }), b: command({ Producer: 'car', command: 'signin', UID: 'u1' }) });
      commands$(events.pipe(observe(DEFAULT_TOPICS)), deps).subscribe((e) => out.push(e));
    });
    const published = mqttOnly(out) as Array<{ topic: string; payload: string }>;
    expect(published.map((e) => e.topic)).to.deep.equal(['webos/camera/info', 'webos/car/error']);
    expect(JSON.parse(published[1]!.payload).msg).to.equal('signin is not accepted from car (accepted from no device)');
  });

  it('refuses the Producers server and smarthome with a warning and publishes nothing to their topics', () => {
    for (const Producer of ['server', 'smarthome']) {
      const effects = effectsOf([doc('user_account', 'u1', { name: 'Kim' }), command({ Producer, command: 'signin', UID: 'u1' })]);
      const published = mqttOnly(effects) as Array<{ topic: string; payload: string }>;
      expect(published.map((e) => e.topic), Producer).to.deep.equal(['data/error/warning']);
      expect(published[0]!.payload).to.equal(`ignored "signin" from Producer ${Producer}: its reply topic is one of the system's own`);
    }
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

  it("refuses a Producer whose reply or error topic is the home's status topic, when one is configured", () => {
    const from = (status: string, Producer: string) => {
      const topics: Topics = { ...DEFAULT_TOPICS, status };
      const ts = testScheduler();
      const out: Effect[] = [];
      ts.run(({ cold }) => {
        const events = cold<Event>('ab', { a: doc('user_account', 'u1', { name: 'Kim' }), b: command({ Producer, command: 'signin', UID: 'u1' }) });
        commands$(events.pipe(observe(topics)), makeDeps(ts, { settings: { topics, producers: { ...DEFAULT_PRODUCERS, signin: ['*'] } } })).subscribe((e) => out.push(e));
      });
      return (mqttOnly(out) as Array<{ topic: string }>).map((e) => e.topic);
    };
    expect(from('webos/gate/info', 'gate')).to.deep.equal(['data/error/warning']);
    expect(from('webos/gate/error', 'gate')).to.deep.equal(['data/error/warning']);
    expect(from('webos/gate/error', 'door')).to.deep.equal(['webos/door/info']);
    expect(from('', 'gate')).to.deep.equal(['webos/gate/info']);
  });

  it('lists the Producers a refused command is accepted from, comma-separated', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      const deps = makeDeps(ts, { settings: { producers: { ...DEFAULT_PRODUCERS, start_facer: ['car', 'android'] } } });
      commands$(cold<Event>('a', { a: command({ Producer: 'fridge', command: 'start_facer' }) }).pipe(observe(DEFAULT_TOPICS)), deps).subscribe((e) => out.push(e));
    });
    expect(JSON.parse((mqttOnly(out)[0] as { payload: string }).payload).msg).to.equal('start_facer is not accepted from fridge (accepted only from car, android)');
  });

  it('accepts a command missing from the Producer table from no device', () => {
    const ts = testScheduler();
    const out: Effect[] = [];
    ts.run(({ cold }) => {
      const { start_facer: _omitted, ...producers } = DEFAULT_PRODUCERS;
      const deps = makeDeps(ts, { settings: { producers } });
      commands$(cold<Event>('a', { a: command({ Producer: 'car', command: 'start_facer' }) }).pipe(observe(DEFAULT_TOPICS)), deps).subscribe((e) => out.push(e));
    });
    expect(JSON.parse((mqttOnly(out)[0] as { payload: string }).payload).msg).to.equal('start_facer is not accepted from car (accepted from no device)');
  });

  it('keeps its queue of start_facer across the end of a face recognition', () => {
    const start = command({ Producer: 'car', command: 'start_facer' });
    const shown = (effects: Effect[]) =>
      mqttOnly(effects).map((e) => (e.type === 'mqtt.publish' ? `${e.topic} ${JSON.parse(e.payload).sign ?? JSON.parse(e.payload).result ?? ''}` : ''));
    // After one ends, a second runs, a third waits behind it and starts when the second's answer goes out.
    expect(shown(effectsOf([start, { type: 'face.result', result: 'none' }, start, start, { type: 'face.result', result: 'fail' }]))).to.deep.equal([
      'webos/camera/info start', 'webos/camera/info end', 'webos/car/info none',
      'webos/camera/info start', 'webos/camera/info end', 'webos/car/info fail', 'webos/camera/info start',
    ]);
  });

  it('logs for the operator: a queued start_facer, a deleted schedule, test and alert bodies, a stray face result', () => {
    const logs = (events: Event[]) => effectsOf(events).filter((e) => e.type === 'log');
    const start = command({ Producer: 'car', command: 'start_facer' });
    expect(logs([start, start, start])).to.deep.equal([
      { type: 'log', level: 'info', msg: 'start_facer from car waits for the running recognition (1 waiting)' },
      { type: 'log', level: 'info', msg: 'start_facer from car waits for the running recognition (2 waiting)' },
    ]);
    expect(logs([command({ Producer: 'android', command: 'delete_schedule', title: 'wake' })])).to.deep.equal([
      { type: 'log', level: 'info', msg: 'android deleted schedule wake' },
    ]);
    expect(logs([command({ Producer: 'car', command: 'alert', x: 1 })])).to.deep.equal([
      { type: 'log', level: 'info', msg: 'alert from car: {"Producer":"car","command":"alert","x":1}' },
    ]);
    expect(logs([{ type: 'face.result', result: 'u1' }])).to.deep.equal([
      { type: 'log', level: 'warn', msg: 'face result "u1" arrived with no recognition running; ignored' },
    ]);
  });
});

describe('streams/commands limits (issue 14)', () => {
  const limits = { docBytes: 200, schedules: 2, users: 2, unknownUidPerMin: 2 };

  function run(events: string, values: Record<string, Event>, expected: string, effects: Record<string, Effect>): void {
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const event$ = hot<Event>(events, values);
      expectObservable(commands$(event$.pipe(observe(DEFAULT_TOPICS)), makeDeps(ts, { settings: { limits } }))).toBe(expected, effects);
    });
  }
  const schedule = (title: string, extra: Record<string, unknown> = {}) =>
    command({ Producer: 'android', command: 'add_schedule', title, enabled: true, startTime: '0730', repeat: false, activeDate: '2026.12.01', ...extra });
  const saved = (title: string): Effect => ({
    type: 'firestore.set', collection: 'schedule_mode', id: title, data: { title, enabled: true, startTime: '0730', repeat: false, activeDate: '2026.12.01' },
  });
  const log = (msg: string): Effect => ({ type: 'log', level: 'info', msg });

  it('refuses a document larger than the limit, with an error to the sender and a constant alert', () => {
    run('a 8ms b', { a: schedule('big', { name: 'x'.repeat(300) }), b: schedule('big', { name: 'y'.repeat(400) }) }, '(ef) 5ms (gf)', {
      e: pub('webos/android/error', deviceAlert('add_schedule: the schedule is 400 bytes as JSON, more than the 200 allowed; it was not saved')),
      g: pub('webos/android/error', deviceAlert('add_schedule: the schedule is 500 bytes as JSON, more than the 200 allowed; it was not saved')),
      f: slack('limit: android: a schedule larger than 200 bytes (LIMIT_DOC_BYTES) was refused'),
    });
  });

  it('refuses a schedule or a user beyond the count, but lets an existing one be replaced', () => {
    run('-a-b-c 9ms d', {
      a: doc('schedule_mode', 's1', { enabled: false }),
      b: doc('schedule_mode', 's2', { enabled: false }),
      c: schedule('s3'),
      d: schedule('s2'),
    }, '-----(ef) 6ms (sl)', {
      e: pub('webos/android/error', deviceAlert('add_schedule: there are already 2 schedules, the most allowed; delete one first (this schedule was not saved)')),
      f: slack('limit: android: a new schedule was refused: the 2 schedules allowed (LIMIT_SCHEDULES) exist'),
      s: saved('s2'),
      l: log('android added schedule s2'),
    });
    run('-a-b-c-', {
      a: doc('user_account', 'u1', { name: 'A' }),
      b: doc('user_account', 'u2', { name: 'B' }),
      c: command({ Producer: 'car', command: 'signup', UID: 'u3', name: 'C' }),
    }, '-----(ef)-', {
      e: pub('webos/car/error', deviceAlert('signup: there are already 2 users, the most allowed; delete one first (this user was not saved)')),
      f: slack('limit: car: a new user was refused: the 2 users allowed (LIMIT_USERS) exist'),
    });
  });

  it('answers unknown UIDs up to the limit per Producer per minute, then once "too many", then nothing until the minute ends', () => {
    const signin = (producer: string, uid: string) => command({ Producer: producer, command: 'signin', UID: uid });
    run('a 3ms b 3ms c 3ms d 3ms e 60s f 3ms g', {
      a: signin('car', 'x1'), b: signin('car', 'x2'), c: signin('car', 'x3'), d: signin('car', 'x4'), e: signin('android', 'x5'),
      f: signin('car', 'x6'), g: signin('car', 'x7'),
    }, '(12)(34)(LM)----(56) 59997ms (78)(9X)', {
      1: pub('webos/car/error', deviceAlert('signin: unknown UID "x1"')), 2: slack('error for car: signin: unknown UID "x1"'),
      3: pub('webos/car/error', deviceAlert('signin: unknown UID "x2"')), 4: slack('error for car: signin: unknown UID "x2"'),
      L: pub('webos/car/error', deviceAlert('signin: more than 2 unknown UIDs this minute; further sign-ins with unknown UIDs get no answer until the minute ends')),
      M: slack("limit: car: more than 2 sign-ins with unknown UIDs in a minute (LIMIT_UNKNOWN_UID_PER_MIN); the rest of the minute's are not answered"),
      5: pub('webos/android/error', deviceAlert('signin: unknown UID "x5"')), 6: slack('error for android: signin: unknown UID "x5"'),
      7: pub('webos/car/error', deviceAlert('signin: unknown UID "x6"')), 8: slack('error for car: signin: unknown UID "x6"'),
      9: pub('webos/car/error', deviceAlert('signin: unknown UID "x7"')), X: slack('error for car: signin: unknown UID "x7"'),
    });
  });

  it("refuses a sign-up whose user doc ({name}) is larger than the limit", () => {
    run('a', { a: command({ Producer: 'car', command: 'signup', UID: 'u9', name: 'x'.repeat(300) }) }, '(ef)', {
      e: pub('webos/car/error', deviceAlert('signup: the user is 311 bytes as JSON, more than the 200 allowed; it was not saved')),
      f: slack('limit: car: a user larger than 200 bytes (LIMIT_DOC_BYTES) was refused'),
    });
  });

});
