/**
 * `node dist/bench/clock.js`: what one CLOCK_MONOTONIC read costs from JS, each way the receive
 * path could take it (ns per call, 2 M calls, median of 5 rounds):
 *   - clockGettime(id, out): the addon, two arguments (what the engine used);
 *   - clockNow(): the addon, no arguments, into words registered once (clockRegister);
 *   - performance.now() calibrated to CLOCK_MONOTONIC ns (an offset taken once) and split into
 *     the two u32 words the engine needs;
 *   - pollWaitClock(fd, 0) vs pollWait(fd, 0) on /dev/zero (always readable): what reading the
 *     clock inside the wait adds to the worker's wake-up call.
 */
import { openSync } from 'node:fs';
import { native } from '../src/native.js';
import { CLOCK_MONOTONIC } from '../src/xsk/constants.js';

const N = 2_000_000;
const ROUNDS = 5;
const n = native();
const out = new Uint32Array(2);
const reg = new Uint32Array(2);
n.clockRegister(CLOCK_MONOTONIC, reg);
const TWO32 = 4294967296;

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[v.length >> 1]!;
}

function time(fn: () => void, calls = N): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / calls;
}

// the offset between performance.now() (ms since timeOrigin, the same monotonic clock) and CLOCK_MONOTONIC ns
n.clockGettime(CLOCK_MONOTONIC, out);
const offsetNs = out[1]! * TWO32 + out[0]! - performance.now() * 1e6;

const ways: Record<string, () => void> = {
  'clockGettime(id, out)': () => {
    const f = n.clockGettime;
    for (let i = 0; i < N; i++) f(CLOCK_MONOTONIC, out);
  },
  'clockNow() (registered)': () => {
    const f = n.clockNow;
    for (let i = 0; i < N; i++) f();
  },
  'performance.now() calibrated, to u32 words': () => {
    for (let i = 0; i < N; i++) {
      const ns = Math.round(performance.now() * 1e6 + offsetNs);
      out[0] = ns % TWO32;
      out[1] = Math.floor(ns / TWO32);
    }
  },
};
const res: Record<string, number> = {};
for (const [name, fn] of Object.entries(ways)) res[name] = median(Array.from({ length: ROUNDS }, () => time(fn)));

// the wait: /dev/zero is always readable
const fd = openSync('/dev/zero', 'r');
const W = 200_000;
res['pollWait(fd, 0) (readable)'] = median(Array.from({ length: ROUNDS }, () => time(() => {
  const f = n.pollWait;
  for (let i = 0; i < W; i++) f(fd, 0);
}, W)));
res['pollWaitClock(fd, 0) (readable)'] = median(Array.from({ length: ROUNDS }, () => time(() => {
  const f = n.pollWaitClock;
  for (let i = 0; i < W; i++) f(fd, 0);
}, W)));
// calibrated performance.now() vs the clock: the error of the conversion (ns), last
n.clockGettime(CLOCK_MONOTONIC, out);
const direct = out[1]! * TWO32 + out[0]!;
const viaPerf = performance.now() * 1e6 + offsetNs;
process.stdout.write(JSON.stringify({ ns_per_call: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(v * 10) / 10])), perf_now_vs_clock_ns: Math.round(viaPerf - direct) }, null, 2) + '\n');
