/**
 * LatencyReceiver: the one setup path and the owner of the receive engines. For a set of queues
 * of one interface it checks the interface and the queues, loads the stamping program
 * (rx/program-setup.ts: afxdp's, with hardware hints where they work, or the user's), opens one
 * AF_XDP socket per queue — on the main thread (poll 'event': uv_poll wakes the engine) or in a
 * worker per queue (rx/worker-host.ts; poll 'worker': it blocks in poll(2) and drains; poll
 * 'busy': it spins on RxEngine.pollOnce) — puts every socket in the XSKMAP and only then attaches
 * the program, so no matched packet reaches the stack before its socket is in place.
 *
 * The same steps run split over two processes for the broker (rx/broker-roles.ts,
 * docs/BROKER.md): openForClient() (in `afxdp serve`, privileged) loads and attaches and makes
 * the sockets over a shared UMEM without receiving; open({ broker }) (in the client, no
 * capability) asks for them and receives on the sockets it was passed.
 *
 * The main thread consumes through one API in every poll mode (rx/consumer.ts): take() a batch,
 * release() it, wait() or watch(); the receiver's own sinks are fed the same way. Its numbers come
 * from shared memory wherever the engines run (rx/receiver-stats.ts).
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../sys/netns.js';
import { XskSocket, type BusyPollSettings, type AdoptedSocket } from '../xsk/socket.js';
import { peerGone, type Grant } from '../sys/broker-wire.js';
import { CLOCK_MONOTONIC, CLOCK_TAI } from '../xsk/constants.js';
import { collectGarbage } from '../sys/gc.js';
import { rehearseTicks } from '../measure/monitor.js';
import type { XdpAttachment, XdpMode } from '../xdp/program.js';
import { F_CLOCK_TAI, type MetaReader } from '../xdp/meta.js';
import type { StackCounters } from '../xdp/counters.js';
import { LatencyRecorder, type LatencySummary } from '../measure/recorder.js';
import { SEGMENTS, type Segment } from '../measure/monitor.js';
import { RxEngine, type EngineConfig } from './engine.js';
import { tuneThisThread, holdThreadPolicy } from '../sys/thread.js';
import { holdReceiverFirst, type ReceiverFirstHold } from '../sys/sched.js';
import { holdCpuDmaLatency } from '../sys/host-tuning.js';
import type { PacketBatch, PacketSink } from './batch.js';
import { C_RECEIVED, C_HEAP_START, C_HEAP_END, C_BUSY_POLLS } from './counts.js';
import { checkOption } from './bounds.js';
import { resolve, lookup, inWorkers, wantsSg, socketOptionsOf, type Resolved, type ReceiverOptions, type ClockName, type PollMode, type StrategyName } from './options.js';
import { ReceiveQueue } from './queue.js';
import { programFor, stampMapFd, attachProgram, HintsRefused, type ProgramInUse, type ProgramSource } from './program-setup.js';
import { requestGrant, adoption, socketForClient, grantOf, type Brokered } from './broker-roles.js';
import { startWorker, stopWorkers, unboundQueue, socketError, UNBOUND, ALIVE_CHECK_MS } from './worker-host.js';
import { statsOf, sumOf, type ReceiverStats, type ReceiverTuning, type WarmupCut } from './receiver-stats.js';
import { QueueConsumer } from './consumer.js';
import type { ReceiverSetup } from './receiver-setup.js';

export type { StrategyCounts, HintCounts } from './stamps.js';
export type { ReceiverOptions, ClockName, MatchName, PollMode, StrategyName, LoadedProgram, SchedChoice } from './options.js';
export { rxQueueCount, POLL_MODES, SCHED_CHOICES, inWorkers } from './options.js';
export type { SchedReport, ThreadSched } from '../sys/sched.js';
export { ReceiveQueue, emptyKernel } from './queue.js';
export type { MapStats, ReceiverStats, HandlerStats, ReceiverTuning, WarmupCut } from './receiver-stats.js';
export type { ReceiverSetup } from './receiver-setup.js';
export { ALIVE_CHECK_MS } from './worker-host.js';

/** who runs this receiver: a process on its own, the broker for a client, or a broker's client */
type Role = 'local' | 'broker' | 'client';

