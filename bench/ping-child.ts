/**
 * The round-trip client of the l2fwd bench, on the lab's tx end: afxdp's ping (src/run/ping.ts —
 * requests from a LatencyProbe's own socket, each carrying its CLOCK_MONOTONIC send time; replies
 * matched by sequence number) against whatever forwards on the rx end. The same client for the C
 * and the TS forwarder. "ready" on stderr once attached, one JSON object on stdout at the end.
 *
 *   node dist/bench/ping-child.js --iface IF --src-mac M --dst-mac M --src-ip A --dst-ip A --count N --rate PPS
 */
import { parseArgs } from 'node:util';
import { LatencyReceiver } from '../src/rx/receiver.js';
import { PingSender } from '../src/run/ping.js';
import { XSK_TX_METADATA_LEN } from '../src/xsk/constants.js';
import { macFromString, ipv4FromString } from '../src/wire/frame.js';

const { values: v } = parseArgs({
  options: {
    iface: { type: 'string' },
    'src-mac': { type: 'string' },
    'dst-mac': { type: 'string' },
    'src-ip': { type: 'string' },
    'dst-ip': { type: 'string' },
    count: { type: 'string' },
    rate: { type: 'string' },
  },
});
const count = Number(v.count);
const runId = (Math.random() * 0xffffffff) >>> 0;
const rx = LatencyReceiver.open({ ifname: v.iface!, mode: 'native', clock: 'monotonic', senderRunId: runId, txRingSize: 2048, txMetadataLen: XSK_TX_METADATA_LEN });
try {
  const ping = new PingSender(rx, { srcMac: macFromString(v['src-mac']!), dstMac: macFromString(v['dst-mac']!), srcIp: ipv4FromString(v['src-ip']!), dstIp: ipv4FromString(v['dst-ip']!), runId, maxRequests: count });
  rx.start();
  process.stderr.write('ready\n');
  await ping.send(count, Number(v.rate));
  await ping.settle(1000);
  process.stdout.write(JSON.stringify({ ...ping.counts(), rtt_ns: ping.rtt.histogram.totalCount > 0 ? ping.rtt.summary() : null }) + '\n');
} finally {
  rx.close();
}
