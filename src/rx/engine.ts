/**
 * RxEngine: THE receive loop of afxdp, for one AF_XDP socket (one queue). It runs the same code on
 * the main thread (event mode: uv_poll wakes a drain) and inside a worker (busy mode: the worker
 * spins on pollOnce()):
 *
 *   RX ring → the batch columns (addr/len) → StampDecoder (meta / prepend / map / auto, hints)
 *   → per packet: XDP → user, sender → XDP, HW → XDP latencies into the columns and the
 *   recorders → sinks (CSV, pcapng, the worker's batch channel) → frames back to the fill ring.
 *
 * One clock read per batch, as soon as the ring shows packets (before their descriptors are
 * copied): the cheapest exact CLOCK_MONOTONIC/TAI read from JS, a zero-argument addon call into
 * words registered once per thread (clockNow ≈ 50 ns; clockGettime(id, out) ≈ 125 ns; a calibrated
 * performance.now() drifts from CLOCK_MONOTONIC by milliseconds per second on these VMs:
 * bench/clock.ts). u64 as two u32 words; no allocation per packet or per batch.
 */
import { native } from '../native.js';
import type { XskSocket } from '../xsk/socket.js';
import { F_HW_TS, F_QUEUE, F_RX_HASH, F_VLAN, F_XDP_TS, META_MAGIC, META_VERSION, META_MIN_LEN, META_SIZE, type StrategyName } from '../xdp/meta.js';
import { readPayload, writeUdpFrame, setRunId, setTxTimestamp } from '../wire/frame.js';
import { RECORDER_BYTES, type BucketWriter } from '../measure/recorder.js';
import { PacketBatch, clearBatch, type PacketSink } from './batch.js';
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
 * The clock words of this thread (a module instance per thread: the main thread's, each worker's),
 * registered with the addon once per thread and clock: clockNow() takes no arguments.
 */
const NOW = new Uint32Array(2);
let registeredClock = -1;
/**
 * Synthetic packets for rehearse(): enough loop iterations and calls for V8 to compile take()'s
 * loop and what it calls with its optimizing tier. Costs 18–130 ms per receiving thread at open
 * on this 2-vCPU VM at load 15 (once, before attach; never on the data path).
 */
export const REHEARSAL_PACKETS = 200_000;
/** where rehearse() puts its synthetic packet in its frame: room for the metadata in front */
const REHEARSAL_OFFSET = 256;
const REHEARSAL_LEN = 64;

export class RxEngine {
  /** the columns of the current batch (addr/len are the socket's receive arrays) */
  readonly batch: PacketBatch;
  readonly decoder: StampDecoder;
  /** called after the columns are filled, before the frames go back to the kernel */
  readonly sinks: PacketSink[] = [];
  private readonly payload = new Uint32Array(4);
  private readonly now = NOW;
  /** the addon's clock, looked up once: a property load per batch on the addon's exports is not free */
  private readonly clockNow = native().clockNow;

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
   * user space until release(). Returns how many (0: the ring is empty). Their user-side time is
   * read first, as soon as the ring shows them.
   */
  take(): number {
    const sock = this.socket;
    const rx = sock.rx;
    if (rx !== null && !sock.isClosed) {
      if (rx.peek(1) === 0) return 0;
      this.readClock(); // the moment the ring shows packets, before their descriptors are copied
    }
    const n = sock.receive(); // throws on a closed socket
    if (n === 0) return 0;
    return this.measure(n);
  }

  /** The engine's clock into `now` (the registered words of this thread). */
  private readClock(): void {
    if (registeredClock !== this.config.clockId) {
      native().clockRegister(this.config.clockId, NOW);
      registeredClock = this.config.clockId;
    }
    this.clockNow();
  }

