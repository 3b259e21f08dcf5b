/**
 * LatencyReceiver: XDP → user-space latency on one or more queues of an interface, in either
 * receive mode:
 *   - event: one AF_XDP socket per queue on the main thread; uv_poll wakes a drain per socket
 *     (fits an ordinary Node program; latency includes the wake-up);
 *   - busy:  one worker_thread per queue spins on its RX ring (lowest latency; burns a core per
 *     queue). Workers create their own sockets and report through SharedArrayBuffers.
 * One stamp program serves all queues (one XSKMAP slot per queue), attached once, after every
 * socket is in the map. LatencyProbe (probe.ts) stays the single-queue event-mode building block;
 * this class is what `--poll busy` and `--queues N|all` use.
 */
import { Worker } from 'node:worker_threads';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { once } from 'node:events';
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../sys/netns.js';
import { XskSocket, type BindMode, type KernelStats } from '../xsk/socket.js';
import { CLOCK_MONOTONIC, CLOCK_TAI } from '../xsk/constants.js';
import { BpfObject, attachXdp, bundledObject, type XdpAttachment, type XdpModeOption, type XdpMode } from '../xdp/program.js';
import { MetaReader, F_CLOCK_TAI, F_XDP_TS, STRATEGY_CODES } from '../xdp/meta.js';
import { CounterReader, type ProgramCounters } from '../xdp/counters.js';
import { buildReport, type Report } from '../report/report.js';
import { COUNTS_LENGTH, LatencyRecorder } from '../measure/recorder.js';
import { rxQueueCount, emptyKernel, type ClockName, type MatchName, type ProbeStats } from './probe.js';
import * as W from './busy-worker.js';

export type PollMode = 'event' | 'busy';

export interface ReceiverOptions {
  ifname: string;
  /** queue ids, or 'all' (every RX queue ethtool reports); default [0] */
  queues?: readonly number[] | 'all';
  /** default 'event' */
  poll?: PollMode;
  mode?: XdpModeOption;
  bind?: BindMode;
  netnsFd?: number;
  clock?: ClockName;
  match?: MatchName;
  udpPort?: number;
  /** RX and fill ring entries per socket; default 2048 */
  ringSize?: number;
  /** descriptors per receive batch; default 64 */
  batchSize?: number;
}

const MATCH = { udp: 0, all: 1 } as const;
const CLOCK = { monotonic: 0, tai: 1 } as const;
const MAX_QUEUES = 64; // AFXDP_MAX_QUEUES in bpf/stamp.h
const WORKER_URL = new URL('./busy-worker.js', import.meta.url);

/** One queue in busy mode: its worker and the shared memory it reports through. */
interface BusyQueue {
  queue: number;
  worker: Worker;
  fd: number;
  ctl: Int32Array;
  st: Float64Array;
  counts: Float64Array;
  stopped: boolean;
}

export class LatencyReceiver {
  readonly ifname: string;
  readonly ifindex: number;
  readonly queues: number[];
  readonly poll: PollMode;
  readonly clock: ClockName;
  readonly batchSize: number;
  readonly recorder = new LatencyRecorder();
  /** event mode: called after each drained batch with the running total (never per packet) */
  onBatch: ((received: number) => void) | null = null;
  /** waitForEnd's failure hooks (session.ts Receiving); the receiver reports failures by throwing */
  error: AfxdpError | null = null;
  onError: ((e: AfxdpError) => void) | null = null;
  private obj!: BpfObject;
  private attachment: XdpAttachment | null = null;
  private counters!: CounterReader;
  private sockets: XskSocket[] = [];
  private metas: MetaReader[] = [];
  private busy: BusyQueue[] = [];
  private bindModeValue: 'copy' | 'zerocopy' = 'copy';
  private readonly clockId: number;
  private readonly clockFlag: number;
  private readonly now = new Uint32Array(2);
  private ev = { received: 0, metaValid: 0, metaInvalid: 0 };
  /** event mode: packets per socket, in the order of `queues` */
  private evPerQueue = new Float64Array(0);
  private final: ProbeStats | null = null;
  private started = false;
  private closing: Promise<void> | null = null;

