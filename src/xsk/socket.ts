/**
 * XskSocket: one AF_XDP socket bound to one interface queue, with its own UMEM and rings.
 *
 * The data path is batch-oriented and allocation-free: `receive()` copies up to `batchSize`
 * RX descriptors into the preallocated `rxAddr`/`rxLen` arrays and hands the RX slots back at
 * once; the frames stay the application's until `recycle()` puts them back on the fill ring.
 * Sending works the same way with `txAlloc()` / `txPush()` / `txFlush()` / `reclaim()` (the chain
 * and flush around them: tx.ts). Which frames are free, and the fill and completion rings, are the
 * socket's FramePool (pool.ts); a received packet can also leave by TX in place (`forward()`).
 */
import { statSync } from 'node:fs';
import { native, type MmapOffsets } from '../native.js';
import { AfxdpError, isNativeError } from '../errors.js';
import { Ring, isPowerOfTwo } from './ring.js';
import { Umem, type UmemOptions } from './umem.js';
import { FrameTracker, FRAME_APP, FRAME_KERNEL, FRAME_TX } from './frames.js';
import { FramePool } from './pool.js';
import {
  ADDR_WORDS_SHIFT,
  DESC_WORDS_SHIFT,
  XDP_COPY,
  XDP_PGOFF_RX_RING,
  XDP_PGOFF_TX_RING,
  XDP_RX_RING,
  XDP_TX_RING,
  XDP_UMEM_COMPLETION_RING,
  XDP_UMEM_FILL_RING,
  XDP_UMEM_PGOFF_COMPLETION_RING,
  XDP_UMEM_PGOFF_FILL_RING,
  XDP_UMEM_TX_METADATA_LEN,
  XDP_USE_NEED_WAKEUP,
  XDP_USE_SG,
  XDP_PKT_CONTD,
  XDP_ZEROCOPY,
  XDP_OPTIONS_ZEROCOPY,
  POLLIN,
  POLLOUT,
  MAX_CHAIN,
} from './constants.js';

/** how an AF_XDP socket is bound: frames copied to the UMEM, or the driver's DMA into it */
export type BindMode = 'copy' | 'zerocopy';
export const BIND_MODES: readonly BindMode[] = ['copy', 'zerocopy'];
/** what a caller asks for: 'auto' is zero-copy when the driver can, else copy */
export type BindModeOption = BindMode | 'auto';

export interface BusyPollSettings {
  /** SO_BUSY_POLL: µs a recvfrom() on an empty ring may run the driver's NAPI */
  usecs: number;
  /** SO_PREFER_BUSY_POLL */
  prefer: boolean;
  /** SO_BUSY_POLL_BUDGET: packets per busy-poll round */
  budget: number;
}

/**
 * What the kernel reports for a socket's busy polling (any thread may ask: fds are per process).
 * The kernel has no getsockopt for SO_BUSY_POLL_BUDGET: `budget` is the one setBusyPoll() set.
 */
export function busyPollOf(fd: number, budget: number): BusyPollSettings {
  const n = native();
  return { usecs: n.socketOptionInt(fd, SO_BUSY_POLL), prefer: n.socketOptionInt(fd, SO_PREFER_BUSY_POLL) === 1, budget };
}

export interface XskSocketOptions extends UmemOptions {
  ifindex: number;
  /** used in error messages */
  ifname?: string;
  queue: number;
  /** RX ring entries (0 = no RX); default 2048 */
  rxRingSize?: number;
  /** TX ring entries (0 = no TX); default 0 */
  txRingSize?: number;
  /** fill ring entries; default = rxRingSize or 2048 */
  fillRingSize?: number;
  /** completion ring entries; default = txRingSize or 2048 */
  completionRingSize?: number;
  /** default 'auto': zero-copy when the driver can, else copy */
  bind?: BindModeOption;
  /** default true */
  needWakeup?: boolean;
  /** max descriptors per receive() / tx batch; default 64 */
  batchSize?: number;
  /** debug: track every UMEM frame and assert the ownership invariant at every batch (src/xsk/frames.ts) */
  trackFrames?: boolean;
  /**
   * bytes of TX metadata (struct xsk_tx_metadata, 16) in front of each TX packet (kernel ≥ 6.8);
   * default 0. With it, send packets at an offset ≥ this inside the frame and set XDP_TX_METADATA.
   */
  txMetadataLen?: number;
  /**
   * bind with XDP_USE_SG (kernel ≥ 6.6): packets larger than a frame arrive as a chain of
   * descriptors (received as one packet, see receive()) and can be sent as one; default false
   */
  sg?: boolean;
  /**
   * shared UMEM (XDP_SHARED_UMEM): this socket uses the UMEM of `shareUmem` (already bound)
   * instead of a new one. On the same interface and queue it also uses that socket's fill and
   * completion rings; on another queue or interface it gets its own (fillRingSize,
   * completionRingSize). Bind mode, need_wakeup and sg are the first socket's (the kernel takes
   * no bind flags with XDP_SHARED_UMEM): no UMEM options, `bind`, `needWakeup`, `sg` or
   * `trackFrames` with it. A received packet can then leave by the other socket without a copy
   * (forward(i, other)). Close the sharing sockets before the first one.
   */
  shareUmem?: XskSocket;
  /**
   * frames put on the fill ring before bind; default: as many as the fill ring takes (half the
   * UMEM with a TX ring too; half of what is free when sharing a UMEM). 0: none (the kernel then
   * counts rx_fill_ring_empty_descs until you refill)
   */
  initialFill?: number;
}

/**
 * A socket the broker made and passed (docs/BROKER.md): bound, its rings sized, its UMEM a memfd,
 * `filled` frames already on the fill ring (frames 0..filled-1, as create() puts them there).
 */
