/**
 * TrafficGenerator: sends N UDP/IPv4 test frames at a given rate through an AF_XDP TX socket
 * (copy mode on veth). Every frame carries a run id, a sequence number and its TX time in the
 * payload (src/wire/frame.ts). Frames are written once into every UMEM slot as templates; per
 * packet only the sequence number and, per batch, the timestamp are patched — no allocation.
 *
 * Frames larger than a UMEM frame (jumbo frames) and mixed sizes take the template path instead:
 * one preallocated template per size, copied per packet into as many UMEM frames as it needs and
 * sent as one chain of descriptors (XDP_USE_SG, XDP_PKT_CONTD on all but the last) — a copy of
 * the frame per packet (the kernel copies it again in copy mode), still no allocation.
 *
 * On a tap lab the sink is the tap's fd instead of an AF_XDP socket (TapSink, tap-sink.ts): the
 * same frames and the same pacing, written to the tap one write(2) per frame.
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../sys/netns.js';
import { runToolSync, type IpLink } from '../sys/exec.js';
import { XskSocket } from '../xsk/socket.js';
import { CLOCK_MONOTONIC } from '../xsk/constants.js';
import { allocChain, pushChain, flushTx } from '../xsk/tx.js';
import { TapSink, type TxSink } from './tap-sink.js';
import { writeUdpFrame, setSeq, setTxTimestamp, setRunId, macFromString, DEFAULT_FRAME_SIZE, DEFAULT_UDP_PORT, FRAME_MIN, FRAME_MAX, ETH_HLEN } from '../wire/frame.js';

/** A range of frame sizes: the packets cycle through SIZE_STEPS sizes spread evenly over it. */
export interface SizeRange {
  min: number;
  max: number;
}
/** distinct sizes of a size range (each a template) */
export const SIZE_STEPS = 16;

export interface GeneratorOptions {
  ifname: string;
  netnsFd?: number;
  /**
   * a tap lab's queue fd (Lab.senderOptions): the frames are written to it (TapSink) instead of
   * sent through an AF_XDP socket on `ifname`, which is then the tap itself
   */
  tapFd?: number;
  queue?: number;
  /** default: the MAC address of `ifname` */
  srcMac?: Uint8Array;
  dstMac: Uint8Array;
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  srcPort?: number;
  dstPort?: number;
  /**
   * frame size without FCS, 62..9000 (headers + the 20-byte payload), or a range of sizes;
   * default 64. A frame larger than a UMEM frame is sent as a chain (XDP_USE_SG, kernel ≥ 6.6;
   * the interface's MTU must take it)
   */
  size?: number | SizeRange;
  /** bytes per UMEM frame, 2048 or 4096; default 4096 */
  frameSize?: number;
  runId?: number;
  /** descriptors per sendto; copy mode sends at most 32 per call, so 32 is the natural batch */
  batchSize?: number;
  /** debug: assert the UMEM frame invariant at every batch (src/xsk/frames.ts) */
  trackFrames?: boolean;
  /** slot 0 gets `sent` after every batch (a SharedArrayBuffer when the generator runs in a worker) */
  progress?: Float64Array;
}

export interface SendOptions {
  count: number;
  /** packets per second; 0 = as fast as possible */
  rate: number;
  /** stop early (e.g. on Ctrl-C) */
  signal?: AbortSignal;
}

/** One frame size of the template path: the frame, cut into UMEM-frame-sized pieces. */
interface Template {
  size: number;
  pieces: Uint8Array[];
}

