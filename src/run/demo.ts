/**
 * `afxdp demo` as a library call: build a private lab (two namespaces + veth), attach the probe
 * on the receiving end, send test traffic from the other end, report, and tear everything down —
 * on success, on error and on abort.
 */
import { Lab } from '../lab/lab.js';
import { TrafficGenerator } from '../lab/generator.js';
import { LatencyProbe, type ClockName, type StrategyName } from '../rx/probe.js';
import { LatencyReceiver, type PollMode } from '../rx/receiver.js';
import { AfxdpError } from '../errors.js';
import { waitForEnd, probeReport, runEnvironment, packageVersion } from './session.js';
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
  /** receive mode; default 'event' */
  poll?: PollMode;
  /** veth queues (1..64): one socket per queue, traffic sent on every TX queue; default 1 */
  queues?: number;
  /** receive batch size; default 64 */
  batchSize?: number;
}

export async function runDemo(opts: DemoOptions = {}): Promise<Report> {
  const packets = opts.packets ?? 10000;
  const rate = opts.rate ?? 10000;
  const log = opts.log ?? (() => {});
  // a user object afxdp cannot use is refused before anything is built
  if (opts.ping) checkPingOptions(opts);
  if (opts.program !== undefined) checkStampObject(opts.program, opts.xskmap);
  if ((opts.poll ?? 'event') === 'busy' || (opts.queues ?? 1) > 1) return runReceiverDemo(opts, packets, rate, log);
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

/**
 * The demo with `poll: 'busy'` or several queues: LatencyReceiver (src/measure/receiver.ts), one
 * generator per TX queue (veth delivers on the RX queue numbered like the sender's TX queue).
 * The run outputs (files, /metrics, live view) and the sender → XDP segment follow the single-queue
 * event-mode probe for now: files and /metrics are refused rather than silently missing.
 */
async function runReceiverDemo(opts: DemoOptions, packets: number, rate: number, log: (line: string) => void): Promise<Report> {
  const poll = opts.poll ?? 'event';
  const queues = opts.queues ?? 1;
  const o = opts.outputs;
  // the live view is simply not drawn here; files and /metrics would be missing, so they are refused
  if (o && (o.csv || o.hlog || o.pcap || o.html || o.prometheus)) {
    throw new AfxdpError('EUSAGE', 'output files and --prometheus are not available with --poll busy or --queues yet', {
      hint: 'use the JSON report (--json), or run with --poll event and one queue for the outputs',
    });
  }
  // the receiver reads metadata stamps from afxdp's program only
  if ((opts.strategy !== undefined && opts.strategy !== 'auto' && opts.strategy !== 'meta') || opts.simulateNoMeta || opts.program !== undefined || opts.hints === true || opts.trackFrames || opts.ping) {
    throw new AfxdpError('EUSAGE', '--strategy prepend|map, --simulate-no-meta, --program, --hints, --debug-frames and --ping are not available with --poll busy or --queues yet', {
      hint: 'drop them, or run with --poll event on one queue',
    });
  }
  const lab = await Lab.create({ queues });
  let receiver: LatencyReceiver | undefined;
  const gens: TrafficGenerator[] = [];
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  try {
    receiver = await LatencyReceiver.open({
      ifname: lab.rx.ifname,
      netnsFd: lab.rx.netns.fd,
      mode: opts.mode ?? 'auto',
      clock: opts.clock ?? 'monotonic',
      batchSize: opts.batchSize,
      ringSize: opts.ringSize,
      poll,
      queues: Array.from({ length: queues }, (_, i) => i),
    });
    receiver.start();
    log(`lab ${lab.id}: ${lab.tx.ifname} → ${lab.rx.ifname}, XDP ${receiver.mode} mode, AF_XDP ${receiver.bindMode} bind, ${poll} poll, ${queues} queue${queues > 1 ? 's' : ''}`);
    for (let q = 0; q < queues; q++) {
      gens.push(TrafficGenerator.open({ ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, queue: q, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes }));
    }
    log(`sending ${packets} packets at ${rate === 0 ? 'full speed' : `${rate} pps`}`);
    const t0 = process.hrtime.bigint();
    const share = (q: number): number => Math.floor(packets / queues) + (q < packets % queues ? 1 : 0);
    const sending = Promise.all(gens.map((g, q) => g.send({ count: share(q), rate: rate === 0 ? 0 : rate / queues, signal: opts.signal })));
    let sentTotal: number | null = null;
    const sentSoFar = (): number => gens.reduce((a, g) => a + g.sent, 0);
    void sending.then((n) => (sentTotal = n.reduce((a, b) => a + b, 0)), () => {});
    const rx = receiver;
    await Promise.all([sending, waitForEnd(rx, { signal, expected: () => sentTotal ?? (opts.signal?.aborted ? sentSoFar() : null), idleMs: 1000 })]);
    const durationS = Number(process.hrtime.bigint() - t0) / 1e9;
    await rx.close();
    const report = rx.report({ sent: sentSoFar(), durationS });
    report.env = runEnvironment(packageVersion(), lab.rx.ifname, lab.rx.netns.fd);
    return report;
  } finally {
    stop.abort();
    for (const g of gens) g.close();
    await receiver?.close();
    await lab.destroy();
  }
}