export interface AdoptedSocket {
  fd: number;
  umemFd: number;
  filled: number;
  bindMode: 'copy' | 'zerocopy';
}

export interface KernelStats {
  rx_dropped: number;
  rx_invalid_descs: number;
  tx_invalid_descs: number;
  rx_ring_full: number;
  rx_fill_ring_empty_descs: number;
  tx_ring_empty_descs: number;
}

const KICK_RX = 0;
// <asm-generic/socket.h>
const SO_BUSY_POLL = 46;
const SO_PREFER_BUSY_POLL = 69;
const BIND_BUSY_STEP_MS = 5;
const BIND_BUSY_MAX_MS = 1000; // a queue really held by another socket reports EBUSY after this long
/** Atomics.wait needs a shared Int32Array; used only as a synchronous sleep in bind() */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const KICK_TX = 1;

export class XskSocket {
  readonly fd: number;
  readonly umem: Umem;
  readonly ifindex: number;
  readonly ifname: string;
  readonly queue: number;
  readonly batchSize: number;
  /** the bind mode that took effect */
  readonly bindMode: 'copy' | 'zerocopy';
  /**
   * the kernel's own answer (getsockopt XDP_OPTIONS, XDP_OPTIONS_ZEROCOPY): the socket moves
   * frames without a copy. Agrees with bindMode; for a socket sharing a UMEM it is the queue's.
   */
  readonly zeroCopy: boolean;
  /**
   * bound with XDP_USE_NEED_WAKEUP (a socket sharing a UMEM has its first socket's): the kernel
   * asks for a kick through the rings' flags. Without it txFlush() kicks at every call, as
   * xdpsock does, and the fill ring is never kicked.
   */
  readonly needWakeup: boolean;
  readonly rx: Ring | null;
  readonly tx: Ring | null;
  /** @internal the free list, the fill ring and the completion ring: every frame allocation of this socket */
  readonly pool: FramePool;
  /**
   * filled by receive(), one entry per packet: UMEM address of the packet data (of its first
   * buffer) and the packet's whole length. Without `sg` a packet is one descriptor.
   */
  readonly rxAddr: Uint32Array;
  readonly rxLen: Uint32Array;
  /** bound with XDP_USE_SG: a packet may span several frames (the chain columns below are set) */
  readonly sg: boolean;
  /** with `sg`, per packet: its number of buffers and the index of its first one in segAddr/segLen */
  readonly rxSegs: Uint32Array | null;
  readonly rxSeg0: Uint32Array | null;
  /** with `sg`, per buffer of the packets of the last receive(), in order: address and length */
  readonly segAddr: Uint32Array | null;
  readonly segLen: Uint32Array | null;
  /** a chain longer than the receive window is being dropped: its remaining buffers go back to the fill ring */
  private skipping = false;
  /** chains longer than the receive window (batchSize + MAX_CHAIN buffers), dropped whole (their frames recycled) */
  chainsDropped = 0;
  private txQueued = 0;
  /** per packet of the last receive(): 1 when forward() sent it (recycle() then leaves its frames to TX) */
  private readonly rxForwarded: Uint8Array;
  private forwarded = 0;
  /** inside rehearse(): the rings are stand-ins */
  private rehearsing = false;
  private rehearsedFlushes = 0;
  private closed = false;
  private poll: ReturnType<ReturnType<typeof native>['pollStart']> | null = null;
  private readonly statsBuf = new Float64Array(8);
  /** frames create() put on the fill ring before bind (a client that adopts the socket needs the number) */
  readonly initialFill: number = 0;
  /** @internal set with `trackFrames`: ownership of every UMEM frame, checked at every batch */
  readonly tracker: FrameTracker | null;
  /** kicks issued, for diagnostics */
  rxKicks = 0;
  txKicks = 0;

  /** inode of the network namespace the socket was made in */
  readonly netnsId: number;
  /** the socket whose UMEM this one shares (shareUmem), else null */
  readonly umemOwner: XskSocket | null;
  /** the fill and completion rings are this socket's own (not those of the socket it shares a queue with) */
  private readonly ownRings: boolean;

