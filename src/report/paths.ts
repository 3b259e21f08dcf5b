/**
 * The kernel-stack comparison's part of the report (`paths`, an added field of afxdp.report/1):
 * one section per path the same traffic took — the AF_XDP socket, Node's dgram, the C recvmmsg
 * loop — each with its packets, drops and `latency_ns` summaries like the top-level ones, and the
 * CPU time per packet of its receiving thread or process.
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { LatencyRecorder } from '../measure/recorder.js';
import type { StackCounters } from '../xdp/counters.js';
import type { StackResult } from '../rx/stack.js';
import { AfxdpError } from '../errors.js';
import { pathDrops, type LatencySummary, type Report, type AfXdpPath, type StackPath, type ComparePaths, type PathName, type PathDelta, type PathEffect, type PathEffects } from './report.js';
import { compareRuns, type Comparison } from './compare.js';
import { formatNs } from './table.js';
import type { RunSource } from './runfile.js';

export type { AfXdpPath, StackPath, PathEffects };

const perPacket = (cpuNs: number | null, n: number): number | null => (cpuNs === null || n === 0 ? null : Math.round(cpuNs / n));

/** The AF_XDP path from a run's report (its top-level figures) and its receiving thread's CPU. */
export function afXdpPath(r: Report, cpuNs: number | null): AfXdpPath {
  const k = r.packets.kernel;
  return {
    packets: { received: r.packets.received, meta_valid: r.packets.meta_valid, meta_invalid: r.packets.meta_invalid, drops: { rx_dropped: k.rx_dropped, rx_ring_full: k.rx_ring_full, rx_invalid_descs: k.rx_invalid_descs } },
    latency_ns: { xdp_to_user: r.latency_ns.xdp_to_user },
    cpu_ns_per_packet: perPacket(cpuNs, r.packets.received),
    ...(r.histograms?.xdp_to_user ? { histograms: { xdp_to_user: r.histograms.xdp_to_user } } : {}),
    // added with the 2×2, at the end (fields are only ever added, at the end)
    receiver: 'node',
  };
}

/** What the C AF_XDP receiver (bench/c/rx_ref.c) prints: the fields a path takes. */
export interface CAfXdpResult {
  received: number;
  meta_valid: number;
  meta_invalid: number;
  cpu_ns: number;
  kernel: { rx_dropped: number; rx_ring_full: number; rx_invalid_descs: number };
  latency_ns: LatencySummary;
}

/** The C AF_XDP receiver's path (its process CPU from attached to stopped, as the stack receivers'). */
export function cAfXdpPath(c: CAfXdpResult): AfXdpPath {
  const l = c.latency_ns;
  return {
    packets: { received: c.received, meta_valid: c.meta_valid, meta_invalid: c.meta_invalid, drops: { rx_dropped: c.kernel.rx_dropped, rx_ring_full: c.kernel.rx_ring_full, rx_invalid_descs: c.kernel.rx_invalid_descs } },
    latency_ns: { xdp_to_user: { count: l.count, min: l.min, p50: l.p50, p90: l.p90, p99: l.p99, p999: l.p999, max: l.max, mean: l.mean } },
    cpu_ns_per_packet: perPacket(c.cpu_ns, c.received),
    receiver: 'c',
  };
}

const summary = (r: LatencyRecorder | null): LatencySummary | null => (r === null ? null : r.summary());

