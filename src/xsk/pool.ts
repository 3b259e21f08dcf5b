/**
 * FramePool: where a socket's UMEM frames are when user space holds them — the free list — and
 * the two rings that move frames between user space and the kernel without a packet: the fill
 * ring (frames given to the kernel to receive into) and the completion ring (frames the kernel
 * has finished sending). Every frame allocation of a socket goes through here: RX refill, the
 * recycle of received frames, TX allocation (send, the generator, ping) and the return of sent
 * frames, including received frames that were forwarded (transmitted in place): those are owed
 * to the fill ring (`fillDebt`) and go back there as they complete, so forwarding never starves
 * the receive side of frames.
 *
 * No allocation and no system call per frame; a kick (need_wakeup) at most per batch.
 */
import { AfxdpError } from '../errors.js';
import type { Ring } from './ring.js';
import type { Umem } from './umem.js';
import { FRAME_APP, FRAME_FREE, FRAME_KERNEL, FRAME_TX, type FrameTracker } from './frames.js';

/**
 * The frames of a UMEM user space holds and has not given out: one per UMEM, shared by the pools
 * of every socket on it (shared UMEM), so a frame one socket received and another sent comes back
 * to the same list whichever completion ring returns it.
 */
export class FreeList {
  readonly frames: Uint32Array;
  top = 0;
  /** more than one pool takes from this list (a shared UMEM) */
  shared = false;
  constructor(umem: Umem) {
    this.frames = new Uint32Array(umem.frameCount);
    for (let i = umem.frameCount - 1; i >= 0; i--) this.frames[this.top++] = umem.frameAddr(i);
  }
}

export class FramePool {
  /** frames owned by user space and free for use (RX refill or TX); shared with the other pools of the UMEM */
  readonly free: FreeList;
  /** received frames that left by TX (forwarded) and are owed to the fill ring once they complete */
  fillDebt = 0;
  private readonly shift: number;

  constructor(
    readonly umem: Umem,
    /** the fill ring (a stand-in during a rehearsal: XskSocket swaps it) */
    public fill: Ring,
    /** the completion ring (likewise) */
    public completion: Ring,
    private readonly tracker: FrameTracker | null,
    /** the owner's invariant check (frame tracking), run once per batch when tracking */
    private readonly check: () => void,
    /** kicks the kernel to take fill entries (need_wakeup) */
    private readonly kickFill: () => void,
    /** the free list of the UMEM's first pool, when this socket shares its UMEM; else a new one */
    free: FreeList | null = null,
  ) {
    this.free = free ?? new FreeList(umem);
    if (free !== null) free.shared = true;
    this.shift = umem.frameShift;
  }

  /** frames in the free list */
  get freeCount(): number {
    return this.free.top;
  }

  /** Frames not in the free list (on a ring, with the kernel, or held by the caller). */
  inUse(): number {
    return this.umem.frameCount - this.free.top;
  }

  /** A free frame's address, or -1 when none is free (completed TX frames are taken back first). */
  alloc(): number {
    if (this.free.top === 0) this.reclaim();
    if (this.free.top === 0) return -1;
    const addr = this.free.frames[--this.free.top]!;
    if (this.tracker !== null) this.tracker.move(addr, FRAME_FREE, FRAME_APP, 'alloc');
    return addr;
  }

  /** Gives a frame from alloc() back unused. */
  unalloc(addr: number): void {
    if (this.tracker !== null) this.tracker.move(addr, FRAME_APP, FRAME_FREE, 'unalloc');
    this.free.frames[this.free.top++] = addr;
  }

  /** A frame queued for TX but never published (its ring slot taken back): free again. */
  untransmit(addr: number): void {
    if (this.tracker !== null) this.tracker.move(addr, FRAME_TX, FRAME_FREE, 'txDiscard');
    this.free.frames[this.free.top++] = (addr >>> this.shift) << this.shift;
  }

  /** Puts up to n free frames on the fill ring; returns how many. */
  refill(n: number): number {
    const fill = this.fill;
    const k = Math.min(fill.free(n), this.free.top);
    let idx = fill.producerIndex;
    for (let i = 0; i < k; i++) {
      const e = fill.entryWord(idx++);
      fill.words[e] = this.free.frames[--this.free.top]!;
      fill.words[e + 1] = 0;
      if (this.tracker !== null) this.tracker.move(fill.words[e]!, FRAME_FREE, FRAME_KERNEL, 'refill');
    }
    fill.submit(k);
    if (this.tracker !== null) this.check();
    return k;
  }