export class LatencyReceiver implements ReceiverSetup {
  readonly ifname: string;
  readonly ifindex: number;
  readonly queues: number[];
  readonly poll: PollMode;
  readonly clock: ClockName;
  readonly strategy: StrategyName;
  readonly batchSize: number;
  /** the interface's MTU when the receiver opened */
  readonly mtu: number;
  /** bytes per UMEM frame */
  readonly frameSize: number;
  /** the sockets are bound with XDP_USE_SG: packets larger than a frame arrive whole, as chains */
  readonly sg: boolean;
  /** one per queue, in the order of `queues` */
  readonly perQueue: ReceiveQueue[] = [];
  /** called after each drained batch on the main thread (event mode) with the running total; never per packet */
  onBatch: ((received: number) => void) | null = null;
  /** set when a socket failed while running (e.g. the interface was deleted); the counts so far stay */
  error: AfxdpError | null = null;
  /** called once when `error` is set */
  onError: ((e: AfxdpError) => void) | null = null;
  private readonly o: Resolved;
  private readonly role: Role;
  /** client role: what the broker passed */
  private readonly brokered: Brokered | null;
  /** broker role: the sockets made for the client (passed, never received on here) */
  private readonly forClient: XskSocket[] = [];
  /** broker role: the receiver whose program (attached) this one's sockets join; it owns program and attachment */
  private readonly joins: LatencyReceiver | null = null;
  private cookie = 0;
  /** the program in front of the sockets (rx/program-setup.ts); set by setUp */
  private prog: ProgramInUse = { hints: false, hintsOff: null, path: '', name: '', obj: null, ownsObject: false, section: '', xskmapFd: -1, counters: null, stackCounters: null, mapInUse: false, frags: null, hintsWanted: false };
  private attachment: XdpAttachment | null = null;
  private readonly sinks: PacketSink[] = [];
  /** the one way the main thread consumes the batches (take, release, wait, watch) */
  private readonly consumer: QueueConsumer;
  private started = false;
  private closed = false;
  /** watchAlive()'s timer */
  private aliveTimer: NodeJS.Timeout | null = null;
  /** undo functions of the host knobs held for the run (--cpu-dma-latency), last first */
  private readonly held: Array<() => void> = [];
  /** receiver first (ReceiverOptions.sched) while receiving, from start() to close() */
  private schedHold: ReceiverFirstHold | null = null;
  /** the busy polling the kernel reports for the first socket (null: off) */
  private busyPollTook: BusyPollSettings | null = null;
  /** after close(): the final counts, summed [0] and per queue [1 + index] */
  private finalStats: Array<ReceiverStats | null> | null = null;

  /** @internal open(), openForClient() and LatencyProbe.open() make receivers (protected: LatencyProbe extends it) */
  protected constructor(o: Resolved, ifindex: number, queues: number[], role: Role = 'local', brokered: Brokered | null = null, joins: LatencyReceiver | null = null, mtu = 0) {
    this.o = o;
    this.role = role;
    this.brokered = brokered;
    this.joins = joins;
    this.mtu = mtu;
    this.frameSize = o.frameSize;
    // a broker's client binds nothing: the broker decided, and the grant says
    this.sg = role === 'client' ? (brokered?.grant.sg ?? false) : wantsSg(o.sg, mtu, o.frameSize);
    this.ifname = o.ifname;
    this.ifindex = ifindex;
    this.queues = queues;
    this.poll = o.poll;
    this.clock = o.clock;
    this.strategy = o.strategy;
    this.batchSize = o.batchSize;
    const refusal = inWorkers(o.poll) && !o.deliver ? new AfxdpError('ESTATE', `this ${o.poll}-mode receiver was opened without \`deliver\`: its batches stay in the workers`, { hint: 'open it with deliver: true to take batches or add sinks' }) : null;
    this.consumer = new QueueConsumer(this.perQueue, o.poll === 'event', refusal, {
      socketFailed: (rq, status) => this.fail(socketError(this.ifname, rq.queue, status)),
      ended: () => this.closed || this.error !== null,
    });
  }

  /** Opens everything for the queues, synchronously (a worker's socket is waited for), and attaches. */
  static open(opts: ReceiverOptions): LatencyReceiver {
    const o = resolve(opts);
    return o.broker === undefined ? this.openHere(o, 'local') : this.openThroughBroker(o);
  }

