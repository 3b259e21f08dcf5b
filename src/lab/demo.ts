/**
 * `afxdp demo` as a library call: build a private lab (two namespaces + veth), attach the probe
 * on the receiving end, send test traffic from the other end, report, and tear everything down —
 * on success, on error and on abort.
 */
import { Lab } from './lab.js';
import { TrafficGenerator } from './generator.js';
import { LatencyProbe, type ClockName } from '../measure/probe.js';
import { waitForEnd, probeReport } from '../measure/session.js';
import type { XdpModeOption } from '../xdp/program.js';
import type { Report } from '../report/report.js';

export interface DemoOptions {
  packets?: number;
  /** packets per second, 0 = as fast as possible; default 10000 */
  rate?: number;
  mode?: XdpModeOption;
  clock?: ClockName;
  signal?: AbortSignal;
  /** progress notes for a human (stderr in the CLI) */
  log?: (line: string) => void;
}

export async function runDemo(opts: DemoOptions = {}): Promise<Report> {
  const packets = opts.packets ?? 10000;
  const rate = opts.rate ?? 10000;
  const log = opts.log ?? (() => {});
  const lab = await Lab.create();
  let probe: LatencyProbe | undefined;
  let gen: TrafficGenerator | undefined;
  // ends the wait below when sending fails, so no timer outlives the run
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  try {
    probe = LatencyProbe.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, mode: opts.mode ?? 'auto', clock: opts.clock ?? 'monotonic' });
    probe.start();
    log(`lab ${lab.id}: ${lab.tx.ifname} → ${lab.rx.ifname}, XDP ${probe.mode} mode, AF_XDP ${probe.bindMode} bind`);
    gen = TrafficGenerator.open({
      ifname: lab.tx.ifname,
      netnsFd: lab.tx.netns.fd,
      srcMac: lab.tx.macBytes,
      dstMac: lab.rx.macBytes,
      srcIp: lab.tx.ipBytes,
      dstIp: lab.rx.ipBytes,
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
    return probeReport(probe, { sent: g.sent, durationS, poll: 'event' });
  } finally {
    stop.abort();
    gen?.close();
    probe?.close();
    await lab.destroy();
  }
}
