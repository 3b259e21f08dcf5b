/**
 * LatencyProbe: everything needed to measure XDP → user-space latency on one interface queue.
 * Loads the stamping program, opens an AF_XDP socket, registers it in the XSKMAP, attaches the
 * program (in that order, so no matched packet is passed to the stack before the socket is in
 * place) and records, per packet, (time JS first touches the batch) − (XDP stamp).
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../sys/netns.js';
import { XskSocket, type BindMode, type KernelStats } from '../xsk/socket.js';
import { CLOCK_MONOTONIC, CLOCK_TAI } from '../xsk/constants.js';
import { BpfObject, attachXdp, bundledObject, type XdpAttachment, type XdpModeOption, type XdpMode } from '../xdp/program.js';
import { F_CLOCK_TAI, F_HW_TS, STRATEGY_CODES, type StrategyName, type MetaReader } from '../xdp/meta.js';
import { readPayload } from '../wire/frame.js';
import { PacketBatch, type PacketSink } from './batch.js';
import { CounterReader, type ProgramCounters } from '../xdp/counters.js';
import { LatencyRecorder } from '../measure/recorder.js';
import { StampDecoder, type StrategyCounts, type HintCounts } from './stamps.js';
import { loadStampProgram, type LoadedStampProgram } from '../xdp/stamp-program.js';

export type { StrategyName };

export type ClockName = 'monotonic' | 'tai';
export type MatchName = 'udp' | 'all';

export interface ProbeOptions {
  ifname: string;
  /** default 0 */
  queue?: number;
  /** default 'auto' (native, else generic) */
  mode?: XdpModeOption;
  /** default 'auto' (zero-copy, else copy) */
  bind?: BindMode;
  /** fd of the network namespace the interface lives in (default: the current one) */
  netnsFd?: number;
  /** clock of the XDP stamp and of the user-side time; default 'monotonic' */
  clock?: ClockName;
  /** which frames go to the socket: 'udp' (default: IPv4/IPv6 UDP, the rest reaches the stack) or 'all' */
  match?: MatchName;
  /** with match 'udp': only this destination port (0 = any; default 0) */
  udpPort?: number;
  /**
   * Measure sender → XDP from the TX time the afxdp generator writes into each payload: the run
   * id to accept, or 'any'. Only meaningful when the sender runs on this host with the same clock
   * (CLOCK_MONOTONIC; with clock 'tai' the segment is not measured). Default: off.
   */
  senderRunId?: number | 'any';
  /** TX ring entries (0 = receive only, the default); the public API's send() needs one */
  txRingSize?: number;
  /** TX metadata bytes in front of each TX packet (see XskSocketOptions.txMetadataLen); default 0 */
  txMetadataLen?: number;
  /** how the stamp travels (DESIGN §3): 'auto' (default: meta, per-packet fallback), 'meta', 'prepend', 'map' */
  strategy?: StrategyName;
  /** diagnostic: the program behaves as on a driver without metadata support (every veth has it) */
  simulateNoMeta?: boolean;
  /**
   * device-bound hardware hints (RX timestamp, RX hash, VLAN tag via kfuncs; native mode only):
   * 'auto' (default) where possible, falling back to a program without them; true = required
   * (an error when impossible); false = off. A `program` reads hints when built with AFXDP_HINTS.
   */
  hints?: boolean | 'auto';
  /** the user's own BPF object (it includes afxdp/meta.h and calls afxdp_stamp()) instead of afxdp's */
  program?: string;
  /** with `program`: its XSKMAP, when it has more than one */
  xskmap?: string;
  frameCount?: number;
  /** RX and fill ring entries; default 2048 */
  ringSize?: number;
  batchSize?: number;
  /** debug: assert the UMEM frame ownership invariant at every batch (src/xsk/frames.ts) */
  trackFrames?: boolean;
  /** detach an XDP program someone attached before (netlink only); default: refuse */
  force?: boolean;
}

export interface ProbeStats {
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
}

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

const MATCH = { udp: 0, all: 1 } as const;
const ENXIO = 6;
const CLOCK = { monotonic: 0, tai: 1 } as const;
const NO_COUNTERS: ProgramCounters = { seen: 0, matched: 0, stamped: 0, meta_failed: 0, redirected: 0, via_meta: 0, via_prepend: 0, via_map: 0, map_collisions: 0, unstamped: 0 };

