import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import {
  COUNTS_LENGTH,
  HIGHEST_TRACKABLE_NS,
  LatencyRecorder,
  indexOfValue,
  newLatencyHistogram,
  valueFromIndex,
} from '../src/measure/recorder.js';
import { prng as rng } from './lib/hostile.js';

const EDGES = [0, 1, 2047, 2048, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 12345, 1e10, 1e10 + 1, -1, -123456.5];
const PCTS = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100];

/** Values spread log-uniformly over 1 ns … 10 s; every 7th one fractional. */
function values(n: number, seed: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  const span = Math.log(1e10);
  for (let i = 0; i < n; i++) {
    const v = Math.exp(r() * span);
    out.push(i % 7 === 0 ? v : Math.floor(v));
  }
  return out;
}

/** What direct recording sees for the same input: truncated, clamped, anomalies skipped. */
function direct(vals: number[]): { h: Histogram; sum: number; min: number; max: number; neg: number; over: number } {
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3 });
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  let neg = 0;
  let over = 0;
  for (const x of vals) {
    if (x < 0) {
      neg++;
      continue;
    }
    let v = Math.trunc(x);
    if (v > 1e10) {
      v = 1e10;
      over++;
    }
    h.recordValue(v);
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { h, sum, min, max, neg, over };
}

test('bucket index math equals hdr-histogram-js countsArrayIndex / valueFromIndex', () => {
  const ref = build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3 }) as unknown as {
    countsArrayIndex(v: number): number;
    valueFromIndex(i: number): number;
    countsArrayLength: number;
    subBucketCount: number;
    subBucketHalfCountMagnitude: number;
  };
  assert.equal(ref.countsArrayLength, COUNTS_LENGTH);
  assert.equal(ref.subBucketCount, 2048);
  assert.equal(ref.subBucketHalfCountMagnitude, 10);
  for (const v of [...EDGES.filter((x) => x >= 0 && x <= 1e10), ...values(50_000, 7).map(Math.trunc)]) {
    assert.equal(indexOfValue(v), ref.countsArrayIndex(v), `index of ${v}`);
  }
  // Every power-of-two boundary, and one below it, up to the top.
  for (let k = 0; k <= 33; k++) {
    for (const v of [2 ** k - 1, 2 ** k, 2 ** k + 1]) {
      if (v > 1e10) continue;
      assert.equal(indexOfValue(v), ref.countsArrayIndex(v), `index of ${v}`);
    }
  }
  for (let i = 0; i < COUNTS_LENGTH; i++) {
    assert.equal(valueFromIndex(i), ref.valueFromIndex(i), `value of index ${i}`);
  }
});

test('percentiles, count, min, max, mean equal direct recording (120k log-uniform values + edges)', () => {
  const vals = [...EDGES, ...values(120_000, 42)];
  const d = direct(vals);
  const rec = new LatencyRecorder();
  for (const v of vals) rec.record(v);

  const s = rec.summary();
  assert.equal(s.count, d.h.totalCount);
  assert.equal(s.count, vals.length - 2);
  assert.equal(s.min, d.min);
  assert.equal(s.min, 0);
  assert.equal(s.max, d.max);
  assert.equal(s.max, 1e10);
  assert.equal(s.mean, Math.round(d.sum / d.h.totalCount));
  assert.equal(s.p50, d.h.getValueAtPercentile(50));
  assert.equal(s.p90, d.h.getValueAtPercentile(90));
  assert.equal(s.p99, d.h.getValueAtPercentile(99));
  assert.equal(s.p999, d.h.getValueAtPercentile(99.9));
  for (const k of Object.keys(s) as (keyof typeof s)[]) assert.ok(Number.isInteger(s[k]), `${k} is an integer`);
  assert.equal(rec.negative, d.neg);
  assert.equal(rec.negative, 2);
  assert.equal(rec.overflow, d.over);
  assert.equal(rec.overflow, 1);

  const h = rec.histogram;
  for (const p of PCTS) assert.equal(h.getValueAtPercentile(p), d.h.getValueAtPercentile(p), `p${p}`);
  assert.equal(h.totalCount, d.h.totalCount);
  assert.equal(h.maxValue, d.h.maxValue);
  assert.equal(h.minNonZeroValue, d.h.minNonZeroValue);
  assert.equal(h.mean, d.h.mean);
  assert.equal(h.stdDeviation, d.h.stdDeviation);
  // The strongest check: identical counts arrays and header, byte for byte.
  assert.equal(encodeIntoCompressedBase64(h), encodeIntoCompressedBase64(d.h));
  assert.equal(h.outputPercentileDistribution(), d.h.outputPercentileDistribution());
});

