/**
 * LatencyProbe: everything needed to measure XDP → user-space latency on one interface queue.
 * Loads the stamping program, opens an AF_XDP socket, registers it in the XSKMAP, attaches the
 * program (in that order, so no matched packet is passed to the stack before the socket is in
 * place) and records, per packet, (time JS first touches the batch) − (XDP stamp).
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../lab/netns.js';
import { XskSocket, type BindMode, type KernelStats } from '../xsk/socket.js';
import { CLOCK_MONOTONIC, CLOCK_TAI } from '../xsk/constants.js';
import { BpfObject, attachXdp, bundledObject, type XdpAttachment, type XdpModeOption, type XdpMode } from '../xdp/program.js';
import { MetaReader, F_CLOCK_TAI, F_XDP_TS, F_HW_TS } from '../xdp/meta.js';
import { readPayload } from '../lab/frame.js';
import { PacketBatch, type PacketSink } from './batch.js';
import { CounterReader, type ProgramCounters } from '../xdp/counters.js';
import { LatencyRecorder } from './recorder.js';

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
  frameCount?: number;
  /** RX and fill ring entries; default 2048 */
  ringSize?: number;
  batchSize?: number;
  /**
   * Measure sender → XDP from the TX time the afxdp generator writes into each payload: the run
   * id to accept, or 'any'. Only meaningful when the sender runs on this host with the same clock
   * (CLOCK_MONOTONIC; with clock 'tai' the segment is not measured). Default: off.
   */
  senderRunId?: number | 'any';
  /** TX ring entries (0 = receive only, the default); the public API's send() needs one */
  txRingSize?: number;
}

export interface ProbeStats {
  received: number;
  metaValid: number;
  metaInvalid: number;
  kernel: KernelStats;
  program: ProgramCounters;
}

