/**
 * TapSink: where TrafficGenerator's frames go on a tap lab. It has the TX face of an AF_XDP socket
 * that the generator's one sending loop uses (frames to allocate, a TX queue to push to, a flush,
 * completions), so frame building and pacing stay the generator's own; what differs is the sink:
 * a flush writes the queued frames to the tap's fd (one write(2) each, in one addon call per batch,
 * native/tun.c), and a written frame is complete at once (tun copied it). No allocation per packet.
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { XDP_PKT_CONTD } from '../xsk/constants.js';

/** What the generator's rehearsal writes a completion into (a stand-in, as XskSocket's rehearsal hands out). */
export interface CompletionStandIn {
  readonly words: Uint32Array;
  readonly kernelProducerIndex: number;
  entryWord(idx: number): number;
  produceAsKernel(n: number): void;
}

/** The TX face the generator sends through: an XskSocket, or a TapSink. */
export interface TxSink {
  readonly umem: { readonly bytes: Uint8Array; readonly frameCount: number; readonly frameSize: number; frameAddr(i: number): number };
  readonly tx: { pending(): number } | null;
  readonly tracker: object | null;
  /** AF_XDP's bind mode; a tap sink copies (tun copies what is written) */
  readonly bindMode: 'copy' | 'zerocopy';
  readonly sg: boolean;
  reclaim(): number;
  txFree(max: number): number;
  txAlloc(): number;
  txUnalloc(addr: number): void;
  txPush(addr: number, len: number, options?: number): void;
  txFlush(): number;
  txDiscard(): number;
  framesInUse(): number;
  rehearseCompletions<T>(fn: (completion: CompletionStandIn) => T): T;
  statistics(): { tx_invalid_descs: number };
  close(): void;
}

const EAGAIN = 11;

export class TapSink implements TxSink {
  readonly umem: TxSink['umem'];
  readonly tx: { pending(): number };
  readonly tracker = null;
  readonly bindMode = 'copy' as const;
  readonly sg = false;
  private readonly fd: number;
  /** free frame addresses, a stack */
  private readonly free: Uint32Array;
  private freeCount: number;
  /** queued frames (address, length) in order, written by the next flush */
  private readonly queued: Uint32Array;
  private readonly queuedLen: Uint32Array;
  private queuedCount = 0;
  /** frames tun refused (an error other than EAGAIN): the counterpart of tx_invalid_descs */
  private refused = 0;

  /**
   * `fd`: the tap queue's fd (the lab owns it: close() leaves it open). `queueSize`: frames one
   * flush writes at most, as a TX ring's size. `sg`: frames larger than a frame were asked for,
   * which a tap cannot take as one write: refused here, before anything is sent.
   */
  static open(fd: number, o: { frameSize: number; frameCount: number; queueSize: number; sg: boolean }): TapSink {
    if (o.sg) throw new AfxdpError('EUSAGE', `a tap takes one frame per write: frames larger than the UMEM frame (${o.frameSize} bytes) are not sent to a tap`, { hint: 'send smaller frames on a tap lab, or use the veth lab for jumbo frames' });
    return new TapSink(fd, o.frameSize, o.frameCount, o.queueSize);
  }

  private constructor(fd: number, frameSize: number, frameCount: number, queueSize: number) {
    this.fd = fd;
    const bytes = new Uint8Array(frameSize * frameCount);
    this.umem = { bytes, frameCount, frameSize, frameAddr: (i: number) => i * frameSize };
    this.free = new Uint32Array(frameCount);
    for (let i = 0; i < frameCount; i++) this.free[i] = (frameCount - 1 - i) * frameSize;
    this.freeCount = frameCount;
    this.queued = new Uint32Array(queueSize);
    this.queuedLen = new Uint32Array(queueSize);
    this.tx = { pending: () => this.queuedCount };
  }

  /** Frames return when written: nothing to reclaim. */
  reclaim(): number {
    return 0;
  }

  txFree(max: number): number {
    return Math.min(max, this.queued.length - this.queuedCount);
  }

  txAlloc(): number {
    return this.freeCount === 0 ? -1 : this.free[--this.freeCount]!;
  }

  txUnalloc(addr: number): void {
    this.free[this.freeCount++] = addr;
  }

  txPush(addr: number, len: number, options = 0): void {
    // one write is one frame: a chain would arrive as several (open() refuses what needs one)
    if ((options & XDP_PKT_CONTD) !== 0) throw new AfxdpError('ESTATE', 'a tap takes one frame per write, not a chain');
    this.queued[this.queuedCount] = addr;
    this.queuedLen[this.queuedCount++] = len;
  }

  /** Writes the queued frames; frames written (and refused) are free again. Returns the frames written. */
  txFlush(): number {
    const n = this.queuedCount;
    if (n === 0) return 0;
    let done = native().tunWrite(this.fd, this.umem.bytes, this.queued, this.queuedLen, n);
    if (done < 0) {
      if (done === -EAGAIN) return 0; // tun's queue is full: the next flush tries again
      // a frame tun refuses (e.g. EINVAL) would be refused again: count it and go on
      this.refused++;
      done = 1;
    }
    for (let i = 0; i < done; i++) this.free[this.freeCount++] = this.queued[i]!;
    this.queued.copyWithin(0, done, n);
    this.queuedLen.copyWithin(0, done, n);
    this.queuedCount = n - done;
    return done;
  }

  /** Takes the queued frames back unwritten (the generator's rehearsal). */
  txDiscard(): number {
    const n = this.queuedCount;
    for (let i = 0; i < n; i++) this.free[this.freeCount++] = this.queued[i]!;
    this.queuedCount = 0;
    return n;
  }

  framesInUse(): number {
    return this.umem.frameCount - this.freeCount;
  }

  /** The rehearsal's completion ring: a frame "completed" on it is free again at once. */
  rehearseCompletions<T>(fn: (completion: CompletionStandIn) => T): T {
    const words = new Uint32Array(1);
    return fn({ words, kernelProducerIndex: 0, entryWord: () => 0, produceAsKernel: () => this.txUnalloc(words[0]!) });
  }

  statistics(): { tx_invalid_descs: number } {
    return { tx_invalid_descs: this.refused };
  }

  /** The fd stays open: it is the lab's, and the tap lives as long as it. */
  close(): void {
    this.queuedCount = 0;
  }
}