  /**
   * The broker's half of a client's open (run/serve.ts): program, sockets over a shared UMEM (the
   * client maps it too), XSKMAP, attach — open()'s steps without receiving. handover() then
   * gives what the client needs; close() detaches when the client is gone.
   */
  static openForClient(opts: ReceiverOptions, joins?: LatencyReceiver): LatencyReceiver {
    // the broker never receives (poll does not matter); busy polling is set on the sockets it makes
    const busyPoll = opts.busyPoll ?? 0;
    const o: Resolved = { ...resolve({ ...opts, poll: 'event', busyPoll: 0 }), busyPoll: checkOption('busyPoll', busyPoll) as number };
    if (o.broker !== undefined) throw new AfxdpError('EUSAGE', 'a broker does not ask another broker');
    if (joins === undefined) return this.openHere(o, 'broker');
    // another client's queues of the same interface: its program (same options) takes these sockets too
    if (joins.role !== 'broker' || joins.closed || joins.ifname !== o.ifname) throw new AfxdpError('ESTATE', 'openForClient can only join an open broker receiver of the same interface');
    const { ifindex, queues, mtu } = withNetns(o.netnsFd, () => lookup(o));
    return LatencyReceiver.setUpOrClose(new this(o, ifindex, queues, 'broker', null, joins, mtu), o.netnsFd);
  }

  /**
   * Broker role: closes the sockets made for this client (the kernel takes them out of the XSKMAP)
   * but keeps program and attachment, which other clients' receivers joined. close() ends the rest.
   */
  releaseSockets(): void {
    for (const s of this.forClient) s.close();
  }

  /** A client: the broker makes everything; this process adopts the sockets and receives. */
  private static openThroughBroker(o: Resolved): LatencyReceiver {
    const { shaped, brokered } = requestGrant(o);
    const g = brokered.grant;
    return LatencyReceiver.setUpOrClose(new this(shaped, g.ifindex, g.queues, 'client', brokered, null, g.mtu ?? 0), undefined);
  }

  private static openHere(o: Resolved, role: Role): LatencyReceiver {
    const { ifindex, queues, mtu } = withNetns(o.netnsFd, () => lookup(o));
    try {
      return LatencyReceiver.setUpOrClose(new this(o, ifindex, queues, role, null, null, mtu), o.netnsFd);
    } catch (e) {
      if (!(e instanceof HintsRefused)) throw e;
      // the hint program loaded but the interface refused it in native mode (e.g. an MTU too
      // large for native XDP): start over without hints, which may then attach in generic mode
      return LatencyReceiver.setUpOrClose(new this({ ...o, hints: false }, ifindex, queues, role, null, null, mtu), o.netnsFd, `the kernel or driver refused them: ${e.cause.message}`);
    }
  }

  /** r.setUp() inside the namespace; a failure closes what it made (nothing half-attached stays) and throws on. */
  private static setUpOrClose<T extends LatencyReceiver>(r: T, netnsFd: number | undefined, hintsOff?: string): T {
    try {
      withNetns(netnsFd, () => r.setUp(hintsOff));
    } catch (e) {
      r.close();
      throw e;
    }
    return r;
  }