  /**
   * The frames holding addrs[0..k) go back: to the fill ring while it has room, else to the free
   * list. `received`: they were the application's (recycle); else the kernel's still (a dropped
   * chain, never handed out).
   */
  giveBack(addrs: Uint32Array, k: number, received: boolean): void {
    const shift = this.shift;
    const fill = this.fill;
    let free = fill.free(k);
    let idx = fill.producerIndex;
    const fw = fill.words;
    for (let i = 0; i < k; i++) {
      const base = (addrs[i]! >>> shift) << shift;
      if (free > 0) {
        const e = fill.entryWord(idx++);
        fw[e] = base;
        fw[e + 1] = 0;
        free--;
      } else {
        this.free.frames[this.free.top++] = base;
      }
    }
    const toFill = (idx - fill.producerIndex) >>> 0;
    if (this.tracker !== null) this.trackGivenBack(addrs, k, toFill, received);
    fill.submit(toFill);
    if (fill.needsWakeup()) this.kickFill();
  }

  /** A socket adopted from the broker: the first k free frames are on the fill ring already. */
  takeFree(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > this.free.top) throw new AfxdpError('EBROKER', `the broker says ${k} frames are on the fill ring of a UMEM of ${this.free.top}`, { hint: 'client and broker must be the same afxdp version' });
    for (let i = 0; i < k; i++) {
      const addr = this.free.frames[--this.free.top]!;
      if (this.tracker !== null) this.tracker.move(addr, FRAME_FREE, FRAME_KERNEL, 'adopt');
    }
    return k;
  }

  /**
   * Takes completed TX frames back; returns how many. What is owed to the fill ring (forwarded
   * frames, `fillDebt`) goes straight there, as the C l2fwd loop does, the rest to the free list:
   * one pass over the completion ring, no round trip through the free list, at most one kick.
   */
  reclaim(): number {
    const cr = this.completion;
    const fill = this.fill;
    const shift = this.shift;
    const t = this.tracker;
    const frames = this.free.frames;
    let total = 0;
    let filled = 0;
    for (;;) {
      const n = cr.peek(256);
      if (n === 0) break;
      let idx = cr.consumerIndex;
      // the first `direct` completions pay the debt: onto the fill ring while it has room
      const direct = this.fillDebt > 0 ? fill.free(Math.min(n, this.fillDebt)) : 0;
      let fi = fill.producerIndex;
      const fw = fill.words;
      const cw = cr.words;
      for (let i = 0; i < direct; i++) {
        // masked to the frame base: a packet may have been sent at an offset (TX metadata in front, a forwarded packet)
        const base = (cw[cr.entryWord(idx++)]! >>> shift) << shift;
        const e = fill.entryWord(fi++);
        fw[e] = base;
        fw[e + 1] = 0;
        if (t !== null) t.move(base, FRAME_TX, FRAME_KERNEL, 'completion to fill');
      }
      for (let i = direct; i < n; i++) {
        const addr = cw[cr.entryWord(idx++)]!;
        if (t !== null) t.move(addr, FRAME_TX, FRAME_FREE, 'completion');
        frames[this.free.top++] = (addr >>> shift) << shift;
      }
      cr.release(n);
      if (direct > 0) {
        fill.submit(direct);
        this.fillDebt -= direct;
        filled += direct;
      }
      total += n;
    }
    if (filled > 0 && fill.needsWakeup()) this.kickFill();
    // with a shared UMEM the owed frames may have come back on another socket's completion ring
    if (this.fillDebt > 0 && (total > 0 || this.free.shared)) this.payDebt();
    if (t !== null) this.check();
    return total;
  }

  /**
   * Like reclaim(), but also copies the completed descriptors' addresses (as sent: a frame base
   * plus any offset) into `out`, up to out.length of them, so the caller can read each frame's
   * TX metadata (completion timestamp) right away, before the frame is reused.
   */
  reclaimInto(out: Uint32Array): number {
    const cr = this.completion;
    const n = cr.peek(out.length);
    if (n === 0) return 0;
    const shift = this.shift;
    let idx = cr.consumerIndex;
    for (let i = 0; i < n; i++) {
      const a = cr.words[cr.entryWord(idx++)]!;
      out[i] = a;
      if (this.tracker !== null) this.tracker.move(a, FRAME_TX, FRAME_FREE, 'completion');
      this.free.frames[this.free.top++] = (a >>> shift) << shift;
    }
    cr.release(n);
    if (this.fillDebt > 0) this.payDebt();
    return n;
  }

  /** Forwarded frames that completed go back to the fill ring (frames are alike: any free one will do). */
  private payDebt(): void {
    const k = this.refill(this.fillDebt);
    this.fillDebt -= k;
    if (k > 0 && this.fill.needsWakeup()) this.kickFill();
  }

  /** giveBack() sends the first `toFill` frames to the fill ring and the rest to the free list */
  private trackGivenBack(addrs: Uint32Array, k: number, toFill: number, received: boolean): void {
    const t = this.tracker!;
    for (let i = 0; i < k; i++) {
      if (received) t.move(addrs[i]!, FRAME_APP, i < toFill ? FRAME_KERNEL : FRAME_FREE, 'recycle');
      else if (i >= toFill) t.move(addrs[i]!, FRAME_KERNEL, FRAME_FREE, 'dropped chain');
    }
    this.check();
  }
}
