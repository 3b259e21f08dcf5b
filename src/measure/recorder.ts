/**
 * Latency recorder for the per-packet path.
 *
 * hdr-histogram-js costs 44–120 ns per `recordValue` (docs/BENCHMARKS.md), more than the whole ring
 * loop spends on a packet. So `record()` only computes HdrHistogram's own bucket index and bumps a
 * preallocated Float64Array (≈5 ns; BucketWriter); `flush()` later folds the new counts into a real
 * hdr-histogram-js Histogram, straight into its bucket, once per bucket that changed. The counts
 * may live in a SharedArrayBuffer written by a receive worker (rx/worker.ts) and folded here. Because the
 * index math is HdrHistogram's, the folded histogram is indistinguishable from one that recorded
 * every value directly: same counts per bucket, same percentiles, same mean, and (because the
 * buckets holding the min and max are folded with the exact min and max) the same min and max.
 *
 * Geometry (fixed): lowest discernible 1 ns, highest trackable 10 s = 1e10 ns, 3 significant
 * digits → unitMagnitude 0, subBucketCount 2048, subBucketHalfCountMagnitude 10, 24 buckets,
 * 25 600 counts.
 */
import { build, JsHistogram, type Histogram } from 'hdr-histogram-js';
import { AfxdpError } from '../errors.js';

/** Integers in ns; all 0 when count is 0. Also the per-segment object of the report (docs/CLI.md). */
export interface LatencySummary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export type { Histogram };

/** Highest trackable value: 10 s in ns. Larger values are clamped to it and counted in `overflow`. */
export const HIGHEST_TRACKABLE_NS = 1e10;
export const SIGNIFICANT_DIGITS = 3;

const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10;
const SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE; // 1024
const SUB_BUCKET_MASK = (SUB_BUCKET_HALF_COUNT << 1) - 1; // 2047
/** 32 − (subBucketHalfCountMagnitude + 1): Java's leadingZeroCountBase for 32-bit values. */
const LZC_BASE_32 = 32 - SUB_BUCKET_HALF_COUNT_MAGNITUDE - 1; // 21
const TWO_POW_32 = 4294967296;
/** 24 buckets cover 2048·2^23 > 1e10; (buckets + 1) · 1024 counts, as hdr-histogram-js allocates. */
export const COUNTS_LENGTH = (24 + 1) * SUB_BUCKET_HALF_COUNT;

// Slots of the hot state array: a typed array rather than fields, so the double values are
// written in place and never boxed (V8 keeps double fields in HeapNumbers).
const S_SUM = 0; // sum of all recorded (truncated, clamped) values since reset
const S_MIN = 1; // min / max since the last flush (folded into the histogram exactly)
const S_MAX = 2;
const S_NEGATIVE = 3;
const S_OVERFLOW = 4;
const S_INVALID = 5;
const S_LEN = 6;

