/**
 * BatchChannel: hands received batches from a receive worker to the main thread through shared
 * memory — a single-producer single-consumer ring of slots, each a whole PacketBatch (the columns)
 * plus a copy of the packets' bytes. Never a message per packet or per batch: the worker writes a
 * slot and bumps the head word; the main thread waits on that word (Atomics.waitAsync) and reads.
 *
 * Used when the main thread needs the packets themselves while a worker receives: the output
 * sinks (CSV, pcapng) and the public API's batches in the worker modes. The copy costs one pass
 * over the bytes (≈ 10 ns for a 64-byte frame); the worker has already recycled the frames, so a
 * slow consumer never holds UMEM frames. When every slot is full the worker waits for one (the
 * kernel then counts drops, as it would for a slow receiver), so no row of an output is lost.
 */
import { PacketBatch, columnBytes, segmentCount, segmentRange, type PacketSink } from './batch.js';

// header words (Int32Array)
const H_HEAD = 0; // batches published (wraps at 2^31: compared by difference)
const H_TAIL = 1; // batches consumed
const HEADER_BYTES = 64;
// per slot: n, userLo, userHi (Uint32Array of 4)
const SLOT_META_BYTES = 16;

export interface ChannelShape {
  slots: number;
  /** packets per batch at most */
  batchSize: number;
  /** bytes reserved per packet (the UMEM frame size; with multi-buffer packets, an MTU-sized packet): a longer packet is cut */
  frameSize: number;
}

export class BatchChannel implements PacketSink {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly batches: PacketBatch[] = [];
  private readonly metas: Uint32Array[] = [];
  private readonly slotWords: Uint32Array[] = [];
  private readonly slots: number;
  private readonly frameSize: number;
  private src: Uint8Array | null = null;
  private srcWords: Uint32Array = new Uint32Array(0);
  private readonly range = new Uint32Array(2);

