/**
 * The `afxdp.report/1` JSON document (docs/CLI.md "The JSON report"): what `--json` prints, exactly one per run.
 * Users script against it, so it is a contract:
 *   - fields may be ADDED later (readers must ignore keys they do not know);
 *   - fields are NEVER renamed or removed, and never change type or meaning;
 *   - anything else needs a new schema string ('afxdp.report/2').
 * Keys are snake_case as in docs/CLI.md, in the order shown there; fields are only ever added.
 */
import type { InstrumentCitation } from './calibration.js';
import { AfxdpError } from '../errors.js';
import type { LatencySummary } from '../measure/recorder.js';
import { POLL_MODES, CLOCK_NAMES, type PollMode, type ClockName } from '../rx/options.js';
import type { StrategyCounts, HintCounts } from '../rx/stamps.js';
import type { MapStats } from '../rx/receiver.js';
import { XDP_MODES, type XdpMode } from '../xdp/program.js';
import { STRATEGY_NAMES, type StrategyName } from '../xdp/meta.js';
import { BIND_MODES, type BindMode, type KernelStats } from '../xsk/socket.js';

export type { LatencySummary };

export const REPORT_SCHEMA = 'afxdp.report/1' satisfies Report['schema'];

/** the strategies that carry a stamp: `strategy` is one of them (docs/CLI.md); a run asks for a StrategyName ('auto' picks per packet, see packets.by_strategy) */
export type Strategy = Exclude<StrategyName, 'auto'>;
export const STRATEGIES: readonly Strategy[] = ['meta', 'prepend', 'map'];

/** XDP_STATISTICS of the socket(s), summed over queues: the receive side of KernelStats. */
export type KernelCounters = Pick<KernelStats, 'rx_dropped' | 'rx_invalid_descs' | 'rx_ring_full' | 'rx_fill_ring_empty_descs'>;

export interface PacketCounts {
  /** null where the tool did not send (e.g. `afxdp latency` on foreign traffic) */
  sent: number | null;
  received: number;
  meta_valid: number;
  meta_invalid: number;
  kernel: KernelCounters;
  /** valid stamps by the strategy that carried them (sums to meta_valid) */
  by_strategy: StrategyCounts;
  /** the map strategy's bookkeeping; null when the run did not use the map */
  map: MapStats | null;
  /**
   * received packets by size class of the whole packet without FCS: "0-128", "129-512",
   * "513-1518", "1519-4096", "4097-9018", "9019+" (added field; present when a receiver measured)
   */
  by_size?: Record<string, number>;
}

/** How packets larger than a UMEM frame were received (added field, docs/METADATA.md#jumbo-frames). */
export interface MultiBufferReport {
  /** the sockets were bound with XDP_USE_SG: a packet larger than a frame arrives whole, as a chain */
  sg: boolean;
  /** the interface's MTU when the run began */
  mtu: number;
  /** bytes per UMEM frame */
  frame_size: number;
  /** the XDP program takes multi-buffer packets (SEC("xdp.frags")); null when not known (a program loaded elsewhere) */
  program_frags: boolean | null;
  /** packets that arrived in more than one buffer */
  packets: number;
  /** chains longer than afxdp takes (more than batch size + 64 buffers), dropped whole */
  chains_dropped: number;
}


/** One summary per segment (docs/REPORTS.md "The segments"); null where the segment was not measured. */
export interface LatencySegments {
  xdp_to_user: LatencySummary;
  sender_to_xdp: LatencySummary | null;
  hw_to_xdp: LatencySummary | null;
  /**
   * added by `demo --ping` (present only in ping runs): user send → user receive of the reflected
   * reply (one clock), and user send → the kernel's TX completion stamp (both CLOCK_TAI); null
   * when no sample was taken
   */
  rtt?: LatencySummary | null;
  tx_completion?: LatencySummary | null;
}

/** `demo --ping` accounting (added field, present only in ping runs). */
export interface PingReport {
  /** requests the kernel accepted */
  sent: number;
  /** distinct requests whose reply came back (matched by sequence number) */
  replies: number;
  /** TX completions seen */
  completions: number;
  /** completions that carried a kernel TX timestamp */
  completions_with_timestamp: number;
  /** where the completion stamps come from: software (copy mode, e.g. veth) or the driver */
  tx_timestamp_source: string;
}

/** One queue's own numbers; `latency_ns` like the top-level one. */
export interface QueueReport {
  queue: number;
  received: number;
  meta_valid: number;
  meta_invalid: number;
  kernel: KernelCounters;
  /** the XDP program's own per-queue counters (frames seen, matched, stamped, meta_failed, redirected) */
  program: { seen: number; matched: number; stamped: number; meta_failed: number; redirected: number };
  latency_ns: LatencySegments;
}

