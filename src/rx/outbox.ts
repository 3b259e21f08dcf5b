/**
 * Outbox: frames the main thread sends on a socket a receive worker owns (poll 'worker' or
 * 'busy' with a TX ring). The thread that owns a socket is the only one that touches its rings,
 * so send() on the main thread copies the frame into a slot of this single-producer
 * single-consumer ring in shared memory, and the worker queues it on its TX ring in its next turn
 * (xsk/tx.ts, the one TX path). A worker asleep in poll(2) is woken through an eventfd, and only
 * when it said it is asleep: no system call per frame while it runs.
 */
import { native } from '../native.js';
import type { XskSocket } from '../xsk/socket.js';
import { MAX_TX_CHAIN, framesFor, queueCopy, flushTx } from '../xsk/tx.js';

// header words (Int32Array)
const H_HEAD = 0; // frames published (wraps at 2^31: compared by difference)
const H_TAIL = 1; // frames taken by the worker
const H_ASLEEP = 2; // 1 while the worker is (about to be) in poll(2)
const HEADER_BYTES = 64;
const SLOT_META = 8; // u32 length + pad

export interface OutboxShape {
  slots: number;
  /** bytes of a frame at most */
  room: number;
}

export class Outbox {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly lens: Uint32Array[] = [];
  private readonly data: Uint8Array[] = [];
  private readonly chain = new Uint32Array(MAX_TX_CHAIN);
  private readonly chainLens = new Uint32Array(MAX_TX_CHAIN);

  /** Producer and consumer each construct one over the same buffer; `wakeFd`: the worker's eventfd. */
  constructor(
    readonly shape: OutboxShape,
    readonly wakeFd: number,
    buffer?: SharedArrayBuffer,
  ) {
    const slotBytes = SLOT_META + Math.ceil(shape.room / 8) * 8;
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER_BYTES + shape.slots * slotBytes);
    this.header = new Int32Array(this.buffer, 0, 3);
    for (let s = 0; s < shape.slots; s++) {
      const base = HEADER_BYTES + s * slotBytes;
      this.lens.push(new Uint32Array(this.buffer, base, 1));
      this.data.push(new Uint8Array(this.buffer, base + SLOT_META, shape.room));
    }
  }

  // ------------------------------------------------------------ producer (the main thread)

  /** Copies a frame into the next slot; false when every slot is taken (the worker is behind). */
  push(data: Uint8Array, offset: number, length: number): boolean {
    const h = this.header;
    const head = h[H_HEAD]!;
    if (((head - Atomics.load(h, H_TAIL)) | 0) >= this.shape.slots) return false;
    const s = (head >>> 0) % this.shape.slots;
    this.data[s]!.set(data.subarray(offset, offset + length));
    this.lens[s]![0] = length;
    Atomics.store(h, H_HEAD, (head + 1) | 0);
    // seen after the store of head: a worker that is about to sleep either sees the frame or is woken
    if (Atomics.load(h, H_ASLEEP) !== 0) native().wakeSignal(this.wakeFd);
    return true;
  }

  // ------------------------------------------------------------ consumer (the worker)

  /** Whether frames wait (one atomic load: the worker asks every turn). */
  pending(): boolean {
    const h = this.header;
    return Atomics.load(h, H_HEAD) !== h[H_TAIL]!;
  }

  /** Queues every waiting frame the socket has room for on its TX ring and flushes; returns how many. */
  drainInto(sock: XskSocket): number {
    const h = this.header;
    const head = Atomics.load(h, H_HEAD);
    let tail = h[H_TAIL]!;
    let n = 0;
    while (tail !== head) {
      const s = (tail >>> 0) % this.shape.slots;
      const len = this.lens[s]![0]!;
      const k = framesFor(sock, len, 'send');
      if (queueCopy(sock, this.data[s]!, 0, len, k, this.chain, this.chainLens) === 0) break; // no room: next turn
      tail = (tail + 1) | 0;
      n++;
    }
    if (n > 0) {
      Atomics.store(h, H_TAIL, tail);
      flushTx(sock);
      sock.reclaim();
    }
    return n;
  }

  /** The worker is about to sleep (true) or awake (false); returns whether frames wait (then it should not sleep). */
  asleep(on: boolean): boolean {
    Atomics.store(this.header, H_ASLEEP, on ? 1 : 0);
    return on && this.pending();
  }
}
