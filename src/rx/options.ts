/**
 * The receiver's options: what each one means, their defaults, and the checks that turn a wrong
 * value, an unknown option name, a missing interface or queue into one clear error before
 * anything is created.
 */
import { native } from '../native.js';
import { cpuCount } from '../sys/thread.js';
import { AfxdpError, unknownOption } from '../errors.js';
import type { BindModeOption, XskSocket } from '../xsk/socket.js';
import type { XdpModeOption } from '../xdp/program.js';
import type { StrategyName } from '../xdp/meta.js';
import type { HandlerSpec } from './handler.js';
import { OPTION_SPECS, MAX_QUEUES, checkOption, checkQueues, defaultFrameCount, type BoundedOption } from './bounds.js';

export type { StrategyName };
/** the clock of the XDP stamp and of user-side time */
export type ClockName = 'monotonic' | 'tai';
export const CLOCK_NAMES: readonly ClockName[] = ['monotonic', 'tai'];
/** which frames the program takes: IPv4/IPv6 UDP, every frame, or only afxdp's test frames (UDP whose payload starts with its marker) */
export type MatchName = 'udp' | 'all' | 'afxdp';
export const MATCH_NAMES: readonly MatchName[] = ['afxdp', 'udp', 'all'];

/** What a run takes off the queue, in words (the live view, the CLI's note, the report's `taken.text`). */
export function describeMatch(o: Pick<ReceiverOptions, 'match' | 'udpPort' | 'program'>): string {
  if (o.program !== undefined) return 'what your program redirects';
  const port = o.udpPort ?? 0;
  const to = port === 0 ? 'to any port' : `to port ${port}`;
  switch (o.match ?? 'udp') {
    case 'all':
      return 'every frame';
    case 'afxdp':
      return `afxdp test frames (UDP ${to} with its payload marker)`;
    default:
      return `every UDP datagram ${to}`;
  }
}
/**
 * How each queue is received (docs/BENCHMARKS.md has the cost of each):
 *  - 'event': on the main thread; Node's loop (uv_poll) wakes a drain. Callbacks run on the main thread.
 *  - 'worker': a worker thread per queue sleeps in poll(2) and drains as soon as the kernel wakes it
 *    (the C poll loop's shape, without a libuv turn per wake-up); idle costs nothing.
 *  - 'busy': a worker thread per queue spins on its ring: the lowest latency, a core per queue.
 */
export type PollMode = 'event' | 'worker' | 'busy';
/** the scheduling policy of a run (ReceiverOptions.sched) */
export type SchedChoice = 'receiver-first' | 'off';
export const SCHED_CHOICES: readonly SchedChoice[] = ['receiver-first', 'off'];
export const POLL_MODES: readonly PollMode[] = ['event', 'worker', 'busy'];
/** Whether a poll mode receives in worker threads (the numbers then live in shared memory). */
export function inWorkers(p: PollMode): boolean {
  return p !== 'event';
}

/** An XDP program loaded elsewhere (the public API's XdpProgram): the receiver only uses it. */
export interface LoadedProgram {
  name: string;
  path: string;
  programFd(): number;
  /** fd of the XSKMAP to register the sockets in */
  xskmapFd(): number;
}