export class TrafficGenerator {
  /** @internal the sink: an AF_XDP TX socket, or a tap's fd (TapSink) */
  readonly socket: TxSink;
  /** the frame size (the largest, with a range) */
  readonly size: number;
  /** the sizes sent, in the order they cycle */
  readonly sizes: readonly number[];
  readonly runId: number;
  sent = 0;
  private readonly now = new Uint32Array(2);
  /** the addon's clock, looked up once (a property load on the addon's exports per batch is not free) */
  private readonly clock = native().clockGettime;
  private readonly batch: Uint32Array;
  private seq = 0;
  /** rehearse() is running: batches are taken back instead of sent */
  private dry = false;
  private readonly progress: Float64Array | null;
  /** the template path (jumbo frames, mixed sizes); null: every UMEM frame holds the one frame */
  private readonly templates: Template[] | null = null;
  /** template path: the descriptors of one batch (address, length), packet after packet */
  private readonly chain: Uint32Array = new Uint32Array(0);
  private readonly chainLen: Uint32Array = new Uint32Array(0);
  /** template path: per packet of the batch, its number of frames */
  private readonly chainCount: Uint32Array = new Uint32Array(0);

  private constructor(o: GeneratorOptions) {
    this.progress = o.progress ?? null;
    const n = native();
    const ifindex = n.ifNameToIndex(o.ifname);
    if (ifindex === 0) throw new AfxdpError('ENOIFACE', `interface ${o.ifname} not found`, { hint: 'list interfaces with `ip -br link`' });
    const srcMac = o.srcMac ?? ifaceMac(o.ifname);
    this.sizes = frameSizes(o.size ?? DEFAULT_FRAME_SIZE);
    this.size = Math.max(...this.sizes);
    this.runId = o.runId ?? ((Math.random() * 0xffffffff) >>> 0);
    const batch = o.batchSize ?? 32;
    this.batch = new Uint32Array(batch);
    const frameSize = o.frameSize ?? 4096;
    const sg = this.size > frameSize;
    // the interface would drop a frame its MTU does not carry, counted only in its own tx_dropped
    const mtu = n.ifMtu(o.ifname);
    if (mtu > 0 && this.size > mtu + ETH_HLEN) {
      throw new AfxdpError('EUSAGE', `frame size ${this.size} exceeds what the MTU ${mtu} of ${o.ifname} carries (${mtu + ETH_HLEN} bytes with the Ethernet header)`, {
        hint: `raise the MTU (ip link set dev ${o.ifname} mtu ${Math.max(this.size - ETH_HLEN, 9000)}) or send frames of at most ${mtu + ETH_HLEN} bytes`,
      });
    }
    this.socket = o.tapFd !== undefined
      ? TapSink.open(o.tapFd, { frameSize, frameCount: 4096, queueSize: 2048, sg })
      : XskSocket.create({ ifindex, ifname: o.ifname, queue: o.queue ?? 0, rxRingSize: 0, txRingSize: 2048, fillRingSize: 64, completionRingSize: 2048, frameCount: 4096, frameSize, bind: 'auto', batchSize: batch, trackFrames: o.trackFrames, sg });
    const tmpl = { srcMac, dstMac: o.dstMac, srcIp: o.srcIp, dstIp: o.dstIp, srcPort: o.srcPort ?? 40000, dstPort: o.dstPort ?? DEFAULT_UDP_PORT };
    const bytes = this.socket.umem.bytes;
    try {
      if (sg || this.sizes.length > 1) {
        this.templates = this.sizes.map((size) => {
          const t = new Uint8Array(size);
          writeUdpFrame(t, 0, size, tmpl);
          setRunId(t, 0, this.runId);
          const pieces: Uint8Array[] = [];
          for (let at = 0; at < size; at += frameSize) pieces.push(t.subarray(at, Math.min(size, at + frameSize)));
          return { size, pieces };
        });
        const most = Math.ceil(this.size / frameSize);
        this.chain = new Uint32Array(batch * most);
        this.chainLen = new Uint32Array(batch * most);
        this.chainCount = new Uint32Array(batch);
        return;
      }
      for (let i = 0; i < this.socket.umem.frameCount; i++) {
        const addr = this.socket.umem.frameAddr(i);
        writeUdpFrame(bytes, addr, this.size, tmpl);
        setRunId(bytes, addr, this.runId);
      }
    } catch (e) {
      this.socket.close();
      throw e;
    }
  }

