/**
 * `--csv FILE`: one row per received packet. Written per batch into a preallocated buffer
 * (src/report/filebuf.ts), digits and all, so the receive loop allocates nothing.
 *
 *   seq,queue,tx_ts_ns,xdp_ts_ns,user_ts_ns,sender_to_xdp_ns,xdp_to_user_ns,hw_to_xdp_ns,strategy,len
 *
 * `len` is the whole packet in bytes (every buffer of a multi-buffer packet), without FCS.
 *
 * Timestamps are the run's clock (CLOCK_MONOTONIC or CLOCK_TAI, see the report's `clock`) in ns.
 * An empty cell means "not measured for this packet" (no afxdp payload, no valid metadata, no HW
 * stamp), never zero.
 */
import { DigitMemo, FileBuffer, openOutput } from './filebuf.js';
import { strategyOf, type PacketBatch, type PacketSink } from '../rx/batch.js';

export const CSV_HEADER = 'seq,queue,tx_ts_ns,xdp_ts_ns,user_ts_ns,sender_to_xdp_ns,xdp_to_user_ns,hw_to_xdp_ns,strategy,len';

const STRATEGY_BYTES = { '': '', meta: 'meta', prepend: 'prepend', map: 'map' } as const;
// longest row: 10 + 1 + 4 + 3×(20+1) + 3×(12+1) + 7 + 1 + 10 + 1 ≈ 136 bytes
const MAX_ROW = 160;

export class CsvWriter implements PacketSink {
  rows = 0;
  private readonly out: FileBuffer;
  private readonly txMemo = new DigitMemo();
  private readonly userMemo = new DigitMemo();

  /** Opens the file now (throws a one-line AfxdpError when it cannot be written). */
  constructor(file: string) {
    this.out = new FileBuffer(openOutput('--csv', file));
    this.out.ascii(CSV_HEADER + '\n');
  }

  onBatch(b: PacketBatch): void {
    const o = this.out;
    o.reserve(b.n * MAX_ROW);
    for (let i = 0; i < b.n; i++) {
      const seq = b.seq[i]!;
      if (seq >= 0) o.uint(seq);
      o.byte(44);
      o.uint(b.queue);
      o.byte(44);
      if (seq >= 0) o.u64Memo(b.txLo[i]!, b.txHi[i]!, this.txMemo);
      o.byte(44);
      const flags = b.flags[i]!;
      if (flags !== 0) o.u64(b.xdpLo[i]!, b.xdpHi[i]!);
      o.byte(44);
      o.u64Memo(b.userLo, b.userHi, this.userMemo);
      o.byte(44);
      num(o, b.senderToXdp[i]!);
      o.byte(44);
      num(o, b.xdpToUser[i]!);
      o.byte(44);
      num(o, b.hwToXdp[i]!);
      o.byte(44);
      const s = STRATEGY_BYTES[strategyOf(flags)];
      for (let k = 0; k < s.length; k++) o.byte(s.charCodeAt(k));
      o.byte(44);
      o.uint(b.len[i]!);
      o.byte(10);
    }
    this.rows += b.n;
  }

  /** Bytes written so far (after close: the file size). */
  get bytes(): number {
    return this.out.written + this.out.pos;
  }

  close(): void {
    this.out.close();
  }
}

function num(o: FileBuffer, v: number): void {
  if (v === v) o.int(v); // NaN (not measured) stays an empty cell
}