export interface ReceiverOptions {
  ifname: string;
  /** queue ids, or 'all' (every RX queue ethtool reports); default [0] */
  queues?: readonly number[] | 'all';
  /** 'event' (default: the main thread, woken by uv_poll), 'worker' (a worker per queue blocks in poll(2)) or 'busy' (a worker per queue spins) */
  poll?: PollMode;
  /** default 'auto' (native, else generic) */
  mode?: XdpModeOption;
  /** default 'auto' (zero-copy, else copy) */
  bind?: BindModeOption;
  /** fd of the network namespace the interface lives in (default: the current one) */
  netnsFd?: number;
  /** clock of the XDP stamp and of the user-side time; default 'monotonic' */
  clock?: ClockName;
  /**
   * which frames go to the sockets: 'udp' (default: IPv4/IPv6 UDP, the rest reaches the stack),
   * 'afxdp' (only UDP whose payload starts with afxdp's marker, as the generator sends it) or 'all'
   */
  match?: MatchName;
  /** with match 'udp' or 'afxdp': only this destination port (0 = any; default 0) */
  udpPort?: number;
  /**
   * Measure sender → XDP from the TX time the afxdp generator writes into each payload: the run
   * id to accept, or 'any'. Only with the sender on this host and clock 'monotonic'. Default: off.
   */
  senderRunId?: number | 'any';
  /** TX ring entries (0 = receive only, the default). Worker modes: the first queue's worker sends what post() hands it */
  txRingSize?: number;
  /** TX metadata bytes in front of each TX packet (see XskSocketOptions.txMetadataLen); default 0 */
  txMetadataLen?: number;
  /** how the stamp travels: 'auto' (default: meta, per-packet fallback), 'meta', 'prepend', 'map' */
  strategy?: StrategyName;
  /** diagnostic: the program behaves as on a driver without metadata support */
  simulateNoMeta?: boolean;
  /** hardware hints: 'auto' (default) where possible, true = required, false = off */
  hints?: boolean | 'auto';
  /** the user's own BPF object (it includes afxdp/meta.h and calls afxdp_stamp()) instead of afxdp's */
  program?: string | LoadedProgram;
  /** with a `program` path: its XSKMAP, when it has more than one */
  xskmap?: string;
  /** UMEM frames per socket; default max(4096, 2 × ringSize) */
  frameCount?: number;
  /** bytes per UMEM frame, 2048 or 4096 (default 4096: a 9000-byte packet takes 3 frames instead of 6) */
  frameSize?: number;
  /**
   * multi-buffer packets (XDP_USE_SG, kernel ≥ 6.6): a packet larger than a frame arrives as a
   * chain of frames and is received as one packet. 'auto' (default): when the interface's MTU
   * does not fit one frame; true: always; false: never (larger packets are dropped by the kernel,
   * counted in rx_dropped)
   */
  sg?: boolean | 'auto';
  /** RX and fill ring entries per socket; default 2048 */
  ringSize?: number;
  /** descriptors per receive batch; default 64 */
  batchSize?: number;
  /** debug: assert the UMEM frame ownership invariant at every batch */
  trackFrames?: boolean;
  /** detach an XDP program someone attached before (netlink only); default: refuse */
  force?: boolean;
  /**
   * Pin the receiving thread to this CPU (the main thread in event mode; queue i's worker goes on
   * CPU cpu + i in the worker modes). Default: not pinned.
   */
  cpu?: number;
  /** SCHED_FIFO for the receiving thread(s): needs CAP_SYS_NICE. Default false */
  rt?: boolean;
  /**
   * Who gets the CPU first while receiving (src/sys/sched.ts): 'receiver-first' (default) lowers
   * every other thread of the process — V8's and libuv's helper threads to SCHED_IDLE, the main
   * thread (when it is not the receiving one) to SCHED_BATCH — and restores them at close; no
   * privilege needed (without CAP_SYS_NICE helpers get SCHED_BATCH, as SCHED_IDLE could not be
   * undone). 'off' leaves every thread as it is.
   */
  sched?: SchedChoice;
  /** the process ends when this receiver closes (the CLI): without CAP_SYS_NICE helpers may stay SCHED_IDLE. Default false */
  schedUntilExit?: boolean;
  /** hold /dev/cpu_dma_latency at 0 µs from setup to close (no deep CPU idle states); needs root. Default false */
  cpuDmaLatency?: boolean;
  /**
   * worker and busy modes: SO_BUSY_POLL (µs) with SO_PREFER_BUSY_POLL and a budget of one batch on
   * each socket; the receiving thread runs the driver's NAPI itself when its ring is empty.
   * Needs CAP_NET_ADMIN. 0 (default) = off
   */
  busyPoll?: number;
  /** worker and busy modes: hand every batch to the main thread too (addSink, the public API); default false */
  deliver?: boolean;
  /**
   * The kernel-stack comparison (afxdp's own program only): every Nth matched frame goes to the
   * kernel stack, stamped in its payload (bpf/stack_split.h), instead of the socket. 0 = off (default).
   */
  stackEvery?: number;
  /**
   * Path of a broker's socket (`afxdp serve`, docs/BROKER.md): the broker loads and attaches
   * afxdp's program and makes the sockets; this process receives on them without any capability.
   * The interface is the broker's (its network namespace); not with `program`, `force`, `netnsFd`.
   */
  broker?: string;
  /**
   * @internal Set by open()'s `handler` (give that, not this). Worker and busy modes: user code in each queue's receive worker (rx/handler.ts): the host
   * module that runs it and the user's module, as URLs. The workers' sockets get a TX ring (of
   * ringSize entries) to forward and send on. Default: none
   */
  handler?: HandlerSpec;
}

