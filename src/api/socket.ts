/**
 * AfxdpSocket: the public face of "AF_XDP sockets on interface queues with an XDP program in
 * front of them". A thin face over the receive engine (rx/receiver.ts): the same setup path, the
 * same receive loop and decoding for every strategy, poll mode and queue count, and the same
 * consume API (take, release, wait, watch); this class adds the Batch/Packet views over it —
 * batches through `for await`, a callback or receive() — and send().
 */
import './dispose.js';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AfxdpError, unknownOption, respell, type Spelling } from '../errors.js';
import { LatencyReceiver, POLL_MODES, type HandlerStats, type ClockName, type MatchName, type PollMode, type StrategyName, type LoadedProgram } from '../rx/receiver.js';
import { LatencyRecorder, type LatencySummary } from '../measure/recorder.js';
import type { Report, RunEnvironment, TakenReport } from '../report/report.js';
import { receiverReport, takenBy } from '../report/receiver-report.js';
import { packageVersion, runEnvironment } from '../report/environment.js';
import { RunMonitor } from '../measure/monitor.js';
import type { XskSocket, BindModeOption, KernelStats } from '../xsk/socket.js';
import { MAX_TX_CHAIN, framesFor, queueCopy, flushTx } from '../xsk/tx.js';
import type { XdpMode, XdpModeOption } from '../xdp/program.js';
import type { ProgramCounters } from '../xdp/counters.js';
import { Batch } from './batch.js';
import { XdpProgram } from './program.js';
import { withNetnsFd, type NetnsOption } from './netns.js';
import { expectChoice, expectInt, expectObject, expectString, describe } from './validate.js';
import { checkOption, checkQueues } from '../rx/bounds.js';

export interface OpenOptions {
  /** interface name, e.g. 'eth0' */
  iface: string;
  /** RX queue; default 0 (give `queues` for several) */
  queue?: number;
  /** several RX queues, or 'all' (every RX queue the driver reports); one AF_XDP socket each */
  queues?: readonly number[] | 'all';
  /** 'event' (default: Node's own loop wakes the receive; the callback runs on the main thread), 'worker' (a worker thread per queue blocks in poll(2) and hands batches over; receive only) or 'busy' (a worker thread spins per queue; lowest latency, a core per queue, receive only) */
  poll?: PollMode;
  /** how the XDP stamp reaches user space: 'auto' (default: metadata, per-packet fallback to prepend, then map), 'meta', 'prepend', 'map' */
  strategy?: StrategyName;
  /** diagnostic: the default program behaves as on a driver without metadata support */
  simulateNoMeta?: boolean;
  /** hardware hints (RX hash, VLAN, RX timestamp; native mode): 'auto' (default), true (required), false */
  hints?: boolean | 'auto';
  /** XDP attach mode; default 'auto' (native, else generic) */
  mode?: XdpModeOption;
  /** AF_XDP bind; default 'auto' (zero-copy, else copy) */
  bind?: BindModeOption;
  /** clock of the XDP stamp and of the user-side time; default 'monotonic' */
  clock?: ClockName;
  /** default program only: which frames go to the socket: 'udp' (default; the rest reaches the kernel), 'afxdp' (only afxdp's test frames) or 'all' */
  match?: MatchName;
  /** default program only, with match 'udp' or 'afxdp': only this destination port (0 = any, the default) */
  udpPort?: number;
  /** your own XDP program instead of the default stamping one: a loaded XdpProgram (you close it) or a .o path (the socket owns it) */
  program?: XdpProgram | string;
  /** network namespace of the interface: /proc/PID/ns/net, /run/netns/NAME, or an open fd */
  netns?: NetnsOption;
  /** RX and fill ring entries (power of two); default 2048 */
  ringSize?: number;
  /** TX ring so send() works (sent from the first queue's socket; in the worker modes by its worker): true = 2048 entries, or a power of two; default false (receive only) */
  tx?: boolean | number;
  /** UMEM frames per socket; default max(4096, 2 × ringSize) */
  frameCount?: number;
  /** bytes per UMEM frame, 2048 or 4096; default 4096 */
  frameSize?: number;
  /**
   * multi-buffer packets (XDP_USE_SG, kernel ≥ 6.6): packets larger than a UMEM frame are received
   * whole (Packet.segmentCount > 1) and send() takes them. 'auto' (default): when the interface's
   * MTU needs it; true; false
   */
  sg?: boolean | 'auto';
  /** at most this many packets per batch; default 64 */
  batchSize?: number;
  /** path of a broker's socket (`afxdp serve`, docs/BROKER.md): the broker attaches and makes the sockets, this process needs no capability; the interface is in the broker's namespace (not with `program` or `netns`) */
  broker?: string;
  /**
   * user code in the receiving thread: a `URL` or an absolute path of an ES module whose default
   * export `(batch, ctx) => void` runs in each queue's receive worker for every batch, over the
   * UMEM (no copy), before the frames are recycled; `ctx.forward(i)` transmits a packet in place,
   * `ctx.send(bytes)` a new frame (docs/API.md#handlers). Poll mode 'worker' (the default with a
   * handler) or 'busy'. The socket's own receive(), onBatch() and `for await` are then not used.
   */
  handler?: URL | string;
}

