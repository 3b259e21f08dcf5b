/**
 * PacketBatch: the per-packet data of one received batch, as columns of preallocated typed
 * arrays — the ONE column set of the receive engine. The engine fills it in its hot loop (no
 * object per packet); the sinks (CSV, pcapng), the public API's Batch/Packet views and the batch
 * channel of the worker modes all read the same columns, so nothing is decoded twice.
 *
 * The columns live either in ordinary memory (the engine's own batch) or in a slot of a
 * SharedArrayBuffer (rx/channel.ts), laid out by `batchLayout()`.
 */
import { F_VIA_MAP, F_VIA_PREPEND } from '../xdp/meta.js';

export interface PacketSink {
  /** Called once per batch; must not keep references to the arrays (they are reused). */
  onBatch(b: PacketBatch): void;
}

/** Column names and their element types, in layout order (8-byte columns first: alignment). */
const F64 = ['seq', 'xdpToUser', 'senderToXdp', 'hwToXdp'] as const;
const U32 = ['addr', 'len', 'flags', 'rxQueue', 'xdpLo', 'xdpHi', 'txLo', 'txHi', 'hwLo', 'hwHi', 'rxHash', 'rxHashType', 'vlanTci', 'vlanProto'] as const;

/** Bytes the columns of a batch of `size` packets take in a shared slot (a multiple of 8). */
export function columnBytes(size: number): number {
  return (F64.length * 8 + U32.length * 4) * size + ((U32.length * 4 * size) % 8 === 0 ? 0 : 4);
}

export class PacketBatch {
  /** packets in this batch */
  n = 0;
  /** the user-side time of the batch (first JS touch), lo/hi u32 words of ns in the receiver's clock */
  userLo = 0;
  userHi = 0;
  /** generator sequence number, −1 when the frame carries no afxdp payload */
  readonly seq!: Float64Array;
  /** segment latencies in ns; NaN when not measured for the packet */
  readonly xdpToUser!: Float64Array;
  readonly senderToXdp!: Float64Array;
  readonly hwToXdp!: Float64Array;
  /** where frame i is: bytes[addr[i], addr[i] + len[i]) (prepended stamps already stripped) */
  readonly addr!: Uint32Array;
  readonly len!: Uint32Array;
  /** metadata flags (0 = no valid stamp: absent, invalid or of the other clock) */
  readonly flags!: Uint32Array;
  /** RX queue from the metadata (AFXDP_F_QUEUE), else the receiving socket's queue */
  readonly rxQueue!: Uint32Array;
  /** XDP stamp (0/0 when absent) */
  readonly xdpLo!: Uint32Array;
  readonly xdpHi!: Uint32Array;
  /** sender TX time from the payload (0/0 when absent) */
  readonly txLo!: Uint32Array;
  readonly txHi!: Uint32Array;
  /** hardware hints: NIC RX stamp (PHC domain), RSS hash and type, VLAN tag (valid per flags) */
  readonly hwLo!: Uint32Array;
  readonly hwHi!: Uint32Array;
  readonly rxHash!: Uint32Array;
  readonly rxHashType!: Uint32Array;
  readonly vlanTci!: Uint32Array;
  readonly vlanProto!: Uint32Array;

  /**
   * @param queue the receiving socket's queue
   * @param bytes the memory the frames are in (the UMEM, or a channel slot's byte area)
   * @param size  packets per batch at most
   * @param at    columns inside a shared buffer (channel slot), else fresh memory
   * @param ring  use these as `addr`/`len` (the socket's receive arrays: no copy per packet)
   */
  constructor(
    readonly queue: number,
    readonly bytes: Uint8Array,
    readonly size: number,
    at?: { buffer: ArrayBufferLike; offset: number },
    ring?: { addr: Uint32Array; len: Uint32Array },
  ) {
    const buf = at?.buffer ?? new ArrayBuffer(columnBytes(size));
    let off = at?.offset ?? 0;
    const self = this as unknown as Record<string, Float64Array | Uint32Array>;
    for (const k of F64) {
      self[k] = new Float64Array(buf, off, size);
      off += 8 * size;
    }
    for (const k of U32) {
      self[k] = new Uint32Array(buf, off, size);
      off += 4 * size;
    }
    if (ring !== undefined) {
      self.addr = ring.addr;
      self.len = ring.len;
    }
  }
}

/** The strategy that delivered a packet's stamp, from its metadata flags ('' when none). */
export function strategyOf(flags: number): '' | 'meta' | 'prepend' | 'map' {
  if (flags === 0) return '';
  if ((flags & F_VIA_PREPEND) !== 0) return 'prepend';
  if ((flags & F_VIA_MAP) !== 0) return 'map';
  return 'meta';
}
