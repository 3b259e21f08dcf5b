// SPDX-License-Identifier: MIT
/**
 * UDP echo over AF_XDP: every UDP/IPv4 datagram to PORT on IFACE comes back to its sender,
 * without the kernel's network stack. Usage: udp-echo IFACE [PORT]. Runs until SIGINT/SIGTERM.
 */
import { open, type Batch } from 'afxdp';

const [iface = 'eth0', portArg = '7'] = process.argv.slice(2);
const sock = open({ iface, udpPort: Number(portArg), tx: true });

function swap(buf: Uint8Array, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = buf[a + i]!;
    buf[a + i] = buf[b + i]!;
    buf[b + i] = t;
  }
}

sock.onBatch((batch: Batch) => {
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i);
    const b = p.buffer;
    const o = p.offset;
    // IPv4 without VLAN tag only (the default program also passes IPv6 and tagged frames)
    if (p.length < 42 || b[o + 12] !== 0x08 || b[o + 13] !== 0x00) continue;
    const l4 = o + 14 + (b[o + 14]! & 0x0f) * 4;
    swap(b, o, o + 6, 6); // Ethernet destination <-> source
    swap(b, o + 26, o + 30, 4); // IPv4 source <-> destination (the header checksum stays valid)
    swap(b, l4, l4 + 2, 2); // UDP ports
    // The checksum a sender left may be a partial one (checksum offload); 0 = "none" in IPv4.
    b[l4 + 6] = 0;
    b[l4 + 7] = 0;
    sock.send(b, o, p.length); // copied into a TX frame; sent when the batch is released
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