  private constructor(o: Required<Omit<XskSocketOptions, 'frameCount' | 'frameSize' | 'ifname' | 'shared' | 'headroom' | 'unaligned' | 'shareUmem' | 'initialFill'>> & { ifname: string; initialFill?: number }, umem: Umem, adopt: AdoptedSocket | null, owner: XskSocket | null = null) {
    const n = native();
    this.umem = umem;
    this.ifindex = o.ifindex;
    this.ifname = o.ifname;
    this.queue = o.queue;
    this.batchSize = o.batchSize;
    this.rxAddr = new Uint32Array(o.batchSize);
    this.rxLen = new Uint32Array(o.batchSize);
    this.sg = o.sg;
    // one packet may take MAX_CHAIN buffers: room for a full batch of single-buffer packets plus one long chain
    this.rxSegs = o.sg ? new Uint32Array(o.batchSize) : null;
    this.rxSeg0 = o.sg ? new Uint32Array(o.batchSize) : null;
    this.segAddr = o.sg ? new Uint32Array(o.batchSize + MAX_CHAIN) : null;
    this.segLen = o.sg ? new Uint32Array(o.batchSize + MAX_CHAIN) : null;
    this.rxForwarded = new Uint8Array(o.batchSize);
    this.tracker = o.trackFrames ? new FrameTracker(umem.frameCount, umem.frameShift) : null;

    // an adopted socket is registered, sized and bound already: map its rings (no capability needed)
    this.fd = adopt ? adopt.fd : sys(() => n.xskSocket(), 'create an AF_XDP socket', o);
    this.umemOwner = owner;
    // the interface's namespace (the socket's, where bind looks the ifindex up): ifindexes repeat across namespaces
    this.netnsId = statSync('/proc/thread-self/ns/net').ino;
    // sharing the queue of the UMEM's socket: the kernel gives both sockets that socket's fill and completion rings
    this.ownRings = owner === null || owner.ifindex !== o.ifindex || owner.queue !== o.queue || owner.netnsId !== this.netnsId;
    try {
      if (!adopt && owner === null) {
        const md = o.txMetadataLen;
        sys(() => n.xskUmemReg(this.fd, umem.buffer, umem.frameSize, umem.headroom, (md ? XDP_UMEM_TX_METADATA_LEN : 0) | umem.regFlags, md), md ? `register the UMEM with ${md} bytes of TX metadata (kernel ≥ 6.8)` : 'register the UMEM', o);
      }
      if (!adopt && this.ownRings) {
        sys(() => n.xskSetRingSize(this.fd, XDP_UMEM_FILL_RING, o.fillRingSize), 'size the fill ring', o);
        sys(() => n.xskSetRingSize(this.fd, XDP_UMEM_COMPLETION_RING, o.completionRingSize), 'size the completion ring', o);
      }
      if (!adopt) {
        if (o.rxRingSize) sys(() => n.xskSetRingSize(this.fd, XDP_RX_RING, o.rxRingSize), 'size the RX ring', o);
        if (o.txRingSize) sys(() => n.xskSetRingSize(this.fd, XDP_TX_RING, o.txRingSize), 'size the TX ring', o);
      }
      const off: MmapOffsets = sys(() => n.xskMmapOffsets(this.fd), 'read the ring offsets', o);
      if (this.ownRings) {
        const fill = new Ring(this.fd, XDP_UMEM_PGOFF_FILL_RING, off.fr, o.fillRingSize, ADDR_WORDS_SHIFT);
        const completion = new Ring(this.fd, XDP_UMEM_PGOFF_COMPLETION_RING, off.cr, o.completionRingSize, ADDR_WORDS_SHIFT);
        this.pool = new FramePool(umem, fill, completion, this.tracker, () => this.checkFrames(), () => this.kickRx(), owner === null ? null : owner.pool.free);
      } else {
        this.pool = owner!.pool;
      }
      this.rx = o.rxRingSize ? new Ring(this.fd, XDP_PGOFF_RX_RING, off.rx, o.rxRingSize, DESC_WORDS_SHIFT) : null;
      this.tx = o.txRingSize ? new Ring(this.fd, XDP_PGOFF_TX_RING, off.tx, o.txRingSize, DESC_WORDS_SHIFT) : null;

      // RX: give the kernel frames to write into before bind, so the first packet finds one
      // (adopted: the broker did, and they may hold packets already; only the bookkeeping is ours)
      const self = this as { initialFill: number };
      if (adopt) self.initialFill = this.pool.takeFree(adopt.filled);
      else if (this.rx && this.ownRings) self.initialFill = this.pool.refill(Math.min(o.fillRingSize, o.initialFill ?? this.rxShare()));

      this.bindMode = adopt ? adopt.bindMode : owner !== null ? this.bindShared(o, owner) : this.bind(o);
      this.needWakeup = owner !== null ? owner.needWakeup : o.needWakeup;
      const opt = n.xskOptions(this.fd);
      this.zeroCopy = opt < 0 ? this.bindMode === 'zerocopy' : (opt & XDP_OPTIONS_ZEROCOPY) !== 0;
    } catch (e) {
      n.close(this.fd);
      throw e;
    }
  }

  /** the fill ring (the pool's) */
  get fill(): Ring {
    return this.pool.fill;
  }

  /** the completion ring (the pool's) */
  get completion(): Ring {
    return this.pool.completion;
  }

  /** @internal Takes over a socket the broker made and passed (its fd and UMEM memfd are the caller's to give). */
  static adopt(opts: XskSocketOptions, adopt: AdoptedSocket): XskSocket {
    return XskSocket.build(opts, adopt);
  }

  static create(opts: XskSocketOptions): XskSocket {
    return XskSocket.build(opts, null);
  }

