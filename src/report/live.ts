/**
 * The live view of `afxdp demo` / `afxdp latency`: once per second, the rate, p50/p99/max of
 * every measured segment and the drops. On a terminal it is one block redrawn in place (with a
 * progress bar when the run has a packet count); otherwise one plain line per second, so logs and
 * pipes stay readable. The block is erased at the end, before the final table.
 */
import type { Histogram } from '../measure/recorder.js';
import type { Segment, TickListener, TimelineRow } from '../measure/monitor.js';
import { formatCount, formatNs } from './table.js';

export const SEGMENT_LABEL: Record<Segment, string> = {
  sender_to_xdp: 'sender → xdp',
  xdp_to_user: 'xdp → user',
  hw_to_xdp: 'hw → xdp',
};

const ORDER: Segment[] = ['sender_to_xdp', 'hw_to_xdp', 'xdp_to_user'];
const BAR = 24;

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
  private received = 0;
  private dropped = 0;
  private t = 0;

  constructor(private readonly o: LiveViewOptions) {}

  onInterval(row: TimelineRow, _i: Partial<Record<Segment, Histogram>>): void {
    this.received += row.received;
    this.dropped += row.dropped;
    this.t = row.t;
    const rate = row.dt > 0 ? Math.round(row.received / row.dt) : 0;
    if (!this.o.tty) {
      const parts = [`${row.t.toFixed(1)} s`, `${formatCount(rate)} pps`, `received ${formatCount(this.received)}`];
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
    let head = `${row.t.toFixed(1).padStart(6)} s  ${formatCount(rate).padStart(9)} pps  received ${formatCount(this.received)}`;
    if (this.o.target !== undefined && this.o.target > 0) {
      const f = Math.min(1, this.received / this.o.target);
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
    lines.push(`drops ${formatCount(row.dropped)} this second, ${formatCount(this.dropped)} in total`);
    this.o.write(this.erase() + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }

  /** Removes the block (TTY) so the final table starts on a clean screen. */
  finish(): void {
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