const OPEN_OPTIONS = ['iface', 'queue', 'queues', 'poll', 'strategy', 'simulateNoMeta', 'hints', 'mode', 'bind', 'clock', 'match', 'udpPort', 'program', 'netns', 'ringSize', 'tx', 'frameCount', 'frameSize', 'sg', 'batchSize', 'broker', 'handler'];

/** runLatency()/LatencyReceiver's names for open()'s options: "did you mean" points across */
const RECEIVER_SPELLING = { ifname: 'iface', netnsFd: 'netns', txRingSize: 'tx' };

/** the CLI's flags as open() spells them: the lower layers' hints read in this face's names */
const OPEN_SPELLING: Spelling = {
  '--iface': 'iface', '--queue': 'queue', '--queues': 'queues', '--poll': 'poll', '--hints': 'hints', '--no-hints': 'hints: false', '--mode': 'mode', '--bind': 'bind',
  '--frame-size': 'frameSize', '--frames': 'frameCount', '--match': 'match', '--all': "match: 'all'", '--program': 'program', '--ring-size': 'ringSize', '--batch-size': 'batchSize', '--broker': 'broker',
};

export interface SocketStats {
  /** packets received through this API */
  received: number;
  /** of those, with a usable XDP timestamp */
  metaValid: number;
  metaInvalid: number;
  /** valid stamps by the strategy that carried them */
  byStrategy: { meta: number; prepend: number; map: number };
  /** frames accepted by send(), and with a handler the new frames its ctx.send() sent */
  sent: number;
  /** handler mode: packets the handlers forwarded in place (ctx.forward); 0 without a handler */
  forwarded: number;
  /** handler mode: handled (= received), forwarded, sent, dropped (not forwarded) and the handlers' own counters; null without a handler */
  handler: HandlerStats | null;
  /** XDP_STATISTICS of the socket */
  kernel: KernelStats;
  /** the default program's counters, summed over the queues; null with your own program */
  program: ProgramCounters | null;
}

export interface LatencyOptions {
  /** 'open' (default): everything received since open(); 'reset': since the last resetLatency() */
  since?: 'open' | 'reset';
}

export interface ReportOptions {
  /** packets your code sent to the socket (packets.sent); default null: not known */
  sent?: number | null;
  /** the run's length in seconds; default: since open() (until close() once closed) */
  durationS?: number;
}

export interface BatchesOptions {
  /** ends the iteration (cleanly, like a `break`) when aborted */
  signal?: AbortSignal;
}

/** The events an AfxdpSocket emits. */
export interface AfxdpSocketEvents {
  /** receiving ended: ENOIFACE (interface gone), EBROKER (broker gone), ESTATE (a receive worker died), EHANDLER (a handler threw) */
  error: [err: AfxdpError];
}

// satisfies BatchOwner structurally (not `implements`: BatchOwner is internal and would show in the public type)
/**
 * An EventEmitter: `'error'` is emitted once when receiving ends on its own (see `error`). As
 * with any Node emitter, an `'error'` nobody listens to is thrown (an uncaught exception), unless
 * a `for await` loop (which then rejects) or an onBatch() error callback received it.
 */
export class AfxdpSocket extends EventEmitter<AfxdpSocketEvents> {
  readonly iface: string;
  /** the first (or only) queue */
  readonly queue: number;
  readonly queues: readonly number[];
  readonly poll: PollMode;
  readonly clock: ClockName;
  private readonly rx: LatencyReceiver;
  /** the TX socket (the first queue's, event mode) or null */
  private readonly sock: XskSocket | null;
  private readonly batch: Batch;
  private readonly openedAt = process.hrtime.bigint();
  private closedAt: bigint | null = null;
  private sent = 0;
  private txQueued = 0;
  /** the frames of the packet send() is queueing */
  private readonly txChain = new Uint32Array(MAX_TX_CHAIN);
  private readonly txLens = new Uint32Array(MAX_TX_CHAIN);
  private isClosed = false;
  private consumer: 'iterator' | 'callback' | null = null;
  /** a batch iterator rejected with the error that ended receiving (so 'error' is not thrown unheard) */
  private errorToIterator = false;
  private lastStats: SocketStats | null = null;
  /** the handler module (URL) receiving the packets, or null */
  readonly handlerModule: string | null;