export type Resolved = Required<Omit<ReceiverOptions, 'netnsFd' | 'queues' | 'program' | 'xskmap' | 'senderRunId' | 'cpu' | 'broker' | 'handler'>> &
  Pick<ReceiverOptions, 'netnsFd' | 'program' | 'xskmap' | 'senderRunId' | 'cpu' | 'broker'> & { queues: readonly number[] | 'all'; handler?: HandlerSpec };

/** open()'s names for these options: "did you mean" points across */
const OPEN_SPELLING = { iface: 'ifname', netns: 'netnsFd', queue: 'queues', tx: 'txRingSize' };
const KNOWN = new Set(['ifname', 'queues', 'poll', 'mode', 'bind', 'netnsFd', 'clock', 'match', 'udpPort', 'senderRunId', 'txRingSize', 'txMetadataLen', 'strategy', 'simulateNoMeta', 'hints', 'program', 'xskmap', 'frameCount', 'frameSize', 'sg', 'ringSize', 'batchSize', 'trackFrames', 'force', 'deliver', 'cpu', 'rt', 'sched', 'schedUntilExit', 'cpuDmaLatency', 'busyPoll', 'stackEvery', 'broker', 'handler']);

/** every option name LatencyReceiver.open() takes (the faces over it check theirs against it) */
export const RECEIVER_OPTION_NAMES: readonly string[] = [...KNOWN];