  static open(opts: GeneratorOptions): TrafficGenerator {
    return withNetns(opts.netnsFd, () => new TrafficGenerator(opts));
  }

  /**
   * Sends `count` frames paced at `rate` (0 = as fast as the socket takes them), yielding to the
   * event loop between turns of a few batches so a receiver on the same thread keeps draining.
   * Resolves with the number of frames the kernel accepted once all of them completed.
   */
  send(opts: SendOptions): Promise<number> {
    const { count, rate, signal } = opts;
    checkSend(count, rate);
    const start = process.hrtime();
    const target = this.sent + count;
    const first = this.sent;

    return new Promise<number>((resolve, reject) => {
      const tick = (): void => {
        try {
          if (signal?.aborted) return finish();
          let due = target;
          if (rate > 0) {
            const [s, ns] = process.hrtime(start);
            due = Math.min(target, first + Math.floor((s + ns / 1e9) * rate) + 1);
          }
          // Several batches per event-loop turn: a turn costs microseconds, a batch of 32 frames
          // about as much, so one batch per turn halved the full-speed rate (bench: tx_mpps).
          this.pump(due, BATCHES_PER_TURN);
          if (this.sent >= target) return finish();
          // behind schedule (or unpaced): continue after the poll phase; ahead: wait a little
          if (rate === 0 || this.sent < due) setImmediate(tick);
          else setTimeout(tick, Math.max(1, Math.min(50, Math.floor(((this.sent - first) / rate) * 1000 - msSince(start)))));
        } catch (e) {
          reject(e);
        }
      };
      const finish = (): void => {
        this.drainCompletions().then(() => resolve(this.sent - first), reject);
      };
      tick();
    });
  }

  /**
   * send() for a thread of its own (GeneratorThread's worker, or your own worker_thread): the
   * same batches in a loop that never yields, as bench/c/tx_ref's — no event-loop turn and no
   * allocation per turn, so no garbage collection during the run. Paced and ahead of schedule it
   * sleeps in Atomics.wait (at most 1 ms, as tx_ref's nanosleep). It stops early once another
   * thread sets `stop[0]` to non-zero (and Atomics.notify wakes a sleep). Returns the number of
   * frames sent once all of them completed (or after 2 s without completions).
   * Blocks the calling thread: not for the main thread of a program that must stay responsive.
   */
  sendSync(opts: { count: number; rate: number; stop?: Int32Array }): number {
    const { count, rate } = opts;
    checkSend(count, rate);
    const stop = opts.stop ?? null;
    const target = this.sent + count;
    const first = this.sent;
    const t0 = this.monotonicNs();
    while (this.sent < target) {
      if (stop !== null && Atomics.load(stop, 0) !== 0) break;
      let due = target;
      if (rate > 0) {
        const elapsed = this.monotonicNs() - t0;
        due = Math.min(target, first + Math.floor((elapsed * rate) / 1e9) + 1);
      }
      // unpaced, a few batches between the checks of stop (paced: one, to keep to the schedule)
      if (this.pump(due, rate > 0 ? 1 : BATCHES_PER_TURN) > 0) continue;
      // nothing sent: ahead of schedule (sleep), or every frame or ring slot is with the kernel (kick and spin, as tx_ref)
      if (rate > 0 && this.sent >= due) Atomics.wait(stop ?? sleepCell, 0, 0, Math.min(1, 1000 / rate));
      else this.flush();
    }
    // completions: spin like tx_ref, bounded
    const end = this.monotonicNs() + 2e9;
    for (;;) {
      this.flush();
      this.socket.reclaim();
      if (this.socket.framesInUse() === 0) break;
      if (this.monotonicNs() > end) break;
    }
    return this.sent - first;
  }

  /** CLOCK_MONOTONIC in ns, as a double (exact below 2^53 ns, 104 days of uptime); per turn, not per packet. */
  private monotonicNs(): number {
    native().clockGettime(CLOCK_MONOTONIC, this.now);
    return this.now[1]! * 2 ** 32 + this.now[0]!;
  }