/** Where and how the run was made: what the HTML report shows next to the plots. */
export interface RunEnvironment {
  afxdp: string;
  node: string;
  kernel: string;
  host: string;
  driver: string | null;
  started: string;
  /**
   * the CPUs this process may run on (its affinity, e.g. "2" under `taskset -c 2`, "0-7" when
   * not pinned), as in /proc/self/status Cpus_allowed_list (added field; null where unknown)
   */
  cpus?: string | null;
  /** how many CPUs are online (added field) */
  cpus_online?: number;
}

/** Values that cannot be latencies (negative differences), per segment: never samples. */
export interface LatencyAnomalies {
  sender_to_xdp_negative: number;
  hw_before_xdp: number;
}

/** One row per timeline interval (`timeline_interval_s`, see RunMonitor). */
export interface TimelineEntry {
  t: number;
  dt: number;
  received: number;
  dropped: number;
  latency_ns: Partial<Record<'xdp_to_user' | 'sender_to_xdp' | 'hw_to_xdp', { count: number; p50: number; p99: number; max: number }>>;
}

/** A file or endpoint the run wrote: size in bytes, and the number of records in it. */
export interface OutputInfo {
  path: string;
  bytes: number;
  records: number;
}

export interface Report {
  schema: 'afxdp.report/1';
  iface: string;
  queues: number[];
  mode: XdpMode;
  bind: BindMode;
  strategy: Strategy;
  clock: ClockName;
  poll: PollMode;
  duration_s: number;
  packets: PacketCounts;
  latency_ns: LatencySegments;
  /** valid packets that carried each hardware hint (added field); null when no hints were read */
  hints: HintCounts | null;
  /** why hints were not read (added field); null when they were */
  hints_off: string | null;
  /**
   * the strategy asked for (added field). With 'auto', `strategy` is the one that carried most
   * valid stamps (meta when none did), and packets.by_strategy has the split.
   */
  strategy_requested: StrategyName;
  // ---- the run's own details (optional: present when the CLI measured, absent from buildReport alone)
  per_queue?: QueueReport[];
  anomalies?: LatencyAnomalies;
  env?: RunEnvironment;
  /**
   * the length of one timeline row (added field): a twentieth of the run's expected length, 0.05
   * to 1 s in steps of 0.05 (1 when the length was not known); each row's `dt` is its own
   */
  timeline_interval_s?: number;
  /** one row per timeline interval of the run */
  timeline?: TimelineEntry[];
  /** the cumulative histogram of each measured segment, HdrHistogram compressed base64 (V2), for `afxdp report` */
  histograms?: Partial<Record<'xdp_to_user' | 'sender_to_xdp' | 'hw_to_xdp', string>>;
  /** the files / endpoint written by --csv, --hlog, --pcap, --html, --prometheus */
  outputs?: Partial<Record<'csv' | 'hlog' | 'pcap' | 'html' | 'prometheus', OutputInfo>>;
  /** `demo --ping` counts and the TX timestamp source (added field) */
  ping?: PingReport;
  /** --warmup: the first part of the run, left out of latency_ns and histograms (added field) */
  warmup?: WarmupReport;
  /** the real-time knobs of the run as they took effect (added field) */
  tuning?: TuningReport;
  /** the kernel-stack comparison (`demo --compare-stack`, `afxdp compare`): one section per path (added field) */
  paths?: ComparePaths;
  /** multi-buffer (jumbo frame) reception (added field; present when a receiver measured) */
  multi_buffer?: MultiBufferReport;
  /** which frames the run took off the queue; the rest went on to the kernel stack (added field) */
  taken?: TakenReport;
  /**
   * the instrument's own share on this host, as `afxdp calibrate` last measured it here (added
   * field; absent when this host has no calibration): afxdp's receiver ÷ the C reference receiver
   */
  instrument?: InstrumentCitation;
}