  /** @param hintsOff why hints are off, when a first try with them was refused */
  private setUp(hintsOff?: string): void {
    const o = this.o;
    const g = this.brokered?.grant ?? null;
    const j = this.joins;
    const cookie = g ? g.cookie : j ? j.cookie : ((Math.random() * 0xfffffffe) >>> 0) + 1;
    this.cookie = cookie;
    // 1. the program (loaded, not attached; a client's is the broker's; a joining one another receiver's)
    const from: ProgramSource = { grant: g, fd: (i) => this.brokered!.fds[i]!, joins: j?.prog ?? null };
    this.prog = programFor(o, this.ifindex, cookie, from, hintsOff);
    // 2. the sockets (or workers), each registered in the XSKMAP
    const mapFd = stampMapFd(this.prog, from);
    // event mode receives on this (the main) thread
    if (o.poll === 'event' && (o.cpu !== undefined || o.rt)) {
      this.held.push(holdThreadPolicy()); // close() gives the main thread its policy and CPUs back
      tuneThisThread({ cpu: o.cpu ?? -1, rt: o.rt }, this.queues[0]!);
    }
    const segments = { sender: o.senderRunId !== undefined && o.clock === 'monotonic', hw: o.clock === 'tai' };
    const key = new Uint32Array(1);
    const val = new Uint32Array(1);
    for (const q of this.queues) {
      const rq = new ReceiveQueue(q, inWorkers(o.poll), segments, this.prog.counters);
      const index = this.perQueue.length;
      this.perQueue.push(rq);
      const config: EngineConfig = {
        queue: q,
        clockId: o.clock === 'tai' ? CLOCK_TAI : CLOCK_MONOTONIC,
        clockFlag: o.clock === 'tai' ? F_CLOCK_TAI : 0,
        strategy: o.strategy,
        cookie,
        mapFd,
        senderRunId: !segments.sender ? -2 : o.senderRunId === 'any' ? -1 : (o.senderRunId as number) >>> 0,
      };
      const adopt = adoption(this.brokered, index);
      let busy: BusyPollSettings | null = null;
      if (this.role === 'broker') busy = socketForClient(o, this.ifindex, this.sg, rq, this.forClient);
      else if (inWorkers(o.poll)) busy = startWorker(rq, { o, ifindex: this.ifindex, mtu: this.mtu, sg: this.sg, config, adopt, index, fail: (e) => this.fail(e), closed: () => this.closed });
      else this.openEngine(rq, config, adopt);
      this.busyPollTook ??= busy;
      if (g !== null) continue; // the broker put its socket in the XSKMAP
      // a queue an earlier client of a joined program used starts its counters from zero
      if (j !== null) this.prog.counters?.reset(q);
      key[0] = q;
      val[0] = rq.fd;
      native().bpfMapUpdate(this.prog.xskmapFd, new Uint8Array(key.buffer), new Uint8Array(val.buffer), 0);
    }
    // host knobs once every engine exists and has rehearsed, and so has the monitor's once-a-second
    // tick (this thread runs it); the rehearsals' garbage goes now, not in a collection during
    // traffic (workers collect their own)
    rehearseTicks();
    collectGarbage();
    if (o.cpuDmaLatency) this.held.push(holdCpuDmaLatency());
    if (g !== null || j !== null) return; // and attached the program / it is attached
    // 3. attach, last
    this.attachment = attachProgram(this.prog, o, this.ifindex);
  }

  /** @internal Broker role: the grant and its fds for the client (rx/broker-roles.ts grantOf). */
  handover(): { grant: Grant; fds: number[] } {
    if (this.role !== 'broker') throw new AfxdpError('ESTATE', 'handover() is for a receiver opened with openForClient()');
    return grantOf({ o: this.o, ifindex: this.ifindex, queues: this.queues, cookie: this.cookie, program: this.prog, mode: this.mode, replaced: this.replaced, sockets: this.forClient, sg: this.sg, mtu: this.mtu, busyPoll: this.busyPollTook });
  }

  private openEngine(rq: ReceiveQueue, config: EngineConfig, adopt: AdoptedSocket | null): void {
    const opts = socketOptionsOf(this.o, this.ifindex, this.sg, rq.queue);
    const socket = adopt ? XskSocket.adopt(opts, adopt) : XskSocket.create(opts);
    rq.engine = new RxEngine(socket, config, { xdpToUser: rq.xdpToUser, senderToXdp: rq.senderToXdp, hwToXdp: rq.hwToXdp }, rq.counts);
    rq.engine.rehearse(); // before the program is attached: V8 compiles the hot path before traffic
    rq.fd = socket.fd;
    rq.bindMode = socket.bindMode;
  }

  /** The real-time knobs of the run, as they took effect (the report's `tuning`). */
  tuning(): ReceiverTuning {
    const o = this.o;
    return {
      cpu: o.cpu ?? null,
      rt: o.rt,
      cpuDmaLatency: o.cpuDmaLatency,
      busyPoll: this.busyPollTook === null ? null : { ...this.busyPollTook, polls: sumOf(this.perQueue, C_BUSY_POLLS) },
      sched: this.schedHold?.report() ?? null,
    };
  }

  /** the program reads hardware hints */
  get hints(): boolean {
    return this.prog.hints;
  }

  /** why hints are off (null when on) */
  get hintsOff(): string | null {
    return this.prog.hintsOff;
  }

