/**
 * The live view of `afxdp demo` / `afxdp latency`: once per second, the rate, p50/p99/max of
 * every measured segment and the drops (LiveIntervals merges the timeline's shorter rows into
 * seconds; runLatency's onInterval gets the same numbers). On a terminal it is one block redrawn in place (with a
 * progress bar when the run has a packet count); otherwise one plain line per second, so logs and
 * pipes stay readable. The block is erased at the end, before the final table.
 */
import { newLatencyHistogram, type Histogram } from '../measure/recorder.js';
import { intervalStats, type IntervalStats, type Segment, type TickListener, type TimelineRow } from '../measure/monitor.js';
import { formatCount, formatNs } from './table.js';

export const SEGMENT_LABEL: Record<Segment, string> = {
  sender_to_xdp: 'sender → xdp',
  xdp_to_user: 'xdp → user',
  hw_to_xdp: 'hw → xdp',
};

const ORDER: Segment[] = ['sender_to_xdp', 'hw_to_xdp', 'xdp_to_user'];
const BAR = 24;

/** One interval of the live view (about a second): what it prints, and what runLatency's onInterval gets. */
export interface LiveInterval {
  /** seconds since the run started, at the end of the interval */
  t: number;
  /** length of the interval in seconds */
  dt: number;
  /** packets received in the interval */
  received: number;
  /** received ÷ dt */
  rate_pps: number;
  /** kernel drops (rx_dropped + rx_ring_full) in the interval */
  dropped: number;
  /** packets received since the run started */
  received_total: number;
  dropped_total: number;
  /** count, p50, p99, max (ns) of each measured segment in the interval; count 0: no sample */
  latency_ns: Partial<Record<Segment, IntervalStats>>;
}

/**
 * Merges the monitor's timeline rows (as short as 50 ms in a short run) into intervals of about
 * `everyS` seconds, their latency figures from the summed interval histograms (not averaged
 * percentiles). flush() hands over what is left at the end of the run.
 */
export class LiveIntervals implements TickListener {
  private readonly sums = new Map<Segment, Histogram>();
  private dt = 0;
  private rows = 0;
  private received = 0;
  private dropped = 0;
  private receivedTotal = 0;
  private droppedTotal = 0;
  private t = 0;

  constructor(
    private readonly emit: (i: LiveInterval) => void,
    private readonly everyS = 1,
  ) {}

  onInterval(row: TimelineRow, intervals: Partial<Record<Segment, Histogram>>): void {
    this.rows++;
    this.dt += row.dt;
    this.t = row.t;
    this.received += row.received;
    this.dropped += row.dropped;
    for (const s of Object.keys(row.latency_ns) as Segment[]) {
      let sum = this.sums.get(s);
      if (sum === undefined) this.sums.set(s, (sum = newLatencyHistogram()));
      const h = intervals[s];
      if (h !== undefined) sum.add(h);
    }
    // a timer's row is a few ms late or early: 95 % of a second is a second
    if (this.dt >= this.everyS * 0.95) this.flush();
  }

  /** Hands over the interval so far (the end of the run), if it has any row. */
  flush(): void {
    if (this.rows === 0) return;
    this.receivedTotal += this.received;
    this.droppedTotal += this.dropped;
    const latency: Partial<Record<Segment, IntervalStats>> = {};
    for (const [s, h] of this.sums) {
      latency[s] = intervalStats(h);
      h.reset();
    }
    const dt = Math.round(this.dt * 1000) / 1000;
    const i: LiveInterval = {
      t: this.t,
      dt,
      received: this.received,
      rate_pps: dt > 0 ? Math.round(this.received / dt) : 0,
      dropped: this.dropped,
      received_total: this.receivedTotal,
      dropped_total: this.droppedTotal,
      latency_ns: latency,
    };
    this.rows = 0;
    this.dt = 0;
    this.received = 0;
    this.dropped = 0;
    this.emit(i);
  }
}

export interface LiveViewOptions {
  /** true: redraw a block with ANSI cursor movement; false: plain lines */
  tty: boolean;
  write: (s: string) => void;
  /** packets the run stops at (progress bar), if any */
  target?: number;
}

export class LiveView implements TickListener {
  /** what the run takes off the queue (describeMatch), said once in lines, on the block in TTY mode */
  taken: string | null = null;
  private drawn = 0;
  private t = 0;
  private readonly merge = new LiveIntervals((i) => this.draw(i));

  constructor(private readonly o: LiveViewOptions) {}

  onInterval(row: TimelineRow, intervals: Partial<Record<Segment, Histogram>>): void {
    this.merge.onInterval(row, intervals);
  }

  private draw(row: LiveInterval): void {
    this.t = row.t;
    const rate = row.rate_pps;
    if (!this.o.tty) {
      const parts = [`${row.t.toFixed(1)} s`, `${formatCount(rate)} pps`, `received ${formatCount(row.received_total)}`];
      for (const s of ORDER) {
        const st = row.latency_ns[s];
        if (st === undefined || (s === 'hw_to_xdp' && st.count === 0)) continue;
        parts.push(st.count === 0 ? `${SEGMENT_LABEL[s]} -` : `${SEGMENT_LABEL[s]} p50 ${formatNs(st.p50)} p99 ${formatNs(st.p99)} max ${formatNs(st.max)}`);
      }
      parts.push(`drops ${formatCount(row.dropped)}`);
      if (this.taken !== null) this.o.write(`afxdp: taking ${this.taken}\n`);
      this.taken = null;
      this.o.write(`afxdp: ${parts.join('  ')}\n`);
      return;
    }
    const lines: string[] = [];
    let head = `${row.t.toFixed(1).padStart(6)} s  ${formatCount(rate).padStart(9)} pps  received ${formatCount(row.received_total)}`;
    if (this.o.target !== undefined && this.o.target > 0) {
      const f = Math.min(1, row.received_total / this.o.target);
      const full = Math.round(f * BAR);
      head += `  [${'#'.repeat(full)}${'.'.repeat(BAR - full)}] ${Math.floor(f * 100)}%`;
    }
    lines.push(head);
    if (this.taken !== null) lines.push(`taking ${this.taken}`);
    lines.push(`${'segment'.padEnd(14)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}   (last second)`);
    for (const s of ORDER) {
      const st = row.latency_ns[s];
      // no HW stamps this second (most drivers never give one): no row rather than a row of dashes
      if (st === undefined || (s === 'hw_to_xdp' && st.count === 0)) continue;
      const cell = (v: number): string => (st.count === 0 ? '-' : formatNs(v)).padStart(10);
      lines.push(`${SEGMENT_LABEL[s].padEnd(14)}${cell(st.p50)}${cell(st.p99)}${cell(st.max)}`);
    }
    lines.push(`drops ${formatCount(row.dropped)} this second, ${formatCount(row.dropped_total)} in total`);
    this.o.write(this.erase() + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }

  /** Shows the last (partial) second, then removes the block (TTY) so the final table starts on a clean screen. */
  finish(): void {
    this.merge.flush();
    if (this.o.tty && this.drawn > 0) this.o.write(this.erase());
    this.drawn = 0;
  }

  get seconds(): number {
    return this.t;
  }

  private erase(): string {
    return this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
  }
}