  /** onBatch()'s error callback while the callback consumes */
  private batchOnError: ((err: unknown) => void) | null = null;
  /** report()'s timeline and histograms: a row per second from open() (a timer, nothing per packet) */
  private readonly monitor: RunMonitor;
  private readonly env: RunEnvironment;
  private readonly taken: TakenReport;

  private constructor(rx: LatencyReceiver, handler: string | undefined, env: RunEnvironment, taken: TakenReport) {
    super();
    this.rx = rx;
    this.env = env;
    this.taken = taken;
    this.monitor = new RunMonitor(rx.perQueue);
    this.iface = rx.ifname;
    this.queue = rx.queues[0]!;
    this.queues = rx.queues;
    this.poll = rx.poll;
    this.clock = rx.clock;
    this.sock = rx.poll === 'event' && rx.socketOf(0).tx !== null ? rx.socketOf(0) : null;
    this.batch = new Batch(this);
    this.handlerModule = handler ?? null;
    // the receiver's one failure path (interface or broker gone, worker died, handler threw) lands here
    rx.onError = (e) => process.nextTick(() => this.raise(e));
    rx.watchAlive();
    this.monitor.start();
  }

  /**
   * Tells whoever consumes the socket that receiving ended: a waiting `for await` rejects, the
   * onBatch() error callback is called, `'error'` is emitted to its listeners (and, as Node does,
   * thrown when nobody received it at all).
   */
  private raise(e: AfxdpError): void {
    if (this.isClosed) return;
    // the receiver woke a waiting iterator already: it rejects (or did) with this error
    const iterating = this.consumer === 'iterator' || this.errorToIterator;
    const cb = this.consumer === 'callback' ? this.batchOnError : null;
    if (cb !== null) cb(e);
    if (this.listenerCount('error') > 0 || (!iterating && cb === null)) this.emit('error', e);
  }

  /** Opens AF_XDP sockets on `iface` (queue 0, or `queues`) with the XDP program in front of them. */
  static open(opts: OpenOptions): AfxdpSocket {
    try {
      return AfxdpSocket.openAs(opts);
    } catch (e) {
      throw respell(e, OPEN_SPELLING);
    }
  }

