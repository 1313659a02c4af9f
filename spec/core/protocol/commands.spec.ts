import { expect } from 'chai';
import fc from 'fast-check';
import { Command, COMMAND_NAMES, decodeCommand, decodeEnvelope, type Envelope } from '../../../lib/core/protocol/commands.js';
import { leftOf, rightOf } from './helpers.js';

/** Both steps, as the server stream runs them. */
const decodeText = (text: string) => {
  const { envelope, body } = rightOf(decodeEnvelope(text));
  return decodeCommand(envelope, body);
};
const send = (body: Record<string, unknown>) => decodeText(JSON.stringify({ Producer: 'android', ...body }));

const schedule = {
  title: 'wake',
  enabled: true,
  startTime: '0730',
  repeat: true,
  daysOfWeek: [false, true, true, true, true, true, false],
  lightEnable: true,
  lightBrightness: 5,
};

describe('commands', () => {
  describe('decodeEnvelope', () => {
    it('returns the envelope and the whole body', () => {
      const text = '{"Producer":"android","command":"signin","UID":"u1"}';
      const { envelope, body } = rightOf(decodeEnvelope(text));
      expect(envelope).to.include({ Producer: 'android', command: 'signin' });
      expect(body).to.deep.equal({ Producer: 'android', command: 'signin', UID: 'u1' });
    });

    it('text that is not JSON is rejected, and the message shows the text', () => {
      expect(leftOf(decodeEnvelope('016222222x')).message).to.match(/^not JSON \(.*\): 016222222x$/);
    });

    it('JSON that is not an object (array, null, number, string) is rejected', () => {
      for (const text of ['[{"Producer":"car","command":"test"}]', 'null', '16222222', '"signin"']) {
        expect(leftOf(decodeEnvelope(text)).message, text).to.match(/^expected a JSON object with Producer and command/);
      }
    });

    it('a missing Producer or command is named', () => {
      expect(leftOf(decodeEnvelope('{"command":"signin","UID":"u1"}')).message).to.match(/^command envelope: Producer: .*got nothing/);
      expect(leftOf(decodeEnvelope('{"Producer":"car"}')).message).to.match(/^command envelope: command: expected string, got nothing/);
      expect(leftOf(decodeEnvelope('{"Producer":"car","command":5}')).message).to.include('command: expected string, got 5');
    });

    it("a Producer that cannot be a topic level ('/', '#', '+', empty) is rejected", () => {
      for (const Producer of ['car/info', '#', 'car#', '+', '']) {
        const err = leftOf(decodeEnvelope(JSON.stringify({ Producer, command: 'test' })));
        expect(err.message, Producer).to.match(/^command envelope: Producer: expected device name/);
      }
    });

    it('never yields a Producer with a topic separator or wildcard, whatever the text', () => {
      fc.assert(
        fc.property(fc.string(), fc.string(), (Producer, command) => {
          const r = decodeEnvelope(JSON.stringify({ Producer, command }));
          if (r._tag === 'Right') expect(r.right.envelope.Producer).to.match(/^[A-Za-z0-9_-]+$/);
        }),
      );
    });
  });

  describe('decodeCommand', () => {
    it('signup carries UID and name', () => {
      expect(rightOf(send({ command: 'signup', UID: 'u1', name: '홍길동' }))).to.deep.equal({ command: 'signup', UID: 'u1', name: '홍길동' });
    });

    it('signup without a name, or with a UID that is not a document id, is an error naming the field', () => {
      expect(leftOf(send({ command: 'signup', UID: 'u1' })).message).to.match(/^signup: name: expected string, got nothing/);
      expect(leftOf(send({ command: 'signup', UID: 'users/u1', name: 'x' })).message).to.match(/^signup: UID: expected document id/);
    });

    it('signin carries the UID; a missing or numeric UID is an error', () => {
      expect(rightOf(send({ command: 'signin', UID: 'u1' }))).to.deep.equal({ command: 'signin', UID: 'u1' });
      expect(leftOf(send({ command: 'signin' })).message).to.match(/^signin: UID: .*got nothing/);
      expect(leftOf(send({ command: 'signin', UID: 42 })).message).to.match(/^signin: UID: .*got 42/);
    });

    it('start_facer needs no fields', () => {
      expect(rightOf(decodeText('{"Producer":"car","command":"start_facer"}'))).to.deep.equal({ command: 'start_facer' });
    });

    it('add_schedule gives the title, the decoded schedule and the doc to store (without Producer and command)', () => {
      const c = rightOf(send({ command: 'add_schedule', ...schedule }));
      if (c.command !== 'add_schedule') expect.fail(`got ${c.command}`);
      expect(c.title).to.equal('wake');
      expect(c.doc).to.deep.equal(schedule);
      expect(c.schedule.startTime).to.deep.equal({ hour: 7, minute: 30 });
      expect(c.schedule.when).to.deep.equal({ repeat: true, daysOfWeek: schedule.daysOfWeek });
      expect(c.schedule).to.include({ lightEnable: 1, lightBrightness: 5 });
    });

    it('add_schedule without a title, with a "/" title, or with a bad schedule is an add_schedule error', () => {
      const { title: _t, ...untitled } = schedule;
      expect(leftOf(send({ command: 'add_schedule', ...untitled })).message).to.match(/^add_schedule: title: .*got nothing/);
      expect(leftOf(send({ command: 'add_schedule', ...schedule, title: 'a/b' })).message).to.match(/^add_schedule: title: /);
      expect(leftOf(send({ command: 'add_schedule', ...schedule, startTime: '2460' })).message).to.match(/^add_schedule: startTime: /);
      expect(leftOf(send({ command: 'add_schedule', ...schedule, daysOfWeek: undefined })).message).to.match(
        /^add_schedule: daysOfWeek: /,
      );
    });

    it('delete_schedule carries the title; a missing title is an error', () => {
      expect(rightOf(send({ command: 'delete_schedule', title: 'wake' }))).to.deep.equal({ command: 'delete_schedule', title: 'wake' });
      expect(leftOf(send({ command: 'delete_schedule' })).message).to.match(/^delete_schedule: title: /);
    });

    it('test and alert carry their whole body', () => {
      const body = { Producer: 'car', command: 'alert', text: 'hello', n: 1 };
      expect(rightOf(decodeText(JSON.stringify(body)))).to.deep.equal({ command: 'alert', body });
      expect(rightOf(send({ command: 'test' }))).to.include({ command: 'test' });
    });

    it('gives what its codec, Command, accepts, and the codec refuses what no decoder gives', () => {
      const bodies = [
        { command: 'signup', UID: 'u1', name: 'Kim' },
        { command: 'signin', UID: 'u1' },
        { command: 'start_facer' },
        { command: 'add_schedule', ...schedule },
        { command: 'add_schedule', ...schedule, repeat: false, activeDate: '2021.09.22' },
        { command: 'add_schedule', ...schedule, repeat: false },
        { command: 'delete_schedule', title: 'wake' },
        { command: 'test' },
        { command: 'alert', text: 'hello' },
      ];
      for (const body of bodies) expect(Command.is(rightOf(send(body))), body.command).to.equal(true);
      expect(COMMAND_NAMES).to.have.members([...new Set(bodies.map((b) => b.command))]);
      for (const value of [{ command: 'signin', UID: 'users/u1' }, { command: 'signup', UID: 'u1' }, { command: 'open_door' }, { command: 'add_schedule', title: 'wake', doc: {}, schedule }]) {
        expect(Command.is(value), JSON.stringify(value)).to.equal(false);
      }
    });

    it('an unknown command is an error that lists the known ones', () => {
      const message = leftOf(send({ command: 'open_door' })).message;
      expect(message).to.match(/^unknown command "open_door" \(known: /);
      for (const name of COMMAND_NAMES) expect(message).to.include(name);
      expect(leftOf(send({ command: 'open_door' }))).to.deep.equal({
        _tag: 'DecodeError',
        message: 'unknown command "open_door" (known: signup, signin, start_facer, add_schedule, delete_schedule, test, alert)',
      });
    });

    it('the envelope\'s errors are DecodeErrors too: not JSON, not an object', () => {
      expect(leftOf(decodeEnvelope('{"Producer"'))._tag).to.equal('DecodeError');
      expect(leftOf(decodeEnvelope('[1]'))).to.deep.equal({ _tag: 'DecodeError', message: 'expected a JSON object with Producer and command, got: [1]' });
    });

    it('an unknown command with a huge name still gives a message of at most 200 characters', () => {
      const envelope: Envelope = { Producer: 'car', command: 'x'.repeat(10_000) };
      expect(leftOf(decodeCommand(envelope, { ...envelope })).message.length).to.be.at.most(200);
    });
  });
});
