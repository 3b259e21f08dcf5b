/**
 * Batch and Packet: the receive side of the public API — views over the receive engine's batch
 * columns (rx/batch.ts), which the engine filled once (nothing is decoded a second time). Both are
 * allocated once per socket and reused for every batch, so receiving allocates nothing per packet.
 *
 * A batch owns its frames until release(); after that the kernel may overwrite them, so every
 * accessor checks that the batch is still live and throws ESTATE otherwise, rather than handing
 * out bytes of some later packet.
 */
import { AfxdpError } from '../errors.js';
import { F_HW_TS, F_RX_HASH, F_VLAN } from '../xdp/meta.js';
import { UdpView, parseUdp, udpReply } from '../wire/udp.js';
import { strategyOf, segmentCount, segmentRange, type PacketBatch } from '../rx/batch.js';

const TWO32 = 4294967296;

/** What a Batch needs from its socket (kept narrow so Batch stays testable and small). */
export interface BatchOwner {
  /** @internal returns the batch's frames to the kernel */
  releaseBatch(batch: Batch): void;
}

/**
 * One received packet, as a reused view: `batch.packet(i)` refills the same object, so keep the
 * numbers you need, not the object. Valid until the batch is released.
 */
export class Packet {
  /**
   * the memory the packet is in (the UMEM, or a worker's batch slot). A packet in one buffer
   * (`segmentCount` 1, every packet up to a UMEM frame) is `buffer[offset .. offset + length)`
   * (no copy, no allocation); a multi-buffer packet (jumbo frames) starts there and continues in
   * its other segments: read it with segment(k) or copyTo()
   */
  buffer: Uint8Array;
  /** index in the batch */
  index = -1;
  offset = 0;
  /** the whole packet in bytes (every segment), without FCS */
  length = 0;
  /** buffers the packet arrived in: 1, or more for a packet larger than a UMEM frame (XDP_USE_SG) */
  segmentCount = 1;
  /** afxdp_meta flags (AFXDP_F_*); 0 when the packet carries no valid metadata */
  flags = 0;
  /** RX queue: from the metadata when present, else the receiving socket's queue */
  queue = 0;
  /** XDP hook → the moment JS took the batch, in ns; NaN without a timestamp (or in another clock) */
  latencyNs = NaN;
  // The u32 words start as -0 (equal to 0 everywhere) because -0 is a heap number: a field that
  // starts as a small integer changes its hidden class the first time it holds a word ≥ 2^30, and
  // a view made before that (a handler host's, before the rehearsal's twin ran) then deoptimized
  // the code that reads it on the first real packet.
  /** XDP hook time as two u32 words (ns, the socket's clock); 0/0 when absent */
  xdpTsLo = -0;
  xdpTsHi = -0;
  /** NIC RX timestamp (PHC domain) as two u32 words; 0/0 when absent */
  hwTsLo = -0;
  hwTsHi = -0;
  /** RSS hash and enum xdp_rss_hash_type (valid when `flags & AFXDP_F_RX_HASH`) */
  rxHash = -0;
  rxHashType = -0;
  /** VLAN tag (valid when `flags & AFXDP_F_VLAN`); vlanProto in network byte order */
  vlanTci = 0;
  vlanProto = 0;
  /** @internal */
  generation = -1;
  private readonly batch: Batch;
  /** the one UdpView udp() fills (no allocation per packet) */
  private readonly udpView = new UdpView();

  /** @internal */
  constructor(batch: Batch, buffer: Uint8Array) {
    this.batch = batch;
    this.buffer = buffer;
  }

  /** metadata present and valid */
  get hasMeta(): boolean {
    return this.flags !== 0;
  }

  /** how the stamp reached user space: 'meta', 'prepend', 'map', or '' without a valid stamp */
  get strategy(): '' | 'meta' | 'prepend' | 'map' {
    return strategyOf(this.flags);
  }

  /** XDP timestamp in ns as a double (exact below 2^53 ns: MONOTONIC yes, TAI to ~256 ns) */
  get xdpTimestampNs(): number {
    return this.xdpTsHi * TWO32 + this.xdpTsLo;
  }