  /**
   * Runs the sending loop on `packets` frames that never leave, so V8 compiles it before the first
   * real packet instead of during the run: each batch is written and queued as for real, then
   * taken back before the kick (made for every 64th batch only; it finds the ring empty), and
   * completions come from a stand-in ring. Nothing is sent; `sent` and the sequence numbers stay
   * as they were. GeneratorThread calls it before it reports ready. The template path
   * (jumbo frames, size ranges) and a socket with the frame tracker are not rehearsed.
   */
  rehearse(packets = REHEARSAL_PACKETS): void {
    if (this.templates !== null || this.socket.tracker !== null) return;
    const sock = this.socket;
    const sent = this.sent;
    const seq = this.seq;
    this.dry = true;
    try {
      // a frame completes on a stand-in completion ring before each batch, so reclaim()'s loop runs
      // too: without it the first real completion deoptimized the compiled loop (--trace-deopt)
      sock.rehearseCompletions((cr) => {
        while (this.sent - sent < packets) {
          const addr = sock.txAlloc();
          if (addr < 0) break;
          cr.words[cr.entryWord(cr.kernelProducerIndex)] = addr;
          cr.produceAsKernel(1); // reclaimed by the batch that follows
          if (this.pump(this.sent + this.batch.length, 1) === 0) break;
        }
        sock.reclaim();
      });
    } finally {
      this.dry = false;
      this.sent = sent;
      this.seq = seq;
      if (this.progress !== null) this.progress[0] = sent;
    }
  }

  /**
   * The one sending loop of send() and sendSync(): up to `batches` batches of at most
   * `batchSize` frames, while frames are due (`due`: the value of `sent` to reach) and the TX
   * ring and the UMEM have room. Completions are reclaimed before each batch, as tx_ref does, so
   * the frames just sent are reused while still in cache. Returns the frames sent.
   */
  private pump(due: number, batches: number): number {
    const sock = this.socket;
    const bytes = sock.umem.bytes;
    const batch = this.batch;
    const now = this.now;
    const size = this.size;
    const clock = this.clock;
    const before = this.sent;
    for (let b = 0; b < batches; b++) {
      sock.reclaim();
      if (this.templates !== null) {
        if (this.sendChains(due) === 0) break;
        continue;
      }
      const room = sock.txFree(Math.min(batch.length, due - this.sent));
      if (room === 0) break;
      // One TX time per batch, read before the batch is written, then one pass that writes each
      // frame's payload and its descriptor together, as tx_ref does (the sequence number in a local)
      clock(CLOCK_MONOTONIC, now);
      const lo = now[0]!;
      const hi = now[1]!;
      let seq = this.seq;
      let k = 0;
      for (; k < room; k++) {
        const addr = sock.txAlloc();
        if (addr < 0) break;
        setSeq(bytes, addr, seq++);
        setTxTimestamp(bytes, addr, lo, hi);
        sock.txPush(addr, size);
      }
      this.seq = seq;
      if (k === 0) break;
      this.sent += k;
      if (this.progress !== null) this.progress[0] = this.sent;
      if (this.dry) {
        // rehearse(): taken back before the kernel can see it; the kick (on the empty ring) only for
        // every 64th batch: enough for V8 to know the call, without a system call per batch
        sock.txDiscard();
        if ((this.seq / batch.length) % 64 !== 1) continue;
      }
      this.flush();
    }
    return this.sent - before;
  }

