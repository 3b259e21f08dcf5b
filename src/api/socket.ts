/**
 * AfxdpSocket: the public face of "an AF_XDP socket on an interface queue with an XDP program in
 * front of it". With the default program it wraps LatencyProbe (program + socket + attach, in the
 * safe order); with your own program it composes the same pieces (XskSocket, XdpProgram,
 * attachXdp). Receiving is batch based and allocation-free; see batch.ts.
 */
import './dispose.js';
import { AfxdpError } from '../errors.js';
import { native } from '../native.js';
import { LatencyProbe, rxQueueCount, type ClockName, type MatchName } from '../rx/probe.js';
import { LatencyRecorder, type LatencySummary } from '../measure/recorder.js';
import { buildReport, type Report } from '../report/report.js';
import { XskSocket, type BindMode, type KernelStats } from '../xsk/socket.js';
import { CLOCK_MONOTONIC, CLOCK_TAI } from '../xsk/constants.js';
import { attachXdp, type XdpAttachment, type XdpMode, type XdpModeOption } from '../xdp/program.js';
import { MetaReader, F_CLOCK_TAI, F_XDP_TS } from '../xdp/meta.js';
import type { ProgramCounters } from '../xdp/counters.js';
import { Batch, type BatchOwner } from './batch.js';
import { XdpProgram } from './program.js';
import { withNetnsFd, withNetns, resolveIfindex, type NetnsOption } from './netns.js';
import { expectChoice, expectInt, expectObject, expectOptional, expectString, describe } from './validate.js';

export interface OpenOptions {
  /** interface name, e.g. 'eth0' */
  iface: string;
  /** RX queue; default 0 */
  queue?: number;
  /** XDP attach mode; default 'auto' (native, else generic) */
  mode?: XdpModeOption;
  /** AF_XDP bind; default 'auto' (zero-copy, else copy) */
  bind?: BindMode;
  /** clock of the XDP stamp and of the user-side time; default 'monotonic' */
  clock?: ClockName;
  /** default program only: which frames go to the socket: 'udp' (default; the rest reaches the kernel) or 'all' */
  match?: MatchName;
  /** default program only, with match 'udp': only this destination port (0 = any, the default) */
  udpPort?: number;
  /** your own XDP program instead of the default stamping one: a loaded XdpProgram (you close it) or a .o path (the socket owns it) */
  program?: XdpProgram | string;
  /** network namespace of the interface: /proc/PID/ns/net, /run/netns/NAME, or an open fd */
  netns?: NetnsOption;
  /** RX and fill ring entries (power of two); default 2048 */
  ringSize?: number;
  /** TX ring: true = 2048 entries, or a power of two; default false (receive only) */
  tx?: boolean | number;
  /** UMEM frames; default max(4096, 2 × ringSize) */
  frameCount?: number;
  /** at most this many packets per batch; default 64 */
  batchSize?: number;
}

export interface SocketStats {
  /** packets received through this API */
  received: number;
  /** of those, with a usable XDP timestamp */
  metaValid: number;
  metaInvalid: number;
  /** frames accepted by send() */
  sent: number;
  /** XDP_STATISTICS of the socket */
  kernel: KernelStats;
  /** the default program's per-queue counters; null with your own program */
  program: ProgramCounters | null;
}

export interface BatchesOptions {
  /** ends the iteration (cleanly, like a `break`) when aborted */
  signal?: AbortSignal;
}

interface Backend {
  socket: XskSocket;
  mode: XdpMode;
  programName: string;
  programCounters(): ProgramCounters | null;
  close(): void;
}

const MAX_TX_KICKS = 64;

export class AfxdpSocket implements BatchOwner {
  readonly iface: string;
  readonly queue: number;
  readonly clock: ClockName;
  private readonly backend: Backend;
  private readonly sock: XskSocket;
  private readonly batch: Batch;
  private readonly recorder = new LatencyRecorder();
  private readonly meta: MetaReader;
  private readonly now = new Uint32Array(2);
  private readonly clockId: number;
  private readonly clockFlag: number;
  private readonly openedAt = process.hrtime.bigint();
  private received = 0;
  private metaValid = 0;
  private metaInvalid = 0;
  private sent = 0;
  private txQueued = 0;
  private isClosed = false;
  private consumer: 'iterator' | 'callback' | null = null;
  private wake: (() => void) | null = null;
  private iterPoll = false;
  private lastStats: SocketStats | null = null;