export class LatencyProbe {
  readonly ifname: string;
  readonly ifindex: number;
  readonly queue: number;
  readonly clock: ClockName;
  readonly socket: XskSocket;
  /** xdp_to_user: XDP stamp → first JS touch of the batch */
  readonly recorder = new LatencyRecorder();
  /** sender_to_xdp: the generator's TX time (payload) → XDP stamp; null when not measured */
  readonly senderRecorder: LatencyRecorder | null;
  /** hw_to_xdp: NIC RX stamp → XDP stamp; only with clock 'tai' (the PHC domain is comparable with TAI at best) */
  readonly hwRecorder: LatencyRecorder | null;
  /** per-batch columns handed to the sinks (CSV, pcapng); filled only when a sink is added */
  readonly batch: PacketBatch;
  private readonly sinks: PacketSink[] = [];
  private readonly senderRunId: number;
  private readonly payload = new Uint32Array(4);
  readonly strategy: StrategyName;
  /** the program reads hardware hints */
  readonly hints: boolean;
  /** why hints are off (null when on) */
  readonly hintsOff: string | null;
  /** the BPF object in use (afxdp's stamp.bpf.o or the user's) */
  readonly programPath: string;
  private readonly obj: BpfObject;
  private readonly attachment: XdpAttachment;
  private readonly stamps: StampDecoder;
  private readonly counters: CounterReader | null;
  private readonly clockId: number;
  private readonly clockFlag: number;
  private readonly now = new Uint32Array(2);
  received = 0;
  metaValid = 0;
  metaInvalid = 0;
  /**
   * called once per batch, before the frames go back to the kernel, with the packets as the
   * sender sent them (prepended stamps stripped): UMEM addresses and lengths of packets 0..n-1
   */
  onFrames: ((addrs: Uint32Array, lens: Uint32Array, n: number, bytes: Uint8Array) => void) | null = null;
  /** called after each drained batch (never per packet) with the running total */
  onBatch: ((received: number) => void) | null = null;
  /** set when the socket failed while running (e.g. the interface was deleted); the counts so far stay */
  error: AfxdpError | null = null;
  /** called once when `error` is set */
  onError: ((e: AfxdpError) => void) | null = null;
  private running = false;
  private closed = false;
  private lastKernel: KernelStats | null = null;
  private lastProgram: ProgramCounters | null = null;

