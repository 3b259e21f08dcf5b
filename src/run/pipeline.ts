/**
 * The one run pipeline of `afxdp latency`, `afxdp demo` and `afxdp demo --ping`:
 *
 *   open outputs (an unwritable path or a busy port fails before anything is attached; with a
 *     privilege drop they are opened as that user already)
 *   → open the receiver (program, sockets or workers, XSKMAP, attach) → onOpen → prepare (senders)
 *   → drop root (dropPrivileges: every thread, no capabilities left)
 *   → monitor + outputs wired to it → start → traffic (if this run sends)
 *   → wait for the end (packets, duration, the sender's count, Ctrl-C, a failure)
 *   → close the receiver (final counts) → report → outputs finish.
 *
 * Whatever happens, the receiver, the monitor and the outputs are closed before it returns.
 */
import { LatencyReceiver, inWorkers, type ReceiverOptions } from '../rx/receiver.js';
import { RunMonitor, timelineIntervalMs } from '../measure/monitor.js';
import { RunOutputs, type OutputOptions } from '../report/outputs.js';
import { LiveIntervals, type LiveInterval } from '../report/live.js';
import { receiverReport, takenBy } from '../report/receiver-report.js';
import type { Report } from '../report/report.js';
import type { AfxdpError } from '../errors.js';
import { waitForEnd, runEnvironment, packageVersion } from './session.js';
import { Warmup, type WarmupSpec } from './warmup.js';
import { asUser, dropPrivileges, type PrivilegeDrop } from '../sys/privileges.js';

/** What a run that sends does once the receiver is in place. */
export interface Traffic {
  /** resolves when everything was sent (rejects when sending failed) */
  done: Promise<unknown>;
  /** packets sent so far */
  sent(): number;
  /** the final count once known (the wait ends when it is all accounted for), else null */
  expected(): number | null;
  /** after the wait, before the receiver closes (e.g. waiting for replies) */
  settle?(): Promise<void>;
}

export interface PipelineOptions {
  receiver: Omit<ReceiverOptions, 'deliver'>;
  outputs?: OutputOptions;
  /** stop at this many packets (also the live view's progress target) */
  packets?: number;
  durationS?: number;
  /** how long the run is expected to last when durationS does not say (a demo: packets ÷ rate): sizes the timeline's interval */
  expectedS?: number;
  /** leave the first seconds / packets of the run out of the latency figures (reported as `warmup`) */
  warmup?: WarmupSpec;
  /** Ctrl-C / SIGTERM: the report covers what was measured so far */
  signal?: AbortSignal;
  /** called with the /metrics URL once --prometheus listens */
  onMetrics?: (url: string) => void;
  /** called about once a second with the numbers the live view prints (and once at the end with the last part) */
  onInterval?: (i: LiveInterval) => void;
  /** called once the receiver is attached, before traffic (still privileged) */
  onOpen?: (rx: LatencyReceiver) => void;
  /** after onOpen, still privileged: open what needs root (the senders' sockets), send nothing yet */
  prepare?: (rx: LatencyReceiver) => Promise<void> | void;
  /** become this user after prepare (resolveRunAs); outputs are opened as this user. Default: stay */
  dropPrivileges?: PrivilegeDrop | null;
  /** a run that sends: starts its sender(s) */
  traffic?: (rx: LatencyReceiver) => Traffic;
  /** after the wait, before the receiver closes, for runs without traffic of their own (e.g. reading the stack comparison's split) */
  settle?: (rx: LatencyReceiver) => Promise<void>;
  /** the report's last touches (e.g. ping's rtt) */
  amend?: (report: Report, rx: LatencyReceiver) => void;
}

/** The report, and the failure that ended the run early (null when it ended as asked). */
export interface LatencyRunResult {
  report: Report;
  /** a failure that ended the run after it started (the report covers what was measured until then) */
  error: AfxdpError | null;
}

export async function runPipeline(p: PipelineOptions): Promise<LatencyRunResult> {
  const drop = p.dropPrivileges ?? null;
  const outs = await RunOutputs.open({ target: p.packets, application: `afxdp ${packageVersion()}`, ...p.outputs }, (open) => asUser(drop, open));
  let rx: LatencyReceiver | undefined;
  let monitor: RunMonitor | undefined;
  let warm: Warmup | undefined;
  let intervals: LiveIntervals | undefined;
  // ends the wait when sending fails, so no timer outlives the run
  const stop = new AbortController();
  const signal = p.signal ? AbortSignal.any([p.signal, stop.signal]) : stop.signal;
  try {
    if (outs.metrics) p.onMetrics?.(outs.metrics.url);
    const o: ReceiverOptions = { ...p.receiver, deliver: inWorkers(p.receiver.poll ?? 'event') && outs.needsPackets };
    rx = LatencyReceiver.open(o);
    const r = rx;
    const env = runEnvironment(packageVersion(), r.ifname, p.receiver.netnsFd);
    const taken = takenBy(p.receiver);
    p.onOpen?.(r);
    await p.prepare?.(r);
    // from here on the run only uses fds it holds: closing them detaches and frees everything
    if (drop) dropPrivileges(drop);
    monitor = new RunMonitor(r.perQueue, timelineIntervalMs(p.durationS ?? p.expectedS));
    outs.attach(r, monitor, { iface: r.ifname, queues: r.queues, mode: r.mode, bind: r.bindMode, strategy: r.strategy, clock: r.clock, poll: r.poll, taken: taken.text, env }, r.clock);
    if (p.onInterval) {
      intervals = new LiveIntervals(p.onInterval);
      monitor.addListener(intervals);
    }
    monitor.start();
    r.start();
    if (p.warmup) warm = new Warmup(r, p.warmup);
    const t0 = process.hrtime.bigint();
    const traffic = p.traffic?.(r);
    if (traffic) void traffic.done.catch(() => stop.abort());
    await Promise.all([
      traffic?.done,
      waitForEnd(r, {
        packets: p.packets !== undefined && traffic === undefined ? p.packets : undefined,
        durationS: p.durationS,
        signal,
        expected: traffic ? () => traffic.expected() ?? (p.signal?.aborted ? traffic.sent() : null) : undefined,
        idleMs: traffic ? 1000 : undefined,
      }),
    ]);
    await traffic?.settle?.();
    await p.settle?.(r);
    const durationS = Number(process.hrtime.bigint() - t0) / 1e9;
    r.close(); // final counts: the workers drain and stop, the sinks get the last batches
    monitor.stop();
    intervals?.flush();
    const warmup = warm?.finish();
    const report = receiverReport(r, { sent: traffic ? traffic.sent() : null, durationS, env, monitor, taken });
    if (warmup) report.warmup = warmup;
    p.amend?.(report, r);
    await outs.finish(report);
    return { report, error: r.error };
  } finally {
    stop.abort();
    warm?.stop();
    monitor?.stop();
    rx?.close();
    await outs.close();
  }
}