/** A stack receiver's path. `split`: the program's counts of the run; `matched` its matched frames. */
export function stackPath(s: StackResult, run: { sent: number | null; matched: number; split: StackCounters; afXdp: AfXdpPath }): StackPath {
  const u = s.udp;
  // frames the program passed up that neither reached the receiver nor were dropped at its socket
  const lost = Math.max(0, run.split.to_stack - s.received - s.socketDrops);
  const hist = s.xdpToUser.histogram;
  return {
    receiver: s.receiver,
    packets: { received: s.received, meta_valid: s.stamped, meta_invalid: s.unstamped, foreign: s.foreign, drops: { socket: s.socketDrops, lost }, udp_namespace: { in_datagrams: u.in_datagrams, in_errors: u.in_errors, rcvbuf_errors: u.rcvbuf_errors, no_ports: u.no_ports } },
    latency_ns: { xdp_to_user: s.xdpToUser.summary(), xdp_to_kernel_rx: summary(s.xdpToKernel), kernel_rx_to_user: summary(s.kernelToUser) },
    kernel_rx_clock: s.kernelToUser ? 'SO_TIMESTAMPNS (CLOCK_REALTIME) minus (REALTIME − MONOTONIC) read once per recvmmsg batch' : null,
    cpu_ns_per_packet: perPacket(s.cpuNs, s.received),
    run: {
      sent: run.sent,
      program: { matched: run.matched, to_stack: run.split.to_stack, stamped_in_place: run.split.stamped, to_socket: run.matched - run.split.to_stack },
      af_xdp: run.afXdp,
    },
    ...(hist.totalCount > 0 ? { histograms: { xdp_to_user: encodeIntoCompressedBase64(hist) } } : {}),
  };
}


/** One figure of two paths; a zero count counts as not measured. */
function delta(b: number | null, c: number | null): PathDelta {
  return { baseline: b, compared: c, delta: b === null || c === null ? null : c - b, ratio: b === null || c === null || b === 0 ? null : Math.round((c / b) * 1000) / 1000 };
}

type AnyPath = AfXdpPath | StackPath;

function effect(p: ComparePaths, baseline: PathName, compared: PathName): PathEffect | null {
  const b = pick(p, baseline);
  const c = pick(p, compared);
  if (!b || !c) return null;
  const lat = (x: AnyPath, k: 'p50' | 'p99'): number | null => (x.latency_ns.xdp_to_user.count > 0 ? x.latency_ns.xdp_to_user[k] : null);
  return { baseline, compared, p50_ns: delta(lat(b, 'p50'), lat(c, 'p50')), p99_ns: delta(lat(b, 'p99'), lat(c, 'p99')), cpu_ns_per_packet: delta(b.cpu_ns_per_packet, c.cpu_ns_per_packet) };
}

const pick = (p: ComparePaths, n: PathName): AnyPath | undefined => (n === 'af_xdp' ? p.af_xdp : p[n]);

/**
 * The 2×2 (AF_XDP vs kernel stack × C vs Node) read two ways: what AF_XDP saves with the receiver
 * language held fixed (C: c_recvmmsg → c_af_xdp, measured in one run on the same traffic; Node:
 * node_dgram → af_xdp, one run likewise), and what Node costs with the socket type held fixed
 * (AF_XDP: c_af_xdp → af_xdp; stack: c_recvmmsg → node_dgram; each pair from two runs of the
 * same traffic). Null where a path was not measured.
 */
export function pathEffects(p: ComparePaths): PathEffects {
  return {
    af_xdp_saves: { c: effect(p, 'c_recvmmsg', 'c_af_xdp'), node: effect(p, 'node_dgram', 'af_xdp') },
    node_costs: { af_xdp: effect(p, 'c_af_xdp', 'af_xdp'), stack: effect(p, 'c_recvmmsg', 'node_dgram') },
  };
}

const EFFECT_ROWS: Array<[keyof PathEffects, string, string, Array<[string, string]>]> = [
  ['af_xdp_saves', 'What AF_XDP saves', 'The same receiver language on both socket types, measured in one run on the same traffic: the kernel stack is the baseline, AF_XDP the compared path (a negative change is what AF_XDP saves).', [['c', 'C: recvmmsg → rx_ref'], ['node', 'Node: dgram → afxdp']]],
  ['node_costs', 'What Node costs', 'The same socket type read by C and by Node, from two runs of the same traffic: C is the baseline, Node the compared path (a positive change is what Node costs).', [['af_xdp', 'AF_XDP: rx_ref → afxdp'], ['stack', 'kernel stack: recvmmsg → dgram']]],
];

