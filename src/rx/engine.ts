/**
 * RxEngine: THE receive loop of afxdp, for one AF_XDP socket (one queue). It runs the same code on
 * the main thread (event mode: uv_poll wakes a drain) and inside a worker (busy mode: the worker
 * spins on pollOnce()):
 *
 *   RX ring → the batch columns (addr/len) → StampDecoder (meta / prepend / map / auto, hints)
 *   → per packet: XDP → user, sender → XDP, HW → XDP latencies into the columns and the
 *   recorders → sinks (CSV, pcapng, the worker's batch channel) → frames back to the fill ring.
 *
 * One clock read per batch (the moment JS first touches these packets); u64 as two u32 words; no
 * allocation per packet or per batch.
 */
import { native } from '../native.js';
import type { XskSocket } from '../xsk/socket.js';
import { F_HW_TS, F_XDP_TS, META_MAGIC, META_VERSION, META_MIN_LEN, type StrategyName } from '../xdp/meta.js';
import { readPayload, writeUdpFrame, setRunId, setTxTimestamp } from '../wire/frame.js';
import { RECORDER_BYTES, type BucketWriter } from '../measure/recorder.js';
import { PacketBatch, type PacketSink } from './batch.js';
import { StampDecoder } from './stamps.js';
import { C_RECEIVED, C_META_VALID, C_META_INVALID, C_SIZE_BASE, C_MULTI_BUFFER, C_CHAINS_DROPPED } from './counts.js';

/** What an engine needs to know besides its socket: plain data, so a worker can be given it. */
export interface EngineConfig {
  queue: number;
  /** CLOCK_MONOTONIC or CLOCK_TAI: the clock of the stamps and of the user-side time */
  clockId: number;
  /** F_CLOCK_TAI or 0: stamps of the other clock are invalid */
  clockFlag: number;
  strategy: StrategyName;
  /** the program's run cookie (tells a prepended struct from payload bytes) */
  cookie: number;
  /** fd of the stamp map (map strategy), -1 without */
  mapFd: number;
  /** sender → XDP from the generator's payload: -2 off, -1 any run, else that run id */
  senderRunId: number;
}

/** Where the engine records each segment (null: not measured in this run). */
export interface EngineRecorders {
  xdpToUser: BucketWriter;
  senderToXdp: BucketWriter | null;
  hwToXdp: BucketWriter | null;
}

const TWO_POW_32 = 4294967296;
/**
 * Synthetic packets for warmUp(): enough loop iterations and calls for V8 to compile take()'s
 * loop and what it calls with its optimizing tier. Costs 18–130 ms per receiving thread at open
 * on this 2-vCPU VM at load 15 (once, before attach; never on the data path).
 */
export const WARMUP_PACKETS = 200_000;
/** where warmUp() puts its synthetic packet in its frame: room for the metadata in front */
const WARMUP_OFFSET = 256;
const WARMUP_LEN = 64;

export class RxEngine {
  /** the columns of the current batch (addr/len are the socket's receive arrays) */
  readonly batch: PacketBatch;
  readonly decoder: StampDecoder;
  /** called after the columns are filled, before the frames go back to the kernel */
  readonly sinks: PacketSink[] = [];
  private readonly payload = new Uint32Array(4);
  private readonly now = new Uint32Array(2);

  constructor(
    readonly socket: XskSocket,
    readonly config: EngineConfig,
    readonly recorders: EngineRecorders,
    /** the queue's counter slots (rx/counts.ts) */
    readonly counts: Float64Array,
  ) {
    this.batch = new PacketBatch(config.queue, socket.umem.bytes, socket.batchSize, undefined, { addr: socket.rxAddr, len: socket.rxLen, segs: socket.rxSegs, seg0: socket.rxSeg0, segAddr: socket.segAddr, segLen: socket.segLen });
    this.decoder = new StampDecoder(socket.umem, { strategy: config.strategy, clockFlag: config.clockFlag, cookie: config.cookie, mapFd: config.mapFd, batchSize: socket.batchSize }, counts);
  }

  /**
   * Takes the packets ready now (at most one batch) and fills the columns; the frames stay with
   * user space until release(). Returns how many (0: the ring is empty).
   */
  take(): number {
    const n = this.socket.receive();
    if (n === 0) return 0;
    return this.measure(n);
  }