  private constructor(o: ResolvedOptions, ifindex: number, queues: number[]) {
    this.ifname = o.ifname;
    this.ifindex = ifindex;
    this.queues = queues;
    this.poll = o.poll;
    this.clock = o.clock;
    this.batchSize = o.batchSize;
    this.clockId = o.clock === 'tai' ? CLOCK_TAI : CLOCK_MONOTONIC;
    this.clockFlag = o.clock === 'tai' ? F_CLOCK_TAI : 0;
  }

  /** Opens sockets (or workers) for every queue, fills the XSKMAP, then attaches the program. */
  static async open(opts: ReceiverOptions): Promise<LatencyReceiver> {
    const o = resolve(opts);
    const { ifindex, queues } = withNetns(o.netnsFd, () => lookup(o));
    const r = new LatencyReceiver(o, ifindex, queues);
    try {
      r.obj = BpfObject.open(bundledObject('stamp'));
      // the receiver reads the metadata strategy only (prepend/map: LatencyProbe)
      r.obj.load({ rodata: { cfg_match: MATCH[o.match], cfg_udp_port: o.udpPort, afxdp_cfg_clock: CLOCK[o.clock], afxdp_cfg_strategy: STRATEGY_CODES.meta } });
      r.counters = new CounterReader(r.obj.mapFd('afxdp_counters'));
      const fds = o.poll === 'busy' ? await r.startWorkers(o) : r.openSockets(o);
      const mapFd = r.obj.mapFd('xsks_map');
      const key = new Uint32Array(1);
      const val = new Uint32Array(1);
      for (let i = 0; i < queues.length; i++) {
        key[0] = queues[i]!;
        val[0] = fds[i]!;
        native().bpfMapUpdate(mapFd, new Uint8Array(key.buffer), new Uint8Array(val.buffer), 0);
      }
      r.attachment = withNetns(o.netnsFd, () => attachXdp(r.obj.programFd('afxdp_stamp_prog'), ifindex, o.ifname, o.mode));
    } catch (e) {
      await r.close().catch(() => undefined);
      throw e;
    }
    return r;
  }

  private openSockets(o: ResolvedOptions): number[] {
    withNetns(o.netnsFd, () => {
      for (const q of this.queues) {
        const s = XskSocket.create({
          ifindex: this.ifindex,
          ifname: o.ifname,
          queue: q,
          bind: o.bind,
          rxRingSize: o.ringSize,
          fillRingSize: o.ringSize,
          frameCount: frameCount(o.ringSize),
          batchSize: o.batchSize,
        });
        this.sockets.push(s);
        this.metas.push(new MetaReader(s.umem));
      }
    });
    this.bindModeValue = this.sockets[0]!.bindMode;
    this.evPerQueue = new Float64Array(this.sockets.length);
    return this.sockets.map((s) => s.fd);
  }

