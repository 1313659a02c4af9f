/**
 * The 9-character codec (SPEC 3): `decode` of codes as they arrive (controls and reports the
 * workload uses, plus one invalid code in 16, since the wire carries some) and `encode` of
 * tracked statuses. Operations per second, median of several timed slices.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decode, encode, type HomeCode } from '../lib/core/protocol/home-code.js';
import { median, sig } from './stats.js';
import { CONTROLS, STATUSES } from './workload.js';

export interface CodecResult {
  readonly decode_ops_per_s: number;
  readonly encode_ops_per_s: number;
  /** decode and encode alternately, one operation each: what a control costs to read and to write back. */
  readonly ops_per_s: number;
  readonly samples: number;
}

const INVALID = ['01622222', '0162222222', '0x6222222', '036222222'];

function inputs(): { texts: string[]; codes: HomeCode[] } {
  const valid = [...CONTROLS, ...STATUSES];
  const texts: string[] = [];
  for (let i = 0; texts.length < 64; i++) texts.push(i % 16 === 15 ? INVALID[(i >> 4) % INVALID.length]! : valid[i % valid.length]!);
  const codes = valid.map((t) => {
    const c = decode(t);
    if (E.isLeft(c)) throw new Error(c.left.message);
    return c.right;
  });
  return { texts, codes };
}

/** Runs `op` for about `ms` milliseconds, in batches; returns operations per second. */
function timed(ms: number, batch: number, op: (i: number) => number): { opsPerS: number; check: number } {
  let ops = 0;
  let check = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) check += op(i);
    ops += batch;
    now = performance.now();
  }
  return { opsPerS: (ops / (now - start)) * 1000, check };
}

export function runCodec(options: { samples: number; sliceMs: number }): CodecResult {
  const { texts, codes } = inputs();
  const dec = (i: number): number => {
    const r = decode(texts[i & 63]);
    return E.isRight(r) ? r.right.gas : -1;
  };
  const enc = (i: number): number => encode(codes[i % codes.length]!).length;
  const both = (i: number): number => ((i & 1) === 0 ? dec(i >> 1) : enc(i >> 1));
  // warm-up, so every slice runs optimised code
  timed(200, 1000, dec);
  timed(200, 1000, enc);
  timed(200, 1000, both);
  const d: number[] = [];
  const e: number[] = [];
  const b: number[] = [];
  let check = 0;
  for (let s = 0; s < options.samples; s++) {
    const x = timed(options.sliceMs, 1000, dec);
    const y = timed(options.sliceMs, 1000, enc);
    const z = timed(options.sliceMs, 1000, both);
    d.push(x.opsPerS);
    e.push(y.opsPerS);
    b.push(z.opsPerS);
    check += x.check + y.check + z.check;
  }
  if (check === 0) throw new Error('codec bench: results were not used');
  return { decode_ops_per_s: sig(median(d)), encode_ops_per_s: sig(median(e)), ops_per_s: sig(median(b)), samples: options.samples };
}
