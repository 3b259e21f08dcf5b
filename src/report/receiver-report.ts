/**
 * The afxdp.report/1 document of a receiver's run: its numbers (summed and per queue), the
 * latency summaries of every measured segment, and what the run pipeline adds (sent, duration,
 * environment, the monitor's timeline and histograms). One builder for every face and mode.
 */
import { instrumentCitation } from './calibration.js';
import { LatencyRecorder } from '../measure/recorder.js';
import type { RunMonitor, Segment } from '../measure/monitor.js';
import type { LatencyReceiver, ReceiveQueue, ReceiverOptions, ReceiverStats } from '../rx/receiver.js';
import { describeMatch } from '../rx/options.js';
import { buildReport, type Report, type RunEnvironment, type LatencySegments, type TakenReport } from './report.js';

export interface ReportExtras {
  /** packets sent (null when this run did not send) */
  sent: number | null;
  durationS: number;
  env?: RunEnvironment;
  /** @internal adds the timeline (and its interval) and the encoded histograms (the runs' own RunMonitor) */
  monitor?: RunMonitor;
  /** which frames the run took (takenBy) */
  taken?: TakenReport;
}

/** The report's `taken`: what the program redirects, from the receiver's options and their defaults. */
export function takenBy(o: Pick<ReceiverOptions, 'match' | 'udpPort' | 'program'>): TakenReport {
  const match = o.program !== undefined ? 'program' : (o.match ?? 'udp');
  return { match, udp_port: match === 'afxdp' || match === 'udp' ? (o.udpPort ?? 0) : null, text: describeMatch(o) };
}

function segmentSummary(queues: readonly ReceiveQueue[], s: Segment): LatencySegments['xdp_to_user'] | null {
  const recs = queues.map((q) => q.recorder(s)).filter((r): r is LatencyRecorder => r !== null);
  if (recs.length === 0) return null;
  return LatencyRecorder.summaryOf(recs);
}

function segments(queues: readonly ReceiveQueue[]): LatencySegments {
  const hw = segmentSummary(queues, 'hw_to_xdp');
  return {
    xdp_to_user: segmentSummary(queues, 'xdp_to_user')!,
    sender_to_xdp: segmentSummary(queues, 'sender_to_xdp'),
    // null unless a HW stamp was seen: most drivers (veth too) give none
    hw_to_xdp: hw !== null && (hw.count > 0 || queues.some((q) => (q.hwToXdp?.negative ?? 0) > 0)) ? hw : null,
  };
}

/** The document of some of the receiver's queues (all of them, or one for per_queue). */
function documentOf(rx: LatencyReceiver, queues: readonly ReceiveQueue[], s: ReceiverStats, x: ReportExtras, sent: number | null): Report {
  return buildReport({
    iface: rx.ifname,
    queues: queues.map((q) => q.queue),
    mode: rx.mode,
    bind: rx.bindMode,
    strategy: rx.strategy,
    clock: rx.clock,
    poll: rx.poll,
    duration_s: x.durationS,
    counts: {
      sent,
      received: s.received,
      meta_valid: s.metaValid,
      meta_invalid: s.metaInvalid,
      kernel: s.kernel, // buildReport copies exactly the contract's four counters
      by_strategy: s.byStrategy,
      map: s.map,
    },
    summaries: segments(queues),
    hints: s.hints,
    hints_off: rx.hintsOff,
  });
}

export function receiverReport(rx: LatencyReceiver, x: ReportExtras): Report {
  const report = documentOf(rx, rx.perQueue, rx.stats(), x, x.sent);
  report.per_queue = rx.perQueue.map((q, i) => {
    const qs = rx.stats(i);
    const one = documentOf(rx, [q], qs, x, null);
    return {
      queue: q.queue,
      received: one.packets.received,
      meta_valid: one.packets.meta_valid,
      meta_invalid: one.packets.meta_invalid,
      kernel: one.packets.kernel,
      program: { ...qs.program },
      latency_ns: one.latency_ns,
    };
  });
  report.anomalies = {
    sender_to_xdp_negative: rx.perQueue.reduce((a, q) => a + (q.senderToXdp?.negative ?? 0), 0),
    hw_before_xdp: rx.perQueue.reduce((a, q) => a + (q.hwToXdp?.negative ?? 0), 0),
  };
  const t = rx.tuning();
  const sc = t.sched;
  report.tuning = {
    cpu: t.cpu,
    rt: t.rt,
    cpu_dma_latency: t.cpuDmaLatency,
    busy_poll: t.busyPoll,
    sched: sc === null ? null : { policy: sc.policy, skipped: sc.skipped, not_restored: sc.notRestored, threads: sc.threads },
  };
  // what `afxdp calibrate` measured on this host, when it did: the instrument's own share
  const cited = instrumentCitation();
  if (cited !== null) report.instrument = cited;
  const all = rx.stats();
  report.packets.by_size = all.bySize;
  report.multi_buffer = {
    sg: rx.sg,
    mtu: rx.mtu,
    frame_size: rx.frameSize,
    program_frags: rx.programFrags,
    packets: all.multiBuffer,
    chains_dropped: all.chainsDropped,
  };
  if (x.env) report.env = x.env;
  if (x.monitor) {
    report.timeline_interval_s = x.monitor.intervalMs / 1000;
    report.timeline = x.monitor.timeline;
    report.histograms = x.monitor.encodedTotals();
  }
  if (x.taken) report.taken = x.taken;
  return report;
}