  private async startWorkers(o: ResolvedOptions): Promise<number[]> {
    const ready = this.queues.map(async (queue) => {
      const ctl = new SharedArrayBuffer(4 * 4);
      const stats = new SharedArrayBuffer(8 * W.S_LEN);
      const counts = new SharedArrayBuffer(8 * COUNTS_LENGTH);
      const data: W.BusyWorkerData = {
        ifname: o.ifname,
        netnsFd: o.netnsFd,
        queue,
        bind: o.bind,
        ringSize: o.ringSize,
        frameCount: frameCount(o.ringSize),
        batchSize: o.batchSize,
        clockId: this.clockId,
        clockFlag: this.clockFlag,
        ctl,
        stats,
        counts,
      };
      const worker = new Worker(WORKER_URL, { workerData: data, name: `afxdp-busy-q${queue}` });
      const b: BusyQueue = { queue, worker, fd: -1, ctl: new Int32Array(ctl), st: new Float64Array(stats), counts: new Float64Array(counts), stopped: false };
      this.busy.push(b);
      const [msg] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([e]) => Promise.reject(e)), once(worker, 'exit').then(() => [{ type: 'exit' }])])) as [W.BusyWorkerMessage | { type: 'exit' }];
      if (msg.type === 'error') throw new AfxdpError(msg.code as AfxdpError['code'], msg.message, { hint: msg.hint, errno: msg.errno });
      if (msg.type !== 'ready') throw new AfxdpError('ESTATE', `the busy-poll worker of queue ${queue} exited before its socket was ready`);
      b.fd = msg.fd;
      this.bindModeValue = msg.bindMode;
      Atomics.store(b.ctl, W.CTL_STATE, W.STATE_RUNNING);
      return msg.fd;
    });
    const settled = await Promise.allSettled(ready);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<number>).value);
  }

  /** A vanished interface is not detected here yet (LatencyProbe does): stop by duration or signal. */
  checkAlive(): boolean {
    return this.error === null;
  }

  get mode(): XdpMode {
    return this.attachment?.mode ?? 'native';
  }

  get bindMode(): 'copy' | 'zerocopy' {
    return this.bindModeValue;
  }

  /** Event mode: install the readable callbacks. Busy mode: the workers already spin. */
  start(): void {
    if (this.closing) throw new AfxdpError('ECLOSED', 'the receiver is closed');
    if (this.started) return;
    this.started = true;
    if (this.poll === 'event') for (let i = 0; i < this.sockets.length; i++) this.sockets[i]!.onReadable(() => this.drainSocket(i));
  }

  get received(): number {
    if (this.poll === 'event') return this.ev.received;
    let n = 0;
    for (const b of this.busy) n += b.st[W.S_RECEIVED]!;
    return n;
  }

  /** Packets received on each queue, in the order of `queues`. */
  receivedPerQueue(): number[] {
    if (this.poll === 'event') return Array.from(this.evPerQueue);
    return this.busy.map((b) => b.st[W.S_RECEIVED]!);
  }

  /** Event mode: receive everything ready on every queue now. Busy mode: 0 (the workers do it). */
  drain(): number {
    let total = 0;
    for (let i = 0; i < this.sockets.length; i++) total += this.drainSocket(i);
    return total;
  }

  /** The event-mode hot loop: the same work as LatencyProbe.drain(), per socket. */
  private drainSocket(k: number): number {
    const sock = this.sockets[k]!;
    if (sock.isClosed) return 0;
    const meta = this.metas[k]!;
    const rec = this.recorder;
    const now = this.now;
    const nat = native();
    const clockFlag = this.clockFlag;
    const ev = this.ev;
    let total = 0;
    for (;;) {
      const n = sock.receive();
      if (n === 0) break;
      nat.clockGettime(this.clockId, now);
      const nowLo = now[0]!;
      const nowHi = now[1]!;
      const addrs = sock.rxAddr;
      let valid = 0;
      for (let i = 0; i < n; i++) {
        if (meta.read(addrs[i]!) && (meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === clockFlag) {
          rec.record((nowHi - meta.xdpTsHi) * 4294967296 + (nowLo - meta.xdpTsLo));
          valid++;
        }
      }
      ev.metaValid += valid;
      ev.metaInvalid += n - valid;
      ev.received += n;
      total += n;
      this.evPerQueue[k] += n;
      sock.recycle(n);
      if (this.onBatch !== null) this.onBatch(ev.received);
    }
    return total;
  }

  /** Counts summed over queues; after close(), the final ones. */
  stats(): ProbeStats {
    if (this.final) return this.final;
    const kernel = emptyKernel();
    let received = 0;
    let metaValid = 0;
    let metaInvalid = 0;
    if (this.poll === 'event') {
      for (const s of this.sockets) if (!s.isClosed) addKernel(kernel, s.statistics());
      ({ received, metaValid, metaInvalid } = this.ev);
    } else {
      const st = new Float64Array(8);
      for (const b of this.busy) {
        received += b.st[W.S_RECEIVED]!;
        metaValid += b.st[W.S_META_VALID]!;
        metaInvalid += b.st[W.S_META_INVALID]!;
        if (b.stopped) addKernel(kernel, kernelFrom(b.st));
        else if (b.fd >= 0) {
          st.fill(0);
          native().xskStatistics(b.fd, st); // the fd is process-wide; the worker still owns it
          addKernel(kernel, kernelFrom(st, 0));
        }
      }
    }
    // every valid stamp here came as metadata (the program is loaded with the meta strategy)
    return { received, metaValid, metaInvalid, kernel, program: this.counters ? this.counters.sum(this.queues) : emptyProgram(), byStrategy: { meta: metaValid, prepend: 0, map: 0 }, hints: null, map: null };
  }

  /** Busy mode: used heap of each worker's isolate at start and at stop (after GC when --expose-gc). */
  workerHeap(): Array<{ queue: number; start: number; end: number }> {
    return this.busy.map((b) => ({ queue: b.queue, start: b.st[W.S_HEAP_START]!, end: b.st[W.S_HEAP_END]! }));
  }

  /**
   * Stops the workers (they drain, read their statistics and close their sockets), folds their
   * histograms into `recorder`, detaches the program. Keeps the final stats readable. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    let statsBefore: ProbeStats | null = null;
    if (this.poll === 'event') {
      try {
        this.drain();
        statsBefore = this.stats();
      } catch {
        // the interface may be gone; keep what was counted
      }
      for (const s of this.sockets) s.offReadable();
    }
    await Promise.all(this.busy.map((b) => this.stopWorker(b)));
    for (const b of this.busy) {
      const st = b.st;
      if (st[W.S_MIN]! <= st[W.S_MAX]!) {
        this.recorder.addBuckets(b.counts, st[W.S_SUM]!, st[W.S_MIN]!, st[W.S_MAX]!, { negative: st[W.S_NEGATIVE], overflow: st[W.S_OVERFLOW] });
      }
    }
    if (this.poll === 'busy') {
      try {
        statsBefore = this.stats();
      } catch {
        // counters map gone with the object: keep the socket numbers only
      }
    }
    this.final = statsBefore ?? { received: this.received, metaValid: 0, metaInvalid: 0, kernel: emptyKernel(), program: emptyProgram(), byStrategy: { meta: 0, prepend: 0, map: 0 }, hints: null, map: null };
    this.attachment?.detach();
    for (const s of this.sockets) s.close();
    this.obj?.close();
  }

  private async stopWorker(b: BusyQueue): Promise<void> {
    if (b.fd < 0) {
      await b.worker.terminate();
      return;
    }
    const stopped = new Promise<void>((resolve) => {
      b.worker.on('message', (m: W.BusyWorkerMessage) => {
        if (m.type === 'stopped') resolve();
      });
      b.worker.once('exit', () => resolve());
    });
    Atomics.store(b.ctl, W.CTL_STATE, W.STATE_STOP);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)));
    await Promise.race([stopped, timeout]);
    clearTimeout(timer);
    b.stopped = true;
    await b.worker.terminate();
  }

  /** The afxdp.report/1 document of this run. */
  report(x: { sent: number | null; durationS: number }): Report {
    const s = this.stats();
    const report = buildReport({
      iface: this.ifname,
      queues: this.queues,
      mode: this.mode,
      bind: this.bindMode,
      strategy: 'meta',
      clock: this.clock,
      poll: this.poll,
      duration_s: x.durationS,
      counts: {
        sent: x.sent,
        received: s.received,
        meta_valid: s.metaValid,
        meta_invalid: s.metaInvalid,
        kernel: s.kernel, // buildReport copies exactly the contract's four counters
      },
      summaries: { xdp_to_user: this.recorder.summary() },
    });
    // the whole distribution, as the probe's reports carry it, for `afxdp report` (plots, comparisons)
    if (this.recorder.histogram.totalCount > 0) report.histograms = { xdp_to_user: encodeIntoCompressedBase64(this.recorder.histogram) };
    return report;
  }
}

