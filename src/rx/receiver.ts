/**
 * LatencyReceiver: the one setup path and the owner of the receive engines. For a set of queues
 * of one interface it checks the interface and the queues, loads the stamping program (afxdp's,
 * with hardware hints where they work, or the user's), opens one AF_XDP socket per queue — on the
 * main thread (poll 'event': uv_poll wakes RxEngine.drain) or in a worker per queue (poll
 * 'worker': it blocks in poll(2) and drains; poll 'busy': it spins on RxEngine.pollOnce) — puts
 * every socket in the XSKMAP and only then attaches the program, so no matched packet reaches the
 * stack before its socket is in place.
 *
 * The same steps run split over two processes for the broker (docs/BROKER.md): openForClient()
 * (in `afxdp serve`, privileged) loads and attaches and makes the sockets over a shared UMEM
 * without receiving; open({ broker }) (in the client, no capability) asks for them and receives
 * on the sockets it was passed, adopting rings and UMEM as the broker left them.
 *
 * Every strategy, poll mode, queue count and sink works in every combination: the engines are the
 * same code everywhere, and in the worker modes the main thread reads their numbers from shared
 * memory and, when it needs the packets (sinks, the public API), their batches from a BatchChannel.
 */
import { Worker } from 'node:worker_threads';
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../sys/netns.js';
import { XskSocket, busyPollOf, type KernelStats, type BusyPollSettings, type AdoptedSocket } from '../xsk/socket.js';
import { requestQueues, peerGone, BROKERED_OPTIONS, type Grant } from '../sys/broker-wire.js';
import { CLOCK_MONOTONIC, CLOCK_TAI } from '../xsk/constants.js';
import { collectGarbage } from '../sys/gc.js';
import { attachXdp, bundledObject, type XdpAttachment, type XdpMode, type BpfObject } from '../xdp/program.js';
import { F_CLOCK_TAI, STRATEGY_CODES, type MetaReader } from '../xdp/meta.js';
import { CounterReader, StackCounterReader, type ProgramCounters, type StackCounters } from '../xdp/counters.js';
import { loadStampProgram, type LoadedStampProgram } from '../xdp/stamp-program.js';
import { LatencyRecorder, type LatencySummary } from '../measure/recorder.js';
import { SEGMENTS, type Segment } from '../measure/monitor.js';
import { RxEngine, type EngineConfig } from './engine.js';
import { tuneThisThread, holdThreadPolicy } from '../sys/thread.js';
import { holdReceiverFirst, type ReceiverFirstHold, type SchedReport } from '../sys/sched.js';
import { holdCpuDmaLatency } from '../sys/host-tuning.js';
import { BatchChannel, type ChannelShape } from './channel.js';
import { Outbox } from './outbox.js';
import type { PacketBatch, PacketSink } from './batch.js';
import { C_RECEIVED, C_META_VALID, C_META_INVALID, C_VIA_META, C_VIA_PREPEND, C_VIA_MAP, C_HINT_HW_TS, C_HINT_RX_HASH, C_HINT_VLAN, C_MAP_MATCHED, C_MAP_NO_STAMP, C_HEAP_START, C_HEAP_END, C_BUSY_POLLS, C_SIZE_BASE, C_MULTI_BUFFER, C_CHAINS_DROPPED, C_HANDLED, C_FORWARDED, C_SENT, C_HANDLER_DROPPED, HANDLER_COUNTERS, SIZE_CLASSES } from './counts.js';
import * as W from './worker.js';
import type { StrategyCounts, HintCounts } from './stamps.js';
import { checkOption } from './bounds.js';
import { resolve, lookup, inWorkers, wantsSg, DEFAULT_FRAME_SIZE, type Resolved, type ReceiverOptions, type ClockName, type PollMode, type StrategyName } from './options.js';
import { ReceiveQueue, emptyKernel, NO_COUNTERS } from './queue.js';

export type { StrategyCounts, HintCounts };
export type { ReceiverOptions, ClockName, MatchName, PollMode, StrategyName, LoadedProgram, SchedChoice } from './options.js';
export { rxQueueCount, POLL_MODES, SCHED_CHOICES, inWorkers } from './options.js';
export type { SchedReport, ThreadSched } from '../sys/sched.js';
export { ReceiveQueue, emptyKernel } from './queue.js';
export interface MapStats {
  /** stamps the program stored (null: a user program without afxdp's counters) */
  stored: number | null;
  /** stamps user space took from the map */
  matched: number;
  /** packets whose key had no stamp in the map */
  packets_without_stamp: number;
  /** stored − matched: evicted, or their packet never reached the socket (null with stored) */
  stamps_without_packet: number | null;
  /** stamps refused because one with the same key was still waiting (null with stored) */
  collisions: number | null;
}