  /** the BPF object in use (afxdp's stamp.bpf.o or the user's) */
  get programPath(): string {
    return this.prog.path;
  }

  /** name of the XDP program in front of the sockets */
  get programName(): string {
    return this.prog.name;
  }

  /** the program in front of the sockets takes multi-buffer packets (xdp.frags); null: not known */
  get programFrags(): boolean | null {
    return this.prog.frags;
  }

  get mode(): XdpMode {
    return this.attachment?.mode ?? this.joins?.mode ?? this.brokered?.grant.mode ?? 'native';
  }

  /**
   * Why a jumbo interface runs in generic mode, when that is the reason: the program does not
   * take multi-buffer packets (no SEC("xdp.frags")), which a driver refuses natively at this MTU.
   * null otherwise.
   */
  get fragsNote(): string | null {
    if (!this.sg || this.programFrags !== false || this.mode !== 'generic' || this.o.mode !== 'auto') return null;
    return `the program is not SEC("xdp.frags"): at MTU ${this.mtu} native XDP refuses it, so it runs in generic mode (build it with SEC("xdp.frags") for native)`;
  }

  get bindMode(): 'copy' | 'zerocopy' {
    return this.perQueue[0]?.bindMode ?? 'copy';
  }

  /** with `force`: the foreign program that was detached to make room, else null */
  get replaced(): { name: string; id: number } | null {
    return this.attachment?.replaced ?? this.joins?.replaced ?? this.brokered?.grant.replaced ?? null;
  }

  /** With `stackEvery`: the frames the program passed to the kernel stack (summed over queues), else null. */
  stackSplit(): StackCounters | null {
    return this.prog.stackCounters?.sum(this.queues) ?? null;
  }

  /** Whether the program has afxdp's per-queue counters (afxdp's own program does; yours does not) */
  get programHasCounters(): boolean {
    return this.prog.counters !== null;
  }

  // ------------------------------------------------------------------ consume

  /**
   * The next batch ready now on the main thread (the queues take turns), or null: event mode takes
   * it from the queue's engine (its frames stay with user space until release()), the worker modes
   * (opened with `deliver`) from the batches the workers handed over. Release it before the next.
   */
  take(): PacketBatch | null {
    if (this.closed) throw new AfxdpError('ECLOSED', 'the receiver is closed');
    return this.consumer.take();
  }

  /** Gives back the batch of the last take() (frames to the kernel, or the slot to its worker). */
  release(): void {
    this.consumer.release();
  }

  /** Resolves when a batch may be ready, after `timeoutMs`, on abort, or when receiving ends (see `error`). */
  wait(timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    return this.consumer.wait(timeoutMs, signal);
  }

  /** wait() as a one-shot callback, allocating nothing per call in event mode (QueueConsumer.onceReady). */
  onceReady(cb: () => void): void {
    this.consumer.onceReady(cb);
  }

  /** Ends a pending wait() or onceReady() now. */
  cancelWait(): void {
    this.consumer.cancelWait();
  }

  /** Calls `cb` (which takes and releases) whenever a batch may be ready, until unwatch() or the end of receiving. */
  watch(cb: () => void): void {
    this.consumer.watch(cb);
  }

  /** Ends watch(). */
  unwatch(): void {
    this.consumer.unwatch();
  }

  /** The batch of the last take(), or null (its columns: what arrived last, for a tool; not valid across takes). */
  get lastBatch(): PacketBatch | null {
    return this.consumer.lastBatch;
  }

  /**
   * Receives every batch of every queue, on the main thread, through take()/release(): called
   * with the columns filled, before the batch is released. Worker and busy modes: need `deliver`.
   */
  addSink(sink: PacketSink): void {
    if (inWorkers(this.poll) && !this.o.deliver) {
      throw new AfxdpError('ESTATE', `this ${this.poll}-mode receiver was opened without \`deliver\`: its batches stay in the workers`, { hint: 'open it with deliver: true to add sinks' });
    }
    this.sinks.push(sink);
  }

