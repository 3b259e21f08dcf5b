/**
 * RunMonitor: the once-an-interval side of a measurement (the interval is sized to the run:
 * timelineIntervalMs). It takes each segment's interval
 * histogram from the queues' recorders (nothing per packet), turns it into a timeline row
 * (rate, p50/p99/max per segment, drops) and hands rows and interval histograms to listeners:
 * the live view, the HdrHistogram log, Prometheus. At the end it gives the cumulative histograms
 * and the whole timeline for the report.
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { LatencyRecorder, newLatencyHistogram, type Histogram, type LatencySummary } from './recorder.js';

// spelled out (not derived from SEGMENTS), so the public type does not show the internal list
export type Segment = 'xdp_to_user' | 'sender_to_xdp' | 'hw_to_xdp';
export const SEGMENTS = ['xdp_to_user', 'sender_to_xdp', 'hw_to_xdp'] as const satisfies readonly Segment[];

/** p50 / p99 / max of one segment in one interval (ns); count 0 = nothing measured. */
export interface IntervalStats {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** One row per interval (timelineIntervalMs), also the report's `timeline` entries. */
export interface TimelineRow {
  /** seconds since the run started, at the end of the interval */
  t: number;
  /** length of the interval in seconds */
  dt: number;
  received: number;
  /** kernel drops (rx_dropped + rx_ring_full) in the interval */
  dropped: number;
  /** only the segments that are measured in this run */
  latency_ns: Partial<Record<Segment, IntervalStats>>;
}

export interface TickListener {
  /** `intervals` holds the interval histogram of each measured segment (summed over queues); do not keep them */
  onInterval(row: TimelineRow, intervals: Partial<Record<Segment, Histogram>>, startMs: number, endMs: number): void;
}

/** What the monitor reads of one receiving queue (the receive engine's queues implement it). */
export interface MeasuredQueue {
  readonly queue: number;
  readonly received: number;
  /** the recorder of a segment, null when the segment is not measured */
  recorder(s: Segment): LatencyRecorder | null;
  /** kernel drops so far: rx_dropped + rx_ring_full */
  kernelDrops(): number;
}

export function intervalStats(h: Histogram): IntervalStats {
  if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  return { count: h.totalCount, p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue };
}

/** the timeline's interval bounds: finer than 50 ms is timer noise, coarser than 1 s hides a long run's changes */
export const TIMELINE_MIN_MS = 50;
export const TIMELINE_MAX_MS = 1000;

/**
 * The timeline interval of a run expected to last `expectedS` seconds: a twentieth of it (so a
 * short run's charts have about 20 points, not one), in steps of 50 ms, from 50 ms to 1 s; 1 s
 * when the length is not known (a run until Ctrl-C, a socket).
 */
export function timelineIntervalMs(expectedS?: number | null): number {
  if (expectedS === undefined || expectedS === null || !Number.isFinite(expectedS) || expectedS <= 0) return TIMELINE_MAX_MS;
  const step = Math.floor((expectedS * 1000) / 20 / TIMELINE_MIN_MS) * TIMELINE_MIN_MS;
  return Math.min(TIMELINE_MAX_MS, Math.max(TIMELINE_MIN_MS, step));
}

export class RunMonitor {
  readonly timeline: TimelineRow[] = [];
  readonly segments: Segment[];
  private readonly listeners: TickListener[] = [];
  private readonly recycled = new Map<string, Histogram>();
  private readonly sums = new Map<Segment, Histogram>();
  private startMs: number;
  private lastMs: number;
  private lastReceived = 0;
  private lastDropped = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `intervalMs`: the length of one timeline row (timelineIntervalMs) */
  constructor(
    readonly queues: readonly MeasuredQueue[],
    readonly intervalMs = TIMELINE_MAX_MS,
  ) {
    this.segments = SEGMENTS.filter((s) => queues.some((p) => p.recorder(s) !== null));
    this.startMs = this.lastMs = Date.now();
  }

  addListener(l: TickListener): void {
    this.listeners.push(l);
  }

  /** Starts the ticks (one per intervalMs); the intervals begin now (earlier samples are dropped from the intervals, not from the totals). */
  start(): void {
    rehearseTicks();
    this.startMs = this.lastMs = Date.now();
    for (const p of this.queues) for (const s of this.segments) p.recorder(s)?.takeInterval();
    this.lastReceived = this.received();
    this.lastDropped = this.dropped();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Ends the ticks with a last (partial) interval; idempotent. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    if (Date.now() - this.lastMs > 0 || this.received() !== this.lastReceived) this.tick();
  }

  received(): number {
    let n = 0;
    for (const p of this.queues) n += p.received;
    return n;
  }

