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
import { pathDrops, type LatencySummary, type Report, type AfXdpPath, type StackPath } from './report.js';
import { compareRuns, type Comparison } from './compare.js';
import type { RunSource } from './runfile.js';

export type { AfXdpPath, StackPath };

const perPacket = (cpuNs: number | null, n: number): number | null => (cpuNs === null || n === 0 ? null : Math.round(cpuNs / n));

/** The AF_XDP path from a run's report (its top-level figures) and its receiving thread's CPU. */
export function afXdpPath(r: Report, cpuNs: number | null): AfXdpPath {
  const k = r.packets.kernel;
  return {
    packets: { received: r.packets.received, meta_valid: r.packets.meta_valid, meta_invalid: r.packets.meta_invalid, drops: { rx_dropped: k.rx_dropped, rx_ring_full: k.rx_ring_full, rx_invalid_descs: k.rx_invalid_descs } },
    latency_ns: { xdp_to_user: r.latency_ns.xdp_to_user },
    cpu_ns_per_packet: perPacket(cpuNs, r.packets.received),
    ...(r.histograms?.xdp_to_user ? { histograms: { xdp_to_user: r.histograms.xdp_to_user } } : {}),
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
      packets: { ...r.packets, received: packets.received, meta_valid: packets.meta_valid, meta_invalid: packets.meta_invalid, kernel: { ...r.packets.kernel, rx_dropped: drops, rx_ring_full: 0 } },
      latency_ns: { xdp_to_user: lat, sender_to_xdp: null, hw_to_xdp: null },
      histograms: b64 ? { xdp_to_user: b64 } : {},
    },
  });
  const runs: RunSource[] = [asRun('af_xdp', p.af_xdp.packets, pathDrops(p.af_xdp), p.af_xdp.latency_ns.xdp_to_user, p.af_xdp.histograms?.xdp_to_user)];
  for (const [name, s] of [['node_dgram', p.node_dgram], ['c_recvmmsg', p.c_recvmmsg]] as const) {
    if (s) runs.push(asRun(name, s.packets, pathDrops(s), s.latency_ns.xdp_to_user, s.histograms?.xdp_to_user));
  }
  return compareRuns(runs);
}