  /** Starts receiving: the batches go to the sinks as they arrive (event mode: the engines run on this thread when woken). */
  start(): void {
    if (this.closed) throw new AfxdpError('ECLOSED', 'the receiver is closed');
    if (this.started) return;
    this.started = true;
    if (this.o.sched === 'receiver-first' && this.role !== 'broker') {
      const receiving = this.perQueue.map((rq) => rq.tid).filter((t) => t > 0);
      this.schedHold = holdReceiverFirst({ receiving, mainReceives: this.poll === 'event', untilExit: this.o.schedUntilExit });
    }
    // event mode always receives here; the worker modes hand batches over only for sinks
    if (this.poll === 'event' || this.sinks.length > 0) this.consumer.watch(this.deliver);
  }

  /** Everything ready now through the sinks (take → sinks → release). */
  private readonly deliver = (): void => {
    this.drain();
  };

  /** Receives everything ready now on every queue and hands it to the sinks; returns the packets. */
  drain(): number {
    const c = this.consumer;
    if (c.holding) return 0; // a consumer of take() holds a batch: it drains itself
    const sinks = this.sinks;
    let total = 0;
    for (let b = c.take(); b !== null; b = c.take()) {
      const n = b.n;
      try {
        for (let k = 0; k < sinks.length; k++) sinks[k]!.onBatch(b);
      } finally {
        c.release();
      }
      total += n;
    }
    if (total > 0 && this.onBatch !== null && this.poll === 'event') this.onBatch(this.received);
    return total;
  }

  get received(): number {
    return sumOf(this.perQueue, C_RECEIVED);
  }

  /** Latency summary of a segment over all queues (ns); default xdp_to_user. */
  summary(segment: Segment = 'xdp_to_user'): LatencySummary {
    const recs = this.perQueue.map((q) => q.recorder(segment)).filter((r): r is LatencyRecorder => r !== null);
    if (recs.length === 0) throw new AfxdpError('EUSAGE', `segment ${segment} is not measured in this run`, { hint: 'sender_to_xdp needs senderRunId; hw_to_xdp needs clock tai' });
    return LatencyRecorder.summaryOf(recs);
  }

  /**
   * Ends the warm-up: everything recorded so far leaves the latency histograms (counted and
   * returned, for the report); the packet counters keep counting from the start.
   */
  excludeWarmup(): WarmupCut {
    const packets = this.received;
    const samples: Partial<Record<Segment, number>> = {};
    for (const seg of SEGMENTS) {
      for (const rq of this.perQueue) {
        const r = rq.recorder(seg);
        if (r !== null) samples[seg] = (samples[seg] ?? 0) + r.exclude();
      }
    }
    return { packets, samples };
  }

  /** Packets received on each queue, in the order of `queues`. */
  receivedPerQueue(): number[] {
    return this.perQueue.map((rq) => rq.received);
  }

  /**
   * Are the sockets still bound, and the broker still there? Neither gives a poll event when it
   * goes (rx/worker-host.ts unboundQueue), so the wait loop asks a few times per second. Not per packet.
   */
  checkAlive(): boolean {
    if (this.closed || this.error) return this.error === null;
    if (this.brokered !== null && peerGone(this.brokered.conn)) {
      // the broker's link went with it: the program is detached, nothing arrives any more
      this.fail(new AfxdpError('EBROKER', `the broker at ${this.brokered.path} went away while measuring (stopped, crashed or restarted): its program is detached`, {
        hint: 'the report covers the packets received until then; run again once the broker is back',
      }));
      return false;
    }
    const gone = unboundQueue(this.perQueue);
    if (gone !== null) this.fail(socketError(this.ifname, gone.queue, UNBOUND));
    return this.error === null;
  }

  /**
   * Runs checkAlive() every ALIVE_CHECK_MS (an unref'd timer) until an error or close(), so
   * `onError` hears of an interface or broker gone without anyone waiting in waitForEnd.
   */
  watchAlive(): void {
    if (this.aliveTimer !== null || this.closed || this.error) return;
    this.aliveTimer = setInterval(() => this.checkAlive(), ALIVE_CHECK_MS);
    this.aliveTimer.unref();
  }

  private stopWatchAlive(): void {
    if (this.aliveTimer === null) return;
    clearInterval(this.aliveTimer);
    this.aliveTimer = null;
  }

