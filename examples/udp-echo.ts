// SPDX-License-Identifier: MIT
/**
 * UDP echo over AF_XDP: every UDP datagram (IPv4 or IPv6) to PORT on IFACE comes back to its sender,
 * without the kernel's network stack. Usage: udp-echo IFACE [PORT]. Runs until SIGINT/SIGTERM.
 */
import { open, type Batch } from 'afxdp';

const [iface = 'eth0', portArg = '7'] = process.argv.slice(2);
const sock = open({ iface, udpPort: Number(portArg), tx: true });

sock.onBatch((batch: Batch) => {
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i);
    // in place: Ethernet and IP addresses and ports swapped, the UDP checksum computed anew (what
    // arrived may carry a partial one left by the sender's checksum offload); false if not UDP
    if (!p.udpReply()) continue;
    sock.send(p.buffer, p.offset, p.length); // copied into a TX frame; sent when the batch is released
  }
});
console.error(`echoing UDP port ${portArg} on ${iface} (XDP ${sock.mode}, AF_XDP ${sock.bind})`);

const quit = (): void => {
  const s = sock.stats();
  sock.close();
  console.error(`echoed ${s.sent} of ${s.received} packets`);
};
process.once('SIGINT', quit);
process.once('SIGTERM', quit);
