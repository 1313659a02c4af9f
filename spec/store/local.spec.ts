/**
 * What only the local store has: its files (journal + snapshot), recovery from a crash (a torn
 * journal tail, a real SIGKILL in the middle of a burst), compaction, the lock, and speed.
 * The behaviour it shares with Firebase is in contract.spec.ts.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom, range, map, Observable, toArray } from 'rxjs';
import { silentLogger } from '../../lib/base/log.js';
import { makeFirestoreDriver } from '../../lib/sinks/firestore.js';
import { readJournal } from '../../lib/store/files.js';
import { openStore } from '../../lib/store/index.js';
import { openLocalStore, SNAPSHOT_FORMAT } from '../../lib/store/local.js';
import type { Effect } from '../../lib/protocol/effects.js';
import type { DocSnapshot } from '../../lib/store/types.js';
import { removeDir, tempDir } from './helpers.js';

const logger = silentLogger;
const BURST_SCRIPT = path.resolve('spec/support/alarm-burst.ts');

describe('local store', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => removeDir(dir));

  it('keeps a journal of acknowledged commits, one NDJSON line each', async () => {
    const store = await openLocalStore(dir, { logger });
    await store.docs.set('user_account', 'u1', { name: 'kim' });
    await store.tree.set('server/notification', 'none');
    const { records } = await readJournal(path.join(dir, 'journal.ndjson'));
    expect(records).to.have.length(2);
    expect(records[0]).to.deep.include({ seq: 1, docs: [{ op: 'set', collection: 'user_account', id: 'u1', data: { name: 'kim' } }] });
    expect(records[1]).to.deep.include({ seq: 2, tree: [{ path: 'server/notification', value: 'none' }] });
    await store.close();
    // Closing compacts: everything is in the snapshot, the journal is empty.
    const snapshot = JSON.parse(await fs.readFile(path.join(dir, 'snapshot.json'), 'utf8')) as Record<string, unknown>;
    expect(snapshot).to.deep.include({ format: SNAPSHOT_FORMAT, version: 1, seq: 2, collections: { user_account: { u1: { name: 'kim' } } }, tree: { server: { notification: 'none' } } });
    expect((await fs.stat(path.join(dir, 'journal.ndjson'))).size).to.equal(0);
  });

  it("keeps each document's write time: the journal line's, then the snapshot's; an older snapshot has none", async () => {
    const watchFirst = async (store: Awaited<ReturnType<typeof openLocalStore>>) =>
      firstValueFrom(new Observable<DocSnapshot>((s) => store.docs.watch('schedule_mode', (snap) => s.next(snap), (e) => s.error(e))));
    const at = '2021-09-21T11:00:00.000Z';
    await fs.writeFile(path.join(dir, 'journal.ndjson'),
      `{"seq":1,"at":"${at}","docs":[{"op":"set","collection":"schedule_mode","id":"once","data":{"repeat":false}}]}\n`);
    const store = await openLocalStore(dir, { logger });
    expect((await watchFirst(store)).changes).to.deep.equal([{ id: 'once', data: { repeat: false }, writtenAt: Date.parse(at) }]);
    await store.close();
    const snapshot = JSON.parse(await fs.readFile(path.join(dir, 'snapshot.json'), 'utf8')) as Record<string, unknown>;
    expect(snapshot.writtenAt).to.deep.equal({ schedule_mode: { once: Date.parse(at) } });
    const again = await openLocalStore(dir, { logger });
    expect((await watchFirst(again)).changes).to.deep.equal([{ id: 'once', data: { repeat: false }, writtenAt: Date.parse(at) }]);
    await again.close();
    // A snapshot written before write times were kept: the documents come without one.
    await fs.writeFile(path.join(dir, 'snapshot.json'), JSON.stringify({ ...snapshot, writtenAt: undefined }));
    const old = await openLocalStore(dir, { logger });
    expect((await watchFirst(old)).changes).to.deep.equal([{ id: 'once', data: { repeat: false } }]);
    await old.close();
  });

  it('cuts off a torn last line (a write that was never acknowledged)', async () => {
    await fs.writeFile(path.join(dir, 'journal.ndjson'),
      '{"seq":1,"at":"2026-01-01T00:00:00.000Z","docs":[{"op":"set","collection":"modes","id":"1","data":{"modeNum":1}}]}\n' +
      '{"seq":2,"at":"2026-01-01T00:00:00.000Z","docs":[{"op":"set","collection":"modes","id":"2","da');
    const store = await openLocalStore(dir, { logger });
    expect(await store.docs.get('modes', '1')).to.deep.equal({ modeNum: 1 });
    expect(await store.docs.get('modes', '2')).to.equal(null);
    await store.docs.set('modes', '3', { modeNum: 3 });
    await store.close();
    const again = await openLocalStore(dir, { logger });
    expect(await again.docs.get('modes', '3')).to.deep.equal({ modeNum: 3 });
    await again.close();
  });

  it('refuses to start on a damaged line followed by good ones, naming the file and line', async () => {
    await fs.writeFile(path.join(dir, 'journal.ndjson'),
      '{"seq":1,"at":"x","tree":[{"path":"a","value":1}]}\n{"seq":2,"at":"x","tr\n{"seq":3,"at":"x","tree":[{"path":"b","value":1}]}\n');
    const err = await openLocalStore(dir, { logger }).then(() => undefined, (e: unknown) => e);
    expect(String(err)).to.match(/journal\.ndjson: line 2 .*damaged/);
  });

  it('skips journal lines a snapshot already covers (a crash between snapshot and truncation)', async () => {
    const store = await openLocalStore(dir, { logger });
    await store.tree.set('a', 1);
    await store.tree.set('a', 2);
    const journal = await fs.readFile(path.join(dir, 'journal.ndjson'), 'utf8');
    await store.close(); // snapshot at seq 2, journal emptied
    await fs.writeFile(path.join(dir, 'journal.ndjson'), `${journal}{"seq":3,"at":"x","tree":[{"path":"b","value":3}]}\n`);
    const again = await openLocalStore(dir, { logger });
    expect(await again.tree.get('')).to.deep.equal({ a: 2, b: 3 });
    await again.close();
  });

  it('compacts the journal into the snapshot once it grows past compactBytes', async () => {
    const store = await openLocalStore(dir, { logger, compactBytes: 2_000 });
    for (let i = 0; i < 100; i++) await store.docs.set('appliance_alarm', `${i}`, { n: i });
    expect((await fs.stat(path.join(dir, 'journal.ndjson'))).size).to.be.below(2_000);
    const snapshot = JSON.parse(await fs.readFile(path.join(dir, 'snapshot.json'), 'utf8')) as { seq: number };
    expect(snapshot.seq).to.be.above(50);
    await store.docs.set('appliance_alarm', 'last', { n: 100 });
    // Without close: the journal tail and the snapshot together hold everything.
    const copy = await tempDir();
    try {
      for (const f of ['journal.ndjson', 'snapshot.json']) await fs.copyFile(path.join(dir, f), path.join(copy, f));
      const reopened = await openLocalStore(copy, { logger });
      expect(await reopened.docs.get('appliance_alarm', '0')).to.deep.equal({ n: 0 });
      expect(await reopened.docs.get('appliance_alarm', 'last')).to.deep.equal({ n: 100 });
      await reopened.close();
    } finally {
      await store.close();
      await removeDir(copy);
    }
  });

  it('is used by one process at a time', async () => {
    const store = await openLocalStore(dir, { logger });
    const err = await openLocalStore(dir, { logger }).then(() => undefined, (e: unknown) => e);
    expect(String(err)).to.match(/already open/);
    await store.close();
    // A lock left by a process that died is taken over.
    await fs.writeFile(path.join(dir, 'LOCK'), '999999999\n');
    const again = await openLocalStore(dir, { logger });
    await again.close();
  });

  it('openStore without Firebase settings opens the local store in DATA_DIR/store', async () => {
    const store = await openStore({ dataDir: dir, firebase: {} }, logger);
    expect(store.kind).to.equal('local');
    expect(store.outboxDir).to.equal(undefined);
    await store.docs.set('modes', '1', { modeNum: 1 });
    await store.close();
    expect((await fs.readdir(path.join(dir, 'store'))).sort()).to.deep.equal(['journal.ndjson', 'snapshot.json']);
  });

  it('takes 10,000 alarm writes through the Firestore sink in a few seconds', async () => {
    const store = await openStore({ dataDir: dir }, logger);
    const alarms$ = range(0, 10_000).pipe(map((i): Effect => ({
      type: 'firestore.set', collection: 'appliance_alarm', id: `${8367682800 - i}`,
      data: { icon: 'aircon_icon', date: '2021.9.22.20.36.14', inform: '에어컨이 켜졌어요.' },
    })));
    const started = process.hrtime.bigint();
    const reports = await firstValueFrom(makeFirestoreDriver(store, { logger })(alarms$).pipe(toArray()));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    expect(reports.filter((r) => r.kind === 'done')).to.have.length(10_000);
    expect(await store.docs.get('appliance_alarm', `${8367682800 - 9_999}`)).to.not.equal(null);
    await store.close();
    console.log(`      (local store: 10,000 alarm writes in ${seconds.toFixed(2)} s, ${Math.round(10_000 / seconds)} writes/s)`);
    expect(seconds).to.be.below(10);
  });

  describe('killed with SIGKILL in the middle of a burst of 1,000 alarm writes', () => {
    interface Run {
      readonly acknowledged: string[];
      readonly complete: boolean;
      readonly stderr: string;
    }

    /** Runs the burst script and kills it once `killAfter` ids are printed. */
    function burst(dataDir: string, first: number, killAfter: number): Promise<Run> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import=tsx', BURST_SCRIPT, dataDir, '1000', String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
        const acknowledged: string[] = [];
        let buffered = '';
        let stderr = '';
        let complete = false;
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? ''; // a line cut by the kill is not a complete acknowledgement
          for (const line of lines) {
            if (line === 'ready') continue;
            if (line === 'complete') complete = true;
            else acknowledged.push(line);
          }
          if (acknowledged.length >= killAfter && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        });
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on('error', reject);
        child.on('close', () => resolve({ acknowledged, complete, stderr }));
      });
    }

    it('loses none of the acknowledged writes, kill after kill', async function () {
      this.timeout(40_000);
      const acknowledged: string[] = [];
      for (const [round, killAfter] of [50, 400, 850].entries()) {
        const run = await burst(dir, round * 1000, killAfter);
        expect(run.stderr, 'stderr of the burst').to.equal('');
        expect(run.complete, 'killed before the burst completed').to.equal(false);
        expect(run.acknowledged.length).to.be.at.least(killAfter).and.below(1000);
        acknowledged.push(...run.acknowledged);

        const store = await openStore({ dataDir: dir }, logger);
        const missing: string[] = [];
        for (const id of acknowledged) if ((await store.docs.get('appliance_alarm', id)) === null) missing.push(id);
        await store.close();
        expect(missing, `round ${round + 1}: acknowledged but missing`).to.deep.equal([]);
      }
    });
  });
});
