/**
 * ns per recorded value: LatencyRecorder.record vs hdr-histogram-js recordValue (JS, and WASM for
 * reference), 10M values per run, median of 5 runs. Not part of the test suite.
 *   node dist/bench/recorder.bench.js
 */
import { build, initWebAssemblySync, type Histogram } from 'hdr-histogram-js';
import { LatencyRecorder } from '../src/measure/recorder.js';

const N = 10_000_000;
const RUNS = 5;
// A 1 Mi ring of precomputed values (8 MB), read 10× per run: the loop measures recording, not
// streaming an 80 MB array from memory.
const RING = 1 << 20;
const MASK = RING - 1;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Like a busy-poll run: log-normal around ~1.2 µs, with a tail to ms. */
function realistic(): Float64Array {
  const r = lcg(1);
  const a = new Float64Array(RING);
  for (let i = 0; i < RING; i++) {
    const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    a[i] = Math.floor(Math.exp(7.1 + 0.8 * g));
  }
  return a;
}

/** Worst case for caches: log-uniform over 1 ns … 10 s, touching ~24 000 buckets. */
function logUniform(): Float64Array {
  const r = lcg(2);
  const a = new Float64Array(RING);
  const span = Math.log(1e10);
  for (let i = 0; i < RING; i++) a[i] = Math.floor(Math.exp(r() * span));
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1]!;
}

function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / N;
}

let sink = 0;
function benchLoop(vals: Float64Array): number {
  return timeNs(() => {
    // acc is local: a captured, mutated double would be boxed on every iteration.
    let acc = 0;
    for (let i = 0; i < N; i++) acc += vals[i & MASK]!;
    sink += acc; // keep the loop alive
  });
}

function benchRecorder(vals: Float64Array): { record: number; flushUs: number } {
  const rec = new LatencyRecorder();
  const record = timeNs(() => {
    for (let i = 0; i < N; i++) rec.record(vals[i & MASK]!);
  });
  const t0 = process.hrtime.bigint();
  rec.flush();
  const flushUs = Number(process.hrtime.bigint() - t0) / 1e3;
  return { record, flushUs };
}

function benchHdr(vals: Float64Array, h: Histogram): number {
  const ns = timeNs(() => {
    for (let i = 0; i < N; i++) h.recordValue(vals[i & MASK]!);
  });
  h.destroy();
  return ns;
}

function fmt(x: number): string {
  return x.toFixed(2).padStart(8);
}

let wasm = true;
try {
  initWebAssemblySync();
} catch {
  wasm = false;
}

console.log(`node ${process.version}, ${N / 1e6}M values per run, median of ${RUNS} runs (ns per value)`);
for (const [name, vals] of [
  ['realistic (log-normal ~1.2 µs)', realistic()],
  ['log-uniform 1 ns … 10 s', logUniform()],
] as const) {
  const loop: number[] = [];
  const rec: number[] = [];
  const flush: number[] = [];
  const js: number[] = [];
  const wa: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    loop.push(benchLoop(vals));
    const b = benchRecorder(vals);
    rec.push(b.record);
    flush.push(b.flushUs);
    js.push(benchHdr(vals, build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3 })));
    if (wasm) {
      wa.push(
        benchHdr(vals, build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, useWebAssembly: true })),
      );
    }
  }
  console.log(`\n${name}`);
  console.log(`  loop alone (read value)          ${fmt(median(loop))}`);
  console.log(`  LatencyRecorder.record           ${fmt(median(rec))}`);
  console.log(`  hdr-histogram-js recordValue JS  ${fmt(median(js))}`);
  if (wasm) console.log(`  hdr-histogram-js recordValue WASM${fmt(median(wa))}`);
  console.log(`  (one flush of the run's buckets: ${median(flush).toFixed(0)} µs)`);
}
if (sink === -1) console.log(sink);