  private static build(opts: XskSocketOptions, adopt: AdoptedSocket | null): XskSocket {
    const rxRingSize = opts.rxRingSize ?? 2048;
    const txRingSize = opts.txRingSize ?? 0;
    const o = {
      ifindex: opts.ifindex,
      ifname: opts.ifname ?? `ifindex ${opts.ifindex}`,
      queue: opts.queue,
      rxRingSize,
      txRingSize,
      fillRingSize: opts.fillRingSize ?? (rxRingSize || 2048),
      completionRingSize: opts.completionRingSize ?? (txRingSize || 2048),
      bind: opts.bind ?? 'auto',
      needWakeup: opts.needWakeup ?? true,
      batchSize: opts.batchSize ?? 64,
      trackFrames: opts.trackFrames ?? false,
      txMetadataLen: opts.txMetadataLen ?? 0,
      sg: opts.sg ?? false,
      initialFill: opts.initialFill,
    };
    if (o.initialFill !== undefined && (!Number.isInteger(o.initialFill) || o.initialFill < 0)) {
      throw new AfxdpError('EUSAGE', `initialFill ${String(o.initialFill)} is not a number of frames`, { hint: 'use 0 or more (at most the fill ring size is taken)' });
    }
    if (rxRingSize === 0 && txRingSize === 0) {
      throw new AfxdpError('EUSAGE', 'an AF_XDP socket needs an RX ring, a TX ring or both', { hint: 'set rxRingSize or txRingSize' });
    }
    for (const [name, v] of [
      ['RX ring size', o.rxRingSize],
      ['TX ring size', o.txRingSize],
      ['fill ring size', o.fillRingSize],
      ['completion ring size', o.completionRingSize],
    ] as const) {
      if (v !== 0 && !isPowerOfTwo(v)) {
        throw new AfxdpError('EUSAGE', `${name} ${v} is not a power of two`, { hint: 'the kernel only accepts ring sizes like 512, 1024, 2048, 4096' });
      }
    }
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 4096) {
      throw new AfxdpError('EUSAGE', `batch size ${o.batchSize} is out of range`, { hint: 'use 1..4096' });
    }
    if (!Number.isInteger(o.txMetadataLen) || o.txMetadataLen < 0 || o.txMetadataLen >= 256 || o.txMetadataLen % 8 !== 0) {
      throw new AfxdpError('EUSAGE', `TX metadata length ${o.txMetadataLen} is not accepted by the kernel`, { hint: 'use a multiple of 8 below 256 (struct xsk_tx_metadata is 16)' });
    }
    if (!Number.isInteger(o.queue) || o.queue < 0) {
      throw new AfxdpError('EUSAGE', `queue ${o.queue} is not a valid queue number`, { hint: 'use an integer ≥ 0' });
    }
    const owner = opts.shareUmem ?? null;
    if (owner !== null) {
      if (!(owner instanceof XskSocket)) throw new AfxdpError('EUSAGE', 'shareUmem must be an XskSocket (the socket whose UMEM to share)');
      for (const k of ['frameCount', 'frameSize', 'shared', 'headroom', 'unaligned', 'bind', 'needWakeup', 'sg', 'trackFrames', 'txMetadataLen'] as const) {
        if (opts[k] !== undefined) throw new AfxdpError('EUSAGE', `${k} cannot be set on a socket that shares the UMEM of ${owner.ifname} queue ${owner.queue}: it is that socket's`, { hint: `drop ${k}, or set it on the first socket` });
      }
      if (adopt) throw new AfxdpError('EUSAGE', 'an adopted socket cannot share a UMEM');
      if (owner.tracker !== null) throw new AfxdpError('EUSAGE', 'frame tracking (trackFrames) does not follow frames across sockets sharing a UMEM', { hint: 'open the first socket without trackFrames' });
      if (owner.isClosed) throw new AfxdpError('ECLOSED', `cannot share the UMEM of the closed socket on ${owner.ifname} queue ${owner.queue}`, { hint: 'share the UMEM of an open socket' });
      o.sg = owner.sg;
      return new XskSocket(o, owner.umem, null, owner);
    }
    const umem = new Umem({ frameCount: opts.frameCount, frameSize: opts.frameSize, shared: opts.shared, headroom: opts.headroom, unaligned: opts.unaligned }, adopt ? adopt.umemFd : -1);
    return new XskSocket(o, umem, adopt);
  }

  /**
   * Busy polling for this socket: SO_PREFER_BUSY_POLL, SO_BUSY_POLL = usecs and a budget of one
   * batch, so kickRx() on an empty ring runs the driver's NAPI in the calling thread (up to usecs)
   * instead of waiting for the softirq. Setup only; a refusal is one clear error.
   */
  setBusyPoll(usecs: number): void {
    try {
      native().xskBusyPoll(this.fd, usecs, this.batchSize);
    } catch (e) {
      const errno = isNativeError(e) ? e.errno : undefined;
      throw new AfxdpError(errno === 1 ? 'EPERM' : 'ESYS', `busy polling on queue ${this.queue} of ${this.ifname}: ${(e as Error).message}`, {
        errno,
        hint: errno === 1 ? 'SO_PREFER_BUSY_POLL and raising SO_BUSY_POLL need CAP_NET_ADMIN: run as root, or drop --busy-poll' : 'drop --busy-poll',
      });
    }
  }

  private rxShare(): number {
    // with TX too, keep half the frames for sending; a socket sharing a UMEM takes half of what is left
    if (this.umemOwner !== null) return this.pool.freeCount >>> 1;
    return this.tx ? this.umem.frameCount >>> 1 : this.umem.frameCount;
  }

  /** bind with XDP_SHARED_UMEM: no other flag (the kernel refuses them); the mode is the first socket's */
  private bindShared(o: { ifindex: number; queue: number; ifname: string }, owner: XskSocket): 'copy' | 'zerocopy' {
    if (owner.isClosed) throw new AfxdpError('ECLOSED', `cannot share the UMEM of the closed socket on ${owner.ifname} queue ${owner.queue}`, { hint: 'share the UMEM of an open socket' });
    try {
      native().xskBind(this.fd, o.ifindex, o.queue, 0, owner.fd);
    } catch (e) {
      if (!isNativeError(e) || e.errno !== 22) throw bindError(e, o, owner.bindMode);
      throw new AfxdpError('ESYS', `cannot bind an AF_XDP socket sharing the UMEM of ${owner.ifname} queue ${owner.queue} to ${o.ifname} queue ${o.queue}: ${e.message}`, {
        errno: e.errno,
        hint: `${o.ifname} must have queue ${o.queue}; in zero-copy mode both sockets must be on one driver`,
        cause: e,
      });
    }
    return owner.bindMode;
  }

  private bind(o: { ifindex: number; queue: number; bind: BindModeOption; needWakeup: boolean; ifname: string; sg: boolean }): BindMode {
    const n = native();
    const wake = (o.needWakeup ? XDP_USE_NEED_WAKEUP : 0) | (o.sg ? XDP_USE_SG : 0);
    const attempt = (mode: 'copy' | 'zerocopy'): void => {
      // EBUSY right after the previous socket of this queue was closed: the kernel frees the
      // queue's buffer pool from a workqueue once that socket's last in-flight TX skb is gone,
      // so the slot can stay taken for a few ms. Wait a little (bounded) instead of failing.
      for (let waited = 0; ; waited += BIND_BUSY_STEP_MS) {
        try {
          n.xskBind(this.fd, o.ifindex, o.queue, wake | (mode === 'copy' ? XDP_COPY : XDP_ZEROCOPY), -1);
          return;
        } catch (e) {
          if (!isNativeError(e) || e.errno !== 16 || waited >= BIND_BUSY_MAX_MS) throw e;
          Atomics.wait(sleepCell, 0, 0, BIND_BUSY_STEP_MS);
        }
      }
    };
    if (o.bind !== 'auto') {
      try {
        attempt(o.bind);
      } catch (e) {
        throw bindError(e, o, o.bind);
      }
      return o.bind;
    }
    try {
      attempt('zerocopy');
      return 'zerocopy';
    } catch (e) {
      // EOPNOTSUPP: driver has no zero-copy (veth); anything else is a real failure
      if (!isNativeError(e) || (e.errno !== 95 && e.errno !== 22)) throw bindError(e, o, 'zerocopy');
    }
    try {
      attempt('copy');
    } catch (e) {
      throw bindError(e, o, 'copy');
    }
    return 'copy';
  }

  private checkOpen(): void {
    if (this.closed) throw new AfxdpError('ECLOSED', `AF_XDP socket on ${this.ifname} queue ${this.queue} is closed`);
  }

  // ------------------------------------------------------------------ RX

  /**
   * Moves up to batchSize ready RX descriptors into rxAddr/rxLen and returns how many.
   * The frames remain owned by the caller until recycle().
   */
  receive(): number {
    const rx = this.rx;
    if (rx === null || this.closed) {
      this.checkOpen();
      throw new AfxdpError('ESTATE', 'this socket has no RX ring');
    }
    if (this.sg) return this.receiveChains(rx);
    const n = rx.peek(this.batchSize);
    if (n === 0) return 0;
    const w = rx.words;
    let idx = rx.consumerIndex;
    for (let i = 0; i < n; i++, idx++) {
      const e = rx.entryWord(idx);
      // addr < 4 GiB; in unaligned chunk mode the high word's upper 16 bits are the packet's offset (0 otherwise)
      this.rxAddr[i] = w[e]! + (w[e + 1]! >>> 16);
      this.rxLen[i] = w[e + 2]!;
    }
    rx.release(n);
    if (this.tracker !== null) this.trackReceived(n);
    return n;
  }

  /**
   * receive() with XDP_USE_SG: up to batchSize whole packets. A packet is the run of descriptors
   * up to the first one without XDP_PKT_CONTD; its buffers go to segAddr/segLen, the packet to
   * rxAddr (first buffer) / rxLen (sum) / rxSegs / rxSeg0. Only whole packets leave the ring: a
   * chain whose end is not published yet stays there for the next call (the kernel publishes a
   * chain at once, so this is a guard, not a path). A chain longer than the window read at once
   * (batchSize + MAX_CHAIN buffers) can never be taken whole: it is dropped, its frames recycled.
   */
  private receiveChains(rx: Ring): number {
    const sa = this.segAddr!;
    const sl = this.segLen!;
    const segs = this.rxSegs!;
    const seg0 = this.rxSeg0!;
    const avail = rx.peek(sa.length);
    if (avail === 0) return 0;
    const w = rx.words;
    let idx = rx.consumerIndex;
    let pkts = 0;
    let d = 0; // buffers read
    let done = 0; // buffers of whole packets (what leaves the ring)
    let first = 0;
    let total = 0;
    for (; d < avail && pkts < this.batchSize; d++, idx++) {
      const e = rx.entryWord(idx);
      sa[d] = w[e]! + (w[e + 1]! >>> 16);
      sl[d] = w[e + 2]!;
      total += sl[d]!;
      if ((w[e + 3]! & XDP_PKT_CONTD) !== 0) continue;
      if (this.skipping) {
        // the end of a chain that was too long: these buffers go back too, and that chain is done
        this.skipping = false;
        this.dropBuffers(d + 1);
        return 0;
      }
      this.rxAddr[pkts] = sa[first]!;
      this.rxLen[pkts] = total;
      segs[pkts] = d + 1 - first;
      seg0[pkts] = first;
      pkts++;
      first = d + 1;
      done = d + 1;
      total = 0;
    }
    if (pkts === 0 && (this.skipping || avail === sa.length)) {
      // no whole packet in a full window: a chain longer than the window (or its continuation)
      if (!this.skipping) this.chainsDropped++;
      this.skipping = true;
      this.dropBuffers(avail);
      return 0;
    }
    rx.release(done);
    if (this.tracker !== null) this.trackReceived(done);
    return pkts;
  }

  /**
   * @internal
   * Runs `fn` with the RX and fill rings replaced by empty stand-ins in ordinary memory
   * (Ring.standIn), on which `fn` plays the kernel's side: the receive path's own code (receive,
   * recycle, the fill ring) runs, and V8 compiles it, before any packet can arrive. Only while
   * the socket cannot receive yet (before the program is attached; the kernel does not touch
   * RX or fill then) and never with the frame tracker (it would see the rehearsal's frames).
   * A socket with a TX ring rehearses its TX side too: the TX and completion rings are stand-ins
   * as well, so forward(), the flush and reclaim() can run on the rehearsal's packets
   * (completeTxAsKernel() plays the kernel there; the stand-in TX ring never asks for a kick).
   * The real rings are back when it returns, untouched, and so are the free list and the counts.
   */
  rehearse<T>(fn: (rx: Ring, fill: Ring) => T): T {
    if (this.rx === null || this.tracker !== null || this.closed) throw new AfxdpError('ESTATE', 'this socket cannot rehearse its receive path');
    const skipping = this.skipping;
    const dropped = this.chainsDropped;
    const pool = this.pool;
    // the rehearsal's one frame goes round through TX and completions: the free list is put back as it was
    const free = pool.free.frames.slice();
    const top = pool.free.top;
    const debt = pool.fillDebt;
    const kicks = [this.rxKicks, this.txKicks];
    this.rehearsing = true;
    try {
      return this.withStandIns(this.tx === null ? ['rx', 'fill'] : ['rx', 'fill', 'tx', 'completion'], () => fn(this.rx!, this.fill));
    } finally {
      this.rehearsing = false;
      this.skipping = skipping;
      this.chainsDropped = dropped;
      pool.free.frames.set(free);
      pool.free.top = top;
      pool.fillDebt = debt;
      this.txQueued = 0;
      this.forwarded = 0;
      this.rxForwarded.fill(0);
      [this.rxKicks, this.txKicks] = kicks as [number, number];
    }
  }

  /**
   * @internal
   * During rehearse(): the kernel's side of the stand-in TX ring — takes every descriptor
   * published there and completes it on the stand-in completion ring. Returns how many.
   */
  completeTxAsKernel(): number {
    if (!this.rehearsing || this.tx === null) throw new AfxdpError('ESTATE', 'only a rehearsal completes TX frames itself');
    const n = this.tx.completeAllAsKernel(this.completion);
    // now and then the stand-in asks for a kick, so txFlush()'s kick is compiled too: a real
    // sendto() on the real, empty TX ring, which sends nothing
    if ((++this.rehearsedFlushes & 255) === 1) {
      this.tx.setNeedsWakeupAsKernel(true);
      this.txFlush();
      this.tx.setNeedsWakeupAsKernel(false);
    }
    return n;
  }

  /**
   * @internal
   * rehearse() for the TX side: runs `fn` with the completion ring replaced by an empty stand-in
   * in ordinary memory, on which `fn` plays the kernel's side (completes frames it took with
   * txAlloc), so reclaim() runs, and V8 compiles it, before any frame is sent. Not with the frame
   * tracker. The real ring is back when it returns, untouched.
   */
  rehearseCompletions<T>(fn: (completion: Ring) => T): T {
    if (this.tx === null || this.tracker !== null || this.closed) throw new AfxdpError('ESTATE', 'this socket cannot rehearse its TX path');
    return this.withStandIns(['completion'], () => fn(this.completion));
  }

  /** Runs `fn` with the named rings swapped for empty stand-ins (Ring.standIn); the real ones are back after. */
  private withStandIns<T>(names: Array<'rx' | 'fill' | 'tx' | 'completion'>, fn: () => T): T {
    // rx and tx are the socket's; fill and completion are the pool's
    const holder = (k: 'rx' | 'fill' | 'tx' | 'completion'): Record<string, Ring> => (k === 'rx' || k === 'tx' ? (this as unknown as Record<string, Ring>) : (this.pool as unknown as Record<string, Ring>));
    const real = names.map((k) => holder(k)[k]!);
    names.forEach((k, i) => (holder(k)[k] = Ring.standIn(real[i]!)));
    try {
      return fn();
    } finally {
      names.forEach((k, i) => (holder(k)[k] = real[i]!));
    }
  }

  /** Clears the metadata magic word in front of the packet at `addr` (the stale guard), when it lies inside the packet's frame. */
  private clearStaleGuard(addr: number): void {
    const shift = this.umem.frameShift;
    if (addr - 4 >= (addr >>> shift) << shift && (addr & 3) === 0) this.umem.words[(addr - 4) >>> 2] = 0;
  }

  /** The first `k` descriptors read into segAddr, taken off the RX ring and put back on the fill ring at once. */
  private dropBuffers(k: number): void {
    this.rx!.release(k);
    this.pool.giveBack(this.segAddr!, k, false);
  }

  /**
   * Returns the first `n` frames of the last receive() to the fill ring. Clears the metadata
   * magic word in front of each packet first (the stale guard, docs/METADATA-ABI.md): a later packet whose
   * metadata is not written can then never be read with this packet's stamp.
   */
  recycle(n: number): void {
    // forwarded packets leave the columns first (their stale guard was cleared by forward())
    if (this.forwarded > 0) n = this.dropForwarded(n);
    for (let i = 0; i < n; i++) this.clearStaleGuard(this.rxAddr[i]!);
    // with sg, every buffer of the n packets' chains (they are the first ones in segAddr)
    if (this.sg) return this.pool.giveBack(this.segAddr!, n === 0 ? 0 : this.rxSeg0![n - 1]! + this.rxSegs![n - 1]!, true);
    this.pool.giveBack(this.rxAddr, n, true);
  }

  /**
   * Transmits received packet i (of the last receive()) from its own frames, as they are now: its
   * descriptor (every buffer of a chain) goes on the TX ring, and recycle() leaves its frames to
   * TX; the fill ring is owed them from now on (FramePool.fillDebt), so the reclaim() after the
   * flush puts them straight back there as they complete. Their stale guard is cleared here,
   * before the kernel can have them again. Sent at the next txFlush(). Returns false, and queues
   * nothing, when the TX ring has no room.
   * `via`: another socket sharing this UMEM (shareUmem) sends it from its TX ring, still without a
   * copy (call via.txFlush()); the frames come back on via's completion ring to the UMEM's one free
   * list, and this socket's reclaim() puts what it owes back on its fill ring.
   */
  forward(i: number, via: XskSocket = this): boolean {
    const tx = via.tx;
    if (tx === null) throw new AfxdpError('ESTATE', `the socket on ${via.ifname} queue ${via.queue} has no TX ring`);
    if (via !== this && via.umem !== this.umem) {
      throw new AfxdpError('EUSAGE', `the socket on ${via.ifname} queue ${via.queue} does not share the UMEM of ${this.ifname} queue ${this.queue}: a packet cannot leave it without a copy`, { hint: 'open it with { shareUmem: <this socket> }, or copy the packet out with its send path' });
    }
    if (this.rxForwarded[i] !== 0) return true;
    const segs = this.sg ? this.rxSegs![i]! : 1;
    if (tx.free(via.txQueued + segs) < via.txQueued + segs) return false;
    const addr = this.rxAddr[i]!;
    this.clearStaleGuard(addr);
    if (segs === 1) {
      via.txPush(addr, this.rxLen[i]!);
    } else {
      const s0 = this.rxSeg0![i]!;
      for (let j = 0; j < segs; j++) {
        // the first buffer from where the packet starts (a stripped prepended stamp is not sent)
        const a = j === 0 ? addr : this.segAddr![s0 + j]!;
        const len = j === 0 ? this.segLen![s0]! - (a - this.segAddr![s0]!) : this.segLen![s0 + j]!;
        via.txPush(a, len, j + 1 < segs ? XDP_PKT_CONTD : 0);
      }
    }
    this.rxForwarded[i] = 1;
    this.forwarded++;
    this.pool.fillDebt += segs;
    return true;
  }

  /**
   * recycle() of a batch some packets of which were forwarded: the rest move to the front of the
   * receive columns (their chains, with sg). Returns the packets left to recycle. Reorders the
   * columns: the batch is over by then.
   */
  private dropForwarded(n: number): number {
    const fw = this.rxForwarded;
    let kept = 0;
    let keptBufs = 0;
    for (let i = 0; i < n; i++) {
      const segs = this.sg ? this.rxSegs![i]! : 1;
      if (fw[i] !== 0) {
        fw[i] = 0;
        continue;
      }
      if (this.sg) {
        const s0 = this.rxSeg0![i]!;
        for (let j = 0; j < segs; j++) this.segAddr![keptBufs + j] = this.segAddr![s0 + j]!;
        this.rxSeg0![kept] = keptBufs;
        this.rxSegs![kept] = segs;
        keptBufs += segs;
      }
      this.rxAddr[kept++] = this.rxAddr[i]!;
    }
    this.forwarded = 0;
    return kept;
  }

  kickRx(): number {
    this.rxKicks++;
    return native().xskKick(this.fd, KICK_RX);
  }

  // ------------------------------------------------------------------ TX

  /** A free frame's address for the caller to write a packet into, or -1 when none is free. */
  txAlloc(): number {
    return this.pool.alloc();
  }

  /** Gives a frame obtained from txAlloc() back unused. */
  txUnalloc(addr: number): void {
    this.pool.unalloc(addr);
  }

  /** descriptors txPush() queued that the next txFlush() publishes */
  get txQueuedCount(): number {
    return this.txQueued;
  }

  /** Free TX ring slots (at most max). */
  txFree(max: number): number {
    const tx = this.tx;
    if (tx === null) throw new AfxdpError('ESTATE', 'this socket has no TX ring');
    return tx.free(max);
  }

  /**
   * Queues one frame for sending; call txFree() first to know there is room. `options` is the
   * descriptor's options word (XDP_TX_METADATA: the kernel reads the TX metadata in front of addr).
   */
  txPush(addr: number, len: number, options = 0): void {
    const tx = this.tx!;
    const e = tx.entryWord((tx.producerIndex + this.txQueued) >>> 0);
    const w = tx.words;
    w[e] = addr;
    w[e + 1] = 0;
    w[e + 2] = len;
    w[e + 3] = options;
    this.txQueued++;
    if (this.tracker !== null) this.tracker.move(addr, FRAME_APP, FRAME_TX, 'txPush');
  }

  /**
   * Publishes the queued frames without a kick; returns how many. Something else must make the
   * kernel send them: a later txFlush(), or pollFor('out') (copy mode sends from poll).
   */
  txPublish(): number {
    const n = this.txQueued;
    if (n > 0) {
      this.tx!.submit(n);
      this.txQueued = 0;
    }
    return n;
  }

  /**
   * Publishes the queued frames and kicks the kernel when it asks: with need_wakeup when the TX
   * ring's flag says so (copy mode always does: the kernel sets it at bind and only a zero-copy
   * driver clears it), without need_wakeup at every call.
   */
  txFlush(): number {
    const tx = this.tx!;
    if (this.txQueued > 0) {
      tx.submit(this.txQueued);
      this.txQueued = 0;
    }
    if (!this.needWakeup || tx.needsWakeup()) {
      this.txKicks++;
      return native().xskKick(this.fd, KICK_TX);
    }
    return 0;
  }

  /**
   * Takes back, unsent, the frames txPush() queued since the last txFlush(): their ring slots were
   * never published, so the kernel did not see them. Returns how many (the generator's rehearsal).
   */
  txDiscard(): number {
    const tx = this.tx!;
    const n = this.txQueued;
    for (let i = 0; i < n; i++) this.pool.untransmit(tx.words[tx.entryWord((tx.producerIndex + i) >>> 0)]!);
    this.txQueued = 0;
    return n;
  }

  /** Moves completed TX frames back to the free list; returns how many (FramePool.reclaim). */
  reclaim(): number {
    return this.pool.reclaim();
  }

  /** reclaim() that also copies the completed addresses into `out` (FramePool.reclaimInto: TX metadata). */
  reclaimInto(out: Uint32Array): number {
    return this.pool.reclaimInto(out);
  }

  // ------------------------------------------------------------------ frame tracking (debug)

  /** `n` descriptors just taken off the RX ring (buffers with `sg`, else packets) */
  private trackReceived(n: number): void {
    const t = this.tracker!;
    const a = this.sg ? this.segAddr! : this.rxAddr;
    for (let i = 0; i < n; i++) t.move(a[i]!, FRAME_KERNEL, FRAME_APP, 'RX ring');
    this.checkFrames();
  }

  /**
   * Asserts the invariant of src/xsk/frames.ts. The kernel publishes its ring indices in no
   * order we can rely on, so the tracker compares each ring with the frames it may hold.
   */
  checkFrames(): void {
    const t = this.tracker;
    if (t === null) return;
    const rxReady = this.rx ? this.rx.ready() : 0;
    const completionReady = this.completion.ready();
    const fillPending = this.fill.pending();
    const txPending = this.tx ? this.tx.pending() + this.txQueued : 0;
    t.check({ freeTop: this.pool.freeCount, fillPending, rxReady, txPending, completionReady });
  }

  /** Frames not in the free list (on a ring, with the kernel, or held by the caller). */
  framesInUse(): number {
    return this.pool.inUse();
  }

  // ------------------------------------------------------------------ events, stats, close

  /**
   * Calls cb whenever the socket is readable (uv_poll in Node's own loop). `status` < 0 is a
   * libuv error (e.g. POLLERR when the interface went away): the watcher has stopped then.
   */
  onReadable(cb: (status: number) => void): void {
    this.checkOpen();
    if (this.poll) throw new AfxdpError('ESTATE', 'a readable callback is already installed');
    this.poll = native().pollStart(this.fd, (status) => cb(status));
  }

  /**
   * Blocks the calling thread in poll(2) on the socket for up to timeoutMs: `'in'` until a packet
   * is on the RX ring, `'out'` until the TX ring has room (in copy mode a poll with a TX ring
   * also sends what is queued, as the kernel's POLL_TX scenario relies on). Returns true when the
   * socket became ready, false on timeout. For setup, tests and threads that own the socket: it
   * blocks the event loop.
   */
  pollFor(what: 'in' | 'out', timeoutMs: number): boolean {
    this.checkOpen();
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 2 ** 31 - 1) throw new AfxdpError('EUSAGE', `pollFor: timeoutMs must be a whole number of milliseconds ≥ 0, got ${String(timeoutMs)}`);
    const events = what === 'in' ? POLLIN : what === 'out' ? POLLOUT : -1;
    if (events < 0) throw new AfxdpError('EUSAGE', `pollFor: what must be 'in' or 'out', got ${JSON.stringify(what)}`);
    const r = native().xskPoll(this.fd, events, timeoutMs);
    if (r < 0) throw new AfxdpError('ESYS', `poll on the AF_XDP socket of ${this.ifname} queue ${this.queue} failed (errno ${-r})`, { errno: -r });
    return (r & events) !== 0;
  }

  offReadable(): void {
    if (this.poll) {
      native().pollStop(this.poll);
      this.poll = null;
    }
  }

  statistics(): KernelStats {
    this.checkOpen();
    const b = this.statsBuf;
    b.fill(0);
    native().xskStatistics(this.fd, b);
    return {
      rx_dropped: b[0]!,
      rx_invalid_descs: b[1]!,
      tx_invalid_descs: b[2]!,
      rx_ring_full: b[3]!,
      rx_fill_ring_empty_descs: b[4]!,
      tx_ring_empty_descs: b[5]!,
    };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closing removes the socket from any XSKMAP (the kernel does it on release). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.offReadable();
    this.closed = true;
    const n = native();
    n.close(this.fd);
    if (this.umem.fd >= 0) n.close(this.umem.fd); // the mapping stays until no view can reach it
    // the ring mappings hold the socket: release them so the queue is free for the next bind now
    // (not the fill and completion rings of the socket whose queue this one shares: they are that socket's)
    for (const r of this.ownRings ? [this.rx, this.tx, this.fill, this.completion] : [this.rx, this.tx]) if (r !== null) n.xskReleaseRing(r.buffer);
  }
}