/** The counts of one queue, or summed over queues. */
export interface ReceiverStats {
  received: number;
  metaValid: number;
  metaInvalid: number;
  kernel: KernelStats;
  program: ProgramCounters;
  /** valid stamps by the strategy that carried them */
  byStrategy: StrategyCounts;
  /** valid packets that carried each hardware hint; null when the program reads none */
  hints: HintCounts | null;
  /** map strategy bookkeeping; null when the map is not in use */
  map: MapStats | null;
  /** received packets by size class (rx/counts.ts SIZE_CLASSES names), whole packets */
  bySize: Record<string, number>;
  /** packets that arrived in more than one buffer (multi-buffer, XDP_USE_SG) */
  multiBuffer: number;
  /** chains longer than the socket takes at once (batch size + 64 buffers), dropped whole */
  chainsDropped: number;
  /** handler mode: what the handlers did (null without a handler) */
  handler: HandlerStats | null;
}

/** Handler mode: packets handled = forwarded + dropped (recycled); sent = new frames; counters = the handlers' own (ctx.counters), summed. */
export interface HandlerStats {
  handled: number;
  forwarded: number;
  sent: number;
  dropped: number;
  counters: number[];
}

/** The real-time knobs of a run (--cpu, --rt, --cpu-dma-latency, --busy-poll). */
export interface ReceiverTuning {
  /** the first receiving thread's CPU (queue i: cpu + i in the worker modes); null: not pinned */
  cpu: number | null;
  rt: boolean;
  cpuDmaLatency: boolean;
  /** what the kernel reports for the first socket, and the busy-poll calls made; null: off */
  busyPoll: (BusyPollSettings & { polls: number }) | null;
  /** the scheduling policy and every thread's policy while receiving; null: sched 'off' or not started */
  sched: SchedReport | null;
}

/** What excludeWarmup() dropped from the histograms (the report's `warmup`, with what was asked). */
export interface WarmupCut {
  /** packets received before the cut (all queues) */
  packets: number;
  /** latency samples dropped from each measured segment's histograms */
  samples: Partial<Record<Segment, number>>;
}

const MATCH = { udp: 0, all: 1, afxdp: 2 } as const; // enum afxdp_match in bpf/stamp.h
const CLOCK = { monotonic: 0, tai: 1 } as const;
const ENXIO = 6;
/**
 * How often the liveness check (checkAlive) runs while receiving: an interface that vanishes or a
 * broker that goes away gives no poll event, so it is asked. Not per packet.
 */
export const ALIVE_CHECK_MS = 200;
const WORKER_URL = new URL('./worker.js', import.meta.url);
/**
 * A worker's batch channel holds about this many bytes (its slots sized for the MTU), at least 32
 * and at most 1024 batches. Its depth is what a slow moment of the main thread's sinks (a CSV
 * flush, a GC, the JIT at start) can absorb before the worker waits for a free slot — and a
 * waiting worker is latency afxdp adds to every packet behind it: 32 slots of small batches (50
 * kpps arrives ~8 packets per batch) were ~5 ms, and `--poll worker --csv` measured p99 20-70 ms.
 */
const CHANNEL_BYTES = 32 << 20;
/** frames send() can hand a worker before it has queued them (rx/outbox.ts) */
const OUTBOX_SLOTS = 512;
/** who runs this receiver: a process on its own, the broker for a client, or a broker's client */
type Role = 'local' | 'broker' | 'client';
/** a broker's answer as the client holds it: fds not yet adopted are ≥ 0; `conn` holds the queues */
interface Brokered {
  grant: Grant;
  fds: number[];
  conn: number;
  path: string;
}
const GENERIC_HINTS = 'generic XDP mode: hints are read by device-bound kfuncs, which the kernel attaches in native mode only';