test('values recorded across many flushes still equal direct recording', () => {
  const vals = values(30_000, 3);
  const d = direct(vals);
  const rec = new LatencyRecorder();
  for (let i = 0; i < vals.length; i++) {
    rec.record(vals[i]!);
    if (i % 997 === 0) rec.flush();
  }
  const h = rec.histogram;
  assert.equal(encodeIntoCompressedBase64(h), encodeIntoCompressedBase64(d.h));
  assert.equal(h.maxValue, d.h.maxValue);
  assert.equal(h.minNonZeroValue, d.h.minNonZeroValue);
});

test('min and max in one bucket are both exact', () => {
  const rec = new LatencyRecorder();
  // 2^32 + 100 and 2^32 + 200 share a bucket (width 2^22 there).
  rec.record(2 ** 32 + 200);
  rec.record(2 ** 32 + 100);
  const s = rec.summary();
  assert.equal(s.min, 2 ** 32 + 100);
  assert.equal(s.max, 2 ** 32 + 200);
  assert.equal(rec.histogram.minNonZeroValue, 2 ** 32 + 100);
  assert.equal(rec.histogram.maxValue, 2 ** 32 + 200);
});

test('intervals partition the total, also with summary() calls in between', () => {
  const vals = values(50_000, 9);
  const rec = new LatencyRecorder();
  const parts: Histogram[] = [];
  const chunk = 7_000;
  for (let i = 0; i < vals.length; i += chunk) {
    for (const v of vals.slice(i, i + chunk)) rec.record(v);
    if ((i / chunk) % 2 === 0) rec.summary(); // flushes mid-interval; the interval must keep those counts
    parts.push(rec.takeInterval());
  }
  const empty = rec.takeInterval();
  assert.equal(empty.totalCount, 0);

  let total = 0;
  const merged = newLatencyHistogram();
  for (const p of parts) {
    total += p.totalCount;
    assert.ok(p.endTimeStampMsec >= p.startTimeStampMsec);
    merged.add(p);
  }
  assert.equal(total, vals.length);
  assert.equal(total, rec.summary().count);
  assert.equal(encodeIntoCompressedBase64(merged), encodeIntoCompressedBase64(rec.histogram));
  // Each interval equals direct recording of its own chunk.
  for (let k = 0; k < parts.length; k++) {
    const d = direct(vals.slice(k * chunk, (k + 1) * chunk));
    assert.equal(encodeIntoCompressedBase64(parts[k]!), encodeIntoCompressedBase64(d.h), `interval ${k}`);
    assert.equal(parts[k]!.maxValue, d.h.maxValue);
  }
});

test('intervals of narrow, shifting latency ranges equal direct recording (each interval folds only its own range)', () => {
  const r = rng(11);
  const rec = new LatencyRecorder();
  const chunks: number[][] = [];
  // 20 µs … 200 µs, then 1 ms … 2 ms, then 3 µs … 5 µs, then a single value, then back
  for (const [lo, hi] of [[20_000, 200_000], [1e6, 2e6], [3_000, 5_000], [777, 777], [20_000, 200_000]] as const) {
    const chunk = Array.from({ length: 5_000 }, () => Math.floor(lo + r() * (hi - lo)));
    for (const v of chunk) rec.record(v);
    chunks.push(chunk);
    const part = rec.takeInterval();
    const d = direct(chunk);
    assert.equal(encodeIntoCompressedBase64(part), encodeIntoCompressedBase64(d.h), `interval ${lo}…${hi}`);
    assert.equal(part.minNonZeroValue, d.h.minNonZeroValue);
    assert.equal(part.maxValue, d.h.maxValue);
  }
  assert.equal(encodeIntoCompressedBase64(rec.histogram), encodeIntoCompressedBase64(direct(chunks.flat()).h));
});