function sys<T>(fn: () => T, what: string, o: { ifname: string; queue: number }): T {
  try {
    return fn();
  } catch (e) {
    if (!isNativeError(e)) throw e;
    const errno = e.errno;
    let hint = 'run `afxdp doctor` to check this machine';
    if (errno === 97) hint = 'this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)';
    else if (errno === 1 || errno === 13) hint = 'run as root, or grant CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF';
    else if (errno === 105 && what === 'register the UMEM') hint = 'the UMEM is charged to the locked-memory limit: grant CAP_IPC_LOCK or raise `ulimit -l` to the UMEM size, or use fewer frames';
    else if (errno === 12 || errno === 105) hint = 'not enough memory for rings/UMEM: use fewer frames or smaller rings';
    throw new AfxdpError('ESYS', `cannot ${what} for ${o.ifname} queue ${o.queue}: ${e.message}`, { errno, hint, cause: e });
  }
}

function bindError(e: unknown, o: { ifname: string; queue: number; sg?: boolean }, mode: 'copy' | 'zerocopy'): AfxdpError {
  if (!isNativeError(e)) return e as AfxdpError;
  const errno = e.errno;
  // a queue taken is not a system failure, and not about the bind mode tried (auto tries zero-copy first)
  if (errno === 16) {
    return new AfxdpError('EBUSY', `${o.ifname} queue ${o.queue} is in use by another AF_XDP socket`, { errno, hint: 'close that socket or stop its process first (an afxdp socket frees its queue at close()), or use another queue', cause: e });
  }
  let hint = 'run `afxdp doctor` to check the interface';
  if (errno === 95 && mode === 'zerocopy') hint = `the driver of ${o.ifname} has no AF_XDP zero-copy: use --bind copy (or auto)`;
  else if (errno === 22 && o.sg) hint = `multi-buffer sockets (XDP_USE_SG, for packets larger than a UMEM frame) need kernel ≥ 6.6: upgrade, or lower the MTU of ${o.ifname} below the frame size`;
  else if (errno === 22) hint = `check that ${o.ifname} has queue ${o.queue} (ethtool -l ${o.ifname})`;
  else if (errno === 19 || errno === 6) hint = `${o.ifname} is gone or down`;
  else if (errno === 100) hint = `${o.ifname} is down: ip link set dev ${o.ifname} up`;
  return new AfxdpError('ESYS', `cannot bind an AF_XDP socket (${mode}) to ${o.ifname} queue ${o.queue}: ${e.message}`, { errno, hint, cause: e });
}