  /** NIC RX timestamp in ns, NaN when absent */
  get hwTimestampNs(): number {
    return (this.flags & F_HW_TS) !== 0 ? this.hwTsHi * TWO32 + this.hwTsLo : NaN;
  }

  get hasRxHash(): boolean {
    return (this.flags & F_RX_HASH) !== 0;
  }

  get hasVlan(): boolean {
    return (this.flags & F_VLAN) !== 0;
  }

  /**
   * The packet's bytes as a Uint8Array view over the UMEM (no copy). Allocates one small view
   * object: on a hot path read `buffer` at `offset` instead. A multi-buffer packet has no single
   * view: this throws EUSAGE for it (use segment(k) or copyTo()).
   */
  bytes(): Uint8Array {
    this.batch.checkLive(this.generation);
    if (this.segmentCount > 1) {
      throw new AfxdpError('EUSAGE', `packet ${this.index} is ${this.length} bytes in ${this.segmentCount} buffers: there is no single view of it`, { hint: 'read it with packet.segment(k) for k < segmentCount, or copy it out with packet.copyTo(buffer)' });
    }
    return this.buffer.subarray(this.offset, this.offset + this.length);
  }

  /**
   * Buffer k (0 ≤ k < segmentCount) of the packet as a view over the UMEM (no copy; one small view
   * object). The segments in order are the whole packet.
   */
  segment(k: number): Uint8Array {
    this.batch.checkLive(this.generation);
    if (!(k >= 0 && k < this.segmentCount) || (k | 0) !== k) {
      throw new AfxdpError('EUSAGE', `segment ${String(k)} is out of range (packet of ${this.segmentCount} segment${this.segmentCount === 1 ? '' : 's'})`, { hint: 'use 0 .. segmentCount - 1' });
    }
    const r = this.batch.range(this.index, k);
    return this.buffer.subarray(r[0]!, r[1]!);
  }

  /**
   * The packet as a UDP datagram (Ethernet, at most one VLAN tag, IPv4 or IPv6): addresses, ports
   * and where the payload is in `buffer`; null for anything else (another protocol, an IPv4
   * fragment, an IPv6 extension header, a multi-buffer packet). The view is reused: it describes
   * this packet until the next call on any packet of the batch.
   */
  udp(): UdpView | null {
    this.batch.checkLive(this.generation);
    if (this.segmentCount > 1) return null;
    return parseUdp(this.buffer, this.offset, this.length, this.udpView) ? this.udpView : null;
  }

  /**
   * Turns a UDP packet into its reply, in place, ready for send(): Ethernet and IP addresses and
   * the ports swapped, the UDP checksum computed anew (what arrived may carry a partial checksum
   * left by the sender's checksum offload: docs/TROUBLESHOOTING.md). False (and nothing changed)
   * when the packet is not one udp() reads.
   */
  udpReply(): boolean {
    const v = this.udp();
    if (v === null) return false;
    udpReply(v);
    return true;
  }

  /**
   * Copies the whole packet, every segment in order, into `out` from `at`; returns the bytes
   * copied (fewer than `length` when `out` is shorter: the packet is cut there).
   */
  copyTo(out: Uint8Array, at = 0): number {
    this.batch.checkLive(this.generation);
    if (!(out instanceof Uint8Array)) throw new AfxdpError('EUSAGE', `copyTo: out must be a Uint8Array (or Buffer), got ${typeof out}`);
    if (!Number.isInteger(at) || at < 0 || at > out.length) throw new AfxdpError('EUSAGE', `copyTo: offset ${String(at)} is outside the ${out.length}-byte buffer`);
    let done = 0;
    for (let k = 0; k < this.segmentCount && at + done < out.length; k++) {
      const r = this.batch.range(this.index, k);
      const n = Math.min(r[1]! - r[0]!, out.length - at - done);
      out.set(this.buffer.subarray(r[0]!, r[0]! + n), at + done);
      done += n;
    }
    return done;
  }
}

/** The packets of one receive, reused for every batch of a socket. */
export class Batch {
  /** number of packets in this batch */
  length = 0;
  /** when JS took this batch (the socket's clock, ns) as two u32 words (-0: see Packet's u32 fields) */
  receivedAtLo = -0;
  receivedAtHi = -0;
  private cols: PacketBatch | null = null;
  private readonly view: Packet;
  private readonly owner: BatchOwner;
  private live = false;
  private generation = 0;