export function resolve(opts: ReceiverOptions): Resolved {
  for (const k of Object.keys(opts)) {
    if (!KNOWN.has(k)) throw unknownOption('receiver options', k, [...KNOWN], OPEN_SPELLING);
  }
  // every bounded option through the one check (rx/bounds.ts), before anything is made
  for (const k of Object.keys(OPTION_SPECS) as BoundedOption[]) {
    if (k !== 'queue' && (opts as unknown as Record<string, unknown>)[k] !== undefined) checkOption(k, (opts as unknown as Record<string, unknown>)[k]);
  }
  if (opts.queues !== undefined) checkQueues(opts.queues);
  const ringSize = opts.ringSize ?? 2048;
  const o: Resolved = {
    ifname: opts.ifname,
    queues: opts.queues ?? [0],
    poll: opts.poll ?? 'event',
    mode: opts.mode ?? 'auto',
    bind: opts.bind ?? 'auto',
    netnsFd: opts.netnsFd,
    clock: opts.clock ?? 'monotonic',
    match: opts.match ?? 'udp',
    udpPort: opts.udpPort ?? 0,
    senderRunId: opts.senderRunId,
    txRingSize: opts.txRingSize ?? 0,
    txMetadataLen: opts.txMetadataLen ?? 0,
    strategy: opts.strategy ?? 'auto',
    simulateNoMeta: opts.simulateNoMeta ?? false,
    hints: opts.hints ?? 'auto',
    program: opts.program,
    xskmap: opts.xskmap,
    frameCount: opts.frameCount ?? defaultFrameCount(ringSize),
    frameSize: opts.frameSize ?? DEFAULT_FRAME_SIZE,
    sg: opts.sg ?? 'auto',
    ringSize,
    batchSize: opts.batchSize ?? 64,
    trackFrames: opts.trackFrames ?? false,
    force: opts.force ?? false,
    deliver: opts.deliver ?? false,
    cpu: opts.cpu,
    rt: opts.rt ?? false,
    sched: opts.sched ?? 'receiver-first',
    schedUntilExit: opts.schedUntilExit ?? false,
    cpuDmaLatency: opts.cpuDmaLatency ?? false,
    busyPoll: opts.busyPoll ?? 0,
    stackEvery: opts.stackEvery ?? 0,
    broker: opts.broker,
    handler: opts.handler,
  };
  if (!SCHED_CHOICES.includes(o.sched)) throw new AfxdpError('EUSAGE', `sched ${JSON.stringify(o.sched)} is not ${SCHED_CHOICES.join(' or ')}`, { hint: 'use --sched receiver-first (default) or --sched off' });
  if (!Number.isInteger(o.stackEvery) || o.stackEvery < 0 || o.stackEvery === 1 || o.stackEvery > 1000) {
    throw new AfxdpError('EUSAGE', `stack share 1/${o.stackEvery} is out of range`, { hint: 'use every 2..1000th packet to the kernel stack (--stack-every N), or 0 for none' });
  }
  if (o.stackEvery > 0 && o.program !== undefined) throw new AfxdpError('EUSAGE', 'the kernel-stack comparison needs afxdp\'s own program', { hint: 'leave out --program (the split is in bpf/stack_split.h of the default program)' });
  if (o.cpu !== undefined && (!Number.isInteger(o.cpu) || o.cpu < 0 || o.cpu >= cpuCount())) {
    throw new AfxdpError('EUSAGE', `CPU ${o.cpu} is out of range: this machine has ${cpuCount()} CPU${cpuCount() === 1 ? '' : 's'}`, { hint: `use --cpu 0..${cpuCount() - 1}` });
  }
  if (o.busyPoll > 0 && !inWorkers(o.poll)) {
    throw new AfxdpError('EUSAGE', 'busy polling needs poll mode worker or busy: in event mode the socket waits in the event loop, which never busy-polls', { hint: 'add --poll worker (or --poll busy), or drop --busy-poll' });
  }
  if (inWorkers(o.poll) && o.txMetadataLen > 0) {
    throw new AfxdpError('EUSAGE', `TX metadata needs poll mode event: in ${o.poll} mode the worker owns the socket and its completions`, { hint: 'open with poll: "event"' });
  }
  if (o.broker !== undefined && inWorkers(o.poll) && o.txRingSize > 0) {
    throw new AfxdpError('EUSAGE', `sending through a broker needs poll mode event`, { hint: 'open with poll: "event" to send, or receive only' });
  }
  if (o.handler !== undefined) {
    if (!inWorkers(o.poll)) throw new AfxdpError('EUSAGE', 'a handler runs in the receive workers: it needs poll mode worker or busy', { hint: 'open with poll: "worker" (the default with a handler) or "busy"' });
    if (o.deliver) throw new AfxdpError('EUSAGE', 'with a handler the batches stay in the workers: deliver cannot be used', { hint: 'read the handler\'s counters instead, or drop the handler' });
    if (o.broker !== undefined) throw new AfxdpError('EUSAGE', 'a handler cannot be used with a broker yet: the broker makes the sockets without a TX ring', { hint: 'run without the broker (with the privileges to open the socket here)' });
  }
  if (o.broker !== undefined) {
    if (typeof o.broker !== 'string' || o.broker === '') throw new AfxdpError('EUSAGE', `broker must be the path of a broker socket, got ${JSON.stringify(o.broker)}`, { hint: 'e.g. /run/afxdp/broker.sock (afxdp serve --socket)' });
    const clash = (['program', 'netnsFd'] as const).find((k) => o[k] !== undefined) ?? (o.force ? 'force' : o.stackEvery > 0 ? 'stackEvery' : undefined);
    if (clash !== undefined) {
      throw new AfxdpError('EUSAGE', `${clash} cannot be used with a broker: the broker loads afxdp's own program on the interfaces of its own network namespace and never detaches someone else's`, { hint: `drop ${clash}, or run without the broker (as root)` });
    }
  }
  return o;
}

