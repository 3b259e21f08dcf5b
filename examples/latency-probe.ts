// SPDX-License-Identifier: MIT
// How long do packets take from the XDP hook to this JavaScript? Usage: latency-probe IFACE [PACKETS]
import { open } from 'afxdp';

const [iface = 'eth0', limit = '1000'] = process.argv.slice(2);
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

await using sock = open({ iface }); // default program: UDP → stamp → this socket; the rest → kernel
console.error(`listening on ${iface} (XDP ${sock.mode}, AF_XDP ${sock.bind})`);
let seen = 0;
for await (const batch of sock.batches({ signal: stop.signal })) {
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i); // one reused view: no allocation per packet
    if (seen++ % 1000 === 0) console.log(`packet ${seen}: ${p.length} bytes, queue ${p.queue}, ${p.latencyNs} ns`);
  }
  if (seen >= Number(limit)) break;
}
const l = sock.latency();
console.log(`${seen} packets: p50 ${l.p50} ns, p99 ${l.p99} ns, max ${l.max} ns`);