  private static openAs(opts: OpenOptions): AfxdpSocket {
    expectObject('open: options', opts);
    for (const k of Object.keys(opts)) {
      if (!OPEN_OPTIONS.includes(k)) throw unknownOption('open', k, OPEN_OPTIONS, RECEIVER_SPELLING);
    }
    expectString('open: options.iface', opts.iface);
    if (opts.broker !== undefined) expectString('open: options.broker', opts.broker);
    if (opts.queue !== undefined && opts.queues !== undefined) throw new AfxdpError('EUSAGE', 'open: give options.queue or options.queues, not both');
    const queue = opts.queue === undefined ? 0 : (checkOption('queue', opts.queue, { label: 'open: options.queue' }) as number);
    let queues: readonly number[] | 'all' = [queue];
    if (opts.queues === 'all') queues = 'all';
    else if (opts.queues !== undefined) {
      if (!Array.isArray(opts.queues) || opts.queues.length === 0) throw new AfxdpError('EUSAGE', `open: options.queues must be 'all' or a non-empty array of queue ids, got ${describe(opts.queues)}`);
      queues = checkQueues(opts.queues, 'open: options.queues');
    }
    const handler = opts.handler === undefined ? undefined : handlerUrl(opts.handler);
    const poll = expectChoice('open: options.poll', opts.poll, POLL_MODES) ?? (handler === undefined ? 'event' : 'worker');
    const strategy = expectChoice('open: options.strategy', opts.strategy, ['auto', 'meta', 'prepend', 'map'] as const) ?? 'auto';
    const mode = expectChoice('open: options.mode', opts.mode, ['auto', 'native', 'generic'] as const) ?? 'auto';
    const bind = expectChoice('open: options.bind', opts.bind, ['auto', 'copy', 'zerocopy'] as const) ?? 'auto';
    const clock = expectChoice('open: options.clock', opts.clock, ['monotonic', 'tai'] as const) ?? 'monotonic';
    const match = expectChoice('open: options.match', opts.match, ['udp', 'all', 'afxdp'] as const) ?? 'udp';
    const udpPort = opts.udpPort === undefined ? 0 : expectInt('open: options.udpPort', opts.udpPort, 0, 65535);
    const ringSize = opts.ringSize === undefined ? 2048 : (checkOption('ringSize', opts.ringSize, { label: 'open: options.ringSize' }) as number);
    const frameCount = opts.frameCount === undefined ? undefined : (checkOption('frameCount', opts.frameCount, { label: 'open: options.frameCount' }) as number);
    const batchSize = opts.batchSize === undefined ? undefined : expectInt('open: options.batchSize', opts.batchSize, 1, 4096);
    if (opts.frameSize !== undefined && opts.frameSize !== 2048 && opts.frameSize !== 4096) throw new AfxdpError('EUSAGE', `open: options.frameSize must be 2048 or 4096, got ${describe(opts.frameSize)}`);
    if (opts.sg !== undefined && opts.sg !== 'auto' && typeof opts.sg !== 'boolean') throw new AfxdpError('EUSAGE', `open: options.sg must be true, false or 'auto', got ${describe(opts.sg)}`);
    if (opts.simulateNoMeta !== undefined && typeof opts.simulateNoMeta !== 'boolean') throw new AfxdpError('EUSAGE', `open: options.simulateNoMeta must be a boolean, got ${describe(opts.simulateNoMeta)}`);
    if (opts.hints !== undefined && opts.hints !== 'auto' && typeof opts.hints !== 'boolean') throw new AfxdpError('EUSAGE', `open: options.hints must be true, false or 'auto', got ${describe(opts.hints)}`);
    let txRingSize = 0;
    if (opts.tx === true) txRingSize = 2048;
    else if (typeof opts.tx === 'number') txRingSize = checkOption('txRingSize', opts.tx, { label: 'open: options.tx' }) as number;
    else if (opts.tx !== undefined && opts.tx !== false) throw new AfxdpError('EUSAGE', `open: options.tx must be a boolean or a ring size, got ${describe(opts.tx)}`);
    let program: string | LoadedProgram | undefined;
    if (opts.program instanceof XdpProgram) {
      const prog = opts.program;
      if (prog.xskMap === null) {
        throw new AfxdpError('EUSAGE', `${prog.path} has no XSKMAP (or several: name one with loadProgram(file, { xskMap }))`, {
          hint: 'a socket receives only what the program redirects into an XSKMAP; for a filter without a socket use program.attach()',
        });
      }
      program = { name: prog.name, path: prog.path, programFd: () => prog.programFd(), xskmapFd: () => prog.mapFd(prog.xskMap!) };
    } else if (typeof opts.program === 'string') {
      program = opts.program;
    } else if (opts.program !== undefined) {
      throw new AfxdpError('EUSAGE', `open: options.program must be an XdpProgram (from loadProgram) or a path, got ${describe(opts.program)}`);
    }
    return withNetnsFd(opts.netns, (netnsFd) => {
      const rx = LatencyReceiver.open({
        ifname: opts.iface,
        netnsFd,
        queues,
        poll,
        strategy,
        simulateNoMeta: opts.simulateNoMeta,
        hints: opts.hints,
        mode,
        bind,
        clock,
        match,
        udpPort,
        program,
        ringSize,
        frameCount,
        frameSize: opts.frameSize,
        sg: opts.sg,
        batchSize,
        txRingSize,
        broker: opts.broker,
        // the consumer is this class: in the worker modes the workers hand their batches over (a handler keeps them)
        deliver: poll !== 'event' && handler === undefined,
        handler: handler === undefined ? undefined : { host: HANDLER_HOST, module: handler },
      });
      try {
        return new AfxdpSocket(rx, handler, runEnvironment(packageVersion(), rx.ifname, opts.broker === undefined ? netnsFd : undefined), takenBy({ match, udpPort, program }));
      } catch (e) {
        rx.close();
        throw e;
      }
    });
  }

  /** XDP attach mode that took effect */
  get mode(): XdpMode {
    return this.rx.mode;
  }

  /** AF_XDP bind mode that took effect */
  get bind(): 'copy' | 'zerocopy' {
    return this.rx.bindMode;
  }

  /** the strategy asked for ('auto' falls back per packet; each Packet says which one carried it) */
  get strategy(): StrategyName {
    return this.rx.strategy;
  }

