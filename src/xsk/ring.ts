/**
 * The four AF_XDP rings as seen from user space: single-producer/single-consumer queues in memory
 * shared with the kernel. JS reads and writes them directly through a Uint32Array over the
 * mapping; Atomics.load/store on the producer/consumer words give the acquire/release ordering
 * the kernel's side expects (its smp_load_acquire/smp_store_release pairs).
 *
 * On x86-64 the hot methods use plain typed-array access instead: the hardware keeps loads in
 * order with loads and stores with stores (TSO), so the kernel's acquire/release pairs compile to
 * plain moves there, and V8 keeps typed-array loads and stores in program order (each on its
 * effect chain; a typed-array load is never merged with an earlier one). Same ordering, ~1 ns
 * instead of a builtin call (6–10 ns on these VMs). Other architectures (arm64: a weaker
 * memory model) keep Atomics.
 *
 * Indices are free-running u32 counters; `(a - b) >>> 0` is the distance even across wrap.
 * Entries are accessed by the caller through `words` and `entryWord(i)`, so the hot loop stays
 * inline and allocation-free.
 */
import { native, type RingOffsets } from '../native.js';
import { XDP_RING_NEED_WAKEUP } from './constants.js';

/** plain typed-array access gives acquire/release ordering on this CPU (see above) */
const PLAIN = process.arch === 'x64';

/** a stand-in ring's layout: the kernel's (producer, consumer, flags on their own cache lines, then the entries) */
const STAND_IN_OFFSETS: RingOffsets = { producer: 0, consumer: 64, flags: 128, desc: 192 };

export class Ring {
  readonly size: number;
  readonly mask: number;
  /** the whole mapping as u32 words */
  readonly words: Uint32Array;
  /** keeps the mapping alive as long as the ring object lives */
  readonly buffer: ArrayBuffer;
  private readonly producerWord: number;
  private readonly consumerWord: number;
  private readonly flagsWord: number;
  private readonly descWord: number;
  private readonly entryShift: number;
  /** our cached copy of the index we own, and of the kernel's one */
  private cachedProd = 0;
  private cachedCons = 0;

  /**
   * @internal
   * @param fd the socket whose ring this is (mapped at pgoff), or null for a stand-in ring in
   *   ordinary memory (Ring.standIn): same class and layout, nobody on the kernel's side
   */
  constructor(fd: number | null, pgoff: number, off: RingOffsets, size: number, entryWordsShift: number) {
    this.size = size;
    this.mask = size - 1;
    this.entryShift = entryWordsShift;
    const bytes = off.desc + size * (4 << entryWordsShift);
    this.buffer = fd === null ? new ArrayBuffer(bytes) : native().xskMmapRing(fd, pgoff, bytes);
    this.words = new Uint32Array(this.buffer);
    this.producerWord = off.producer >>> 2;
    this.consumerWord = off.consumer >>> 2;
    this.flagsWord = off.flags >>> 2;
    this.descWord = off.desc >>> 2;
    this.cachedProd = Atomics.load(this.words, this.producerWord);
    this.cachedCons = Atomics.load(this.words, this.consumerWord);
  }

  /**
   * @internal
   * A ring like `like` (size, entry size) in ordinary memory, empty: the receive path's rehearsal
   * (XskSocket.rehearse) plays the kernel's side on it so V8 compiles the real code before traffic.
   */
  static standIn(like: Ring): Ring {
    return new Ring(null, 0, STAND_IN_OFFSETS, like.size, like.entryShift);
  }

  /** @internal The kernel's side of a stand-in consumer ring (RX): publishes `n` entries written at `producerIndex`. */
  produceAsKernel(n: number): void {
    Atomics.store(this.words, this.producerWord, (Atomics.load(this.words, this.producerWord) + n) >>> 0);
  }

  /** @internal The kernel's side of a stand-in producer ring (fill): takes everything published. */
  consumeAllAsKernel(): void {
    Atomics.store(this.words, this.consumerWord, Atomics.load(this.words, this.producerWord));
  }

