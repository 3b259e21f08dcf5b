/**
 * The `afxdp.report/1` JSON document (DESIGN §5): what `--json` prints, exactly one per run.
 * Users script against it, so it is a contract:
 *   - fields may be ADDED later (readers must ignore keys they do not know);
 *   - fields are NEVER renamed or removed, and never change type or meaning;
 *   - anything else needs a new schema string ('afxdp.report/2').
 * Keys are snake_case as in DESIGN §5, in the order shown there.
 */
import { AfxdpError } from '../errors.js';
import type { LatencySummary } from '../measure/recorder.js';

export type { LatencySummary };

export const REPORT_SCHEMA = 'afxdp.report/1';

export const MODES = ['native', 'generic'] as const;
export const BINDS = ['copy', 'zerocopy'] as const;
export const STRATEGIES = ['meta', 'prepend', 'map'] as const;
export const CLOCKS = ['monotonic', 'tai'] as const;
export const POLLS = ['busy', 'event'] as const;

export type XdpMode = (typeof MODES)[number];
export type BindMode = (typeof BINDS)[number];
export type Strategy = (typeof STRATEGIES)[number];
export type ClockDomain = (typeof CLOCKS)[number];
export type PollMode = (typeof POLLS)[number];

/** XDP_STATISTICS of the socket(s), summed over queues. */
export interface KernelCounters {
  rx_dropped: number;
  rx_invalid_descs: number;
  rx_ring_full: number;
  rx_fill_ring_empty_descs: number;
}

export interface PacketCounts {
  /** null where the tool did not send (e.g. `afxdp latency` on foreign traffic) */
  sent: number | null;
  received: number;
  meta_valid: number;
  meta_invalid: number;
  kernel: KernelCounters;
}

/** One summary per segment (DESIGN §4); null where the segment was not measured. */
export interface LatencySegments {
  xdp_to_user: LatencySummary;
  sender_to_xdp: LatencySummary | null;
  hw_to_xdp: LatencySummary | null;
}

/** One queue's own numbers (issue 5); `latency_ns` like the top-level one. */
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
}

/** Values that cannot be latencies (negative differences), per segment: never samples. */
export interface LatencyAnomalies {
  sender_to_xdp_negative: number;
  hw_before_xdp: number;
}

/** One row per second (see RunMonitor). */
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
  schema: typeof REPORT_SCHEMA;
  iface: string;
  queues: number[];
  mode: XdpMode;
  bind: BindMode;
  strategy: Strategy;
  clock: ClockDomain;
  poll: PollMode;
  duration_s: number;
  packets: PacketCounts;
  latency_ns: LatencySegments;
  // ---- added by issue 5 (optional: present when the CLI measured, absent from buildReport alone)
  per_queue?: QueueReport[];
  anomalies?: LatencyAnomalies;
  env?: RunEnvironment;
  /** one row per second of the run */
  timeline?: TimelineEntry[];
  /** the cumulative histogram of each measured segment, HdrHistogram compressed base64 (V2), for `afxdp report` */
  histograms?: Partial<Record<'xdp_to_user' | 'sender_to_xdp' | 'hw_to_xdp', string>>;
  /** the files / endpoint written by --csv, --hlog, --pcap, --html, --prometheus */
  outputs?: Partial<Record<'csv' | 'hlog' | 'pcap' | 'html' | 'prometheus', OutputInfo>>;
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
  };
  summaries: {
    xdp_to_user: LatencySummary;
    sender_to_xdp?: LatencySummary | null;
    hw_to_xdp?: LatencySummary | null;
  };
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
  return {
    schema: REPORT_SCHEMA,
    iface: input.iface,
    queues,
    mode: oneOf('mode', input.mode, MODES),
    bind: oneOf('bind', input.bind, BINDS),
    strategy: oneOf('strategy', input.strategy, STRATEGIES),
    clock: oneOf('clock', input.clock, CLOCKS),
    poll: oneOf('poll', input.poll, POLLS),
    // Milliseconds are plenty for a run's length and keep the JSON free of float noise.
    duration_s: Math.round(input.duration_s * 1000) / 1000,
    packets: {
      sent: c.sent === null || c.sent === undefined ? null : uint('packets.sent', c.sent),
      received: uint('packets.received', c.received),
      meta_valid: uint('packets.meta_valid', c.meta_valid),
      meta_invalid: uint('packets.meta_invalid', c.meta_invalid),
      kernel: kernel(c.kernel),
    },
    latency_ns: {
      xdp_to_user: summary('xdp_to_user', s.xdp_to_user),
      sender_to_xdp: optSummary('sender_to_xdp', s.sender_to_xdp),
      hw_to_xdp: optSummary('hw_to_xdp', s.hw_to_xdp),
    },
  };
}