  /** name of the XDP program in front of the socket */
  get programName(): string {
    return this.rx.programName;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  // ------------------------------------------------------------------ receive

  /**
   * Takes the packets ready now (at most batchSize, from one queue; the queues take turns)
   * without waiting: the socket's one Batch object, or null when nothing is ready. Release the
   * batch before the next receive().
   */
  receive(): Batch | null {
    this.checkOpen();
    this.checkNoHandler();
    const b = this.batch;
    if (!b.released) {
      throw new AfxdpError('ESTATE', 'the previous batch is not released yet', { hint: 'call batch.release() before receiving again' });
    }
    const cols = this.rx.take();
    if (cols === null) return null;
    b.begin(cols);
    return b;
  }

  /** @internal Batch.release() lands here */
  releaseBatch(_batch: Batch): void {
    if (this.isClosed) return;
    this.rx.release();
    if (this.txQueued > 0) this.flush();
  }

  /**
   * Async iteration over batches, waiting (the receiver's onceReady(): uv_poll or the workers'
   * channels, no spinning on the main thread) when nothing is ready. Each batch is released when
   * the loop moves on (or on break / return / throw / abort / close). An async generator's
   * protocol, hand-written (BatchIterator) so a wake-up costs one Promise, not a generator's.
   */
  batches(opts: BatchesOptions = {}): AsyncGenerator<Batch, void, undefined> {
    return new BatchIterator(this, opts);
  }

  /**
   * @internal BatchIterator's start (on its first next(), as an async generator's body would):
   * checks, claims the socket for the iterator; returns the abort signal.
   */
  iterStart(opts: BatchesOptions): AbortSignal | undefined {
    expectObject('batches: options', opts);
    this.checkOpen();
    this.claim('iterator');
    return opts.signal;
  }

  /**
   * @internal One step of BatchIterator: ITER_BATCH (this.batch is out), ITER_DONE (closed or
   * aborted) or ITER_WAIT (nothing ready). Throws the error that ended receiving.
   */
  iterStep(signal: AbortSignal | undefined): number {
    if (this.isClosed || signal?.aborted) return ITER_DONE;
    // receiving ended (interface or broker gone, worker died): the loop rejects with why
    if (this.rx.error !== null) {
      this.errorToIterator = true;
      throw this.rx.error;
    }
    return this.receive() !== null ? ITER_BATCH : ITER_WAIT;
  }

  /** @internal BatchIterator waits: `cb` once a batch may be ready or receiving ended */
  iterWait(cb: () => void): void {
    this.rx.onceReady(cb);
  }

  /** @internal BatchIterator ends a wait early (abort, return) */
  iterCancel(): void {
    this.rx.cancelWait();
  }

  /** @internal BatchIterator finished: its batch (if out) goes back, the socket is free for another consumer */
  iterEnd(batchOut: boolean): void {
    if (batchOut) this.batch.releaseIfLive();
    this.consumer = null;
  }

  /** @internal the socket's one Batch object */
  get iterBatch(): Batch {
    return this.batch;
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this.batches();
  }

  /**
   * Callback form: cb(batch) runs for every batch as packets arrive, on the main thread. The batch
   * is released when cb returns; keep nothing of it. If cb throws, the batch is released and the
   * error propagates (an uncaught exception, like an 'error' event without a listener), unless
   * onError is given. Stop with offBatch() or close().
   */
  onBatch(cb: (batch: Batch) => void, onError?: (err: unknown) => void): void {
    this.checkOpen();
    if (typeof cb !== 'function') throw new AfxdpError('EUSAGE', `onBatch: the callback must be a function, got ${describe(cb)}`);
    if (onError !== undefined && typeof onError !== 'function') throw new AfxdpError('EUSAGE', `onBatch: onError must be a function, got ${describe(onError)}`);
    this.claim('callback');
    this.batchOnError = onError ?? null;
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
    this.rx.watch(dispatch);
  }

  /** Stops the onBatch() callback. */
  offBatch(): void {
    if (this.consumer !== 'callback') return;
    this.rx.unwatch();
    this.consumer = null;
    this.batchOnError = null;
  }

  private claim(kind: 'iterator' | 'callback'): void {
    this.checkNoHandler();
    if (this.consumer !== null) {
      throw new AfxdpError('ESTATE', `this socket already has a ${this.consumer === 'iterator' ? 'batch iterator' : 'onBatch() callback'}`, {
        hint: 'use one way of receiving at a time (end the loop or call offBatch() first)',
      });
    }
    this.consumer = kind;
  }

  // ------------------------------------------------------------------ send

  private txSocket(): XskSocket {
    if (this.sock === null) throw new AfxdpError('ESTATE', 'this socket has no TX ring', { hint: 'open it with { tx: true } to send' });
    return this.sock;
  }

  /**
   * Copies `length` bytes of `data` from `offset` into a TX frame and queues it (on the first
   * queue's socket). Returns false (and queues nothing) when the TX ring or the frames are all in
   * use: retry after a while. Outside a batch the frame is sent at once; inside one (e.g. an echo
   * loop) all frames queued are sent together when the batch is released, or at flush(). A packet
   * larger than a UMEM frame needs a multi-buffer socket (`sg`): it goes out as one chain of frames.
   */
  send(data: Uint8Array, offset = 0, length: number = data?.length - offset): boolean {
    this.checkOpen();
    if (!(data instanceof Uint8Array)) throw new AfxdpError('EUSAGE', `send: data must be a Uint8Array (or Buffer), got ${describe(data)}`);
    if (this.poll !== 'event') return this.post(data, offset, length);
    const sock = this.txSocket();
    checkRange(data, offset, length);
    const k = framesFor(sock, length, 'send');
    if (queueCopy(sock, data, offset, length, k, this.txChain, this.txLens) === 0) return false;
    this.txQueued += k;
    this.sent++;
    if (this.batch.released) this.flush();
    return true;
  }

  /**
   * send() in the worker modes: the worker that owns the first queue's socket sends it in its
   * next turn (it is woken if asleep); the frame is copied into shared memory here.
   */
  private post(data: Uint8Array, offset: number, length: number): boolean {
    const room = this.rx.postRoom;
    if (room === 0) throw new AfxdpError('ESTATE', 'this socket has no TX ring', { hint: 'open it with { tx: true } to send' });
    checkRange(data, offset, length);
    if (length > room) {
      throw new AfxdpError('EUSAGE', `send: ${length} bytes exceed the ${room} bytes a frame of this socket takes`, { hint: this.rx.sg ? 'send at most an MTU-sized frame' : 'open it with { sg: true } (kernel ≥ 6.6) for larger frames, or send at most one UMEM frame' });
    }
    if (!this.rx.post(data, offset, length)) return false;
    this.sent++;
    return true;
  }

  /** Sends everything queued by send() now and reclaims completed frames (worker modes: the worker sends on its own). */
  flush(): void {
    this.checkOpen();
    const sock = this.sock;
    if (sock === null || sock.tx === null) return;
    this.txQueued = 0;
    flushTx(sock);
    sock.reclaim();
  }

  // ------------------------------------------------------------------ numbers

  /** Counters over all queues: packets, metadata validity, per strategy, kernel XDP_STATISTICS, program counters. */
  stats(): SocketStats {
    if (this.isClosed) {
      if (this.lastStats) return { ...this.lastStats, kernel: { ...this.lastStats.kernel } };
      throw new AfxdpError('ECLOSED', `socket on ${this.iface} queue ${this.queue} is closed`);
    }
    const r = this.rx.stats();
    const s: SocketStats = {
      received: r.received,
      metaValid: r.metaValid,
      metaInvalid: r.metaInvalid,
      byStrategy: r.byStrategy,
      sent: this.sent + (r.handler?.sent ?? 0),
      forwarded: r.handler?.forwarded ?? 0,
      handler: r.handler,
      kernel: r.kernel,
      program: this.rx.programHasCounters ? r.program : null,
    };
    this.lastStats = s;
    return s;
  }

  /**
   * XDP → user latency summary (ns) over all queues: of everything received since open() (the
   * default, what report() covers), or with `{ since: 'reset' }` since the last resetLatency()
   * (since open() before the first).
   */
  latency(o: LatencyOptions = {}): LatencySummary {
    expectObject('latency: options', o);
    for (const k of Object.keys(o)) if (k !== 'since') throw unknownOption('latency', k, ['since']);
    const since = expectChoice('latency: options.since', o.since, ['open', 'reset'] as const) ?? 'open';
    return LatencyRecorder.summaryOf(this.rx.perQueue.map((q) => q.xdpToUser), since === 'open' ? 'all' : 'mark');
  }

  /**
   * Starts a new measurement interval: `latency({ since: 'reset' })` then covers what arrives
   * from now on. Forgets nothing: latency() and report() keep the whole run.
   */
  resetLatency(): void {
    for (const q of this.rx.perQueue) q.xdpToUser.mark();
  }

  /**
   * The afxdp.report/1 document, built as `afxdp latency --json` builds it: per_queue, env,
   * taken, the timeline (a row per second since open(); the rows of a socket still open end at
   * the last full second, close() adds the last part) and the histograms renderRunHtml() plots.
   */
  report(o: ReportOptions = {}): Report {
    expectObject('report: options', o);
    for (const k of Object.keys(o)) if (k !== 'sent' && k !== 'durationS') throw unknownOption('report', k, ['sent', 'durationS']);
    const sent = o.sent === undefined || o.sent === null ? null : expectInt('report: options.sent', o.sent, 0, Number.MAX_SAFE_INTEGER);
    if (o.durationS !== undefined && (typeof o.durationS !== 'number' || !Number.isFinite(o.durationS) || o.durationS < 0)) {
      throw new AfxdpError('EUSAGE', `report: options.durationS must be a number of seconds ≥ 0, got ${describe(o.durationS)}`);
    }
    this.stats();
    const durationS = o.durationS ?? Number((this.closedAt ?? process.hrtime.bigint()) - this.openedAt) / 1e9;
    return receiverReport(this.rx, { sent, durationS, env: this.env, monitor: this.monitor, taken: this.taken });
  }

  // ------------------------------------------------------------------ close

  /** Detaches the program, stops the workers, closes the sockets and frees the rings. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    try {
      this.stats();
    } catch {
      // the interface may be gone; the last counters stay
    }
    this.batch.releaseIfLive();
    this.offBatch();
    this.isClosed = true;
    this.closedAt = process.hrtime.bigint();
    this.rx.close(); // a waiting iterator returns and finds the socket closed
    // the last (partial) timeline row, with the final counts
    this.monitor.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The error that ended receiving (ENOIFACE: the interface is gone; EBROKER: the broker went
   * away; ESTATE: a receive worker died; EHANDLER: a handler threw or could not load), or null.
   * The counts up to then stay readable. Noticed within ALIVE_CHECK_MS (200 ms) at most.
   */
  get error(): AfxdpError | null {
    return this.rx.error;
  }

  /**
   * Calls cb once with the error that ends receiving (see `error`): `once('error', cb)`, also
   * when the error happened before (then cb runs on the next microtask).
   */
  onError(cb: (err: AfxdpError) => void): void {
    if (typeof cb !== 'function') throw new AfxdpError('EUSAGE', `onError: the callback must be a function, got ${describe(cb)}`);
    if (this.rx.error !== null) {
      const e = this.rx.error;
      queueMicrotask(() => cb(e));
      return;
    }
    this.once('error', cb);
  }

  private checkNoHandler(): void {
    if (this.handlerModule !== null) {
      throw new AfxdpError('ESTATE', `this socket's packets go to its handler ${this.handlerModule}`, { hint: 'with a handler, read stats() and latency() on the main thread; receive in the handler' });
    }
  }

  private checkOpen(): void {
    if (this.isClosed) throw new AfxdpError('ECLOSED', `socket on ${this.iface} queue ${this.queue} is closed`, { hint: 'open a new one with open()' });
  }
}

function checkRange(data: Uint8Array, offset: number, length: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 1 || offset + length > data.length) {
    throw new AfxdpError('EUSAGE', `send: offset ${String(offset)} / length ${String(length)} do not fit in ${data.length} bytes`);
  }
}

