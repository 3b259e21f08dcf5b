/**
 * `afxdp demo` as a library call: build a private lab (two namespaces + veth), attach the probe
 * on the receiving end, send test traffic from the other end, report, and tear everything down —
 * on success, on error and on abort.
 */
import { Lab } from './lab.js';
import { TrafficGenerator } from './generator.js';
import { LatencyProbe, type ClockName, type StrategyName } from '../measure/probe.js';
import { waitForEnd, probeReport, runEnvironment, packageVersion } from '../measure/session.js';
import { RunMonitor } from '../measure/monitor.js';
import { RunOutputs, type OutputOptions } from '../report/outputs.js';
import type { XdpModeOption } from '../xdp/program.js';
import type { Report } from '../report/report.js';
import { checkStampObject } from '../xdp/stamp-program.js';
import { runPingDemo, checkPingOptions } from './ping-demo.js';

export interface DemoOptions {
  packets?: number;
  /** packets per second, 0 = as fast as possible; default 10000 */
  rate?: number;
  mode?: XdpModeOption;
  clock?: ClockName;
  /** default 'auto' */
  strategy?: StrategyName;
  simulateNoMeta?: boolean;
  /** the user's own BPF object instead of afxdp's (see LatencyProbe) */
  program?: string;
  xskmap?: string;
  /** hardware hints: 'auto' (default), true (required), false */
  hints?: boolean | 'auto';
  /** RX and fill ring entries of the probe; default 2048 */
  ringSize?: number;
  /** debug: assert the UMEM frame invariant at every batch */
  trackFrames?: boolean;
  signal?: AbortSignal;
  /** progress notes for a human (stderr in the CLI) */
  log?: (line: string) => void;
  /** files / endpoint / live view; all checked before the lab is built */
  outputs?: OutputOptions;
  /** called with the /metrics URL once --prometheus listens (also with --json: it goes to stderr) */
  onMetrics?: (url: string) => void;
  /**
   * round trip instead of one way: the tx namespace sends with TX metadata (completion stamps),
   * the rx namespace reflects with XDP_TX, afxdp receives the replies (latency_ns.rtt, tx_completion)
   */
  ping?: boolean;
}

export async function runDemo(opts: DemoOptions = {}): Promise<Report> {
  const packets = opts.packets ?? 10000;
  const rate = opts.rate ?? 10000;
  const log = opts.log ?? (() => {});
  // a user object afxdp cannot use is refused before anything is built
  if (opts.ping) checkPingOptions(opts);
  if (opts.program !== undefined) checkStampObject(opts.program, opts.xskmap);
  const outs = await RunOutputs.open({ target: packets, application: `afxdp ${packageVersion()}`, ...opts.outputs });
  if (outs.metrics) opts.onMetrics?.(outs.metrics.url);
  let lab: Lab;
  try {
    lab = await Lab.create();
  } catch (e) {
    await outs.close();
    throw e;
  }
  if (opts.ping) {
    try {
      return await runPingDemo(lab, outs, opts, packets, rate, log);
    } finally {
      await outs.close();
      await lab.destroy();
    }
  }
  let probe: LatencyProbe | undefined;
  let monitor: RunMonitor | undefined;
  const runId = (Math.random() * 0xffffffff) >>> 0;
  let gen: TrafficGenerator | undefined;
  // ends the wait below when sending fails, so no timer outlives the run
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  try {
    const clock = opts.clock ?? 'monotonic';
    probe = LatencyProbe.open({
      ifname: lab.rx.ifname,
      netnsFd: lab.rx.netns.fd,
      mode: opts.mode ?? 'auto',
      clock,
      senderRunId: runId,
      strategy: opts.strategy,
      simulateNoMeta: opts.simulateNoMeta,
      program: opts.program,
      xskmap: opts.xskmap,
      hints: opts.hints,
      ringSize: opts.ringSize,
      trackFrames: opts.trackFrames,
    });
    const env = runEnvironment(packageVersion(), lab.rx.ifname, lab.rx.netns.fd);
    monitor = new RunMonitor([probe]);
    outs.attach([probe], monitor, { iface: lab.rx.ifname, queues: [probe.queue], mode: probe.mode, bind: probe.bindMode, strategy: probe.strategy, clock, poll: 'event', env }, clock);
    monitor.start();
    probe.start();
    log(`lab ${lab.id}: ${lab.tx.ifname} → ${lab.rx.ifname}, XDP ${probe.mode} mode, AF_XDP ${probe.bindMode} bind, strategy ${probe.strategy}${opts.simulateNoMeta ? ' (simulating a driver without metadata)' : ''}, hints ${probe.hints ? 'on' : `off: ${probe.hintsOff}`}`);
    gen = TrafficGenerator.open({
      ifname: lab.tx.ifname,
      netnsFd: lab.tx.netns.fd,
      srcMac: lab.tx.macBytes,
      dstMac: lab.rx.macBytes,
      srcIp: lab.tx.ipBytes,
      dstIp: lab.rx.ipBytes,
      runId,
    });
    log(`sending ${packets} packets at ${rate === 0 ? 'full speed' : `${rate} pps`}`);
    const t0 = process.hrtime.bigint();
    const g = gen;
    const sending = gen.send({ count: packets, rate, signal: opts.signal });
    let sentTotal: number | null = null;
    void sending.then((n) => (sentTotal = n), () => {});
    await Promise.all([
      sending,
      waitForEnd(probe, { signal, expected: () => sentTotal ?? (opts.signal?.aborted ? g.sent : null), idleMs: 1000 }),
    ]);
    const durationS = Number(process.hrtime.bigint() - t0) / 1e9;
    probe.drain();
    monitor.stop();
    const report = probeReport(probe, { sent: g.sent, durationS, poll: 'event', env, monitor });
    await outs.finish(report);
    return report;
  } finally {
    stop.abort();
    monitor?.stop();
    gen?.close();
    probe?.close();
    await outs.close();
    await lab.destroy();
  }
}