  dropped(): number {
    let n = 0;
    for (const p of this.queues) n += p.kernelDrops();
    return n;
  }

  /** Takes one interval now. Public so a caller can drive the clock (tests, `stop`). */
  tick(): TimelineRow {
    const now = Date.now();
    const intervals: Partial<Record<Segment, Histogram>> = {};
    const latency: Partial<Record<Segment, IntervalStats>> = {};
    for (const s of this.segments) {
      let sum: Histogram | null = null;
      for (let i = 0; i < this.queues.length; i++) {
        const rec = this.queues[i]!.recorder(s);
        if (rec === null) continue;
        const key = `${i}/${s}`;
        const h = rec.takeInterval(this.recycled.get(key));
        this.recycled.set(key, h);
        if (this.queues.length === 1) sum = h;
        else {
          if (sum === null) {
            sum = this.sums.get(s) ?? newLatencyHistogram();
            this.sums.set(s, sum);
            sum.reset();
          }
          sum.add(h);
        }
      }
      if (sum === null) continue;
      sum.startTimeStampMsec = this.lastMs;
      sum.endTimeStampMsec = now;
      sum.tag = s;
      intervals[s] = sum;
      latency[s] = intervalStats(sum);
    }
    const received = this.received();
    const dropped = this.dropped();
    const row: TimelineRow = {
      t: Math.round(now - this.startMs) / 1000,
      dt: Math.round(now - this.lastMs) / 1000,
      received: received - this.lastReceived,
      dropped: dropped - this.lastDropped,
      latency_ns: latency,
    };
    this.timeline.push(row);
    for (const l of this.listeners) l.onInterval(row, intervals, this.lastMs, now);
    this.lastMs = now;
    this.lastReceived = received;
    this.lastDropped = dropped;
    return row;
  }

  /** Cumulative histogram of a segment over all queues (a new histogram). */
  total(s: Segment): Histogram | null {
    let out: Histogram | null = null;
    for (const p of this.queues) {
      const rec = p.recorder(s);
      if (rec === null) continue;
      out ??= newLatencyHistogram();
      out.add(rec.histogram);
    }
    return out;
  }

  /** Cumulative histograms of the measured segments as HdrHistogram compressed base64 (for saved reports). */
  encodedTotals(): Partial<Record<Segment, string>> {
    const out: Partial<Record<Segment, string>> = {};
    for (const s of this.segments) {
      const h = this.total(s);
      if (h !== null) out[s] = encodeIntoCompressedBase64(h);
    }
    return out;
  }
}

/** Summary of a (cumulative) histogram, for totals over several queues; min/max are the histogram's. */
export function summaryOf(h: Histogram, sum?: number): LatencySummary {
  const count = h.totalCount;
  if (count === 0) return { count: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count,
    min: h.minNonZeroValue,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(sum !== undefined ? sum / count : h.mean),
  };
}

/** the rehearsal's ticks, and values recorded per tick (a latency run's spread of buckets) */
const REHEARSAL_TICKS = 20;
const REHEARSAL_VALUES = 2000;
let rehearsed = false;

/**
 * Runs a tick's fold and percentiles on a scratch recorder, once per thread, before the first
 * real tick. A tick runs once a second, too rarely for V8 to optimize it in the first seconds of
 * a run: interpreted, each bucket it visits costs and boxes a double (~3 ms and ~1 MB of garbage
 * per tick at 50 kpps, on the main thread while the workers receive). ~30 ms once: the receiver
 * runs it while it opens, before it collects the rehearsals' garbage (else that garbage is a
 * collection on the main thread during traffic); start() runs it for any other monitor.
 * @internal
 */
export function rehearseTicks(): void {
  if (rehearsed) return;
  rehearsed = true;
  const rec = new LatencyRecorder();
  const queue: MeasuredQueue = { queue: 0, received: 0, recorder: (s) => (s === 'xdp_to_user' ? rec : null), kernelDrops: () => 0 };
  const m = new RunMonitor([queue]);
  let x = 1;
  for (let k = 0; k < REHEARSAL_TICKS; k++) {
    // every fourth tick has nothing new (an idle second): that path is compiled too
    for (let i = 0; i < (k % 4 === 3 ? 0 : REHEARSAL_VALUES); i++) {
      x = (x * 1103515245 + 12345) % 2147483648; // spread over 1 µs … 5 ms
      rec.record(1000 + (x % 5_000_000));
    }
    m.tick();
    // a span started by resetLatency() (mark) makes every later fold fill a third histogram
    if (k === REHEARSAL_TICKS / 2) rec.mark();
  }
  rec.summary();
}