/** the module that runs a handler in a receive worker (rx/handler.ts) */
const HANDLER_HOST = new URL('./handler-host.js', import.meta.url).href;

/** open()'s `handler` as a file: URL, checked to exist (a missing module is one line here, not a worker's failure). */
function handlerUrl(h: unknown): string {
  let url: URL;
  if (h instanceof URL) url = h;
  else if (typeof h === 'string' && path.isAbsolute(h)) url = pathToFileURL(h);
  else if (typeof h === 'string' && h.startsWith('file:')) url = new URL(h);
  else throw new AfxdpError('EUSAGE', `open: options.handler must be a URL or an absolute path of an ES module, got ${describe(h)}`, { hint: "e.g. new URL('./handler.mjs', import.meta.url)" });
  if (url.protocol !== 'file:') throw new AfxdpError('EUSAGE', `open: handler module ${url.href} is not a file: URL`, { hint: 'handlers are loaded from local files' });
  const file = fileURLToPath(url);
  if (!existsSync(file)) throw new AfxdpError('EUSAGE', `open: handler module ${file} does not exist`, { hint: 'give the absolute path (or a file: URL) of an ES module' });
  return url.href;
}

/** Opens AF_XDP sockets with an XDP program in front of them; see AfxdpSocket.open. */
export function open(opts: OpenOptions): AfxdpSocket {
  return AfxdpSocket.open(opts);
}

