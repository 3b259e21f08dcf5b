// SPDX-License-Identifier: MIT
/**
 * L2 forwarding in the receiving thread (xdpsock's l2fwd): every UDP frame on IFACE goes back out
 * of IFACE with its Ethernet addresses swapped, from the same UMEM frame — no copy, no hop to the
 * main thread. The per-packet code is the handler module (l2fwd-handler.forward.ts), which afxdp
 * runs in each queue's receive worker; this file opens the socket and prints the counts.
 * Usage: l2fwd-handler IFACE [QUEUES]. Runs until SIGINT/SIGTERM.
 */
import { open } from 'afxdp';

const [iface = 'eth0', queuesArg = '1'] = process.argv.slice(2);
const queues = Array.from({ length: Number(queuesArg) }, (_, q) => q);
const sock = open({ iface, queues, handler: new URL('./l2fwd-handler.forward.js', import.meta.url) });
sock.onError((err) => console.error(`stopped: ${err.message}`));
console.error(`forwarding on ${iface} queues ${queues.join(',')} (XDP ${sock.mode}, AF_XDP ${sock.bind}, poll ${sock.poll})`);

const quit = (): void => {
  const s = sock.stats();
  const l = sock.latency();
  sock.close();
  // handled = forwarded + dropped; counters[0] is what the handler counted itself
  console.error(`forwarded ${s.forwarded} of ${s.received} packets (handler saw ${s.handler!.counters[0]}), XDP → handler p50 ${l.p50} ns`);
};
process.once('SIGINT', quit);
process.once('SIGTERM', quit);
