/**
 * The per-packet data of one received batch, as columns of preallocated typed arrays. The probe
 * fills them in its hot loop (no object per packet) and hands the whole batch to each sink
 * (CSV, pcapng) before the frames go back to the fill ring, so a sink can still read the bytes.
 */
import { F_VIA_MAP, F_VIA_PREPEND } from '../xdp/meta.js';

export interface PacketSink {
  /** Called once per batch; must not keep references to the arrays (they are reused). */
  onBatch(b: PacketBatch): void;
}

export class PacketBatch {
  /** packets in this batch */
  n = 0;
  /** the user-side time of the batch (first JS touch), lo/hi u32 words of ns in the probe's clock */
  userLo = 0;
  userHi = 0;
  /** generator sequence number, −1 when the frame carries no afxdp payload */
  readonly seq: Float64Array;
  /** metadata flags (0 = no valid metadata) */
  readonly flags: Uint32Array;
  /** XDP stamp (0/0 when absent) */
  readonly xdpLo: Uint32Array;
  readonly xdpHi: Uint32Array;
  /** sender TX time from the payload (0/0 when absent) */
  readonly txLo: Uint32Array;
  readonly txHi: Uint32Array;
  /** segment latencies in ns; NaN when not measured for the packet */
  readonly xdpToUser: Float64Array;
  readonly senderToXdp: Float64Array;
  readonly hwToXdp: Float64Array;

  constructor(
    readonly queue: number,
    /** the UMEM bytes: frame i is bytes[addr[i], addr[i] + len[i]) */
    readonly bytes: Uint8Array,
    readonly addr: Uint32Array,
    readonly len: Uint32Array,
  ) {
    const size = addr.length;
    this.seq = new Float64Array(size);
    this.flags = new Uint32Array(size);
    this.xdpLo = new Uint32Array(size);
    this.xdpHi = new Uint32Array(size);
    this.txLo = new Uint32Array(size);
    this.txHi = new Uint32Array(size);
    this.xdpToUser = new Float64Array(size);
    this.senderToXdp = new Float64Array(size);
    this.hwToXdp = new Float64Array(size);
  }
}

/** The strategy that delivered a packet's stamp, from its metadata flags ('' when none). */
export function strategyOf(flags: number): '' | 'meta' | 'prepend' | 'map' {
  if (flags === 0) return '';
  if ((flags & F_VIA_PREPEND) !== 0) return 'prepend';
  if ((flags & F_VIA_MAP) !== 0) return 'map';
  return 'meta';
}