const ITER_BATCH = 0;
const ITER_DONE = 1;
const ITER_WAIT = 2;

/**
 * What `for await (const b of sock)` runs: an async generator's protocol (next/return/throw; one
 * next() at a time, later ones queue; finished after a throw, return or the end) without a
 * generator. When a batch is ready next() returns the one resolved Promise of the one result
 * object ({ value: the socket's Batch, done: false }) and allocates nothing; when not, one
 * Promise that the receiver's onceReady() callback (a method bound once) settles.
 */
class BatchIterator implements AsyncGenerator<Batch, void, undefined> {
  /** 0: not started, 1: running, 2: finished */
  private state = 0;
  /** a batch this iterator handed out is still out (released by the next step or the end) */
  private out = false;
  private signal: AbortSignal | undefined = undefined;
  private readonly readyResult: IteratorResult<Batch, void>;
  private readonly ready: Promise<IteratorResult<Batch, void>>;
  private readonly doneResult: IteratorResult<Batch, void> = { value: undefined, done: true };
  /** the pending next(): its promise and how to settle it */
  private pending: Promise<IteratorResult<Batch, void>> | null = null;
  private resolvePending: ((r: IteratorResult<Batch, void>) => void) | null = null;
  private rejectPending: ((e: unknown) => void) | null = null;
  private readonly onReady = (): void => this.woken();
  private readonly onAbort = (): void => this.sock.iterCancel();