  /**
   * The packets 0..n-1 in the columns → stamps, latencies, recorders, counters. Returns n. A
   * multi-buffer packet is here whole (the socket hands out only complete chains), so its user
   * time is the moment JS first touches it after its LAST buffer arrived: latency covers the
   * whole packet.
   */
  private measure(n: number): number {
    const b = this.batch;
    const now = this.now; // read by take(), when the ring showed these packets
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
   * Runs the receive path on synthetic stamped packets before the program is attached (nothing
   * can arrive yet), so V8 compiles it with its optimizing tier before the first real packet
   * instead of during the first milliseconds of traffic (and on the helper threads, whose CPU the
   * run would be charged for). The socket rehearses with stand-in RX and fill rings
   * (XskSocket.rehearse): the packets come in batches of every size from 1 to a full batch and go
   * through the same pollOnce() as real ones — receive, decode, record, recycle, the fill ring —
   * or through `turn`, the caller's loop step around it (a worker's receive loop), which also
   * gets a turn on the empty ring now and then.
   * Every slot points at one free UMEM frame that the kernel never had; nothing is left behind:
   * the counters and recorders are restored, the frame's metadata magic is cleared and the frame
   * is given back. Sinks are not called; those with a stand-in (PacketSink.rehearsal: the
   * worker's batch channel) rehearse with it. With the frame tracker (--debug-frames) the rings are
   * not swapped and only the decoding and recording run. Returns how many synthetic packets went
   * through (0 when no frame was free).
   */
  rehearse(packets: number = REHEARSAL_PACKETS, turn: () => unknown = () => this.pollOnce()): number {
    const sock = this.socket;
    const frame = sock.txAlloc();
    if (frame < 0) return 0;
    const addr = frame + REHEARSAL_OFFSET;
    const bytes = sock.umem.bytes;
    const words = sock.umem.words;
    const zero = new Uint8Array(6);
    writeUdpFrame(bytes, addr, REHEARSAL_LEN, { srcMac: zero, dstMac: zero, srcIp: Uint8Array.of(198, 18, 0, 1), dstIp: Uint8Array.of(198, 18, 0, 2), srcPort: 40000, dstPort: 9 });
    if (this.config.senderRunId >= 0) setRunId(bytes, addr, this.config.senderRunId);
    const now = this.now;
    native().clockGettime(this.config.clockId, now);
    setTxTimestamp(bytes, addr, now[0]!, now[1]!);
    // the metadata in front, as the program writes it (bpf/include/afxdp/meta.h; MetaReader reads it)
    const at = addr >>> 2;
    const magic = (META_MAGIC | META_VERSION) >>> 0;
    const nowLo = now[0]!;
    const nowHi = now[1]!;
    /**
     * Stamps the synthetic packet for batch k as the program would (flags, queue, stamp). Every
     * third batch has a recent stamp; the others carry words ≥ 2^31 (and, every third, the
     * hardware hints) because real stamps do: code compiled after seeing only small words, or
     * without a branch real packets take, is thrown away (deoptimized) by the first real packet.
     */
    const stamp = (k: number): void => {
      const kind = k % 3;
      // kind 0: "now" minus 1 ns … 20 ms, the latencies real traffic has (with the borrow)
      const back = ((k * 7919) % 20_000_000) + 1;
      const lo = nowLo - back;
      words[at - 1] = magic; // also after recycle()'s stale guard cleared it
      words[at - 2] = kind === 2 ? META_SIZE : META_MIN_LEN + 4;
      words[at - 3] = F_XDP_TS | F_QUEUE | this.config.clockFlag | (kind === 2 ? F_HW_TS | F_RX_HASH | F_VLAN : 0);
      words[at - 4] = this.config.queue;
      words[at - 5] = kind === 0 ? (lo < 0 ? nowHi - 1 : nowHi) : nowHi - 1;
      words[at - 6] = kind === 0 ? lo >>> 0 : 0xf0000000 + k;
      words[at - 7] = this.config.cookie;
      words[at - 8] = 0x81000000 + 0x8100; // vlan tci (high half), proto (low half)
      words[at - 9] = 0x80000000 + k; // rx hash type, rx hash, hardware stamp
      words[at - 10] = 0x80000000 + k;
      words[at - 11] = nowHi - 1;
      words[at - 12] = 0xe0000000 + k;
    };
    stamp(0);
    const views = this.stateViews();
    const saved = views.map((v) => v.slice());
    const sinks = this.sinks.splice(0); // the rehearsal's batches are nobody's
    const bs = sock.batchSize;
    try {
      if (sock.tracker !== null) {
        let done = 0;
        let k = 0;
        while (done < packets) {
          const n = Math.min(bs, packets - done);
          stamp(k++);
          for (let i = 0; i < n; i++) {
            sock.rxAddr[i] = addr;
            sock.rxLen[i] = REHEARSAL_LEN;
            if (sock.rxSegs !== null) sock.rxSegs[i] = 1;
          }
          this.readClock();
          this.measure(n);
          done += n;
        }
        return done;
      }
      // sinks that have a stand-in rehearse with it
      const twins = sinks.flatMap((s) => (s.rehearsal ? [s.rehearsal()] : []));
      for (const t of twins) this.sinks.push(t.sink);
      return sock.rehearse((rx, fill) => {
        const rw = rx.words;
        let done = 0;
        let size = 1;
        let k = 0;
        while (done < packets) {
          const n = Math.min(size, packets - done);
          size = size === bs ? 1 : size + 1;
          stamp(k++);
          let idx = rx.kernelProducerIndex;
          for (let i = 0; i < n; i++, idx++) {
            const e = rx.entryWord(idx);
            rw[e] = addr;
            rw[e + 1] = 0;
            rw[e + 2] = REHEARSAL_LEN;
            rw[e + 3] = 0; // options: no XDP_PKT_CONTD, a whole packet
          }
          rx.produceAsKernel(n);
          turn();
          fill.consumeAllAsKernel();
          for (let t = 0; t < twins.length; t++) twins[t]!.settle();
          // now and then a turn on the empty ring: the idle path is compiled too
          if ((k & 15) === 0) turn();
          // and a fresh start, as the first real packet sees it (min/max are set again)
          if ((k & 255) === 0) views.forEach((v, i) => v.set(saved[i]!));
          done += n;
        }
        return done;
      });
    } finally {
      this.sinks.length = 0;
      this.sinks.push(...sinks);
      views.forEach((v, i) => v.set(saved[i]!));
      bytes.fill(0, frame, frame + sock.umem.frameSize);
      clearBatch(this.batch); // the columns hold no synthetic stamp or hint (addr/len: the socket's)
      sock.txUnalloc(frame);
    }
  }

  /** The bytes of the counters and of every recorder's state (rehearse() restores them). */
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