/** The two readings of the 2×2 as HTML tables, for the overlay page (renderComparisonHtml's extra section). */
export function pathEffectsHtml(e: PathEffects): string {
  const ns = (v: number | null): string => (v === null ? '–' : formatNs(v));
  const signed = (v: number | null): string => (v === null ? '–' : `${v > 0 ? '+' : v < 0 ? '−' : ''}${formatNs(Math.abs(v))}`);
  const ratio = (v: number | null): string => (v === null ? '–' : `×${v.toFixed(2)}`);
  const cells = (d: PathDelta): string => [ns(d.baseline), ns(d.compared), signed(d.delta), ratio(d.ratio)].map((v) => `<td style="white-space:nowrap">${v}</td>`).join('');
  return EFFECT_ROWS.map(([key, title, note, rows]) => {
    const body = rows
      .map(([k, label]) => {
        const x = (e[key] as Record<string, PathEffect | null>)[k] ?? null;
        if (x === null) return `<tr data-effect="${key}.${k}"><th>${label}</th><td colspan="12">not measured</td></tr>`;
        return `<tr data-effect="${key}.${k}"><th>${label}</th>${cells(x.p50_ns)}${cells(x.p99_ns)}${cells(x.cpu_ns_per_packet)}</tr>`;
      })
      .join('');
    const sub = ['baseline', 'compared', 'change', 'ratio'].map((h) => `<th>${h}</th>`).join('');
    return `<h2>${title}</h2>
<div class="note">${note}</div>
<table class="seg cmp" id="${key}"><thead><tr><th></th><th colspan="4">XDP → user p50</th><th colspan="4">XDP → user p99</th><th colspan="4">CPU per packet</th></tr><tr><th></th>${sub}${sub}${sub}</tr></thead><tbody>${body}</tbody></table>`;
  }).join('\n');
}

/**
 * The paths as runs of an afxdp.compare/1 comparison (report/compare.ts), AF_XDP first: the
 * overlay page of `--compare-stack --html` is the run-comparison page of `afxdp report A B`.
 */
export function pathComparison(r: Report): Comparison {
  const p = r.paths;
  if (!p) throw new AfxdpError('EUSAGE', 'the report has no paths', { hint: 'run with --compare-stack or afxdp compare' });
  const asRun = (label: string, packets: { received: number; meta_valid: number; meta_invalid: number }, drops: number, lat: LatencySummary, b64: string | undefined): RunSource => ({
    label,
    source: label,
    report: {
      ...r,
      // the C AF_XDP receiver sleeps in poll(2) on its own socket, not in afxdp's event loop
      ...(label === 'c_af_xdp' ? { poll: 'poll() (rx_ref)' as Report['poll'] } : {}),
      packets: { ...r.packets, received: packets.received, meta_valid: packets.meta_valid, meta_invalid: packets.meta_invalid, kernel: { ...r.packets.kernel, rx_dropped: drops, rx_ring_full: 0 } },
      latency_ns: { xdp_to_user: lat, sender_to_xdp: null, hw_to_xdp: null },
      histograms: b64 ? { xdp_to_user: b64 } : {},
    },
  });
  const runs: RunSource[] = [asRun('af_xdp', p.af_xdp.packets, pathDrops(p.af_xdp), p.af_xdp.latency_ns.xdp_to_user, p.af_xdp.histograms?.xdp_to_user)];
  for (const [name, s] of [['c_af_xdp', p.c_af_xdp], ['node_dgram', p.node_dgram], ['c_recvmmsg', p.c_recvmmsg]] as const) {
    if (s) runs.push(asRun(name, s.packets, pathDrops(s), s.latency_ns.xdp_to_user, s.histograms?.xdp_to_user));
  }
  return compareRuns(runs);
}