/** --cpu, --rt, --cpu-dma-latency, --busy-poll as they took effect. */
export interface TuningReport {
  /** the first receiving thread's CPU (queue i's worker: cpu + i); null: not pinned */
  cpu: number | null;
  /** SCHED_FIFO receiving thread(s) */
  rt: boolean;
  /** /dev/cpu_dma_latency held at 0 */
  cpu_dma_latency: boolean;
  /** SO_BUSY_POLL and SO_PREFER_BUSY_POLL as the kernel reports them for the first socket, the budget set (the kernel does not report it) and the busy-poll calls made; null: off */
  busy_poll: { usecs: number; prefer: boolean; budget: number; polls: number } | null;
  /**
   * who got the CPU first while receiving (added field): the policy ('receiver-first' or 'off'),
   * what was skipped without CAP_SYS_NICE, and every thread of the process with the policy it ran
   * under (read from the kernel while receiving, at close) and the one it had before
   */
  sched?: {
    policy: 'receiver-first' | 'off';
    skipped: string | null;
    not_restored: string | null;
    threads: Array<{ tid: number; name: string; role: 'receiving' | 'main' | 'work' | 'helper'; policy: string; priority: number; before: string | null }>;
  } | null;
}

// ---- the kernel-stack comparison's sections (built in paths.ts)

/** The AF_XDP path of one run: the top-level figures of that run, in the shape of a path. */
export interface AfXdpPath {
  packets: { received: number; meta_valid: number; meta_invalid: number; drops: { rx_dropped: number; rx_ring_full: number; rx_invalid_descs: number } };
  latency_ns: { xdp_to_user: LatencySummary };
  /** CPU time of the receiving thread per packet received (event mode: the main thread); null in worker modes */
  cpu_ns_per_packet: number | null;
  /** HdrHistogram compressed base64, for the overlay page */
  histograms?: { xdp_to_user?: string };
  /**
   * who read the socket: 'node' (afxdp's receiver, the run's top-level figures) or 'c' (the C
   * reference receiver rx_ref, bench/c/rx_ref.c, on the same program); absent in older reports: 'node'
   */
  receiver?: 'node' | 'c';
}

/** One stack receiver's path, and the run it was measured in. */
export interface StackPath {
  /** 'node' (dgram on its own event loop, own process) or 'c' (recvmmsg, blocking, own process) */
  receiver: 'node' | 'c';
  packets: {
    /** datagrams the receiver read */
    received: number;
    /** of those, with a valid XDP stamp in the payload */
    meta_valid: number;
    /** afxdp frames without the stamp */
    meta_invalid: number;
    /** other datagrams on the port (not afxdp frames) */
    foreign: number;
    /**
     * socket: dropped at the receiver's socket, its receive buffer full (/proc/net/udp `drops`);
     * lost: passed to the stack by XDP but neither read nor dropped at the socket (e.g. a bad checksum)
     */
    drops: { socket: number; lost: number };
    /** what the kernel's UDP counters of the receiver's namespace grew by (every socket's: context, not part of the drops) */
    udp_namespace: { in_datagrams: number; in_errors: number; rcvbuf_errors: number; no_ports: number };
  };
  latency_ns: {
    /** XDP hook → the receiver's code has the datagram */
    xdp_to_user: LatencySummary;
    /** XDP hook → the kernel's own RX time (SO_TIMESTAMPNS), null where the receiver cannot read it */
    xdp_to_kernel_rx: LatencySummary | null;
    /** the kernel's RX time → the receiver's code */
    kernel_rx_to_user: LatencySummary | null;
  };
  /** how the kernel's RX time was put into the XDP stamp's clock; null without it */
  kernel_rx_clock: string | null;
  cpu_ns_per_packet: number | null;
  /** the run this path was measured in: what was sent, how the program split it, the AF_XDP side */
  run: {
    sent: number | null;
    program: { matched: number; to_stack: number; stamped_in_place: number; to_socket: number };
    af_xdp: AfXdpPath;
  };
  histograms?: { xdp_to_user?: string };
}

export interface ComparePaths {
  af_xdp: AfXdpPath;
  /** the C AF_XDP receiver (rx_ref), measured in c_recvmmsg's run (the 2×2: AF_XDP vs stack × C vs Node) */
  c_af_xdp?: AfXdpPath;
  node_dgram?: StackPath;
  c_recvmmsg?: StackPath;
  /** the 2×2 read two ways (present when c_af_xdp is); a side that was not measured is null */
  effects?: PathEffects;
}

/** Path names of `paths`. */
export type PathName = 'af_xdp' | 'c_af_xdp' | 'node_dgram' | 'c_recvmmsg';

/** One figure of two paths: `delta` = compared − baseline, `ratio` = compared ÷ baseline (null: not measured, or a zero baseline). */
export interface PathDelta {
  baseline: number | null;
  compared: number | null;
  delta: number | null;
  ratio: number | null;
}

/** Two paths set side by side: XDP → user p50 and p99, and the receiver's CPU per packet. */
export interface PathEffect {
  baseline: PathName;
  compared: PathName;
  p50_ns: PathDelta;
  p99_ns: PathDelta;
  cpu_ns_per_packet: PathDelta;
}