  /** A socket failed: keep what was counted, say what happened, stop waking up. */
  private fail(e: AfxdpError): void {
    if (this.error) return;
    this.stopWatchAlive();
    try {
      this.drain();
    } catch {
      // the rings may be unusable now; the counts so far stay
    }
    this.error = e;
    this.consumer.stop(); // a waiting consumer returns and finds `error`
    this.onError?.(e);
  }

  /** Counts of one queue (by index in `queues`), or summed over all queues. After close(), the final ones. */
  stats(index?: number): ReceiverStats {
    const final = this.finalStats?.[index === undefined ? 0 : 1 + index];
    if (final) return final;
    const list = index === undefined ? this.perQueue : [this.perQueue[index]!];
    return statsOf(list, { hints: this.hints, mapInUse: this.prog.mapInUse, ownCounters: this.prog.counters !== null, handler: this.o.handler !== undefined, tolerant: this.error !== null || this.closed });
  }

  /** Worker modes: used heap of each worker's isolate at start and at stop (after GC when --expose-gc). */
  workerHeap(): Array<{ queue: number; start: number; end: number }> {
    return this.perQueue.filter((rq) => rq.worker !== null).map((rq) => ({ queue: rq.queue, start: rq.counts[C_HEAP_START]!, end: rq.counts[C_HEAP_END]! }));
  }

  /**
   * Worker modes with a TX ring: hands a frame to the first queue's worker, which sends it in its
   * next turn (rx/outbox.ts; woken if asleep). False when its outbox is full. `room()` is the
   * largest frame it takes.
   */
  post(data: Uint8Array, offset: number, length: number): boolean {
    const ob = this.perQueue[0]?.outbox;
    if (!ob) throw new AfxdpError('ESTATE', 'this receiver has no TX ring in a worker', { hint: 'open it with a TX ring (tx: true) to send' });
    return ob.push(data, offset, length);
  }

  /** Worker modes with a TX ring: the largest frame post() takes (0: none). */
  get postRoom(): number {
    return this.perQueue[0]?.outbox?.shape.room ?? 0;
  }

  /** The AF_XDP socket of a queue (by index in `queues`); event mode only (in the worker modes a worker owns it). */
  socketOf(index = 0): XskSocket {
    const e = this.perQueue[index]?.engine;
    if (!e) throw new AfxdpError('ESTATE', `no main-thread socket for queue index ${index}`, { hint: 'sockets live on the main thread in poll mode event only' });
    return e.socket;
  }

  /** The stamp of the last packet decoded on the first queue (event mode; for tests and tools, not per packet). */
  get lastStamp(): MetaReader {
    const e = this.perQueue[0]?.engine;
    if (!e) throw new AfxdpError('ESTATE', 'lastStamp is only kept in event mode');
    return e.decoder.meta;
  }

  /**
   * Stops the workers (they drain, read their statistics and close their sockets), detaches the
   * program, closes the sockets. Keeps the final stats readable. Synchronous; idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.stopWatchAlive();
    this.schedHold?.freeze(); // the report shows the threads as they ran, receiving ones included
    this.consumer.release(); // a batch a consumer still holds goes back
    const drain = (): void => {
      try {
        this.drain();
      } catch {
        // the interface may be gone; keep what was counted
      }
    };
    drain();
    this.consumer.stop();
    stopWorkers(this.perQueue, drain);
    const final: Array<ReceiverStats | null> = [];
    for (const i of [undefined, ...this.perQueue.keys()]) {
      try {
        final.push(this.stats(i));
      } catch {
        final.push(null); // the interface may be gone
      }
    }
    this.closed = true;
    this.consumer.stop(); // a waiting consumer returns and finds the receiver closed
    this.finalStats = final;
    this.attachment?.detach();
    for (const rq of this.perQueue) {
      rq.engine?.socket.close();
      void rq.worker?.thread.terminate();
    }
    for (const s of this.forClient) s.close();
    for (const rq of this.perQueue) if (rq.outbox !== null) native().close(rq.outbox.wakeFd);
    if (this.prog.ownsObject) this.prog.obj?.close();
    while (this.held.length > 0) this.held.pop()!();
    this.schedHold?.release(); // every thread back as it was (the report keeps how they ran)
    // a client gives the queues back by closing the connection: the broker then detaches
    if (this.brokered !== null) {
      for (const fd of this.brokered.fds) if (fd >= 0) native().close(fd);
      native().close(this.brokered.conn);
    }
  }
}