  private constructor(o: { iface: string; queue: number; clock: ClockName }, backend: Backend) {
    this.iface = o.iface;
    this.queue = o.queue;
    this.clock = o.clock;
    this.backend = backend;
    this.sock = backend.socket;
    this.clockId = o.clock === 'tai' ? CLOCK_TAI : CLOCK_MONOTONIC;
    this.clockFlag = o.clock === 'tai' ? F_CLOCK_TAI : 0;
    this.meta = new MetaReader(this.sock.umem);
    this.batch = new Batch(this, this.sock.umem, this.sock.rxAddr, this.sock.rxLen, o.queue);
  }

  /** Opens an AF_XDP socket on `iface` queue `queue` with the XDP program in front of it. */
  static open(opts: OpenOptions): AfxdpSocket {
    expectObject('open: options', opts);
    expectString('open: options.iface', opts.iface);
    const queue = opts.queue === undefined ? 0 : expectInt('open: options.queue', opts.queue, 0, 4095);
    const mode = expectChoice('open: options.mode', opts.mode, ['auto', 'native', 'generic'] as const) ?? 'auto';
    const bind = expectChoice('open: options.bind', opts.bind, ['auto', 'copy', 'zerocopy'] as const) ?? 'auto';
    const clock = expectChoice('open: options.clock', opts.clock, ['monotonic', 'tai'] as const) ?? 'monotonic';
    const match = expectChoice('open: options.match', opts.match, ['udp', 'all'] as const) ?? 'udp';
    const udpPort = opts.udpPort === undefined ? 0 : expectInt('open: options.udpPort', opts.udpPort, 0, 65535);
    const ringSize = opts.ringSize === undefined ? 2048 : expectInt('open: options.ringSize', opts.ringSize, 1, 1 << 20);
    const frameCount = opts.frameCount === undefined ? undefined : expectInt('open: options.frameCount', opts.frameCount, 64, 1 << 20);
    const batchSize = opts.batchSize === undefined ? undefined : expectInt('open: options.batchSize', opts.batchSize, 1, 4096);
    let txRingSize = 0;
    if (opts.tx === true) txRingSize = 2048;
    else if (typeof opts.tx === 'number') txRingSize = expectInt('open: options.tx', opts.tx, 1, 1 << 20);
    else if (opts.tx !== undefined && opts.tx !== false) throw new AfxdpError('EUSAGE', `open: options.tx must be a boolean or a ring size, got ${describe(opts.tx)}`);
    if (opts.program !== undefined && !(opts.program instanceof XdpProgram) && typeof opts.program !== 'string') {
      throw new AfxdpError('EUSAGE', `open: options.program must be an XdpProgram (from loadProgram) or a path, got ${describe(opts.program)}`);
    }
    expectOptional('open: options.udpPort', opts.udpPort, 'number');
    const common = { iface: opts.iface, queue, clock };

    return withNetnsFd(opts.netns, (netnsFd) => {
      if (opts.program === undefined) {
        const probe = LatencyProbe.open({ ifname: opts.iface, queue, mode, bind, clock, match, udpPort, ringSize, frameCount, batchSize, txRingSize, netnsFd, strategy: 'meta' });
        return new AfxdpSocket(common, {
          socket: probe.socket,
          mode: probe.mode,
          programName: 'afxdp_stamp',
          programCounters: () => probe.stats().program,
          close: () => probe.close(),
        });
      }
      const backend = withNetns(netnsFd, () => customBackend(opts, { queue, mode, bind, ringSize, frameCount, batchSize, txRingSize, inOtherNetns: netnsFd !== undefined }));
      return new AfxdpSocket(common, backend);
    });
  }

  /** XDP attach mode that took effect */
  get mode(): XdpMode {
    return this.backend.mode;
  }

  /** AF_XDP bind mode that took effect */
  get bind(): 'copy' | 'zerocopy' {
    return this.sock.bindMode;
  }