  /**
   * @internal The kernel's side of a stand-in TX ring: takes every descriptor published and puts
   * its address on `completion` (a stand-in completion ring). Returns how many.
   */
  completeAllAsKernel(completion: Ring): number {
    const w = this.words;
    const cw = completion.words;
    const end = Atomics.load(w, this.producerWord);
    let c = Atomics.load(w, this.consumerWord);
    let p = Atomics.load(cw, completion.producerWord);
    const n = (end - c) >>> 0;
    for (; c !== end; c = (c + 1) >>> 0, p = (p + 1) >>> 0) {
      const e = completion.entryWord(p);
      cw[e] = w[this.entryWord(c)]!;
      cw[e + 1] = 0;
    }
    Atomics.store(cw, completion.producerWord, p);
    Atomics.store(w, this.consumerWord, end);
    return n;
  }

  /** @internal The kernel's side of a stand-in ring: asks for a kick (need_wakeup) or not. */
  setNeedsWakeupAsKernel(on: boolean): void {
    Atomics.store(this.words, this.flagsWord, on ? XDP_RING_NEED_WAKEUP : 0);
  }

  /** The producer index as the kernel's side sees it (where its next entry goes). */
  get kernelProducerIndex(): number {
    return Atomics.load(this.words, this.producerWord);
  }

  /** word index of entry number `idx` (free-running; masked here) */
  entryWord(idx: number): number {
    return this.descWord + (((idx & this.mask) >>> 0) << this.entryShift);
  }

  needsWakeup(): boolean {
    const f = PLAIN ? this.words[this.flagsWord]! : Atomics.load(this.words, this.flagsWord);
    return (f & XDP_RING_NEED_WAKEUP) !== 0;
  }

  // ---- consumer side (RX, completion): the kernel produces ----

  /** Entries ready to consume, at most `max`; the first one is `consumerIndex`. */
  peek(max: number): number {
    let avail = (this.cachedProd - this.cachedCons) >>> 0;
    if (avail === 0) {
      this.cachedProd = PLAIN ? this.words[this.producerWord]! : Atomics.load(this.words, this.producerWord);
      avail = (this.cachedProd - this.cachedCons) >>> 0;
    }
    return avail < max ? avail : max;
  }

  get consumerIndex(): number {
    return this.cachedCons;
  }

  /** Hand `n` consumed entries back to the kernel. */
  release(n: number): void {
    this.cachedCons = (this.cachedCons + n) >>> 0;
    if (PLAIN) this.words[this.consumerWord] = this.cachedCons;
    else Atomics.store(this.words, this.consumerWord, this.cachedCons);
  }

  // ---- producer side (fill, TX): we produce ----

  /** Free slots, at most `max`; the first one is `producerIndex`. */
  free(max: number): number {
    let free = this.size - ((this.cachedProd - this.cachedCons) >>> 0);
    if (free < max) {
      this.cachedCons = PLAIN ? this.words[this.consumerWord]! : Atomics.load(this.words, this.consumerWord);
      free = this.size - ((this.cachedProd - this.cachedCons) >>> 0);
    }
    return free < max ? free : max;
  }

  get producerIndex(): number {
    return this.cachedProd;
  }

  /** Publish `n` written entries to the kernel. */
  submit(n: number): void {
    this.cachedProd = (this.cachedProd + n) >>> 0;
    if (PLAIN) this.words[this.producerWord] = this.cachedProd;
    else Atomics.store(this.words, this.producerWord, this.cachedProd);
  }

  /** Entries the kernel produced that we have not consumed yet (consumer rings) — for accounting. */
  ready(): number {
    return ((PLAIN ? this.words[this.producerWord]! : Atomics.load(this.words, this.producerWord)) - this.cachedCons) >>> 0;
  }

  /** Entries the kernel has not consumed yet (producer rings) — for accounting. */
  pending(): number {
    return (this.cachedProd - (PLAIN ? this.words[this.consumerWord]! : Atomics.load(this.words, this.consumerWord))) >>> 0;
  }
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 0x40000000;
}