  /**
   * One batch of the template path: per packet, its size's template copied into as many UMEM
   * frames as it takes, pushed as one chain; one TX time per batch. Returns the packets sent.
   */
  private sendChains(due: number): number {
    const sock = this.socket;
    const bytes = sock.umem.bytes;
    const templates = this.templates!;
    const chain = this.chain;
    const chainLen = this.chainLen;
    const first = this.batch;
    const count = this.chainCount;
    let room = sock.txFree(chain.length);
    let k = 0;
    let d = 0;
    while (this.sent + k < due && k < first.length) {
      const t = templates[this.seq % templates.length]!;
      const pieces = t.pieces;
      if (pieces.length > room) break;
      const start = d;
      if (!allocChain(sock, pieces.length, chain, start)) break; // no frames for the whole chain: next turn
      for (let j = 0; j < pieces.length; j++) {
        bytes.set(pieces[j]!, chain[d]!);
        chainLen[d++] = pieces[j]!.length;
      }
      setSeq(bytes, chain[start]!, this.seq++);
      first[k] = start;
      count[k++] = pieces.length;
      room -= pieces.length;
    }
    if (k === 0) return 0;
    const now = this.now;
    native().clockGettime(CLOCK_MONOTONIC, now);
    for (let i = 0; i < k; i++) setTxTimestamp(bytes, chain[first[i]!]!, now[0]!, now[1]!);
    for (let i = 0; i < k; i++) pushChain(sock, chain, chainLen, first[i]!, count[i]!);
    this.sent += k;
    if (this.progress !== null) this.progress[0] = this.sent;
    this.flush();
    return k;
  }

  /** Kicks until the TX ring is empty (the one TX flush, xsk/tx.ts). */
  private flush(): void {
    flushTx(this.socket);
  }

  private async drainCompletions(): Promise<void> {
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      this.flush();
      this.socket.reclaim();
      if (this.socket.framesInUse() === 0) return;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** The frame sizes a size option stands for: one, or SIZE_STEPS spread evenly over a range. */
export function frameSizes(size: number | SizeRange): number[] {
  const check = (v: number): number => {
    if (!Number.isInteger(v) || v < FRAME_MIN || v > FRAME_MAX) {
      throw new AfxdpError('EUSAGE', `frame size ${v} is out of range`, { hint: `use ${FRAME_MIN}..${FRAME_MAX} bytes (${FRAME_MIN} is the smallest that holds the afxdp payload)` });
    }
    return v;
  };
  if (typeof size === 'number') return [check(size)];
  const min = check(size.min);
  const max = check(size.max);
  if (min > max) throw new AfxdpError('EUSAGE', `frame size range ${min}-${max} is empty`, { hint: 'write it smaller-larger, e.g. 64-9000' });
  if (min === max) return [min];
  const out = new Set<number>();
  for (let i = 0; i < SIZE_STEPS; i++) out.add(Math.round(min + ((max - min) * i) / (SIZE_STEPS - 1)));
  return [...out];
}

/** frames rehearse() runs through the loop by default: enough for V8 to optimize it (a few ms) */
const REHEARSAL_PACKETS = 50_000;

/** batches sent per event-loop turn before yielding (a receiver on the same thread keeps draining) */
const BATCHES_PER_TURN = 16;

/** Atomics.wait needs a shared Int32Array: sendSync()'s sleep when no stop cell is given */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function checkSend(count: number, rate: number): void {
  if (!Number.isInteger(count) || count < 0) throw new AfxdpError('EUSAGE', `packet count ${count} is not a whole number ≥ 0`);
  if (!(rate >= 0) || !Number.isFinite(rate)) throw new AfxdpError('EUSAGE', `rate ${rate} is not a number ≥ 0`);
}

function msSince(start: [number, number]): number {
  const [s, ns] = process.hrtime(start);
  return s * 1000 + ns / 1e6;
}

/** The Ethernet address of `ifname` in the current network namespace. */
function ifaceMac(ifname: string): Uint8Array {
  const links = JSON.parse(runToolSync('ip', ['-j', 'link', 'show', 'dev', ifname]).stdout) as IpLink[];
  const mac = links[0]?.address;
  if (!mac || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) {
    throw new AfxdpError('EUSAGE', `${ifname} has no Ethernet MAC address`, { hint: 'pass srcMac (afxdp gen: --src-mac)' });
  }
  return macFromString(mac);
}
