/**
 * `afxdp demo --ping`: the round trip through the lab. The tx namespace's veth gets afxdp's
 * stamping program and one AF_XDP socket with RX + TX rings (UMEM with TX metadata); requests
 * leave through its TX ring asking for a completion timestamp; the rx namespace's veth runs
 * bpf/reflect.bpf.c (swap addresses, XDP_TX); the replies come back into the same socket.
 */
import type { Lab } from '../lab/lab.js';
import { withNetns } from '../sys/netns.js';
import { PingSender } from './ping.js';
import { LatencyProbe } from '../rx/probe.js';
import { probeReport, runEnvironment, packageVersion } from './session.js';
import { RunMonitor } from '../measure/monitor.js';
import type { RunOutputs } from '../report/outputs.js';
import type { Report } from '../report/report.js';
import { BpfObject, attachXdp, bundledObject, type XdpAttachment } from '../xdp/program.js';
import { AfxdpError } from '../errors.js';
import { XSK_TX_METADATA_LEN } from '../xsk/constants.js';
import { native } from '../native.js';
import type { DemoOptions } from './demo.js';

/** What the report says about where the completion stamps come from (veth has no TX hardware). */
export const TX_TIMESTAMP_SOURCE_COPY = 'software (copy mode): the kernel stamps CLOCK_TAI when the sent skb is freed, not a NIC TX time';
export const TX_TIMESTAMP_SOURCE_ZC = 'driver (zero-copy): the driver\'s TX completion time';

/** Refuses what --ping cannot do, before anything is built. */
export function checkPingOptions(o: DemoOptions): void {
  if (o.program !== undefined) {
    throw new AfxdpError('EUSAGE', '--ping cannot use --program: the round trip runs afxdp\'s own stamping and reflecting programs on both ends of the lab', { hint: 'drop --program (or drop --ping to measure your program one way)' });
  }
  if (o.clock === 'tai') {
    throw new AfxdpError('EUSAGE', '--ping measures the round trip in CLOCK_MONOTONIC and converts nothing across clocks', { hint: 'drop --clock tai (TX completion stamps are compared with a TAI send time anyway)' });
  }
}

export async function runPingDemo(lab: Lab, outs: RunOutputs, opts: DemoOptions, packets: number, rate: number, log: (line: string) => void): Promise<Report> {
  const runId = (Math.random() * 0xffffffff) >>> 0;
  let probe: LatencyProbe | undefined;
  let monitor: RunMonitor | undefined;
  let reflector: { obj: BpfObject; link: XdpAttachment } | undefined;
  try {
    probe = LatencyProbe.open({
      ifname: lab.tx.ifname,
      netnsFd: lab.tx.netns.fd,
      mode: opts.mode ?? 'auto',
      clock: 'monotonic',
      senderRunId: runId,
      strategy: opts.strategy,
      simulateNoMeta: opts.simulateNoMeta,
      hints: opts.hints,
      txRingSize: 2048,
      txMetadataLen: XSK_TX_METADATA_LEN,
      ringSize: opts.ringSize,
      trackFrames: opts.trackFrames,
    });
    const p = probe;
    reflector = withNetns(lab.rx.netns.fd, () => attachReflector(lab.rx.ifname, p.mode));
    const ping = new PingSender(probe, { srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, runId, maxRequests: packets });
    const env = runEnvironment(packageVersion(), lab.tx.ifname, lab.tx.netns.fd);
    monitor = new RunMonitor([probe]);
    outs.attach([probe], monitor, { iface: lab.tx.ifname, queues: [probe.queue], mode: probe.mode, bind: probe.bindMode, strategy: probe.strategy, clock: 'monotonic', poll: 'event', env }, 'monotonic');
    monitor.start();
    probe.start();
    log(`lab ${lab.id}: ping ${lab.tx.ifname} → ${lab.rx.ifname} (reflected with XDP_TX) → ${lab.tx.ifname}, XDP ${probe.mode} mode, AF_XDP ${probe.bindMode} bind, strategy ${probe.strategy}, TX completion timestamps requested`);
    log(`sending ${packets} requests at ${rate === 0 ? 'full speed' : `${rate} pps`}`);
    const t0 = process.hrtime.bigint();
    await ping.send(packets, rate, opts.signal);
    await ping.settle(1000, opts.signal);
    const durationS = Number(process.hrtime.bigint() - t0) / 1e9;
    probe.drain();
    monitor.stop();
    const report = probeReport(probe, { sent: ping.sent, durationS, poll: 'event', env, monitor });
    report.latency_ns = {
      ...report.latency_ns,
      rtt: ping.rtt.histogram.totalCount > 0 ? ping.rtt.summary() : null,
      tx_completion: ping.txCompletion.histogram.totalCount > 0 ? ping.txCompletion.summary() : null,
    };
    report.ping = { ...ping.counts(), tx_timestamp_source: probe.bindMode === 'copy' ? TX_TIMESTAMP_SOURCE_COPY : TX_TIMESTAMP_SOURCE_ZC };
    await outs.finish(report);
    return report;
  } finally {
    monitor?.stop();
    probe?.close();
    reflector?.link.detach();
    reflector?.obj.close();
  }
}

/** Loads and attaches bpf/reflect.bpf.c (inside the interface's namespace). */
function attachReflector(ifname: string, mode: 'native' | 'generic'): { obj: BpfObject; link: XdpAttachment } {
  const ifindex = native().ifNameToIndex(ifname);
  if (ifindex === 0) throw new AfxdpError('ENOIFACE', `interface ${ifname} not found in the lab namespace`);
  const obj = BpfObject.open(bundledObject('reflect'));
  try {
    obj.load();
    const link = attachXdp(obj.programFd('afxdp_reflect'), ifindex, ifname, mode);
    return { obj, link };
  } catch (e) {
    obj.close();
    throw e;
  }
}