test('takeInterval recycles the histogram it is given', () => {
  const rec = new LatencyRecorder();
  rec.record(100);
  const a = rec.takeInterval();
  assert.equal(a.totalCount, 1);
  rec.record(200);
  rec.record(300);
  const b = rec.takeInterval(a); // a is reset and becomes the next interval
  assert.equal(b.totalCount, 2);
  rec.record(400);
  const c = rec.takeInterval(b);
  assert.equal(c, a);
  assert.equal(c.totalCount, 1);
  assert.equal(c.maxValue, 400);
  assert.throws(() => rec.takeInterval(rec.histogram), { name: 'AfxdpError', code: 'ESTATE' });
  const wrong = build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e6, numberOfSignificantValueDigits: 2, autoResize: false });
  assert.throws(() => rec.takeInterval(wrong), { name: 'AfxdpError', code: 'EUSAGE' });
});

test('empty summary is all zeros; reset forgets everything; NaN is not a sample', () => {
  const rec = new LatencyRecorder();
  assert.deepEqual(rec.summary(), { count: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 });
  rec.record(5);
  rec.record(-1);
  rec.record(2e10);
  rec.record(Number.NaN);
  assert.equal(rec.summary().count, 2);
  assert.equal(rec.invalid, 1);
  assert.equal(rec.summary().max, HIGHEST_TRACKABLE_NS);
  rec.record(77); // pending, unflushed
  rec.reset();
  assert.deepEqual(rec.summary(), { count: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 });
  assert.equal(rec.negative + rec.overflow + rec.invalid, 0);
  assert.equal(rec.takeInterval().totalCount, 0);
  rec.record(1.9);
  assert.deepEqual(rec.summary(), { count: 1, min: 1, p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 });
});

test('percentiles stay between the exact min and max (a bucket may reach 0.1% past the largest sample)', () => {
  const r = new LatencyRecorder();
  r.record(123457);
  r.record(123457);
  const s = r.summary();
  assert.equal(s.max, 123457);
  for (const k of ['p50', 'p90', 'p99', 'p999'] as const) assert.equal(s[k], 123457, k);
  const h = newLatencyHistogram();
  h.recordValue(123457);
  assert.ok(h.getValueAtPercentile(99) > 123457, 'HdrHistogram alone would report past the max');
});

test("mark() starts a span: summaryOf(…, 'mark') equals a recorder that saw only what came after, over several recorders; the whole is kept", () => {
  const r = rng(7);
  const a = new LatencyRecorder();
  const b = new LatencyRecorder();
  const whole = new LatencyRecorder();
  const after = new LatencyRecorder();
  const value = (): number => Math.round(Math.exp(r() * 16));
  assert.deepEqual(LatencyRecorder.summaryOf([a, b], 'mark'), LatencyRecorder.summaryOf([a, b]), 'never marked: the span is the whole');
  for (let i = 0; i < 5000; i++) {
    const v = value();
    (i % 2 ? a : b).record(v);
    whole.record(v);
  }
  a.record(3); // pending, unflushed at the mark: before it
  whole.record(3);
  a.mark();
  b.mark();
  assert.equal(LatencyRecorder.summaryOf([a, b], 'mark').count, 0);
  for (let i = 0; i < 3000; i++) {
    const v = value();
    (i % 3 ? a : b).record(v);
    whole.record(v);
    after.record(v);
  }
  assert.deepEqual(LatencyRecorder.summaryOf([a, b], 'mark'), after.summary());
  assert.deepEqual(LatencyRecorder.summaryOf([a, b]), whole.summary());
  a.mark();
  b.mark();
  a.record(42);
  assert.deepEqual(LatencyRecorder.summaryOf([a, b], 'mark'), { count: 1, min: 42, p50: 42, p90: 42, p99: 42, p999: 42, max: 42, mean: 42 });
});