const MATCH = { udp: 0, all: 1 } as const;
const CLOCK = { monotonic: 0, tai: 1 } as const;

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
  private readonly obj: BpfObject;
  private readonly attachment: XdpAttachment;
  private readonly meta: MetaReader;
  private readonly counters: CounterReader;
  private readonly clockId: number;
  private readonly clockFlag: number;
  private readonly now = new Uint32Array(2);
  received = 0;
  metaValid = 0;
  metaInvalid = 0;
  /** called after each drained batch (never per packet) with the running total */
  onBatch: ((received: number) => void) | null = null;
  private running = false;
  private closed = false;
  private lastKernel: KernelStats | null = null;
  private lastProgram: ProgramCounters | null = null;

  private constructor(o: Required<Omit<ProbeOptions, 'netnsFd' | 'frameCount' | 'batchSize' | 'senderRunId' | 'txRingSize'>> & ProbeOptions) {
    this.ifname = o.ifname;
    this.queue = o.queue;
    this.clock = o.clock;
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
      this.obj = BpfObject.open(bundledObject('stamp'));
      undo.push(() => this.obj.close());
      this.obj.load({ rodata: { cfg_match: MATCH[o.match], cfg_udp_port: o.udpPort, cfg_clock: CLOCK[o.clock] } });

      this.socket = XskSocket.create({
        ifindex: this.ifindex,
        ifname: o.ifname,
        queue: o.queue,
        bind: o.bind,
        rxRingSize: o.ringSize,
        fillRingSize: o.ringSize,
        txRingSize: o.txRingSize ?? 0,
        frameCount: o.frameCount ?? Math.max(4096, o.ringSize * 2),
        batchSize: o.batchSize,
      });
      undo.push(() => this.socket.close());

      const key = new Uint32Array([o.queue]);
      const val = new Uint32Array([this.socket.fd]);
      n.bpfMapUpdate(this.obj.mapFd('xsks_map'), new Uint8Array(key.buffer), new Uint8Array(val.buffer), 0);
      this.counters = new CounterReader(this.obj.mapFd('afxdp_counters'));
      this.meta = new MetaReader(this.socket.umem);
      this.batch = new PacketBatch(o.queue, this.socket.umem.bytes, this.socket.rxAddr, this.socket.rxLen);

      this.attachment = attachXdp(this.obj.programFd('afxdp_stamp'), this.ifindex, o.ifname, o.mode);
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
    } as const;
    if (!Number.isInteger(o.udpPort) || o.udpPort < 0 || o.udpPort > 65535) {
      throw new AfxdpError('EUSAGE', `UDP port ${o.udpPort} is out of range`, { hint: 'use 0..65535 (0 = any port)' });
    }
    return withNetns(opts.netnsFd, () => new LatencyProbe(o));
  }

  get mode(): XdpMode {
    return this.attachment.mode;
  }

  get bindMode(): 'copy' | 'zerocopy' {
    return this.socket.bindMode;
  }

  /** Event mode: drain the ring whenever the socket becomes readable. */
  start(): void {
    if (this.closed) throw new AfxdpError('ECLOSED', 'the probe is closed');
    if (this.running) return;
    this.running = true;
    this.socket.onReadable(() => this.drain());
  }

  /** Receives every batch; called after the per-packet loop, before the frames are recycled. */
  addSink(sink: PacketSink): void {
    this.sinks.push(sink);
  }

  /** Receives everything ready now; returns how many packets it took. The hot loop. */
  drain(): number {
    const sock = this.socket;
    const meta = this.meta;
    const rec = this.recorder;
    const sRec = this.senderRecorder;
    const hRec = this.hwRecorder;
    const runId = this.senderRunId;
    const pl = this.payload;
    const bytes = sock.umem.bytes;
    const now = this.now;
    const nat = native();
    const clockFlag = this.clockFlag;
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
      let valid = 0;
      for (let i = 0; i < n; i++) {
        const addr = addrs[i]!;
        let xu = NaN;
        let sx = NaN;
        let hx = NaN;
        let flags = 0;
        if (meta.read(addr) && (meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === clockFlag) {
          flags = meta.flags;
          xu = (nowHi - meta.xdpTsHi) * 4294967296 + (nowLo - meta.xdpTsLo);
          rec.record(xu);
          valid++;
          if (hRec !== null && (flags & F_HW_TS) !== 0) {
            hx = (meta.xdpTsHi - meta.hwTsHi) * 4294967296 + (meta.xdpTsLo - meta.hwTsLo);
            hRec.record(hx); // negative = "HW before XDP" anomaly, counted, never a sample
          }
        }
        let seq = -1;
        let txLo = 0;
        let txHi = 0;
        if (runId !== -2 && readPayload(bytes, addr, lens[i]!, pl, 0) && (runId === -1 || pl[0] === runId)) {
          seq = pl[1]!;
          txLo = pl[2]!;
          txHi = pl[3]!;
          if (flags !== 0) {
            sx = (meta.xdpTsHi - txHi) * 4294967296 + (meta.xdpTsLo - txLo);
            sRec!.record(sx);
          }
        }
        if (withSinks) {
          b.seq[i] = seq;
          b.flags[i] = flags;
          b.xdpLo[i] = flags !== 0 ? meta.xdpTsLo : 0;
          b.xdpHi[i] = flags !== 0 ? meta.xdpTsHi : 0;
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
      sock.recycle(n);
      if (this.onBatch !== null) this.onBatch(this.received);
    }
    return total;
  }

  stats(): ProbeStats {
    if (!this.closed) {
      this.lastKernel = this.socket.statistics();
      this.lastProgram = this.counters.read(this.queue);
    }
    return {
      received: this.received,
      metaValid: this.metaValid,
      metaInvalid: this.metaInvalid,
      kernel: this.lastKernel ?? emptyKernel(),
      program: this.lastProgram ?? { seen: 0, matched: 0, stamped: 0, meta_failed: 0, redirected: 0 },
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

function emptyKernel(): KernelStats {
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