  /** name of the XDP program in front of the socket */
  get programName(): string {
    return this.backend.programName;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  // ------------------------------------------------------------------ receive

  /**
   * Takes the packets ready now (at most batchSize) without waiting: the socket's one Batch
   * object, or null when the ring is empty. Release the batch before the next receive().
   */
  receive(): Batch | null {
    this.checkOpen();
    const b = this.batch;
    if (!b.released) {
      throw new AfxdpError('ESTATE', 'the previous batch is not released yet', { hint: 'call batch.release() before receiving again' });
    }
    const n = this.sock.receive();
    if (n === 0) return null;
    // one clock read per batch: the moment JS first touches these packets
    native().clockGettime(this.clockId, this.now);
    const nowLo = this.now[0]!;
    const nowHi = this.now[1]!;
    const addrs = this.sock.rxAddr;
    const lat = b.latencies;
    const meta = this.meta;
    const rec = this.recorder;
    const clockFlag = this.clockFlag;
    let valid = 0;
    for (let i = 0; i < n; i++) {
      if (meta.read(addrs[i]!) && (meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === clockFlag) {
        const ns = (nowHi - meta.xdpTsHi) * 4294967296 + (nowLo - meta.xdpTsLo);
        lat[i] = ns;
        rec.record(ns);
        valid++;
      } else {
        lat[i] = NaN;
      }
    }
    this.received += n;
    this.metaValid += valid;
    this.metaInvalid += n - valid;
    b.begin(n, nowLo, nowHi);
    return b;
  }

  /** @internal Batch.release() lands here */
  releaseBatch(batch: Batch): void {
    if (this.isClosed) return;
    this.sock.recycle(batch.length);
    if (this.txQueued > 0) this.flush();
  }

  /**
   * Async iteration over batches, waiting (uv_poll, no spinning) when the ring is empty. Each
   * batch is released when the loop moves on (or on break / return / throw / abort / close).
   */
  async *batches(opts: BatchesOptions = {}): AsyncGenerator<Batch, void, undefined> {
    expectObject('batches: options', opts);
    const signal = opts.signal;
    this.checkOpen();
    this.claim('iterator');
    // only a batch this loop handed out is released here, never one the caller got from receive()
    let mine = false;
    try {
      for (;;) {
        if (this.isClosed || signal?.aborted) return;
        const b = this.receive();
        if (b !== null) {
          mine = true;
          yield b;
          b.releaseIfLive();
          mine = false;
          continue;
        }
        await this.readable(signal);
      }
    } finally {
      if (mine) this.batch.releaseIfLive();
      if (!this.isClosed) this.stopIterPoll();
      this.consumer = null;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this.batches();
  }

  /**
   * Callback form: cb(batch) runs for every batch as packets arrive (event mode, in Node's own
   * loop). The batch is released when cb returns; keep nothing of it. If cb throws, the batch is
   * released and the error propagates (an uncaught exception, like an 'error' event without a
   * listener), unless onError is given. Stop with offBatch() or close().
   */
  onBatch(cb: (batch: Batch) => void, onError?: (err: unknown) => void): void {
    this.checkOpen();
    if (typeof cb !== 'function') throw new AfxdpError('EUSAGE', `onBatch: the callback must be a function, got ${describe(cb)}`);
    if (onError !== undefined && typeof onError !== 'function') throw new AfxdpError('EUSAGE', `onBatch: onError must be a function, got ${describe(onError)}`);
    this.claim('callback');
    const dispatch = (): void => {
      for (;;) {
        if (this.isClosed || this.consumer !== 'callback') return;
        const b = this.receive();
        if (b === null) return;
        try {
          cb(b);
        } catch (e) {
          if (onError === undefined) throw e;
          onError(e);
        } finally {
          b.releaseIfLive();
        }
      }
    };
    this.sock.onReadable(dispatch);
    // packets that arrived before the watcher was installed
    setImmediate(dispatch);
  }

  /** Stops the onBatch() callback. */
  offBatch(): void {
    if (this.consumer !== 'callback') return;
    this.sock.offReadable();
    this.consumer = null;
  }

  private claim(kind: 'iterator' | 'callback'): void {
    if (this.consumer !== null) {
      throw new AfxdpError('ESTATE', `this socket already has a ${this.consumer === 'iterator' ? 'batch iterator' : 'onBatch() callback'}`, {
        hint: 'use one way of receiving at a time (end the loop or call offBatch() first)',
      });
    }
    this.consumer = kind;
  }

  /**
   * Waits until the socket is readable. The watcher stays installed across waits (no epoll_ctl
   * per batch); if it fires while nobody waits, it is removed, so a slow consumer with packets
   * pending never makes the loop spin on a level-triggered poll.
   */
  private readable(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.wake !== done) return;
        this.wake = null;
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      signal?.addEventListener('abort', done, { once: true });
      // level-triggered: fires at once if packets arrived since the last receive()
      if (!this.iterPoll) {
        this.iterPoll = true;
        this.sock.onReadable(this.onIterPoll);
      }
    });
  }