export class LatencyReceiver {
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
  /** the program in front of the sockets takes multi-buffer packets (xdp.frags); null: not known */
  programFrags: boolean | null = null;
  /** the program reads hardware hints */
  readonly hints: boolean;
  /** why hints are off (null when on) */
  readonly hintsOff: string | null;
  /** the BPF object in use (afxdp's stamp.bpf.o or the user's) */
  readonly programPath: string;
  /** name of the XDP program in front of the sockets */
  readonly programName: string;
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
  private obj: BpfObject | null = null;
  private ownsObject = false;
  private progSection = '';
  private xskmapFd = -1;
  private counters: CounterReader | null = null;
  private stackCounters: StackCounterReader | null = null;
  private attachment: XdpAttachment | null = null;
  private readonly sinks: PacketSink[] = [];
  private mapInUse = false;
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
    this.hints = false;
    this.hintsOff = null;
    this.programPath = '';
    this.programName = '';
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
    const options: Record<string, unknown> = {};
    for (const k of BROKERED_OPTIONS) options[k] = o[k];
    const { grant, fds, conn } = requestQueues(o.broker!, { ifname: o.ifname, queues: o.queues, options });
    // the broker's numbers decide the shapes the client maps
    const shaped: Resolved = { ...o, frameCount: grant.frameCount, ringSize: grant.ringSize, txRingSize: grant.txRingSize, txMetadataLen: grant.txMetadataLen, frameSize: grant.frameSize ?? DEFAULT_FRAME_SIZE };
    return LatencyReceiver.setUpOrClose(new this(shaped, grant.ifindex, grant.queues, 'client', { grant, fds, conn, path: o.broker! }, null, grant.mtu ?? 0), undefined);
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
    const self = this as unknown as { hints: boolean; hintsOff: string | null; programPath: string; programName: string };
    const g = this.brokered?.grant ?? null;
    const j = this.joins;
    const cookie = g ? g.cookie : j ? j.cookie : ((Math.random() * 0xfffffffe) >>> 0) + 1;
    this.cookie = cookie;
    // 1. the program (loaded, not attached; a client's is the broker's; a joining one another receiver's)
    let hintsWanted = false;
    if (j !== null) {
      self.hints = j.hints;
      self.hintsOff = j.hintsOff;
      self.programPath = j.programPath;
      self.programName = j.programName;
      this.obj = j.obj;
      this.progSection = j.progSection;
      this.xskmapFd = j.xskmapFd;
      this.counters = j.counters;
      this.mapInUse = j.mapInUse;
    } else if (g !== null) {
      self.hints = g.hints;
      self.hintsOff = g.hintsOff;
      self.programPath = g.programPath;
      self.programName = g.programName;
      this.counters = g.hasCounters ? new CounterReader(this.brokeredFd(2 * g.sockets.length)) : null;
      this.mapInUse = g.mapInUse;
    } else if (typeof o.program === 'object') {
      self.hintsOff = 'your program decides (build it with AFXDP_HINTS for hints)';
      self.programPath = o.program.path;
      self.programName = o.program.name;
      this.xskmapFd = o.program.xskmapFd();
    } else {
      const loaded = this.loadProgram(cookie);
      self.hints = loaded.prog.hints;
      self.hintsOff = hintsOff ?? loaded.hintsOff;
      self.programPath = loaded.prog.obj.path;
      // afxdp's own program is called by what it is; a user's by its section's function name
      self.programName = o.program === undefined ? 'afxdp_stamp' : loaded.prog.program;
      hintsWanted = loaded.prog.hints;
      this.obj = loaded.prog.obj;
      this.progSection = loaded.prog.program;
      const section = loaded.prog.obj.programs.find((p) => p.name === loaded.prog.program)?.section ?? '';
      this.programFrags = section.startsWith('xdp.frags');
      this.ownsObject = true;
      this.xskmapFd = loaded.prog.obj.mapFd(loaded.prog.xskmap);
      this.counters = loaded.prog.hasCounters ? new CounterReader(loaded.prog.obj.mapFd('afxdp_counters')) : null;
      if (o.stackEvery > 0) this.stackCounters = new StackCounterReader(loaded.prog.obj.mapFd('afxdp_stack_counters'));
      this.mapInUse = (o.strategy === 'auto' || o.strategy === 'map') && loaded.prog.hasStampMap;
    }
    // 2. the sockets (or workers), each registered in the XSKMAP
    const mapFd = g !== null ? (g.mapInUse ? this.brokeredFd(2 * g.sockets.length + (g.hasCounters ? 1 : 0)) : -1) : this.mapInUse && this.obj ? this.obj.mapFd('afxdp_stamps') : -1;
    // event mode receives on this (the main) thread
    if (o.poll === 'event' && (o.cpu !== undefined || o.rt)) {
      this.held.push(holdThreadPolicy()); // close() gives the main thread its policy and CPUs back
      tuneThisThread({ cpu: o.cpu ?? -1, rt: o.rt }, this.queues[0]!);
    }
    const segments = { sender: o.senderRunId !== undefined && o.clock === 'monotonic', hw: o.clock === 'tai' };
    const key = new Uint32Array(1);
    const val = new Uint32Array(1);
    for (const q of this.queues) {
      const rq = new ReceiveQueue(q, inWorkers(o.poll), segments, this.counters);
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
      const adopt = this.adoption(this.perQueue.length - 1);
      if (this.role === 'broker') this.openForClientSocket(rq);
      else if (inWorkers(o.poll)) this.startWorker(rq, config, adopt);
      else this.openEngine(rq, config, adopt);
      if (g !== null) continue; // the broker put its socket in the XSKMAP
      // a queue an earlier client of a joined program used starts its counters from zero
      if (j !== null) this.counters?.reset(q);
      key[0] = q;
      val[0] = rq.fd;
      native().bpfMapUpdate(this.xskmapFd, new Uint8Array(key.buffer), new Uint8Array(val.buffer), 0);
    }
    // host knobs once every engine exists and is warm; the warm-up's garbage goes now, not in a
    // scavenge during traffic (workers collect their own)
    collectGarbage();
    if (o.cpuDmaLatency) this.held.push(holdCpuDmaLatency());
    if (g !== null || j !== null) return; // and attached the program / it is attached
    // 3. attach, last (a device-bound program attaches in native mode only)
    const progFd = typeof o.program === 'object' ? o.program.programFd() : this.obj!.programFd(this.progSection);
    try {
      this.attachment = attachXdp(progFd, this.ifindex, o.ifname, hintsWanted ? 'native' : o.mode, { force: o.force });
    } catch (e) {
      if (hintsWanted && o.hints === 'auto' && e instanceof AfxdpError) throw new HintsRefused(e);
      if (hintsWanted && o.hints === true && e instanceof AfxdpError) {
        throw new AfxdpError('EBPF', `hardware hints are not available on ${o.ifname}: ${e.message}`, {
          hint: 'drop --hints (afxdp then measures without them), or check the driver: the kfuncs need kernel ≥ 6.3 and a driver that implements them, in native XDP mode',
          cause: e,
        });
      }
      throw e;
    }
  }

  /** afxdp's program with hints first where they can work, else (or when refused) without; or the user's object. */
  private loadProgram(cookie: number): { prog: LoadedStampProgram; hintsOff: string | null } {
    const o = this.o;
    const own = o.program === undefined;
    let hintsOff: string | null = null;
    const plans: boolean[] = [];
    if (!own) {
      plans.push(false);
      hintsOff = 'your --program decides (build it with AFXDP_HINTS for hints)';
    } else if (o.hints === false) {
      plans.push(false);
      hintsOff = 'turned off (--no-hints)';
    } else if (o.mode === 'generic') {
      if (o.hints === true) throw hintsInGeneric();
      plans.push(false);
      hintsOff = GENERIC_HINTS;
    } else {
      plans.push(true);
      if (o.hints === 'auto') plans.push(false);
    }
    for (const withHints of plans) {
      let prog: LoadedStampProgram | null = null;
      try {
        prog = loadStampProgram({
          path: own ? bundledObject(withHints ? 'stamp_hints' : 'stamp') : (o.program as string),
          own,
          xskmap: o.xskmap,
          ifindex: this.ifindex,
          rodata: {
            afxdp_cfg_strategy: STRATEGY_CODES[o.strategy],
            afxdp_cfg_clock: CLOCK[o.clock],
            afxdp_cfg_simulate_no_meta: o.simulateNoMeta ? 1 : 0,
            afxdp_cfg_cookie: cookie,
          },
          ownRodata: { cfg_match: MATCH[o.match], cfg_udp_port: o.udpPort, ...(o.stackEvery > 0 ? { cfg_stack_every: o.stackEvery } : {}) },
        });
        if (prog.hints && o.mode === 'generic') throw hintsInGeneric();
        return { prog, hintsOff: prog.hints ? null : hintsOff };
      } catch (e) {
        prog?.obj.close();
        if (!withHints || !own) throw e;
        const why = e instanceof AfxdpError ? e.message : String(e);
        if (o.hints === true) {
          throw new AfxdpError('EBPF', `hardware hints are not available on ${o.ifname}: ${why}`, {
            hint: 'drop --hints (afxdp then measures without them), or check the driver: the kfuncs need kernel ≥ 6.3 and a driver that implements them, in native XDP mode',
            cause: e,
          });
        }
        hintsOff = `the kernel or driver refused them: ${why}`;
      }
    }
    throw new AfxdpError('ESTATE', 'no stamping program could be loaded'); // unreachable: the last plan throws
  }

  private socketOptions(q: number): Parameters<typeof XskSocket.create>[0] {
    const o = this.o;
    return {
      ifindex: this.ifindex,
      ifname: o.ifname,
      queue: q,
      bind: o.bind,
      rxRingSize: o.ringSize,
      fillRingSize: o.ringSize,
      txRingSize: o.txRingSize,
      txMetadataLen: o.txMetadataLen,
      frameCount: o.frameCount,
      frameSize: o.frameSize,
      sg: this.sg,
      batchSize: o.batchSize,
      trackFrames: o.trackFrames,
    };
  }

  /** client role: a passed fd, given away (-1 in `brokered`) once something owns it */
  private brokeredFd(i: number): number {
    return this.brokered!.fds[i]!;
  }

  /** client role: the broker's socket of queue index i, to adopt (its fds then belong to the socket) */
  private adoption(i: number): AdoptedSocket | null {
    const h = this.brokered;
    if (h === null) return null;
    const s = h.grant.sockets[i]!;
    const a = { fd: h.fds[2 * i]!, umemFd: h.fds[2 * i + 1]!, filled: s.filled, bindMode: s.bindMode };
    h.fds[2 * i] = h.fds[2 * i + 1] = -1;
    return a;
  }

  /** broker role: the socket over a memfd UMEM, its fill ring filled, bound; the client receives on it */
  private openForClientSocket(rq: ReceiveQueue): void {
    const socket = XskSocket.create({ ...this.socketOptions(rq.queue), shared: true });
    this.forClient.push(socket);
    // SO_BUSY_POLL needs CAP_NET_ADMIN, which the broker has and its client has not: set here, on the shared socket
    if (this.o.busyPoll > 0) {
      socket.setBusyPoll(this.o.busyPoll);
      if (this.busyPollTook === null) this.busyPollTook = busyPollOf(socket.fd, this.o.batchSize);
    }
    rq.fd = socket.fd;
    rq.bindMode = socket.bindMode;
  }

  /**
   * Broker role: what the client needs — the grant and its fds in the order docs/BROKER.md gives
   * (each socket's AF_XDP and UMEM fds, then the counters map, then the stamps map). The fds stay
   * the broker's; sending dups them into the client.
   */
  handover(): { grant: Grant; fds: number[] } {
    if (this.role !== 'broker') throw new AfxdpError('ESTATE', 'handover() is for a receiver opened with openForClient()');
    const o = this.o;
    const fds: number[] = [];
    for (const s of this.forClient) fds.push(s.fd, s.umem.fd);
    if (this.counters !== null) fds.push(this.obj!.mapFd('afxdp_counters'));
    if (this.mapInUse) fds.push(this.obj!.mapFd('afxdp_stamps'));
    const grant: Grant = {
      ifindex: this.ifindex,
      queues: [...this.queues],
      frameCount: o.frameCount,
      ringSize: o.ringSize,
      txRingSize: o.txRingSize,
      txMetadataLen: o.txMetadataLen,
      cookie: this.cookie,
      hints: this.hints,
      hintsOff: this.hintsOff,
      programPath: this.programPath,
      programName: this.programName,
      mode: this.mode,
      replaced: this.replaced,
      hasCounters: this.counters !== null,
      mapInUse: this.mapInUse,
      sockets: this.forClient.map((s) => ({ queue: s.queue, filled: s.initialFill, bindMode: s.bindMode })),
      frameSize: o.frameSize,
      sg: this.sg,
      mtu: this.mtu,
      busyPoll: this.busyPollTook?.usecs ?? 0,
    };
    return { grant, fds };
  }

  private openEngine(rq: ReceiveQueue, config: EngineConfig, adopt: AdoptedSocket | null): void {
    const socket = adopt ? XskSocket.adopt(this.socketOptions(rq.queue), adopt) : XskSocket.create(this.socketOptions(rq.queue));
    rq.engine = new RxEngine(socket, config, { xdpToUser: rq.xdpToUser, senderToXdp: rq.senderToXdp, hwToXdp: rq.hwToXdp }, rq.counts);
    rq.engine.warmUp(); // before the program is attached: V8 compiles the hot path before traffic
    for (const s of this.sinks) rq.engine.sinks.push(s);
    rq.fd = socket.fd;
    rq.bindMode = socket.bindMode;
  }

  /** Starts the queue's worker and waits (synchronously, bounded) until its socket exists. */
  private startWorker(rq: ReceiveQueue, config: EngineConfig, adopt: AdoptedSocket | null): void {
    const o = this.o;
    const ctl = new Int32Array(new SharedArrayBuffer(4 * W.CTL_LEN));
    const error = new SharedArrayBuffer(W.ERROR_BYTES);
    const kernel = new SharedArrayBuffer(8 * 6);
    let channel: W.WorkerData['channel'] = null;
    if (o.deliver) {
      // room per packet: an MTU-sized frame with a VLAN tag or two (a frame cannot hold more without
      // sg), or with sg an MTU-sized packet (a larger one, a GRO packet in generic mode, is cut there)
      const mtuFrame = Math.ceil((this.mtu + 22) / 64) * 64;
      const room = this.mtu <= 0 ? 4096 : this.sg ? Math.max(4096, mtuFrame) : Math.min(4096, mtuFrame);
      const slots = Math.min(1024, Math.max(32, Math.floor(CHANNEL_BYTES / (o.batchSize * room))));
      const shape: ChannelShape = { slots, batchSize: o.batchSize, frameSize: room };
      rq.channel = new BatchChannel(shape, rq.queue);
      channel = { buffer: rq.channel.buffer, shape };
    }
    const bufferOf = (r: LatencyRecorder | null): SharedArrayBuffer | null => (r === null ? null : (r.stateBuffer as SharedArrayBuffer));
    const data: W.WorkerData = {
      ifname: o.ifname,
      netnsFd: o.netnsFd,
      bind: o.bind,
      ringSize: o.ringSize,
      frameCount: o.frameCount,
      frameSize: o.frameSize,
      sg: this.sg,
      batchSize: o.batchSize,
      trackFrames: o.trackFrames,
      block: o.poll === 'worker',
      busyPoll: o.busyPoll,
      tuning: { cpu: o.cpu === undefined ? -1 : o.cpu + this.perQueue.indexOf(rq), rt: o.rt },
      config,
      ctl: ctl.buffer as SharedArrayBuffer,
      error,
      counts: rq.counts.buffer as SharedArrayBuffer,
      kernel,
      recorders: { xdpToUser: bufferOf(rq.xdpToUser)!, senderToXdp: bufferOf(rq.senderToXdp), hwToXdp: bufferOf(rq.hwToXdp) },
      channel,
      adopt: adopt === null ? null : { socket: adopt, ifindex: this.ifindex },
      handler: o.handler ?? null,
      handlerCounters: o.handler ? rq.withHandlerCounters() : null,
      // a handler forwards and sends on the queue's own socket; send() goes through the first queue's
      txRingSize: o.txRingSize > 0 && this.perQueue[0] === rq ? o.txRingSize : o.handler ? o.ringSize : 0,
      outbox: null,
    };
    if (o.txRingSize > 0 && this.perQueue[0] === rq) {
      // room per frame as the socket can send one: a UMEM frame, or with sg an MTU-sized chain
      const room = this.sg ? Math.max(o.frameSize, Math.ceil((this.mtu + 22) / 64) * 64) : o.frameSize;
      rq.outbox = new Outbox({ slots: OUTBOX_SLOTS, room }, native().wakeCreate());
      data.outbox = { buffer: rq.outbox.buffer, shape: rq.outbox.shape, wakeFd: rq.outbox.wakeFd };
    }
    const thread = new Worker(WORKER_URL, { workerData: data, name: `afxdp-rx-q${rq.queue}` });
    thread.unref();
    // an exception inside the worker after setup ends its loop; the state word says stopped
    thread.on('error', (e) => this.fail(new AfxdpError('ESTATE', `the receive worker of queue ${rq.queue} failed: ${e.message}`, { cause: e })));
    // a worker that ends while asked to run (process.exit() in a handler, a terminated thread) receives nothing any more
    thread.on('exit', (code) => {
      if (this.closed || Atomics.load(ctl, W.CTL_STATE) !== W.STATE_RUNNING || Atomics.load(ctl, W.CTL_READY) !== W.READY_OK) return;
      this.fail(new AfxdpError('ESTATE', `the receive worker of queue ${rq.queue} exited (code ${code}) while receiving`, { hint: 'the counts until then stay; close the socket and open it again' }));
    });
    rq.worker = { thread, ctl, kernel: new Float64Array(kernel) };
    // an error that ended the worker's receiving after setup (a handler that threw)
    thread.on('message', (m: W.WorkerMessage) => {
      if (m && typeof m === 'object' && 'error' in m) this.fail(new AfxdpError(m.error.code, m.error.message, { hint: m.error.hint, errno: m.error.errno }));
    });
    // a worker starts in tens of ms; 10 s covers a loaded machine
    const r = Atomics.wait(ctl, W.CTL_READY, W.READY_WAITING, 10_000);
    const ready = Atomics.load(ctl, W.CTL_READY);
    if (ready === W.READY_ERROR) {
      const text = new TextDecoder().decode(new Uint8Array(error)).replace(/\0+$/, '');
      const e = JSON.parse(text) as { code: AfxdpError['code']; message: string; hint?: string; errno?: number };
      throw new AfxdpError(e.code, e.message, { hint: e.hint, errno: e.errno });
    }
    if (ready !== W.READY_OK) {
      throw new AfxdpError('ESTATE', `the receive worker of queue ${rq.queue} did not start (${r})`, { hint: 'the machine may be overloaded; try again' });
    }
    rq.fd = ctl[W.CTL_FD]!;
    rq.tid = ctl[W.CTL_TID]!;
    rq.bindMode = ctl[W.CTL_ZEROCOPY] === 1 ? 'zerocopy' : 'copy';
    if (o.busyPoll > 0 && this.busyPollTook === null) this.busyPollTook = busyPollOf(rq.fd, o.batchSize);
  }

  /** The real-time knobs of the run, as they took effect (the report's `tuning`). */
  tuning(): ReceiverTuning {
    const o = this.o;
    let polls = 0;
    for (const rq of this.perQueue) polls += rq.counts[C_BUSY_POLLS]!;
    return {
      cpu: o.cpu ?? null,
      rt: o.rt,
      cpuDmaLatency: o.cpuDmaLatency,
      busyPoll: this.busyPollTook === null ? null : { ...this.busyPollTook, polls },
      sched: this.schedHold?.report() ?? null,
    };
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
    return this.stackCounters?.sum(this.queues) ?? null;
  }

  /** Whether the program has afxdp's per-queue counters (afxdp's own program does; yours does not) */
  get programHasCounters(): boolean {
    return this.counters !== null;
  }

  /**
   * Receives every batch of every queue, on the main thread: called after the columns are filled
   * (before the frames are recycled in event mode). Worker and busy modes: need `deliver`.
   */
  addSink(sink: PacketSink): void {
    if (inWorkers(this.poll) && !this.o.deliver) {
      throw new AfxdpError('ESTATE', `this ${this.poll}-mode receiver was opened without \`deliver\`: its batches stay in the workers`, { hint: 'open it with deliver: true to add sinks' });
    }
    this.sinks.push(sink);
    for (const rq of this.perQueue) rq.engine?.sinks.push(sink);
  }

  /** Starts receiving: event mode installs the readable callbacks; the worker modes start handing batches to the sinks. */
  start(): void {
    if (this.closed) throw new AfxdpError('ECLOSED', 'the receiver is closed');
    if (this.started) return;
    this.started = true;
    if (this.o.sched === 'receiver-first' && this.role !== 'broker') {
      const receiving = this.perQueue.map((rq) => rq.tid).filter((t) => t > 0);
      this.schedHold = holdReceiverFirst({ receiving, mainReceives: this.poll === 'event', untilExit: this.o.schedUntilExit });
    }
    if (this.poll === 'event') {
      for (const rq of this.perQueue) {
        rq.engine!.socket.onReadable((status) => {
          if (status < 0) this.fail(socketError(this.ifname, rq.queue, status));
          else this.drainQueue(rq);
        });
      }
    } else if (this.sinks.length > 0) {
      void this.pump();
    }
  }

  /** Worker modes with sinks: hands the workers' batches to the sinks as they arrive. */
  private async pump(): Promise<void> {
    while (!this.closed) {
      await Promise.race(this.perQueue.map((rq) => rq.channel!.wait(100)));
      this.drainChannels();
    }
  }

  private drainChannels(): number {
    let total = 0;
    for (const rq of this.perQueue) {
      const ch = rq.channel;
      if (ch === null) continue;
      for (let b: PacketBatch | null = ch.peek(); b !== null; b = ch.peek()) {
        for (let k = 0; k < this.sinks.length; k++) this.sinks[k]!.onBatch(b);
        total += b.n;
        ch.done();
      }
    }
    return total;
  }

  private drainQueue(rq: ReceiveQueue): number {
    const e = rq.engine;
    if (e === null || e.socket.isClosed) return 0;
    const n = e.drain();
    if (n > 0 && this.onBatch !== null) this.onBatch(this.received);
    return n;
  }

  /** Event mode: receive everything ready on every queue now. Worker modes: hand over delivered batches. */
  drain(): number {
    if (inWorkers(this.poll)) return this.drainChannels();
    let total = 0;
    for (const rq of this.perQueue) total += this.drainQueue(rq);
    return total;
  }

  get received(): number {
    let n = 0;
    for (const rq of this.perQueue) n += rq.counts[C_RECEIVED]!;
    return n;
  }

  get metaValid(): number {
    let n = 0;
    for (const rq of this.perQueue) n += rq.counts[C_META_VALID]!;
    return n;
  }

  get metaInvalid(): number {
    let n = 0;
    for (const rq of this.perQueue) n += rq.counts[C_META_INVALID]!;
    return n;
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
   * Are the sockets still bound? The kernel unbinds an AF_XDP socket when its interface is
   * unregistered, without a poll event (xsk_poll never reports sk_err), so the wait loop asks a
   * few times per second: a non-blocking recvfrom() answers ENXIO once unbound. Works for a
   * worker's socket too (the fd is process-wide). Not per packet.
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
    for (const rq of this.perQueue) {
      if (rq.fd < 0) continue;
      // ENETDOWN (interface down) is not fatal: a link flap must not end a long measurement
      if (native().xskKick(rq.fd, 0) === -ENXIO) {
        this.fail(socketError(this.ifname, rq.queue, -ENXIO));
        break;
      }
    }
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
    for (const rq of this.perQueue) rq.engine?.socket.offReadable();
    this.error = e;
    this.onError?.(e);
  }

  /** Counts of one queue (by index in `queues`), or summed over all queues. After close(), the final ones. */
  stats(index?: number): ReceiverStats {
    const final = this.finalStats?.[index === undefined ? 0 : 1 + index];
    if (final) return final;
    const list = index === undefined ? this.perQueue : [this.perQueue[index]!];
    const kernel = emptyKernel();
    const program = { ...NO_COUNTERS };
    const c = new Float64Array(C_CHAINS_DROPPED + 1);
    for (const rq of list) {
      addInto(kernel, rq.kernel());
      try {
        addInto(program, rq.program());
      } catch (e) {
        if (this.error === null && !this.closed) throw e; // after an error (interface gone) keep the rest of the report
      }
      for (let i = 0; i <= C_MAP_NO_STAMP; i++) c[i] += rq.counts[i]!;
      for (let i = C_SIZE_BASE; i <= C_CHAINS_DROPPED; i++) c[i] += rq.counts[i]!;
    }
    const own = this.counters !== null;
    return {
      received: c[C_RECEIVED]!,
      metaValid: c[C_META_VALID]!,
      metaInvalid: c[C_META_INVALID]!,
      kernel,
      program,
      byStrategy: { meta: c[C_VIA_META]!, prepend: c[C_VIA_PREPEND]!, map: c[C_VIA_MAP]! },
      hints: this.hints ? { rx_timestamp: c[C_HINT_HW_TS]!, rx_hash: c[C_HINT_RX_HASH]!, vlan: c[C_HINT_VLAN]! } : null,
      map: !this.mapInUse
        ? null
        : {
            stored: own ? program.via_map : null,
            matched: c[C_MAP_MATCHED]!,
            packets_without_stamp: c[C_MAP_NO_STAMP]!,
            stamps_without_packet: own ? Math.max(0, program.via_map - c[C_MAP_MATCHED]!) : null,
            collisions: own ? program.map_collisions : null,
          },
      bySize: Object.fromEntries(SIZE_CLASSES.map((k, i) => [k.name, c[C_SIZE_BASE + i]!])),
      multiBuffer: c[C_MULTI_BUFFER]!,
      chainsDropped: c[C_CHAINS_DROPPED]!,
      handler: this.o.handler === undefined ? null : handlerStats(list),
    };
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
    try {
      this.drain();
    } catch {
      // the interface may be gone; keep what was counted
    }
    for (const rq of this.perQueue) rq.engine?.socket.offReadable();
    for (const rq of this.perQueue) if (rq.worker) Atomics.store(rq.worker.ctl, W.CTL_STATE, W.STATE_STOP);
    // a worker waiting for a free channel slot needs the main thread to keep consuming
    const deadline = Date.now() + 5000;
    for (const rq of this.perQueue) {
      const w = rq.worker;
      if (w === null) continue;
      while (Atomics.load(w.ctl, W.CTL_STATE) !== W.STATE_STOPPED && Date.now() < deadline) {
        this.drainChannels();
        Atomics.wait(w.ctl, W.CTL_STATE, W.STATE_STOP, 5);
      }
    }
    this.drainChannels();
    const final: Array<ReceiverStats | null> = [];
    for (const i of [undefined, ...this.perQueue.keys()]) {
      try {
        final.push(this.stats(i));
      } catch {
        final.push(null); // the interface may be gone
      }
    }
    this.closed = true;
    this.finalStats = final;
    this.attachment?.detach();
    for (const rq of this.perQueue) {
      rq.engine?.socket.close();
      void rq.worker?.thread.terminate();
    }
    for (const s of this.forClient) s.close();
    for (const rq of this.perQueue) if (rq.outbox !== null) native().close(rq.outbox.wakeFd);
    if (this.ownsObject) this.obj?.close();
    while (this.held.length > 0) this.held.pop()!();
    this.schedHold?.release(); // every thread back as it was (the report keeps how they ran)
    // a client gives the queues back by closing the connection: the broker then detaches
    if (this.brokered !== null) {
      for (const fd of this.brokered.fds) if (fd >= 0) native().close(fd);
      native().close(this.brokered.conn);
    }
  }
}

