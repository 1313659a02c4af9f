/**
 * bench/profile-top.ts on a real V8 CPU profile (the inspector's Profiler, what `--cpu-prof`
 * writes): the function that burned the CPU comes first, under this file's path, and
 * `--skip-ms` leaves out what ran before it.
 */
import { expect } from 'chai';
import { Session } from 'node:inspector/promises';
import { fileOf, selfTimes } from '../../bench/profile-top.js';

type Profile = Parameters<typeof selfTimes>[0][number];

function burnForMs(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  // the clock read now and then only, so that the loop's own arithmetic is what the samples see
  while (performance.now() < end) for (let i = 0; i < 100_000; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

async function profileOf(work: () => void): Promise<Profile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    work();
    const { profile } = await session.post('Profiler.stop');
    return profile as unknown as Profile;
  } finally {
    session.disconnect();
  }
}

describe('bench/profile-top', () => {
  it('puts the busy function first, under its file, and skips the start when asked', async () => {
    const profile = await profileOf(() => burnForMs(300));
    // JavaScript frames only: the inspector's own `dispatch` (native) may hold the samples taken
    // while a loaded machine starts or stops the profiler
    const times = [...selfTimes([profile])].filter(([frame]) => frame.url !== '');
    times.sort((a, b) => b[1] - a[1]);
    const js = times.reduce((n, [, us]) => n + us, 0);
    const [top, topUs] = times[0]!;
    const seen = times
      .slice(0, 5)
      .map(([f, us]) => `${f.functionName} ${fileOf(f)} ${Math.round(us / 1000)} ms`)
      .join('; ');
    expect(top.functionName, seen).to.equal('burnForMs');
    expect(fileOf(top), seen).to.equal('spec/bench/profile-top.spec.ts');
    expect(topUs / js, seen).to.be.greaterThan(0.5);
    // microseconds, summed: about the 300 ms the loop ran (more if the machine is loaded)
    expect(topUs / 1000, seen).to.be.within(150, 5000);

    const late = [...selfTimes([profile], 10_000)].reduce((n, [, us]) => n + us, 0);
    expect(late).to.equal(0);
  });

  it('names packages and Node internals by what they are', () => {
    const frame = (url: string, functionName = 'f') => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
    expect(fileOf(frame('file:///x/node_modules/mqtt/build/lib/client.js'))).to.equal('pkg:mqtt');
    expect(fileOf(frame('file:///x/node_modules/@scope/name/index.js'))).to.equal('pkg:@scope/name');
    expect(fileOf(frame('node:internal/stream_base_commons'))).to.equal('node:internal/stream_base_commons');
    expect(fileOf(frame('', '(garbage collector)'))).to.equal('(garbage collector)');
    expect(fileOf(frame('', 'writev'))).to.equal('(native)');
  });
});