  private readonly onIterPoll = (): void => {
    if (this.wake !== null) this.wake();
    else this.stopIterPoll();
  };

  private stopIterPoll(): void {
    if (!this.iterPoll) return;
    this.iterPoll = false;
    this.sock.offReadable();
  }

  // ------------------------------------------------------------------ send

  /**
   * Copies `length` bytes of `data` from `offset` into a TX frame and queues it. Returns false
   * (and queues nothing) when the TX ring or the frames are all in use: retry after a while.
   * Outside a batch the frame is sent at once; inside one (e.g. an echo loop) all frames queued
   * are sent together when the batch is released, or at flush().
   */
  send(data: Uint8Array, offset = 0, length: number = data?.length - offset): boolean {
    this.checkOpen();
    if (!(data instanceof Uint8Array)) throw new AfxdpError('EUSAGE', `send: data must be a Uint8Array (or Buffer), got ${describe(data)}`);
    const sock = this.sock;
    if (sock.tx === null) throw new AfxdpError('ESTATE', 'this socket has no TX ring', { hint: 'open it with { tx: true } to send' });
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 1 || offset + length > data.length) {
      throw new AfxdpError('EUSAGE', `send: offset ${String(offset)} / length ${String(length)} do not fit in ${data.length} bytes`);
    }
    if (length > sock.umem.frameSize) {
      throw new AfxdpError('EUSAGE', `send: ${length} bytes exceed the UMEM frame size ${sock.umem.frameSize}`, { hint: 'send at most one frame (no FCS) per call' });
    }
    if (sock.txFree(this.txQueued + 1) <= this.txQueued) {
      sock.reclaim();
      return false;
    }
    const addr = sock.txAlloc();
    if (addr < 0) return false;
    sock.umem.bytes.set(length === data.length && offset === 0 ? data : data.subarray(offset, offset + length), addr);
    sock.txPush(addr, length);
    this.txQueued++;
    this.sent++;
    if (this.batch.released) this.flush();
    return true;
  }

  /** Sends everything queued by send() now and reclaims completed frames. */
  flush(): void {
    this.checkOpen();
    const sock = this.sock;
    if (sock.tx === null) return;
    this.txQueued = 0;
    sock.txFlush();
    // copy mode transmits at most 32 frames per kick
    for (let i = 0; i < MAX_TX_KICKS && sock.tx.pending() > 0; i++) sock.txFlush();
    sock.reclaim();
  }

  // ------------------------------------------------------------------ numbers

  /** Counters of this socket: packets, metadata validity, kernel XDP_STATISTICS, program counters. */
  stats(): SocketStats {
    if (this.isClosed) {
      if (this.lastStats) return { ...this.lastStats, kernel: { ...this.lastStats.kernel } };
      throw new AfxdpError('ECLOSED', `socket on ${this.iface} queue ${this.queue} is closed`);
    }
    const s: SocketStats = {
      received: this.received,
      metaValid: this.metaValid,
      metaInvalid: this.metaInvalid,
      sent: this.sent,
      kernel: this.sock.statistics(),
      program: this.backend.programCounters(),
    };
    this.lastStats = s;
    return s;
  }

  /** XDP → user latency summary (ns) of everything received so far. */
  latency(): LatencySummary {
    return this.recorder.summary();
  }

  /** Starts a new measurement interval: forgets the latencies recorded so far. */
  resetLatency(): void {
    this.recorder.reset();
  }

  /** The afxdp.report/1 document (the same JSON as `afxdp latency --json`). */
  report(o: { sent?: number | null; durationS?: number } = {}): Report {
    const s = this.stats();
    return buildReport({
      iface: this.iface,
      queues: [this.queue],
      mode: this.mode,
      bind: this.bind,
      strategy: 'meta',
      clock: this.clock,
      poll: 'event',
      duration_s: o.durationS ?? Number(process.hrtime.bigint() - this.openedAt) / 1e9,
      counts: {
        sent: o.sent ?? null,
        received: s.received,
        meta_valid: s.metaValid,
        meta_invalid: s.metaInvalid,
        kernel: s.kernel, // buildReport copies exactly the contract's four counters
      },
      summaries: { xdp_to_user: this.recorder.summary() },
    });
  }

  // ------------------------------------------------------------------ close

  /** Detaches the program, closes the socket and frees the rings. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    try {
      this.stats();
    } catch {
      // the interface may be gone; the last counters stay
    }
    this.batch.releaseIfLive();
    this.offBatch();
    this.stopIterPoll();
    this.isClosed = true;
    this.wake?.();
    this.backend.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private checkOpen(): void {
    if (this.isClosed) throw new AfxdpError('ECLOSED', `socket on ${this.iface} queue ${this.queue} is closed`, { hint: 'open a new one with open()' });
  }
}

/** Opens an AF_XDP socket with an XDP program in front of it; see AfxdpSocket.open. */
export function open(opts: OpenOptions): AfxdpSocket {
  return AfxdpSocket.open(opts);
}

