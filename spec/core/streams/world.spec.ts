import { expect } from 'chai';
import { from, lastValueFrom, map, Subject, toArray } from 'rxjs';
import { encode } from '../../../lib/core/protocol/home-code.js';
import { DEFAULT_TOPICS } from '../../../lib/core/protocol/topics.js';
import type { Event } from '../../../lib/core/protocol/events.js';
import { systemError } from '../../../lib/core/streams/alerts.js';
import { observe, react, setAt, touches, valueAt, type Observed } from '../../../lib/core/streams/world.js';
import { command, control, doc, mqtt, rtdb, status, testScheduler, tick } from '../../support/marbles.js';

/** The world is updated in place, so each item is read as it passes (as the streams do). */
type Seen = Observed & { readonly status: string | undefined };

async function fold(events: Event[]): Promise<Seen[]> {
  return lastValueFrom(
    from(events).pipe(
      observe(DEFAULT_TOPICS),
      map((o) => ({ ...o, status: o.world.status === undefined ? undefined : encode(o.world.status) })),
      toArray(),
    ),
  );
}

const statusOf = (o: Seen | undefined) => o?.status;

describe('streams/world', () => {
  it('reads the status from the RTDB at any path granularity', async () => {
    for (const event of [rtdb('', { smarthome: { status: '010000000' } }), rtdb('smarthome', { status: '010000000' }), status('010000000')]) {
      const [o] = await fold([event]);
      expect(statusOf(o), event.type === 'rtdb.value' ? event.path : '').to.equal('010000000');
      expect(o!.change.kind).to.equal('report');
    }
  });

  it('applies observed controls on top of the last report, and each report corrects it', async () => {
    const obs = await fold([status('000000000'), control('016222222'), control('022152022'), status('016000000')]);
    expect(obs.map(statusOf)).to.deep.equal(['000000000', '016000000', '016152000', '016000000']);
    expect(obs.map((o) => o.change.kind)).to.deep.equal(['report', 'control', 'control', 'report']);
  });

  it('takes reports from the status topic too', async () => {
    const [o] = await fold([mqtt('data/smarthome/status', '001000010')]);
    expect(statusOf(o)).to.equal('001000010');
  });

  it('does not invent a status from controls before the first report', async () => {
    const obs = await fold([control('016222222'), status('000000000')]);
    expect(obs.map(statusOf)).to.deep.equal([undefined, '000000000']);
    expect(obs[1]!.statusBefore).to.equal(undefined);
  });

  it('keeps the status when a code is invalid, and says why', async () => {
    const obs = await fold([status('000000000'), control('01622222x'), status('')]);
    expect(obs.map(statusOf)).to.deep.equal(['000000000', '000000000', '000000000']);
    expect(obs[1]!.change).to.include({ kind: 'invalid' });
    expect(obs[2]!.change).to.include({ kind: 'invalid' });
  });

  it('mirrors the four collections, deletions included, and ignores others', async () => {
    const obs = await fold([doc('modes', 'm1', { modeNum: 1 }), doc('other', 'x', { a: 1 }), doc('modes', 'm2', { modeNum: 2 }), doc('modes', 'm1', null)]);
    expect([...obs[3]!.world.docs.modes.keys()]).to.deep.equal(['m2']);
  });

  it('sets, replaces and deletes values in the tree without touching the old tree', () => {
    const a = setAt(null, ['sensor', 'hometemp', 'rain'], 1);
    const b = setAt(a, ['sensor', 'hometemp', 'temp'], '21');
    const c = setAt(b, ['sensor', 'hometemp'], null);
    expect(a).to.deep.equal({ sensor: { hometemp: { rain: 1 } } });
    expect(b).to.deep.equal({ sensor: { hometemp: { rain: 1, temp: '21' } } });
    expect(c).to.deep.equal({ sensor: {} });
    expect(valueAt(b, 'sensor/hometemp/temp')).to.equal('21');
    expect(valueAt(b, 'sensor/nothing/here')).to.equal(undefined);
  });

  it('knows which writes can touch a path', () => {
    expect(touches('', 'smarthome/status')).to.equal(true);
    expect(touches('smarthome', 'smarthome/status')).to.equal(true);
    expect(touches('smarthome/status', 'smarthome/status')).to.equal(true);
    expect(touches('smarthomes', 'smarthome/status')).to.equal(false);
    expect(touches('sensor/hometemp', 'sensor')).to.equal(true);
  });
  it('treats /a/b, a/b/ and a//b as the RTDB path a/b', () => {
    for (const path of ['/smarthome/status', 'smarthome/status/', 'smarthome//status', '/smarthome', 'smarthome/']) {
      expect(touches(path, 'smarthome/status'), path).to.equal(true);
    }
    expect(touches('/sensor/hometemp', 'smarthome/status')).to.equal(false);
  });

  it('reads nothing below a null or missing value, without failing', () => {
    expect(valueAt(null, 'smarthome/status')).to.equal(undefined);
    expect(valueAt({ smarthome: null }, 'smarthome/status')).to.equal(undefined);
    expect(valueAt({ smarthome: 'x' }, ['smarthome', 'status'])).to.equal(undefined);
  });

  it('removes the key of a value set to nothing, as of one set to null', () => {
    const tree = { sensor: { rain: 1, temp: '21' } };
    expect(setAt(tree, ['sensor', 'rain'], undefined)).to.deep.equal({ sensor: { temp: '21' } });
    expect(setAt(tree, ['sensor', 'rain'], null)).to.deep.equal({ sensor: { temp: '21' } });
  });

  it('an event that is no status says so: sensors, documents, other topics, a deleted or null status', async () => {
    const obs = await fold([
      status('000000000'),
      rtdb('sensor/hometemp/rain', 1),
      doc('modes', 'm1', { modeNum: 1 }),
      mqtt('some/other/topic', '000000000'),
      rtdb('smarthome/status', null),
      rtdb('', { smarthome: { status: null } }),
    ]);
    expect(obs.slice(1).map((o) => o.change)).to.deep.equal([{ kind: 'none' }, { kind: 'none' }, { kind: 'none' }, { kind: 'none' }, { kind: 'none' }]);
    expect(obs.map(statusOf)).to.deep.equal(['000000000', '000000000', '000000000', '000000000', '000000000', '000000000']);
  });

  it('a report or control that changes nothing keeps the status object, so streams see no change', async () => {
    const same = await lastValueFrom(
      from([status('016000000'), control('016222222'), status('016000000'), control('017222222')]).pipe(
        observe(DEFAULT_TOPICS),
        map((o) => o.statusBefore === o.world.status),
        toArray(),
      ),
    );
    expect(same).to.deep.equal([false, true, true, false]);
  });

  it('routes an MQTT message by what it is: a command, a status, or neither', async () => {
    const obs = await fold([command({ Producer: 'android', command: 'test' }), control('016222222'), mqtt('webos/server/status', 'online'), mqtt('some/other/topic', 'x'), tick]);
    expect(obs.map((o) => o.key)).to.deep.equal(['mqtt.command', 'mqtt.status', 'mqtt.other', 'mqtt.other', 'clock.tick']);
    const both = await lastValueFrom(
      from([mqtt('webos/server/info', '000000000'), mqtt('webos/server/info', '{}')]).pipe(observe({ ...DEFAULT_TOPICS, status: 'webos/server/info' }), toArray()),
    );
    expect(both.map((o) => o.key)).to.deep.equal(['mqtt.command+status', 'mqtt.command+status']);
  });

  describe('react', () => {
    it('reports a step that throws as a system error, keeps its state and goes on', () => {
      const input$ = new Subject<number>();
      const out: unknown[] = [];
      input$
        .pipe(
          react<number, number>('adder', DEFAULT_TOPICS, 0, (sum, n) => {
            if (n < 0) throw new Error('negative');
            return [sum + n, [{ type: 'log', level: 'info', msg: `sum ${sum + n}` }]];
          }),
        )
        .subscribe((e) => out.push(e));
      for (const n of [1, -1, 2]) input$.next(n);
      expect(out).to.deep.equal([
        { type: 'log', level: 'info', msg: 'sum 1' },
        ...systemError(DEFAULT_TOPICS, 'adder failed on an event and skipped it: negative'),
        { type: 'log', level: 'info', msg: 'sum 3' },
      ]);
    });

    it('passes on the error and the end of its input (marbles)', () => {
      const ts = testScheduler();
      ts.run(({ cold, expectObservable }) => {
        const step = (s: null): readonly [null, never[]] => [s, []];
        expectObservable(cold('-a-#', { a: 1 }).pipe(react('quiet', DEFAULT_TOPICS, null, step))).toBe('---#');
        expectObservable(cold('-a-|', { a: 1 }).pipe(react('quiet', DEFAULT_TOPICS, null, step))).toBe('---|');
      });
    });
  });
});