export interface PathEffects {
  /** the same receiver language on both socket types: baseline the kernel stack, compared AF_XDP (negative deltas: what AF_XDP saves) */
  af_xdp_saves: { c: PathEffect | null; node: PathEffect | null };
  /** the same socket type read by C and by Node: baseline C, compared Node (positive deltas: what Node costs) */
  node_costs: { af_xdp: PathEffect | null; stack: PathEffect | null };
}


/** Which frames the program redirected to afxdp (`--match`, `--port`, `--all`, `--program`). */
export interface TakenReport {
  /** 'afxdp' (its test frames), 'udp', 'all', or 'program' (a --program decides) */
  match: 'afxdp' | 'udp' | 'all' | 'program';
  /** with 'afxdp' and 'udp': the destination port (0 = any); otherwise null */
  udp_port: number | null;
  /** the same in words, as the live view says it */
  text: string;
}

/** What --warmup left out of the latency figures. */
export interface WarmupReport {
  /** what was asked: the first `seconds` of the run, or its first `packets` (the other is null) */
  seconds: number | null;
  packets: number | null;
  /** false when the run ended inside the warm-up: everything it measured was excluded */
  completed: boolean;
  /** when the cut fell, seconds after the receiver started */
  at_s: number;
  /** packets received before the cut (they stay in packets.received) */
  excluded_packets: number;
  /** latency samples taken out of each measured segment */
  excluded_samples: Partial<Record<'xdp_to_user' | 'sender_to_xdp' | 'hw_to_xdp', number>>;
}

/**
 * Plain inputs, keyed like the report so there is one vocabulary. Enum fields are plain strings
 * (e.g. straight from CLI flags) and are validated here.
 */
export interface ReportInput {
  iface: string;
  queues: readonly number[];
  mode: string;
  bind: string;
  strategy: string;
  clock: string;
  poll: string;
  duration_s: number;
  counts: {
    sent?: number | null;
    received: number;
    meta_valid: number;
    meta_invalid: number;
    kernel: KernelCounters;
    /** required with strategy 'auto'; with a fixed strategy every valid stamp came that way */
    by_strategy?: StrategyCounts;
    map?: MapStats | null;
  };
  summaries: {
    xdp_to_user: LatencySummary;
    sender_to_xdp?: LatencySummary | null;
    hw_to_xdp?: LatencySummary | null;
  };
  hints?: HintCounts | null;
  hints_off?: string | null;
}

function bad(what: string, hint: string): AfxdpError {
  return new AfxdpError('EUSAGE', `report: ${what}`, { hint });
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw bad(`${name} ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`, `use one of: ${allowed.join(' | ')}`);
  }
  return v as T;
}

/** A count or a value in ns: a non-negative safe integer (NaN / Infinity would become null in JSON). */
function uint(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw bad(`${name} ${String(v)} is not a non-negative integer`, 'this is a bug in the caller: pass counts and ns as integers');
  }
  return v;
}

function kernel(k: KernelCounters): KernelCounters {
  if (k === null || typeof k !== 'object') throw bad('packets.kernel is missing', 'pass the XDP_STATISTICS counters');
  return {
    rx_dropped: uint('kernel.rx_dropped', k.rx_dropped),
    rx_invalid_descs: uint('kernel.rx_invalid_descs', k.rx_invalid_descs),
    rx_ring_full: uint('kernel.rx_ring_full', k.rx_ring_full),
    rx_fill_ring_empty_descs: uint('kernel.rx_fill_ring_empty_descs', k.rx_fill_ring_empty_descs),
  };
}

/** Copies exactly the contract's keys, in order, so extra properties never leak into the JSON. */
function summary(name: string, s: LatencySummary): LatencySummary {
  if (s === null || typeof s !== 'object') throw bad(`latency_ns.${name} is missing`, 'pass a LatencyRecorder.summary()');
  return {
    count: uint(`${name}.count`, s.count),
    min: uint(`${name}.min`, s.min),
    p50: uint(`${name}.p50`, s.p50),
    p90: uint(`${name}.p90`, s.p90),
    p99: uint(`${name}.p99`, s.p99),
    p999: uint(`${name}.p999`, s.p999),
    max: uint(`${name}.max`, s.max),
    mean: uint(`${name}.mean`, s.mean),
  };
}

function optSummary(name: string, s: LatencySummary | null | undefined): LatencySummary | null {
  return s === null || s === undefined ? null : summary(name, s);
}