type ResolvedOptions = Required<Omit<ReceiverOptions, 'netnsFd' | 'queues'>> & { netnsFd: number | undefined; queues: readonly number[] | 'all' };

function resolve(opts: ReceiverOptions): ResolvedOptions {
  const o: ResolvedOptions = {
    ifname: opts.ifname,
    queues: opts.queues ?? [0],
    poll: opts.poll ?? 'event',
    mode: opts.mode ?? 'auto',
    bind: opts.bind ?? 'auto',
    netnsFd: opts.netnsFd,
    clock: opts.clock ?? 'monotonic',
    match: opts.match ?? 'udp',
    udpPort: opts.udpPort ?? 0,
    ringSize: opts.ringSize ?? 2048,
    batchSize: opts.batchSize ?? 64,
  };
  if (o.poll !== 'event' && o.poll !== 'busy') throw new AfxdpError('EUSAGE', `poll mode ${String(o.poll)} is not event or busy`, { hint: 'use --poll event or --poll busy' });
  if (!Number.isInteger(o.udpPort) || o.udpPort < 0 || o.udpPort > 65535) throw new AfxdpError('EUSAGE', `UDP port ${o.udpPort} is out of range`, { hint: 'use 0..65535 (0 = any port)' });
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 4096) throw new AfxdpError('EUSAGE', `batch size ${o.batchSize} is out of range`, { hint: 'use 1..4096' });
  if (o.queues !== 'all') {
    if (o.queues.length === 0) throw new AfxdpError('EUSAGE', 'no queues given', { hint: 'use --queues N or --queues all' });
    for (const q of o.queues) if (!Number.isInteger(q) || q < 0 || q >= MAX_QUEUES) throw new AfxdpError('EUSAGE', `queue ${q} is out of range`, { hint: `afxdp handles queues 0..${MAX_QUEUES - 1}` });
    if (new Set(o.queues).size !== o.queues.length) throw new AfxdpError('EUSAGE', `queues ${o.queues.join(',')} has duplicates`, { hint: 'list each queue once' });
  }
  return o;
}