/** Socket + your own program, composed like LatencyProbe does for the default one. */
function customBackend(
  opts: OpenOptions,
  o: { queue: number; mode: XdpModeOption; bind: BindMode; ringSize: number; frameCount?: number; batchSize?: number; txRingSize: number; inOtherNetns: boolean },
): Backend {
  const ifindex = resolveIfindex(opts.iface, o.inOtherNetns);
  const count = rxQueueCount(opts.iface);
  if (count !== null && o.queue >= count) {
    throw new AfxdpError('ENOQUEUE', `${opts.iface} has ${count} RX queue${count === 1 ? '' : 's'}; queue ${o.queue} does not exist`, { hint: `use queue 0${count > 1 ? `..${count - 1}` : ''}` });
  }
  const owned = typeof opts.program === 'string';
  const prog = typeof opts.program === 'string' ? XdpProgram.load(opts.program) : opts.program!;
  const undo: Array<() => void> = [];
  if (owned) undo.push(() => prog.close());
  try {
    if (prog.xskMap === null) {
      throw new AfxdpError('EUSAGE', `${prog.path} has no XSKMAP (or several: name one with loadProgram(file, { xskMap }))`, {
        hint: 'a socket receives only what the program redirects into an XSKMAP; for a filter without a socket use program.attach()',
      });
    }
    const progFd = prog.programFd();
    const socket = XskSocket.create({
      ifindex,
      ifname: opts.iface,
      queue: o.queue,
      bind: o.bind,
      rxRingSize: o.ringSize,
      fillRingSize: o.ringSize,
      txRingSize: o.txRingSize,
      frameCount: o.frameCount ?? Math.max(4096, o.ringSize * 2),
      batchSize: o.batchSize,
    });
    undo.push(() => socket.close());
    prog.update(prog.xskMap, new Uint8Array(new Uint32Array([o.queue]).buffer), new Uint8Array(new Uint32Array([socket.fd]).buffer));
    const link: XdpAttachment = attachXdp(progFd, ifindex, opts.iface, o.mode);
    return {
      socket,
      mode: link.mode,
      programName: prog.name,
      programCounters: () => null,
      close: () => {
        link.detach();
        socket.close();
        if (owned) prog.close();
      },
    };
  } catch (e) {
    for (const u of undo.reverse()) u();
    throw e;
  }
}