  /**
   * The packets 0..n-1 in the columns → stamps, latencies, recorders, counters. Returns n. A
   * multi-buffer packet is here whole (the socket hands out only complete chains), so its user
   * time is the moment JS first touches it after its LAST buffer arrived: latency covers the
   * whole packet.
   */
  private measure(n: number): number {
    const b = this.batch;
    const now = this.now;
    native().clockGettime(this.config.clockId, now);
    const nowLo = now[0]!;
    const nowHi = now[1]!;
    b.n = n;
    b.userLo = nowLo;
    b.userHi = nowHi;
    const valid = this.decoder.decode(b, n);
    const F = b.flags;
    const XL = b.xdpLo;
    const XH = b.xdpHi;
    const rec = this.recorders.xdpToUser;
    const sRec = this.recorders.senderToXdp;
    const hRec = this.recorders.hwToXdp;
    const runId = this.config.senderRunId;
    const pl = this.payload;
    const bytes = b.bytes;
    const addrs = b.addr;
    const lens = b.len;
    const c = this.counts;
    for (let i = 0; i < n; i++) {
      const len = lens[i]!;
      // the size class (rx/counts.ts SIZE_CLASSES), whole packet
      c[C_SIZE_BASE + (len <= 512 ? (len <= 128 ? 0 : 1) : len <= 1518 ? 2 : len <= 4096 ? 3 : len <= 9018 ? 4 : 5)]++;
      const flags = F[i]!;
      let xu = NaN;
      let sx = NaN;
      let hx = NaN;
      if (flags !== 0) {
        xu = (nowHi - XH[i]!) * TWO_POW_32 + (nowLo - XL[i]!);
        rec.record(xu);
        if (hRec !== null && (flags & F_HW_TS) !== 0) {
          hx = (XH[i]! - b.hwHi[i]!) * TWO_POW_32 + (XL[i]! - b.hwLo[i]!);
          hRec.record(hx); // negative = "HW before XDP" anomaly, counted, never a sample
        }
      } else {
        XL[i] = 0;
        XH[i] = 0;
      }
      let seq = -1;
      let txLo = 0;
      let txHi = 0;
      if (runId !== -2 && readPayload(bytes, addrs[i]!, len, pl, 0) && (runId === -1 || pl[0] === runId)) {
        seq = pl[1]!;
        txLo = pl[2]!;
        txHi = pl[3]!;
        if (flags !== 0) {
          sx = (XH[i]! - txHi) * TWO_POW_32 + (XL[i]! - txLo);
          sRec!.record(sx);
        }
      }
      b.seq[i] = seq;
      b.txLo[i] = txLo;
      b.txHi[i] = txHi;
      b.xdpToUser[i] = xu;
      b.senderToXdp[i] = sx;
      b.hwToXdp[i] = hx;
    }
    const segs = b.segs;
    if (segs !== null) {
      let multi = 0;
      for (let i = 0; i < n; i++) if (segs[i]! > 1) multi++;
      c[C_MULTI_BUFFER] += multi;
      c[C_CHAINS_DROPPED] = this.socket.chainsDropped;
    }
    c[C_META_VALID] += valid;
    c[C_META_INVALID] += n - valid;
    c[C_RECEIVED] += n; // last: progress checks in other threads read this one
    return n;
  }

  /**
   * Runs take()'s decoding and recording on synthetic stamped packets, before the program is
   * attached (nothing can arrive yet), so V8 compiles the hot path before the first real packet
   * instead of during the first milliseconds of traffic. Every slot of a batch points at one free
   * UMEM frame that the kernel never had; nothing is left behind: the counters and recorders are
   * restored, the frame's metadata magic is cleared and the frame is given back. Sinks are not
   * called. Returns how many synthetic packets went through (0 when no frame was free).
   */
  warmUp(packets: number = WARMUP_PACKETS): number {
    const sock = this.socket;
    const frame = sock.txAlloc();
    if (frame < 0) return 0;
    const addr = frame + WARMUP_OFFSET;
    const bytes = sock.umem.bytes;
    const words = sock.umem.words;
    const zero = new Uint8Array(6);
    writeUdpFrame(bytes, addr, WARMUP_LEN, { srcMac: zero, dstMac: zero, srcIp: Uint8Array.of(198, 18, 0, 1), dstIp: Uint8Array.of(198, 18, 0, 2), srcPort: 40000, dstPort: 9 });
    if (this.config.senderRunId >= 0) setRunId(bytes, addr, this.config.senderRunId);
    const now = this.now;
    native().clockGettime(this.config.clockId, now);
    setTxTimestamp(bytes, addr, now[0]!, now[1]!);
    // the metadata in front, as the program writes it (xdp/meta.ts OFF_*): stamped "now"
    const at = addr >>> 2;
    words[at - 1] = (META_MAGIC | META_VERSION) >>> 0;
    words[at - 2] = META_MIN_LEN + 4;
    words[at - 3] = F_XDP_TS | this.config.clockFlag;
    words[at - 4] = this.config.queue;
    words[at - 5] = now[1]!;
    words[at - 6] = now[0]!;
    words[at - 7] = this.config.cookie;
    const views = this.stateViews();
    const saved = views.map((v) => v.slice());
    const bs = sock.batchSize;
    let done = 0;
    try {
      while (done < packets) {
        const n = Math.min(bs, packets - done);
        for (let i = 0; i < n; i++) {
          sock.rxAddr[i] = addr;
          sock.rxLen[i] = WARMUP_LEN;
          if (sock.rxSegs !== null) sock.rxSegs[i] = 1;
        }
        this.measure(n);
        done += n;
      }
    } finally {
      views.forEach((v, i) => v.set(saved[i]!));
      bytes.fill(0, frame, frame + sock.umem.frameSize);
      sock.rxAddr.fill(0);
      sock.rxLen.fill(0);
      sock.txUnalloc(frame);
    }
    return done;
  }

  /** The bytes of the counters and of every recorder's state (warmUp() restores them). */
  private stateViews(): Uint8Array[] {
    const r = this.recorders;
    const views = [new Uint8Array(this.counts.buffer, this.counts.byteOffset, this.counts.byteLength)];
    for (const w of [r.xdpToUser, r.senderToXdp, r.hwToXdp]) if (w !== null) views.push(new Uint8Array(w.stateBuffer, 0, RECORDER_BYTES));
    return views;
  }

  /** Gives the frames of the last take() back to the kernel (the stale guard clears their magic). */
  release(n: number): void {
    this.socket.recycle(n);
  }

  /** One batch through the whole path: take → sinks → release. Returns its size (0: nothing ready). */
  pollOnce(): number {
    const n = this.take();
    if (n === 0) return 0;
    const sinks = this.sinks;
    for (let k = 0; k < sinks.length; k++) sinks[k]!.onBatch(this.batch);
    this.release(n);
    return n;
  }

  /** Everything ready now; returns how many packets. */
  drain(): number {
    let total = 0;
    for (;;) {
      const n = this.pollOnce();
      if (n === 0) return total;
      total += n;
    }
  }
}