  /** Producer and consumer each construct one over the same buffer (`shape` must match). */
  constructor(readonly shape: ChannelShape, queue: number, buffer?: SharedArrayBuffer) {
    const cols = columnBytes(shape.batchSize);
    const data = shape.batchSize * shape.frameSize;
    const slotBytes = SLOT_META_BYTES + cols + data;
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER_BYTES + shape.slots * slotBytes);
    this.header = new Int32Array(this.buffer, 0, 2);
    this.slots = shape.slots;
    this.frameSize = shape.frameSize;
    for (let s = 0; s < shape.slots; s++) {
      const base = HEADER_BYTES + s * slotBytes;
      const bytes = new Uint8Array(this.buffer, base + SLOT_META_BYTES + cols, data);
      this.metas.push(new Uint32Array(this.buffer, base, 4));
      this.batches.push(new PacketBatch(queue, bytes, shape.batchSize, { buffer: this.buffer, offset: base + SLOT_META_BYTES }));
      this.slotWords.push(new Uint32Array(this.buffer, base + SLOT_META_BYTES + cols, data >>> 2));
    }
  }

  // ------------------------------------------------------------ producer (the worker)

  /** Copies a received batch into the next slot; waits while every slot is full. */
  onBatch(b: PacketBatch): void {
    const h = this.header;
    const head = h[H_HEAD]!;
    for (;;) {
      const tail = Atomics.load(h, H_TAIL);
      if (((head - tail) | 0) < this.slots) break;
      Atomics.wait(h, H_TAIL, tail, 1); // woken by done(); 1 ms at most
    }
    const s = (head >>> 0) % this.slots;
    const out = this.batches[s]!;
    const words = this.slotWords[s]!;
    const src = b.bytes;
    if (src !== this.src) {
      // once per source memory (the engine's UMEM), never per batch
      this.src = src;
      this.srcWords = new Uint32Array(src.buffer, src.byteOffset, src.byteLength >>> 2);
    }
    const sw = this.srcWords;
    const dst = out.bytes;
    const fs = this.frameSize;
    const n = b.n;
    const r = this.range;
    for (let i = 0; i < n; i++) {
      const off = i * fs;
      // each buffer of the packet (one, unless multi-buffer) after the other, up to the room of a slot
      let len = 0;
      const nseg = segmentCount(b, i);
      for (let j = 0; j < nseg && len < fs; j++) {
        segmentRange(b, i, j, r);
        const addr = r[0]!;
        const seg = Math.min(r[1]! - addr, fs - len);
        const to = off + len;
        // whole words where both sides are aligned (they are, for every driver seen), then the tail
        let k = 0;
        if (((addr | to) & 3) === 0) {
          const w = seg >>> 2;
          const a = addr >>> 2;
          const o = to >>> 2;
          for (; k < w; k++) words[o + k] = sw[a + k]!;
          k <<= 2;
        }
        for (; k < seg; k++) dst[to + k] = src[addr + k]!;
        len += seg;
      }
      out.addr[i] = off;
      out.len[i] = len;
      out.seq[i] = b.seq[i]!;
      out.xdpToUser[i] = b.xdpToUser[i]!;
      out.senderToXdp[i] = b.senderToXdp[i]!;
      out.hwToXdp[i] = b.hwToXdp[i]!;
      out.flags[i] = b.flags[i]!;
      out.rxQueue[i] = b.rxQueue[i]!;
      out.xdpLo[i] = b.xdpLo[i]!;
      out.xdpHi[i] = b.xdpHi[i]!;
      out.txLo[i] = b.txLo[i]!;
      out.txHi[i] = b.txHi[i]!;
      out.hwLo[i] = b.hwLo[i]!;
      out.hwHi[i] = b.hwHi[i]!;
      out.rxHash[i] = b.rxHash[i]!;
      out.rxHashType[i] = b.rxHashType[i]!;
      out.vlanTci[i] = b.vlanTci[i]!;
      out.vlanProto[i] = b.vlanProto[i]!;
    }
    const m = this.metas[s]!;
    m[0] = n;
    m[1] = b.userLo;
    m[2] = b.userHi;
    Atomics.store(h, H_HEAD, (head + 1) | 0);
    Atomics.notify(h, H_HEAD);
  }

  /** A private two-slot channel of the same shape that the rehearsal fills and empties itself. */
  rehearsal(): { sink: PacketSink; settle(): void } {
    const twin = new BatchChannel({ ...this.shape, slots: 2 }, this.batches[0]!.queue);
    return {
      sink: twin,
      settle: () => {
        while (twin.peek() !== null) twin.done();
      },
    };
  }

  // ------------------------------------------------------------ consumer (the main thread)

  /** The oldest unconsumed batch, or null. Valid until done(). */
  peek(): PacketBatch | null {
    const h = this.header;
    const tail = h[H_TAIL]!;
    if (Atomics.load(h, H_HEAD) === tail) return null;
    const s = (tail >>> 0) % this.slots;
    const b = this.batches[s]!;
    const m = this.metas[s]!;
    b.n = m[0]!;
    b.userLo = m[1]!;
    b.userHi = m[2]!;
    return b;
  }

  /** Frees the slot peek() returned. */
  done(): void {
    const h = this.header;
    Atomics.store(h, H_TAIL, (h[H_TAIL]! + 1) | 0);
    Atomics.notify(h, H_TAIL);
  }

  /**
   * Resolves when a batch may be ready (or after `timeoutMs`). The timer is what keeps Node's
   * loop alive meanwhile: a pending Atomics.waitAsync alone does not.
   */
  async wait(timeoutMs: number): Promise<void> {
    const h = this.header;
    const tail = h[H_TAIL]!;
    if (Atomics.load(h, H_HEAD) !== tail) return;
    const r = Atomics.waitAsync(h, H_HEAD, tail, timeoutMs);
    if (!r.async) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.value, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }
}
