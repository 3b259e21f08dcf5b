/**
 * `afxdp demo --ping`: the round trip through the lab. The tx namespace's veth gets afxdp's
 * stamping program and one AF_XDP socket with RX + TX rings (UMEM with TX metadata); requests
 * leave through its TX ring asking for a completion timestamp; the rx namespace's veth runs
 * bpf/reflect.bpf.c (swap addresses, XDP_TX); the replies come back into the same socket.
 */
import type { Lab } from '../lab/lab.js';
import { withNetns } from '../sys/netns.js';
import { PingSender } from './ping.js';
import { runPipeline } from './pipeline.js';
import type { Report } from '../report/report.js';
import { BpfObject, attachXdp, bundledObject, type XdpAttachment } from '../xdp/program.js';
import { AfxdpError } from '../errors.js';
import { XSK_TX_METADATA_LEN } from '../xsk/constants.js';
import { native } from '../native.js';
import { demoReceiverOptions, type DemoOptions } from './demo-options.js';

/** What the report says about where the completion stamps come from (veth has no TX hardware). */
export const TX_TIMESTAMP_SOURCE_COPY = 'software (copy mode): the kernel stamps CLOCK_TAI when the sent skb is freed, not a NIC TX time';
export const TX_TIMESTAMP_SOURCE_ZC = 'driver (zero-copy): the driver\'s TX completion time';

/** Refuses what --ping cannot do, before anything is built. */
export function checkPingOptions(o: DemoOptions): void {
  if (o.program !== undefined) {
    throw new AfxdpError('EUSAGE', '--ping cannot use --program: the round trip runs afxdp\'s own stamping and reflecting programs on both ends of the lab', { hint: 'drop --program (or drop --ping to measure your program one way)' });
  }
  if ((o.poll ?? 'event') !== 'event' || (o.queues ?? 1) > 1) {
    throw new AfxdpError('EUSAGE', '--ping sends its requests from the receiving socket, which lives on the main thread: it needs --poll event and one queue', { hint: `drop ${o.poll !== undefined && o.poll !== 'event' ? `--poll ${o.poll}` : '--queues'} (or drop --ping to measure one way in those modes)` });
  }
  if (o.txWorker) {
    throw new AfxdpError('EUSAGE', '--ping sends its requests from the receiving socket itself: --tx-worker does not apply', { hint: 'drop --tx-worker (or drop --ping)' });
  }
  if (o.warmup !== undefined) {
    throw new AfxdpError('EUSAGE', '--ping cannot use --warmup: its round-trip figures are recorded outside the receiver and would keep the warm-up', { hint: 'drop --warmup (or drop --ping to measure one way with a warm-up)' });
  }
  if (o.clock === 'tai') {
    throw new AfxdpError('EUSAGE', '--ping measures the round trip in CLOCK_MONOTONIC and converts nothing across clocks', { hint: 'drop --clock tai (TX completion stamps are compared with a TAI send time anyway)' });
  }
}

export async function runPingDemo(lab: Lab, opts: DemoOptions, packets: number, rate: number, log: (line: string) => void): Promise<Report> {
  const runId = (Math.random() * 0xffffffff) >>> 0;
  let reflector: { obj: BpfObject; link: XdpAttachment } | undefined;
  try {
    let ping: PingSender | undefined;
    const { report, error } = await runPipeline({
      receiver: {
        ifname: lab.tx.ifname,
        netnsFd: lab.tx.netns.fd,
        ...demoReceiverOptions(opts),
        clock: 'monotonic',
        senderRunId: runId,
        txRingSize: 2048,
        txMetadataLen: XSK_TX_METADATA_LEN,
      },
      expectedS: rate > 0 ? packets / rate : undefined,
      outputs: { target: packets, ...opts.outputs },
      dropPrivileges: opts.dropPrivileges,
      signal: opts.signal,
      onMetrics: opts.onMetrics,
      onOpen: (rx) => {
        reflector = withNetns(lab.rx.netns.fd, () => attachReflector(lab.rx.ifname, rx.mode));
        ping = new PingSender(rx, { srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, runId, maxRequests: packets });
        log(`lab ${lab.id}: ping ${lab.tx.ifname} → ${lab.rx.ifname} (reflected with XDP_TX) → ${lab.tx.ifname}, XDP ${rx.mode} mode, AF_XDP ${rx.bindMode} bind, strategy ${rx.strategy}, TX completion timestamps requested`);
      },
      traffic: () => {
        const p = ping!;
        log(`sending ${packets} requests at ${rate === 0 ? 'full speed' : `${rate} pps`}`);
        return { done: p.send(packets, rate, opts.signal), sent: () => p.sent, expected: () => 0, settle: () => p.settle(1000, opts.signal) };
      },
      amend: (report, rx) => {
        const p = ping!;
        report.latency_ns = {
          ...report.latency_ns,
          rtt: p.rtt.histogram.totalCount > 0 ? p.rtt.summary() : null,
          tx_completion: p.txCompletion.histogram.totalCount > 0 ? p.txCompletion.summary() : null,
        };
        report.ping = { ...p.counts(), tx_timestamp_source: rx.bindMode === 'copy' ? TX_TIMESTAMP_SOURCE_COPY : TX_TIMESTAMP_SOURCE_ZC };
      },
    });
    if (error) throw error;
    return report;
  } finally {
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