  /** @internal */
  constructor(owner: BatchOwner) {
    this.owner = owner;
    this.view = new Packet(this, new Uint8Array(0));
  }

  /** @internal the engine's columns of the batch just taken */
  begin(cols: PacketBatch): void {
    this.cols = cols;
    this.length = cols.n;
    this.receivedAtLo = cols.userLo;
    this.receivedAtHi = cols.userHi;
    this.live = true;
  }

  /** false once released (then every accessor throws ESTATE) */
  get released(): boolean {
    return !this.live;
  }

  get receivedAtNs(): number {
    return this.receivedAtHi * TWO32 + this.receivedAtLo;
  }

  /** Offset of packet i in `packet(i).buffer`. No allocation. */
  offsetOf(i: number): number {
    this.check(i);
    return this.cols!.addr[i]!;
  }

  /** Length of packet i in bytes. */
  lengthOf(i: number): number {
    this.check(i);
    return this.cols!.len[i]!;
  }

  /** XDP → user latency of packet i in ns (NaN when it had no timestamp). */
  latencyOf(i: number): number {
    this.check(i);
    return this.cols!.xdpToUser[i]!;
  }

  /** The reused Packet view filled for packet i (the same object on every call). */
  packet(i: number): Packet {
    this.check(i);
    const p = this.view;
    const c = this.cols!;
    const f = c.flags[i]!;
    p.buffer = c.bytes;
    p.index = i;
    p.offset = c.addr[i]!;
    p.length = c.len[i]!;
    p.segmentCount = segmentCount(c, i);
    p.latencyNs = c.xdpToUser[i]!;
    p.generation = this.generation;
    p.flags = f;
    p.queue = c.rxQueue[i]!;
    p.xdpTsLo = c.xdpLo[i]!;
    p.xdpTsHi = c.xdpHi[i]!;
    const hw = (f & F_HW_TS) !== 0;
    p.hwTsLo = hw ? c.hwLo[i]! : 0;
    p.hwTsHi = hw ? c.hwHi[i]! : 0;
    const hash = (f & F_RX_HASH) !== 0;
    p.rxHash = hash ? c.rxHash[i]! : 0;
    p.rxHashType = hash ? c.rxHashType[i]! : 0;
    const vlan = (f & F_VLAN) !== 0;
    p.vlanTci = vlan ? c.vlanTci[i]! : 0;
    p.vlanProto = vlan ? c.vlanProto[i]! : 0;
    return p;
  }

  /**
   * Gives the frames back to the kernel. Required before the next receive; the async iterator and
   * onBatch() do it for you. Releasing twice throws ESTATE.
   */
  release(): void {
    if (!this.live) {
      throw new AfxdpError('ESTATE', 'this batch was already released', { hint: 'release each batch once; the async iterator and onBatch() release for you' });
    }
    this.live = false;
    this.generation++;
    this.owner.releaseBatch(this);
  }

  /** @internal release without the double-release check (iterator / close paths) */
  releaseIfLive(): void {
    if (this.live) this.release();
  }

  private readonly segRange = new Uint32Array(2);

  /** @internal start and end of buffer k of packet i in the batch's memory (a reused array) */
  range(i: number, k: number): Uint32Array {
    segmentRange(this.cols!, i, k, this.segRange);
    return this.segRange;
  }

  /** @internal */
  checkLive(generation: number): void {
    if (!this.live || generation !== this.generation) {
      throw new AfxdpError('ESTATE', 'this packet belongs to a batch that was released', { hint: 'copy what you need before releasing the batch (or before the next loop iteration)' });
    }
  }

  private check(i: number): void {
    if (!this.live) {
      throw new AfxdpError('ESTATE', 'this batch was released: its packets may already be overwritten', { hint: 'read packets before release() (or before the next loop iteration)' });
    }
    if (!(i >= 0 && i < this.length) || (i | 0) !== i) {
      throw new AfxdpError('EUSAGE', `packet index ${String(i)} is out of range (batch of ${this.length})`, { hint: 'use 0 .. batch.length - 1' });
    }
  }
}