  constructor(
    private readonly sock: AfxdpSocket,
    private readonly opts: BatchesOptions,
  ) {
    this.readyResult = { value: sock.iterBatch, done: false };
    this.ready = Promise.resolve(this.readyResult);
  }

  next(): Promise<IteratorResult<Batch, void>> {
    if (this.pending !== null) {
      const again = (): Promise<IteratorResult<Batch, void>> => this.next();
      return this.pending.then(again, again); // queued behind the pending one, as an async generator queues
    }
    let r: number;
    try {
      r = this.step();
    } catch (e) {
      return Promise.reject(e);
    }
    if (r === ITER_BATCH) return this.ready;
    if (r === ITER_DONE) return Promise.resolve(this.doneResult);
    const p = new Promise<IteratorResult<Batch, void>>((resolve, reject) => {
      this.resolvePending = resolve;
      this.rejectPending = reject;
    });
    this.pending = p;
    this.sock.iterWait(this.onReady);
    return p;
  }

  return(): Promise<IteratorResult<Batch, void>> {
    this.finish();
    return Promise.resolve(this.doneResult);
  }

  throw(e: unknown): Promise<IteratorResult<Batch, void>> {
    this.finish();
    return Promise.reject(e);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this;
  }

  /** the generator's loop body: release the last batch, then a batch, the end, or a wait; throws on error (finished then) */
  private step(): number {
    if (this.state === 2) return ITER_DONE;
    try {
      if (this.state === 0) {
        this.signal = this.sock.iterStart(this.opts);
        this.state = 1;
        this.signal?.addEventListener('abort', this.onAbort, { once: true });
      }
      if (this.out) {
        this.out = false;
        this.sock.iterBatch.releaseIfLive();
      }
      const r = this.sock.iterStep(this.signal);
      if (r === ITER_BATCH) this.out = true;
      else if (r === ITER_DONE) this.finish();
      return r;
    } catch (e) {
      this.finish();
      throw e;
    }
  }

  /** the receiver's onceReady() callback (also after an abort, a return or the end of receiving) */
  private woken(): void {
    const resolve = this.resolvePending;
    const reject = this.rejectPending;
    if (resolve === null || reject === null) return; // a worker-mode wait that outlived its next()
    let r: number;
    try {
      r = this.step();
    } catch (e) {
      this.settle();
      reject(e);
      return;
    }
    if (r === ITER_WAIT) {
      this.sock.iterWait(this.onReady);
      return;
    }
    this.settle();
    resolve(r === ITER_BATCH ? this.readyResult : this.doneResult);
  }

  private settle(): void {
    this.pending = null;
    this.resolvePending = null;
    this.rejectPending = null;
  }

  /** the end: the batch out goes back, the socket is free, a pending next() ends with done */
  private finish(): void {
    if (this.state === 2) return;
    const started = this.state === 1;
    this.state = 2;
    this.signal?.removeEventListener('abort', this.onAbort);
    if (started) this.sock.iterEnd(this.out);
    this.out = false;
    if (this.resolvePending !== null) this.sock.iterCancel(); // woken() finds it finished: done
  }
}

// what every async iterator inherits (Symbol.asyncDispose where the platform has it: `await using`)
Object.setPrototypeOf(BatchIterator.prototype, Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype) as object);