function byStrategy(strategy: StrategyName, valid: number, b: StrategyCounts | undefined): StrategyCounts {
  if (b === undefined || b === null) {
    if (strategy === 'auto') throw bad('packets.by_strategy is missing for strategy auto', 'pass the per-strategy counts');
    return { meta: 0, prepend: 0, map: 0, [strategy]: valid };
  }
  return { meta: uint('by_strategy.meta', b.meta), prepend: uint('by_strategy.prepend', b.prepend), map: uint('by_strategy.map', b.map) };
}

function optUint(name: string, v: number | null): number | null {
  return v === null || v === undefined ? null : uint(name, v);
}

function mapCounters(m: MapStats | null | undefined): MapStats | null {
  if (m === null || m === undefined) return null;
  return {
    stored: optUint('map.stored', m.stored),
    matched: uint('map.matched', m.matched),
    packets_without_stamp: uint('map.packets_without_stamp', m.packets_without_stamp),
    stamps_without_packet: optUint('map.stamps_without_packet', m.stamps_without_packet),
    collisions: optUint('map.collisions', m.collisions),
  };
}

/** Assemble and validate a report; throws AfxdpError EUSAGE on a bad enum or number. */
export function buildReport(input: ReportInput): Report {
  if (typeof input.iface !== 'string' || input.iface.length === 0) throw bad('iface is empty', 'pass the interface name');
  if (!Array.isArray(input.queues) || input.queues.length === 0) throw bad('queues is empty', 'pass at least one queue id');
  const queues = input.queues.map((q, i) => uint(`queues[${i}]`, q));
  if (new Set(queues).size !== queues.length) throw bad(`queues ${queues.join(',')} has duplicates`, 'list each queue once');
  if (typeof input.duration_s !== 'number' || !Number.isFinite(input.duration_s) || input.duration_s < 0) {
    throw bad(`duration_s ${String(input.duration_s)} is not a duration`, 'pass seconds as a finite number ≥ 0');
  }
  const c = input.counts;
  if (c === null || typeof c !== 'object') throw bad('packets are missing', 'pass the packet counts');
  const s = input.summaries;
  if (s === null || typeof s !== 'object') throw bad('latency_ns is missing', 'pass the segment summaries');
  const requested = oneOf('strategy', input.strategy, STRATEGY_NAMES);
  const split = byStrategy(requested, uint('packets.meta_valid', c.meta_valid), c.by_strategy);
  // `strategy` keeps the contract's values (docs/CLI.md): for auto, the carrier of most stamps (ties: meta first)
  const strategy: Strategy = requested !== 'auto' ? requested : STRATEGIES.reduce((best, k) => (split[k] > split[best] ? k : best), 'meta' as Strategy);
  return {
    schema: REPORT_SCHEMA,
    iface: input.iface,
    queues,
    mode: oneOf('mode', input.mode, XDP_MODES),
    bind: oneOf('bind', input.bind, BIND_MODES),
    strategy,
    clock: oneOf('clock', input.clock, CLOCK_NAMES),
    poll: oneOf('poll', input.poll, POLL_MODES),
    // Milliseconds are plenty for a run's length and keep the JSON free of float noise.
    duration_s: Math.round(input.duration_s * 1000) / 1000,
    packets: {
      sent: c.sent === null || c.sent === undefined ? null : uint('packets.sent', c.sent),
      received: uint('packets.received', c.received),
      meta_valid: uint('packets.meta_valid', c.meta_valid),
      meta_invalid: uint('packets.meta_invalid', c.meta_invalid),
      kernel: kernel(c.kernel),
      by_strategy: split,
      map: mapCounters(c.map),
    },
    latency_ns: {
      xdp_to_user: summary('xdp_to_user', s.xdp_to_user),
      sender_to_xdp: optSummary('sender_to_xdp', s.sender_to_xdp),
      hw_to_xdp: optSummary('hw_to_xdp', s.hw_to_xdp),
    },
    hints:
      input.hints === null || input.hints === undefined
        ? null
        : { rx_timestamp: uint('hints.rx_timestamp', input.hints.rx_timestamp), rx_hash: uint('hints.rx_hash', input.hints.rx_hash), vlan: uint('hints.vlan', input.hints.vlan) },
    hints_off: typeof input.hints_off === 'string' ? input.hints_off : null,
    strategy_requested: requested,
  };
}

/** Every drop counter of a path, summed: the accounting is sent == Σ received + Σ drops over the paths. */
export function pathDrops(p: AfXdpPath | StackPath): number {
  return Object.values(p.packets.drops).reduce((a, b) => a + b, 0);
}