function handlerStats(list: ReceiveQueue[]): HandlerStats {
  const s: HandlerStats = { handled: 0, forwarded: 0, sent: 0, dropped: 0, counters: new Array<number>(HANDLER_COUNTERS).fill(0) };
  for (const rq of list) {
    s.handled += rq.counts[C_HANDLED]!;
    s.forwarded += rq.counts[C_FORWARDED]!;
    s.sent += rq.counts[C_SENT]!;
    s.dropped += rq.counts[C_HANDLER_DROPPED]!;
    const u = rq.handlerCounters;
    if (u !== null) for (let i = 0; i < HANDLER_COUNTERS; i++) s.counters[i]! += u[i]!;
  }
  return s;
}

function addInto<T extends object>(a: T, b: T): void {
  const x = a as Record<string, number>;
  for (const [k, v] of Object.entries(b as Record<string, number>)) x[k] = (x[k] ?? 0) + v;
}

/** Internal: the hint program was refused at attach; open() starts over without hints. */
class HintsRefused extends Error {
  constructor(override readonly cause: AfxdpError) {
    super(cause.message);
  }
}

function socketError(ifname: string, queue: number, status: number): AfxdpError {
  return status === -ENXIO
    ? new AfxdpError('ENOIFACE', `interface ${ifname} disappeared while measuring`, { hint: 'the report covers the packets received until then; check who deletes the interface' })
    : new AfxdpError('ESYS', `the AF_XDP socket on ${ifname} queue ${queue} failed (poll status ${status})`, {
        errno: -status,
        hint: 'the report covers the packets received until then; `ip link show` the interface, it may be down or reconfigured',
      });
}

function hintsInGeneric(): AfxdpError {
  return new AfxdpError('EUSAGE', `--hints needs native XDP mode: ${GENERIC_HINTS.replace('generic XDP mode: ', '')} ("Can't attach device-bound programs in generic mode")`, {
    hint: 'use --mode native (or auto), or drop --hints',
  });
}