/** HdrHistogram's counts index of an integer value in [0, 1e10]; not for the per-packet path. */
export function indexOfValue(v: number): number {
  if (v < TWO_POW_32) {
    const u = v >>> 0;
    const b = LZC_BASE_32 - Math.clz32(u | SUB_BUCKET_MASK);
    return (b << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + (u >>> b);
  }
  return indexOfLarge(v);
}

/**
 * Values ≥ 2^32: Math.clz32 sees only 32 bits, so find the bucket from the high word. Dividing
 * by a power of two is exact in a double, so the sub-bucket is exact too.
 */
function indexOfLarge(v: number): number {
  const hi = Math.floor(v / TWO_POW_32); // 1 or 2 for v ≤ 1e10
  const b = 53 - Math.clz32(hi); // = floor(log2 v) − 10
  const sub = Math.floor(v / POW2[b]);
  return (b << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub;
}

const POW2 = new Float64Array(64);
for (let i = 0; i < 64; i++) POW2[i] = 2 ** i;

/** Lowest value of the bucket at `index` (hdr-histogram-js `valueFromIndex`). */
export function valueFromIndex(index: number): number {
  let b = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
  let sub = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
  if (b < 0) {
    sub -= SUB_BUCKET_HALF_COUNT;
    b = 0;
  }
  return sub * POW2[b];
}

/** A latency histogram whose buckets flush() writes directly (the JS implementation newLatencyHistogram builds). */
function bucketHistogram(): JsHistogram {
  return newLatencyHistogram() as JsHistogram;
}

/**
 * Counts are 64-bit floats ('64' = Float64Histogram): exact up to 2^53 per bucket, and a scan for
 * a percentile reads a plain typed array. The default 32-bit buckets are a Uint32Array that wraps
 * silently past 4.29e9 in one bucket (about an hour at 1 Mpps); 'packed' saves memory (200 KB per
 * histogram here) but every percentile scan and every fold goes through PackedArray's slower
 * indirection. With recycled interval histograms there are only ever a few of them.
 */
export function newLatencyHistogram(): Histogram {
  return build({
    bitBucketSize: 64,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_NS,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    useWebAssembly: false,
  });
}

/** Bytes of the shared state of one recorder: the counts, then the state slots. */
export const RECORDER_BYTES = 8 * (COUNTS_LENGTH + S_LEN);

/**
 * The writing half of a recorder: HdrHistogram bucket counts (cumulative since reset) and a few
 * state slots, in one buffer that may be a SharedArrayBuffer. A receive worker records into it;
 * the LatencyRecorder over the same buffer (main thread) folds the counts into histograms.
 */
export class BucketWriter {
  /** Counts since reset, indexed like HdrHistogram's counts array. */
  protected readonly counts: Float64Array;
  protected readonly st: Float64Array;

  constructor(buffer?: ArrayBufferLike) {
    const buf = buffer ?? new ArrayBuffer(RECORDER_BYTES);
    if (buf.byteLength < RECORDER_BYTES) {
      throw new AfxdpError('EUSAGE', `a recorder needs ${RECORDER_BYTES} bytes of state, got ${buf.byteLength}`, { hint: 'allocate RECORDER_BYTES' });
    }
    this.counts = new Float64Array(buf, 0, COUNTS_LENGTH);
    this.st = new Float64Array(buf, 8 * COUNTS_LENGTH, S_LEN);
    if (buffer === undefined) this.clearState();
  }

  /** The memory of the counts and state: a SharedArrayBuffer hands it to another thread. */
  get stateBuffer(): ArrayBufferLike {
    return this.counts.buffer;
  }

  /** Zero counts and state (min/max to ±Infinity). */
  protected clearState(): void {
    this.counts.fill(0);
    this.st.fill(0);
    this.st[S_MIN] = Infinity;
    this.st[S_MAX] = -Infinity;
  }

  /**
   * Count one latency in ns. Per packet: allocates nothing. Non-integers are truncated; a
   * negative value is an anomaly (counted in `negative`, never a sample); a value above 1e10 is
   * clamped to 1e10 and counted in `overflow`; NaN is counted in `invalid`.
   */
  record(ns: number): void {
    if (ns < TWO_POW_32 && ns >= 0) {
      const v = ns >>> 0; // truncates; exact for [0, 2^32)
      const b = LZC_BASE_32 - Math.clz32(v | SUB_BUCKET_MASK);
      this.counts[(b << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + (v >>> b)]++;
      const st = this.st;
      st[S_SUM] += v;
      if (v < st[S_MIN]) st[S_MIN] = v;
      if (v > st[S_MAX]) st[S_MAX] = v;
      return;
    }
    this.recordSlow(ns);
  }

  /** Values ≥ 2^32, negative and NaN: rare, kept out of `record` so it stays small enough to inline. */
  private recordSlow(ns: number): void {
    const st = this.st;
    if (ns < 0) {
      st[S_NEGATIVE]++;
      return;
    }
    if (!(ns >= TWO_POW_32)) {
      st[S_INVALID]++; // NaN
      return;
    }
    let v: number;
    if (ns > HIGHEST_TRACKABLE_NS) {
      st[S_OVERFLOW]++;
      v = HIGHEST_TRACKABLE_NS;
    } else {
      v = Math.floor(ns);
    }
    this.counts[indexOfLarge(v)]++;
    st[S_SUM] += v;
    if (v < st[S_MIN]) st[S_MIN] = v;
    if (v > st[S_MAX]) st[S_MAX] = v;
  }
}

/**
 * A BucketWriter plus the reading half: the counts are folded into real hdr-histogram-js
 * histograms (cumulative and per interval) by difference with what was folded before, so the
 * writer never has to be told about a flush — it may be another thread (a receive worker writing
 * into a SharedArrayBuffer). Folding scans the 25 600 counts once: per second or per summary,
 * never per packet.
 */
export class LatencyRecorder extends BucketWriter {
  /** The counts already folded into the histograms. */
  private readonly folded = new Float64Array(COUNTS_LENGTH);
  /** Exact min / max over everything flushed since reset. */
  private allMin = Infinity;
  private allMax = -Infinity;
  /** S_SUM at the last exclude(): the sum of what the cumulative histogram holds is S_SUM − this */
  private sumBase = 0;
  private readonly hist: JsHistogram;
  private interval: JsHistogram;
  /** since the last mark() (null before the first): a span of the run that leaves the cumulative one whole */
  private marked: JsHistogram | null = null;
  private markMin = Infinity;
  private markMax = -Infinity;
  /** S_SUM at the last mark() */
  private markSumBase = 0;

  /** @param shared the state buffer of a BucketWriter in another thread (RECORDER_BYTES); default: own memory */
  constructor(shared?: ArrayBufferLike) {
    super(shared);
    // the reader owns the state: it starts it (a worker's writer only ever adds to it)
    this.clearState();
    this.hist = bucketHistogram();
    this.interval = bucketHistogram();
    const now = Date.now();
    this.hist.startTimeStampMsec = now;
    this.interval.startTimeStampMsec = now;
  }

  /**
   * Adds counts recorded elsewhere with the same bucket geometry (indexOfValue), e.g. by a busy-poll
   * worker into a SharedArrayBuffer: `counts[i]` values in bucket i, their exact sum, min and max.
   * Costs one pass over `counts`; meant for the end of a run or a report interval, not per packet.
   */
  addBuckets(counts: Float64Array, sum: number, min: number, max: number, anomalies?: { negative?: number; overflow?: number }): void {
    if (counts.length !== COUNTS_LENGTH) {
      throw new AfxdpError('EUSAGE', `addBuckets: expected ${COUNTS_LENGTH} buckets, got ${counts.length}`, { hint: 'record with indexOfValue() into a COUNTS_LENGTH array' });
    }
    const c = this.counts;
    let any = false;
    for (let i = 0; i < COUNTS_LENGTH; i++) {
      const k = counts[i]!;
      if (k === 0) continue;
      c[i] += k;
      any = true;
    }
    const st = this.st;
    if (any) {
      st[S_SUM] += sum;
      if (min < st[S_MIN]) st[S_MIN] = min;
      if (max > st[S_MAX]) st[S_MAX] = max;
    }
    st[S_NEGATIVE] += anomalies?.negative ?? 0;
    st[S_OVERFLOW] += anomalies?.overflow ?? 0;
  }

  /** Negative values seen (e.g. clocks from different domains, or a stale stamp); never samples. */
  get negative(): number {
    return this.st[S_NEGATIVE];
  }

  /** Values above 10 s, recorded as 10 s. */
  get overflow(): number {
    return this.st[S_OVERFLOW];
  }

  /** NaN values seen (a caller bug); never samples. */
  get invalid(): number {
    return this.st[S_INVALID];
  }

  /**
   * Fold the counts recorded since the last flush into the cumulative and the interval histogram.
   * Scans the counts once (≈25 µs); call it per second, or let summary() / histogram /
   * takeInterval() do it.
   */
  flush(): void {
    this.fold(true);
  }

  /** flush(); `whole` false scans only the buckets between the new min and max (takeInterval's: a third of them or less). */
  private fold(whole: boolean): void {
    const c = this.counts;
    const f = this.folded;
    const st = this.st;
    // min / max of what is new; the writer keeps lowering / raising them until we reset them here
    const min = st[S_MIN];
    const max = st[S_MAX];
    if (!(min <= max)) return;
    st[S_MIN] = Infinity;
    st[S_MAX] = -Infinity;
    // Our bucket index is HdrHistogram's (indexOfValue), so the counts go straight into each
    // histogram's bucket (recordValueWithCount would find the index again from a value: ~10× the
    // cost, and the fold runs on the main thread while workers receive); the exact min and max
    // then set the histograms' minNonZeroValue / maxValue, as recording them would.
    const hist = this.hist;
    const interval = this.interval;
    const marked = this.marked;
    let total = 0;
    let lowNonZero = -1; // lowest bucket above value 0 that got counts (the min non-zero when min is 0)
    // Every value recorded since the last flush lies in [min, max], so only their buckets can have
    // changed: a latency run spans a third of the 25 600 or less. The writer may be another thread,
    // and a value whose min/max update races with the reset above can lie outside the range; the
    // per-interval flush (takeInterval) leaves it to a later one, and a `whole` flush (what
    // summary(), histogram, exclude() and mark() read) scans every bucket.
    const maxIdx = indexOfValue(max);
    const end = whole ? COUNTS_LENGTH - 1 : maxIdx;
    for (let i = whole ? 0 : indexOfValue(min); i <= end; i++) {
      const count = c[i] - f[i];
      if (count === 0) continue;
      f[i] += count;
      total += count;
      if (lowNonZero < 0 && i > 0) lowNonZero = i;
      hist.addToCountAtIndex(i, count);
      interval.addToCountAtIndex(i, count);
      marked?.addToCountAtIndex(i, count);
    }
    // 0 is never a histogram's minNonZeroValue: the next bucket's value is, as recording it would set
    const minNonZero = min === 0 && lowNonZero > 0 ? (lowNonZero === maxIdx ? max : valueFromIndex(lowNonZero)) : -1;
    for (const h of marked === null ? [hist, interval] : [hist, interval, marked]) {
      h.addToTotalCount(total);
      h.updateMinAndMax(min);
      h.updateMinAndMax(max);
      if (minNonZero > 0) h.updateMinAndMax(minNonZero);
    }
    if (min < this.allMin) this.allMin = min;
    if (max > this.allMax) this.allMax = max;
    if (min < this.markMin) this.markMin = min;
    if (max > this.markMax) this.markMax = max;
  }

  /** The cumulative hdr-histogram-js Histogram since reset (flushed). Owned by the recorder: read, do not mutate. */
  get histogram(): Histogram {
    this.flush();
    return this.hist;
  }

  /**
   * Count, exact min / max / mean, and percentiles (HdrHistogram's, i.e. the highest value
   * equivalent to the bucket, as direct recording would report). Flushes first.
   */
  summary(): LatencySummary {
    this.flush();
    const h = this.hist;
    const count = h.totalCount;
    if (count === 0) return { count: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
    // HdrHistogram reports a bucket's highest equivalent value, up to 0.1% above the largest
    // sample in it; min and max are exact, so keep the percentiles between them
    const lo = this.allMin;
    const hi = this.allMax;
    const at = (p: number): number => Math.min(hi, Math.max(lo, h.getValueAtPercentile(p)));
    return {
      count,
      min: lo,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: hi,
      mean: Math.round(this.sum / count),
    };
  }

  /** Sum of the values the cumulative histogram holds. */
  private get sum(): number {
    return this.st[S_SUM] - this.sumBase;
  }

  /**
   * Drops what was recorded so far from the cumulative histogram — the warm-up part of a run —
   * after folding it, and returns how many samples that was (the caller reports it: excluded,
   * never silently lost). The writer, maybe another thread, keeps recording: what it adds from
   * now on is what summary() and histogram report. Anomaly counters and the interval histogram
   * (per-second rows) are kept.
   */
  exclude(): number {
    this.flush();
    const n = this.hist.totalCount;
    this.hist.reset();
    this.hist.startTimeStampMsec = Date.now();
    this.allMin = Infinity;
    this.allMax = -Infinity;
    this.sumBase = this.st[S_SUM];
    return n;
  }

  /**
   * One summary over several recorders (the queues of a receiver): percentiles of the merged
   * histograms, exact count, min, max and mean. One recorder: its own summary().
   */
  static summaryOf(recorders: readonly LatencyRecorder[], span: 'all' | 'mark' = 'all'): LatencySummary {
    if (recorders.length === 1 && span === 'all') return recorders[0]!.summary();
    const merged = newLatencyHistogram();
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    for (const r of recorders) {
      if (span === 'all') {
        merged.add(r.histogram);
        if (r.allMin < lo) lo = r.allMin;
        if (r.allMax > hi) hi = r.allMax;
        sum += r.sum;
      } else {
        r.flush();
        // never marked: the span is the whole
        if (r.marked === null) {
          merged.add(r.hist);
          if (r.allMin < lo) lo = r.allMin;
          if (r.allMax > hi) hi = r.allMax;
          sum += r.sum;
          continue;
        }
        merged.add(r.marked);
        if (r.markMin < lo) lo = r.markMin;
        if (r.markMax > hi) hi = r.markMax;
        sum += r.st[S_SUM] - r.markSumBase;
      }
    }
    const count = merged.totalCount;
    if (count === 0) return { count: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
    const at = (p: number): number => Math.min(hi, Math.max(lo, merged.getValueAtPercentile(p)));
    return { count, min: lo, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: hi, mean: Math.round(sum / count) };
  }

  /**
   * A histogram of what was recorded since the previous takeInterval() (or since construction /
   * reset), for per-second logs. Costs nothing per packet: every flush folds into this interval
   * histogram as well as the cumulative one, and taking it swaps in an empty one. The returned
   * histogram belongs to the caller; pass it back as `recycle` next time to avoid allocating
   * (like HdrHistogram's Recorder.getIntervalHistogram). start/endTimeStampMsec are set for log
   * writers.
   */
  takeInterval(recycle?: Histogram): Histogram {
    if (recycle !== undefined) {
      if (recycle === this.hist || recycle === this.interval) {
        throw new AfxdpError('ESTATE', 'takeInterval: cannot recycle a histogram the recorder still owns', {
          hint: 'pass back only a histogram that an earlier takeInterval() returned',
        });
      }
      // flush() writes bucket indices directly: the same bucket layout is required (and a JS histogram)
      if (!(recycle instanceof JsHistogram) || recycle.lowestDiscernibleValue !== 1 || recycle.highestTrackableValue < HIGHEST_TRACKABLE_NS || recycle.numberOfSignificantValueDigits !== SIGNIFICANT_DIGITS) {
        throw new AfxdpError('EUSAGE', 'takeInterval: the histogram to recycle has a different range, precision or implementation', {
          hint: 'recycle a histogram returned by takeInterval() or made by newLatencyHistogram()',
        });
      }
    }
    this.fold(false);
    const now = Date.now();
    const out = this.interval;
    out.endTimeStampMsec = now;
    let next: JsHistogram;
    if (recycle instanceof JsHistogram) {
      recycle.reset();
      next = recycle;
    } else {
      next = bucketHistogram();
    }
    next.startTimeStampMsec = now;
    this.interval = next;
    return out;
  }

  /**
   * Starts a span of the run (summaryOf(…, 'mark') summarises what was recorded since) without
   * forgetting anything: summary(), histogram and the reports keep the whole. The first call
   * allocates the span's histogram; later ones reuse it.
   */
  mark(): void {
    this.flush();
    if (this.marked === null) this.marked = bucketHistogram();
    else this.marked.reset();
    this.marked.startTimeStampMsec = Date.now();
    this.markMin = Infinity;
    this.markMax = -Infinity;
    this.markSumBase = this.st[S_SUM];
  }

  /** Forget everything: counts, both histograms, anomaly counters. (With a writer in another thread, a value it records at this very moment may be lost.) */
  reset(): void {
    this.clearState();
    this.folded.fill(0);
    this.sumBase = 0;
    this.allMin = Infinity;
    this.allMax = -Infinity;
    const now = Date.now();
    this.hist.reset();
    this.hist.startTimeStampMsec = now;
    this.interval.reset();
    this.interval.startTimeStampMsec = now;
    this.marked?.reset();
    this.markMin = Infinity;
    this.markMax = -Infinity;
    this.markSumBase = 0;
  }
}