  private constructor(o: Required<Omit<ProbeOptions, 'netnsFd' | 'frameCount' | 'batchSize' | 'program' | 'xskmap' | 'senderRunId' | 'txRingSize' | 'txMetadataLen' | 'trackFrames' | 'force'>> & ProbeOptions) {
    this.ifname = o.ifname;
    this.queue = o.queue;
    this.clock = o.clock;
    this.strategy = o.strategy;
    this.clockId = o.clock === 'tai' ? CLOCK_TAI : CLOCK_MONOTONIC;
    this.clockFlag = o.clock === 'tai' ? F_CLOCK_TAI : 0;
    const sender = o.senderRunId !== undefined && o.clock === 'monotonic';
    this.senderRecorder = sender ? new LatencyRecorder() : null;
    this.senderRunId = !sender ? -2 : o.senderRunId === 'any' ? -1 : o.senderRunId! >>> 0;
    this.hwRecorder = o.clock === 'tai' ? new LatencyRecorder() : null;
    const n = native();

    this.ifindex = n.ifNameToIndex(o.ifname);
    if (this.ifindex === 0) {
      throw new AfxdpError('ENOIFACE', `interface ${o.ifname} not found${o.netnsFd === undefined ? '' : ' in the lab namespace'}`, {
        hint: 'list interfaces with `ip -br link`',
      });
    }
    checkQueue(o.ifname, o.queue);

    const undo: Array<() => void> = [];
    try {
      this.socket = XskSocket.create({
        ifindex: this.ifindex,
        ifname: o.ifname,
        queue: o.queue,
        bind: o.bind,
        rxRingSize: o.ringSize,
        fillRingSize: o.ringSize,
        txRingSize: o.txRingSize ?? 0,
        txMetadataLen: o.txMetadataLen ?? 0,
        frameCount: o.frameCount ?? Math.max(4096, o.ringSize * 2),
        batchSize: o.batchSize,
        trackFrames: o.trackFrames,
      });
      undo.push(() => this.socket.close());
      this.batch = new PacketBatch(o.queue, this.socket.umem.bytes, this.socket.rxAddr, this.socket.rxLen);

      // a random run cookie lets the reader tell a prepended struct from payload bytes
      const cookie = ((Math.random() * 0xfffffffe) >>> 0) + 1;
      const own = o.program === undefined;
      // afxdp's own program: with hints first where they can work, else (or when refused) without
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
      let loaded: { prog: LoadedStampProgram; attachment: XdpAttachment } | null = null;
      for (const withHints of plans) {
        let prog: LoadedStampProgram | null = null;
        try {
          prog = loadStampProgram({
            path: own ? bundledObject(withHints ? 'stamp_hints' : 'stamp') : o.program!,
            own,
            xskmap: o.xskmap,
            ifindex: this.ifindex,
            rodata: {
              afxdp_cfg_strategy: STRATEGY_CODES[o.strategy],
              afxdp_cfg_clock: CLOCK[o.clock],
              afxdp_cfg_simulate_no_meta: o.simulateNoMeta ? 1 : 0,
              afxdp_cfg_cookie: cookie,
            },
            ownRodata: { cfg_match: MATCH[o.match], cfg_udp_port: o.udpPort },
          });
          if (prog.hints && o.mode === 'generic') throw hintsInGeneric();
          const key = new Uint32Array([o.queue]);
          const val = new Uint32Array([this.socket.fd]);
          n.bpfMapUpdate(prog.obj.mapFd(prog.xskmap), new Uint8Array(key.buffer), new Uint8Array(val.buffer), 0);
          // a device-bound program attaches in native mode only
          const attachment = attachXdp(prog.obj.programFd(prog.program), this.ifindex, o.ifname, prog.hints ? 'native' : o.mode, { force: o.force });
          loaded = { prog, attachment };
          break;
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
      const { prog, attachment } = loaded!;
      this.obj = prog.obj;
      this.programPath = prog.obj.path;
      this.hints = prog.hints;
      this.hintsOff = prog.hints ? null : hintsOff;
      undo.push(() => this.obj.close());
      this.attachment = attachment;
      undo.push(() => this.attachment.detach());

      this.counters = prog.hasCounters ? new CounterReader(this.obj.mapFd('afxdp_counters')) : null;
      this.stamps = new StampDecoder(this.socket.umem, {
        strategy: o.strategy,
        clockFlag: this.clockFlag,
        cookie,
        mapFd: prog.hasStampMap ? this.obj.mapFd('afxdp_stamps') : -1,
        batchSize: this.socket.batchSize,
      });
    } catch (e) {
      for (const u of undo.reverse()) u();
      throw e;
    }
  }

  /** Opens the probe (synchronously, inside `netnsFd` when given). */
  static open(opts: ProbeOptions): LatencyProbe {
    const o = {
      ...opts,
      queue: opts.queue ?? 0,
      mode: opts.mode ?? 'auto',
      bind: opts.bind ?? 'auto',
      clock: opts.clock ?? 'monotonic',
      match: opts.match ?? 'udp',
      udpPort: opts.udpPort ?? 0,
      ringSize: opts.ringSize ?? 2048,
      strategy: opts.strategy ?? 'auto',
      simulateNoMeta: opts.simulateNoMeta ?? false,
      hints: opts.hints ?? 'auto',
    } as const;
    if (!Object.hasOwn(STRATEGY_CODES, o.strategy)) {
      throw new AfxdpError('EUSAGE', `unknown strategy ${JSON.stringify(o.strategy)}`, { hint: `use one of ${Object.keys(STRATEGY_CODES).join(', ')}` });
    }
    if (!Number.isInteger(o.udpPort) || o.udpPort < 0 || o.udpPort > 65535) {
      throw new AfxdpError('EUSAGE', `UDP port ${o.udpPort} is out of range`, { hint: 'use 0..65535 (0 = any port)' });
    }
    return withNetns(opts.netnsFd, () => new LatencyProbe(o));
  }

  /** Receives every batch; called after the per-packet loop, before the frames are recycled. */
  addSink(sink: PacketSink): void {
    this.sinks.push(sink);
  }

  /** The stamp of the last packet decoded (its fields: flags, hints, ...); for tests and tools, not per packet. */
  get lastStamp(): MetaReader {
    return this.stamps.meta;
  }

  get mode(): XdpMode {
    return this.attachment.mode;
  }

  /** with `force`: the foreign program that was detached to make room, else null */
  get replaced(): { name: string; id: number } | null {
    return this.attachment.replaced;
  }

  get bindMode(): 'copy' | 'zerocopy' {
    return this.socket.bindMode;
  }

  /** Event mode: drain the ring whenever the socket becomes readable. */
  start(): void {
    if (this.closed) throw new AfxdpError('ECLOSED', 'the probe is closed');
    if (this.running) return;
    this.running = true;
    this.socket.onReadable((status) => {
      if (status < 0) this.fail(status);
      else this.drain();
    });
  }

  /**
   * Is the socket still bound? The kernel unbinds an AF_XDP socket when its interface is
   * unregistered, without a poll event (xsk_poll never reports sk_err), so the wait loop asks a
   * few times per second: a non-blocking recvfrom() answers ENXIO once unbound. Not per packet.
   */
  checkAlive(): boolean {
    if (this.closed || this.error) return this.error === null;
    const r = native().xskKick(this.socket.fd, 0);
    // ENETDOWN (interface down) is not fatal: a link flap must not end a long measurement
    if (r === -ENXIO) this.fail(r);
    return this.error === null;
  }

  /** The socket failed (unbound, or POLLERR): keep what was counted, say what happened, stop. */
  private fail(status: number): void {
    try {
      this.drain();
    } catch {
      // the rings may be unusable now; the counts so far stay
    }
    this.socket.offReadable();
    this.running = false;
    const gone = status === -ENXIO;
    this.error = gone
      ? new AfxdpError('ENOIFACE', `interface ${this.ifname} disappeared while measuring`, { hint: 'the report covers the packets received until then; check who deletes the interface' })
      : new AfxdpError('ESYS', `the AF_XDP socket on ${this.ifname} queue ${this.queue} failed (poll status ${status})`, {
          errno: -status,
          hint: 'the report covers the packets received until then; `ip link show` the interface, it may be down or reconfigured',
        });
    this.onError?.(this.error);
  }

  /** Receives everything ready now; returns how many packets it took. The hot loop. */
  drain(): number {
    const sock = this.socket;
    const stamps = this.stamps;
    const F = stamps.flags;
    const XL = stamps.xdpLo;
    const XH = stamps.xdpHi;
    const rec = this.recorder;
    const sRec = this.senderRecorder;
    const hRec = this.hwRecorder;
    const runId = this.senderRunId;
    const pl = this.payload;
    const bytes = sock.umem.bytes;
    const now = this.now;
    const nat = native();
    const b = this.batch;
    const withSinks = this.sinks.length > 0;
    let total = 0;
    for (;;) {
      const n = sock.receive();
      if (n === 0) break;
      // one clock read per batch: the moment JS first touches these packets
      nat.clockGettime(this.clockId, now);
      const nowLo = now[0]!;
      const nowHi = now[1]!;
      const addrs = sock.rxAddr;
      const lens = sock.rxLen;
      // finds each stamp (meta / prepend / map) and strips prepended ones: flags/xdp columns
      const valid = stamps.decode(addrs, lens, n);
      for (let i = 0; i < n; i++) {
        const flags = F[i]!;
        let xu = NaN;
        let sx = NaN;
        let hx = NaN;
        if (flags !== 0) {
          xu = (nowHi - XH[i]!) * 4294967296 + (nowLo - XL[i]!);
          rec.record(xu);
          if (hRec !== null && (flags & F_HW_TS) !== 0) {
            hx = (XH[i]! - stamps.hwHi[i]!) * 4294967296 + (XL[i]! - stamps.hwLo[i]!);
            hRec.record(hx); // negative = "HW before XDP" anomaly, counted, never a sample
          }
        }
        let seq = -1;
        let txLo = 0;
        let txHi = 0;
        if (runId !== -2 && readPayload(bytes, addrs[i]!, lens[i]!, pl, 0) && (runId === -1 || pl[0] === runId)) {
          seq = pl[1]!;
          txLo = pl[2]!;
          txHi = pl[3]!;
          if (flags !== 0) {
            sx = (XH[i]! - txHi) * 4294967296 + (XL[i]! - txLo);
            sRec!.record(sx);
          }
        }
        if (withSinks) {
          b.seq[i] = seq;
          b.flags[i] = flags;
          b.xdpLo[i] = flags !== 0 ? XL[i]! : 0;
          b.xdpHi[i] = flags !== 0 ? XH[i]! : 0;
          b.txLo[i] = txLo;
          b.txHi[i] = txHi;
          b.xdpToUser[i] = xu;
          b.senderToXdp[i] = sx;
          b.hwToXdp[i] = hx;
        }
      }
      this.metaValid += valid;
      this.metaInvalid += n - valid;
      this.received += n;
      total += n;
      if (withSinks) {
        b.n = n;
        b.userLo = nowLo;
        b.userHi = nowHi;
        for (let k = 0; k < this.sinks.length; k++) this.sinks[k]!.onBatch(b);
      }
      if (this.onFrames !== null) this.onFrames(addrs, lens, n, bytes);
      sock.recycle(n);
      if (this.onBatch !== null) this.onBatch(this.received);
    }
    return total;
  }

  stats(): ProbeStats {
    if (!this.closed) {
      // after an error (interface gone) keep the last counters instead of failing the report
      try {
        this.lastKernel = this.socket.statistics();
      } catch (e) {
        if (this.error === null) throw e;
      }
      try {
        this.lastProgram = this.counters?.read(this.queue) ?? null;
      } catch (e) {
        if (this.error === null) throw e;
      }
    }
    const prog = this.lastProgram;
    const m = this.stamps.map;
    return {
      received: this.received,
      metaValid: this.metaValid,
      metaInvalid: this.metaInvalid,
      kernel: this.lastKernel ?? emptyKernel(),
      program: prog ?? { ...NO_COUNTERS },
      byStrategy: { ...this.stamps.byStrategy },
      hints: this.hints ? { ...this.stamps.hints } : null,
      map: !this.stamps.mapInUse
        ? null
        : {
            stored: prog ? prog.via_map : null,
            matched: m.matched,
            packets_without_stamp: m.packetsWithoutStamp,
            stamps_without_packet: prog ? Math.max(0, prog.via_map - m.matched) : null,
            collisions: prog ? prog.map_collisions : null,
          },
    };
  }

  /** Detaches the program and closes the socket; keeps the last stats readable. Idempotent. */
  close(): void {
    if (this.closed) return;
    try {
      this.drain();
      this.stats();
    } catch {
      // the interface may be gone; the counters taken so far stay
    }
    this.closed = true;
    this.running = false;
    this.attachment.detach();
    this.socket.close();
    this.obj.close();
  }
}

const GENERIC_HINTS = 'generic XDP mode: hints are read by device-bound kfuncs, which the kernel attaches in native mode only';

function hintsInGeneric(): AfxdpError {
  return new AfxdpError('EUSAGE', `--hints needs native XDP mode: ${GENERIC_HINTS.replace('generic XDP mode: ', '')} ("Can't attach device-bound programs in generic mode")`, {
    hint: 'use --mode native (or auto), or drop --hints',
  });
}

/** All-zero XDP_STATISTICS, for a socket that is gone or never opened. */
export function emptyKernel(): KernelStats {
  return { rx_dropped: 0, rx_invalid_descs: 0, tx_invalid_descs: 0, rx_ring_full: 0, rx_fill_ring_empty_descs: 0, tx_ring_empty_descs: 0 };
}

/** RX queue count of an interface from ethtool (null when the driver does not say). */
export function rxQueueCount(ifname: string): number | null {
  const ch = native().ethtoolChannels(ifname);
  if (!ch) return null;
  const n = ch.rx + ch.combined;
  return n > 0 ? n : null;
}

function checkQueue(ifname: string, queue: number): void {
  if (!Number.isInteger(queue) || queue < 0) {
    throw new AfxdpError('EUSAGE', `queue ${queue} is not a valid queue number`, { hint: 'use an integer ≥ 0' });
  }
  const count = rxQueueCount(ifname);
  if (count !== null && queue >= count) {
    throw new AfxdpError('ENOQUEUE', `${ifname} has ${count} RX queue${count === 1 ? '' : 's'}; queue ${queue} does not exist`, {
      hint: `use --queue 0${count > 1 ? `..${count - 1}` : ''}`,
    });
  }
}