/** The UMEM frame size when none is asked for (see ReceiverOptions.frameSize). */
export const DEFAULT_FRAME_SIZE = 4096;
/** XDP_PACKET_HEADROOM: what the kernel keeps in front of received data in each RX frame */
const RX_HEADROOM = 256;
/** Ethernet header + one VLAN tag: a frame's length is the MTU plus this */
const L2_OVERHEAD = 18;

/** Whether the sockets bind with XDP_USE_SG: asked, or ('auto') an MTU-sized frame does not fit one UMEM frame. */
export function wantsSg(sg: boolean | 'auto', mtu: number, frameSize: number): boolean {
  return sg === 'auto' ? mtu + L2_OVERHEAD > frameSize - RX_HEADROOM : sg;
}

/** ifindex and the queue list (resolving 'all'), checked against what the driver reports; the MTU. */
export function lookup(o: Resolved): { ifindex: number; queues: number[]; mtu: number } {
  const ifindex = native().ifNameToIndex(o.ifname);
  if (ifindex === 0) {
    throw new AfxdpError('ENOIFACE', `interface ${o.ifname} not found${o.netnsFd === undefined ? '' : ' in the given network namespace'}`, { hint: 'list interfaces with `ip -br link`' });
  }
  const count = rxQueueCount(o.ifname);
  let queues: number[];
  if (o.queues === 'all') {
    queues = Array.from({ length: Math.min(count ?? 1, MAX_QUEUES) }, (_, i) => i);
  } else {
    queues = [...o.queues];
    const bad = count === null ? undefined : queues.find((q) => q >= count);
    if (bad !== undefined) {
      const range = `0${count! > 1 ? `..${count! - 1}` : ''}`;
      throw new AfxdpError('ENOQUEUE', `${o.ifname} has ${count} RX queue${count === 1 ? '' : 's'}; queue ${bad} does not exist`, {
        hint: queues.length === 1 ? `use --queue ${range}` : `use queues ${range} (--queues ${count} or --queues all)`,
      });
    }
  }
  if (o.cpu !== undefined && o.poll !== 'event' && o.cpu + queues.length > cpuCount()) {
    throw new AfxdpError('EUSAGE', `--cpu ${o.cpu} with ${queues.length} queues needs CPUs ${o.cpu}..${o.cpu + queues.length - 1}; this machine has ${cpuCount()}`, { hint: `use --cpu ${Math.max(0, cpuCount() - queues.length)} or fewer queues` });
  }
  return { ifindex, queues, mtu: native().ifMtu(o.ifname) };
}

/** RX queue count of an interface from ethtool (null when the driver does not say). */
export function rxQueueCount(ifname: string): number | null {
  const ch = native().ethtoolChannels(ifname);
  if (!ch) return null;
  const n = ch.rx + ch.combined;
  return n > 0 ? n : null;
}


/** The options of one queue's AF_XDP socket as this receiver makes it (main thread or broker). */
export function socketOptionsOf(o: Resolved, ifindex: number, sg: boolean, queue: number): Parameters<typeof XskSocket.create>[0] {
  return {
    ifindex,
    ifname: o.ifname,
    queue,
    bind: o.bind,
    rxRingSize: o.ringSize,
    fillRingSize: o.ringSize,
    txRingSize: o.txRingSize,
    txMetadataLen: o.txMetadataLen,
    frameCount: o.frameCount,
    frameSize: o.frameSize,
    sg,
    batchSize: o.batchSize,
    trackFrames: o.trackFrames,
  };
}