/** ifindex and the queue list (resolving 'all'), checked against what the driver reports. */
function lookup(o: ResolvedOptions): { ifindex: number; queues: number[] } {
  const ifindex = native().ifNameToIndex(o.ifname);
  if (ifindex === 0) {
    throw new AfxdpError('ENOIFACE', `interface ${o.ifname} not found${o.netnsFd === undefined ? '' : ' in the lab namespace'}`, { hint: 'list interfaces with `ip -br link`' });
  }
  const count = rxQueueCount(o.ifname);
  let queues: number[];
  if (o.queues === 'all') {
    queues = Array.from({ length: Math.min(count ?? 1, MAX_QUEUES) }, (_, i) => i);
  } else {
    queues = [...o.queues];
    const bad = count === null ? undefined : queues.find((q) => q >= count);
    if (bad !== undefined) {
      throw new AfxdpError('ENOQUEUE', `${o.ifname} has ${count} RX queue${count === 1 ? '' : 's'}; queue ${bad} does not exist`, {
        hint: `use queues 0${count! > 1 ? `..${count! - 1}` : ''} (--queues ${count} or --queues all)`,
      });
    }
  }
  return { ifindex, queues };
}

function frameCount(ringSize: number): number {
  return Math.max(4096, ringSize * 2);
}

function emptyProgram(): ProgramCounters {
  return { seen: 0, matched: 0, stamped: 0, meta_failed: 0, redirected: 0, via_meta: 0, via_prepend: 0, via_map: 0, map_collisions: 0, unstamped: 0 };
}


function addKernel(a: KernelStats, b: KernelStats): void {
  a.rx_dropped += b.rx_dropped;
  a.rx_invalid_descs += b.rx_invalid_descs;
  a.tx_invalid_descs += b.tx_invalid_descs;
  a.rx_ring_full += b.rx_ring_full;
  a.rx_fill_ring_empty_descs += b.rx_fill_ring_empty_descs;
  a.tx_ring_empty_descs += b.tx_ring_empty_descs;
}

function kernelFrom(st: Float64Array, at: number = W.S_KERNEL): KernelStats {
  return {
    rx_dropped: st[at]!,
    rx_invalid_descs: st[at + 1]!,
    tx_invalid_descs: st[at + 2]!,
    rx_ring_full: st[at + 3]!,
    rx_fill_ring_empty_descs: st[at + 4]!,
    tx_ring_empty_descs: st[at + 5]!,
  };
}
