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
  /**
   * A stand-in of the same class for the engine's rehearsal (RxEngine.rehearse), so V8 compiles this
   * sink's onBatch before traffic: it takes the rehearsal's batches where nobody sees them, and
   * `settle()` (called after each rehearsed turn) plays whatever normally consumes them. Sinks
   * without one are left out of the rehearsal.
   */
  rehearsal?(): { sink: PacketSink; settle(): void };
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
  userLo = -0; // -0: a double field from the start (see MetaReader's fields in xdp/meta.ts)
  userHi = -0;
  /** generator sequence number, −1 when the frame carries no afxdp payload */
  readonly seq!: Float64Array;
  /** segment latencies in ns; NaN when not measured for the packet */
  readonly xdpToUser!: Float64Array;
  readonly senderToXdp!: Float64Array;
  readonly hwToXdp!: Float64Array;
  /**
   * where packet i is: bytes[addr[i], addr[i] + len[i]) (prepended stamps already stripped) when
   * it is one buffer; len[i] is always the whole packet, addr[i] its first buffer (see `segs`)
   */
  readonly addr!: Uint32Array;
  readonly len!: Uint32Array;
  /**
   * Multi-buffer packets (a socket bound with XDP_USE_SG), else null (every packet one buffer):
   * packet i is segs[i] buffers, segAddr/segLen[seg0[i] ..]; its first buffer starts at
   * segAddr[seg0[i]] (addr[i] is past a stripped prepended stamp). The socket's own arrays.
   */
  readonly segs: Uint32Array | null = null;
  readonly seg0: Uint32Array | null = null;
  readonly segAddr: Uint32Array | null = null;
  readonly segLen: Uint32Array | null = null;
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
    ring?: { addr: Uint32Array; len: Uint32Array; segs?: Uint32Array | null; seg0?: Uint32Array | null; segAddr?: Uint32Array | null; segLen?: Uint32Array | null },
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
      if (ring.segs) {
        const chains = this as unknown as Record<string, Uint32Array | null>;
        chains.segs = ring.segs;
        chains.seg0 = ring.seg0 ?? null;
        chains.segAddr = ring.segAddr ?? null;
        chains.segLen = ring.segLen ?? null;
      }
    }
  }
}

/** Zeroes every column of a batch (the engine's rehearsal leaves no synthetic value behind). */
export function clearBatch(b: PacketBatch): void {
  const cols = b as unknown as Record<string, Float64Array | Uint32Array>;
  for (const k of F64) cols[k]!.fill(0);
  for (const k of U32) cols[k]!.fill(0);
  b.n = 0;
}

/** How many buffers packet i of a batch is in (1 unless the socket is bound with XDP_USE_SG). */
export function segmentCount(b: PacketBatch, i: number): number {
  return b.segs === null ? 1 : b.segs[i]!;
}

/**
 * Where buffer k (0-based, < segmentCount) of packet i is in b.bytes: out[0] = start, out[1] =
 * end. The first buffer starts at addr[i] (past a stripped prepended stamp). No allocation.
 */
export function segmentRange(b: PacketBatch, i: number, k: number, out: Uint32Array): void {
  if (b.segs === null || b.segs[i]! <= 1) {
    out[0] = b.addr[i]!;
    out[1] = b.addr[i]! + b.len[i]!;
    return;
  }
  const d = b.seg0![i]! + k;
  const end = b.segAddr![d]! + b.segLen![d]!;
  out[0] = k === 0 ? b.addr[i]! : b.segAddr![d]!;
  out[1] = end;
}

/** The strategy that delivered a packet's stamp, from its metadata flags ('' when none). */
export function strategyOf(flags: number): '' | 'meta' | 'prepend' | 'map' {
  if (flags === 0) return '';
  if ((flags & F_VIA_PREPEND) !== 0) return 'prepend';
  if ((flags & F_VIA_MAP) !== 0) return 'map';
  return 'meta';
}
