/**
 * The UDP view of a packet and the in-place reply, against a real UDP client: a dgram socket in
 * the lab's other namespace sends through its kernel stack (veth checksum offload on, as
 * shipped) and must get every echo back, none counted as a checksum error there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, UdpView, parseUdp, udpReply, type AfxdpSocket } from '../src/index.js';
import type { Lab } from '../src/entry/lab.js';
import { withLab } from './lib/lab.js';

const PORT = 7007;
const COUNT = 20;

/**
 * A node client in the tx namespace: sends COUNT datagrams to rx's PORT from its own port,
 * collects the replies for up to `waitMs`, and reports them with the namespace's UdpInCsumErrors
 * (/proc/net/snmp) before and after.
 */
async function udpClient(lab: Lab, waitMs: number): Promise<{ replies: string[]; from: string[]; csumBefore: number; csumAfter: number }> {
  const script = `
const dgram = require('dgram'), fs = require('fs');
const csum = () => { const l = fs.readFileSync('/proc/net/snmp', 'utf8').split('\\n').filter((x) => x.startsWith('Udp:')); const k = l[0].split(/\\s+/), v = l[1].split(/\\s+/); return Number(v[k.indexOf('InCsumErrors')]); };
const before = csum(); const replies = [], from = [];
const s = dgram.createSocket('udp4');
let ended = false;
const end = () => { if (ended) return; ended = true; s.close(); console.log(JSON.stringify({ replies, from, csumBefore: before, csumAfter: csum() })); };
s.on('message', (m, r) => { replies.push(m.toString()); from.push(r.address + ':' + r.port); if (replies.length === ${COUNT}) end(); });
s.bind(0, () => { for (let i = 0; i < ${COUNT}; i++) s.send('echo ' + i + ' '.repeat(i), ${PORT}, '${lab.rx.ip}'); });
setTimeout(end, ${waitMs});`;
  const { stdout } = await lab.tx.netns.exec(process.execPath, ['-e', script], { timeoutMs: waitMs + 10_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { replies: string[]; from: string[]; csumBefore: number; csumAfter: number };
}

function echo(sock: AfxdpSocket, reply: (b: Uint8Array, off: number, len: number) => boolean): void {
  sock.onBatch((batch) => {
    for (let i = 0; i < batch.length; i++) {
      const p = batch.packet(i);
      if (reply(p.buffer, p.offset, p.length)) sock.send(p.buffer, p.offset, p.length);
    }
  });
}

test('packet.udpReply(): a kernel UDP client in the other namespace gets every echo, no UdpInCsumErrors there; the partial checksum left as it arrived is counted as errors', async () => {
  await withLab(async (lab) => {
    const view = new UdpView();
    // the reply that tripped users: addresses and ports swapped, checksum left as it arrived
    {
      const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, udpPort: PORT, tx: true, bind: 'copy' });
      try {
        echo(sock, (b, off, len) => {
          if (!parseUdp(b, off, len, view)) return false;
          swapUdpOnly(view);
          return true;
        });
        const r = await udpClient(lab, 1500);
        assert.deepEqual(r.replies, [], 'a reply with the partial checksum is dropped by the client');
        assert.equal(r.csumAfter - r.csumBefore, COUNT, 'each one counted as UdpInCsumErrors (veth checksum offload left a partial checksum)');
      } finally {
        sock.close();
      }
    }
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, udpPort: PORT, tx: true, bind: 'copy' });
    try {
      const seen: string[] = [];
      sock.onBatch((batch) => {
        for (let i = 0; i < batch.length; i++) {
          const p = batch.packet(i);
          const u = p.udp();
          if (u === null) continue;
          seen.push(`${u.srcAddress()}>${u.dstAddress()}:${u.dstPort} ${u.payloadLength}`);
          assert.equal(new TextDecoder().decode(p.buffer.subarray(u.payloadOffset, u.payloadOffset + u.payloadLength)).trimEnd(), `echo ${seen.length - 1}`);
          assert.equal(p.udpReply(), true);
          sock.send(p.buffer, p.offset, p.length);
        }
      });
      const r = await udpClient(lab, 10_000);
      assert.equal(r.replies.length, COUNT, `every echo arrives (${JSON.stringify(r)})`);
      assert.deepEqual([...r.replies].sort(), Array.from({ length: COUNT }, (_, i) => `echo ${i}${' '.repeat(i)}`).sort());
      assert.ok(r.from.every((f) => f === `${lab.rx.ip}:${PORT}`), 'from the address and port the client sent to');
      assert.equal(r.csumAfter, r.csumBefore, 'no UdpInCsumErrors in the client namespace');
      assert.equal(seen.length, COUNT);
      assert.match(seen[3]!, new RegExp(`^${lab.tx.ip.replaceAll('.', '\\.')}>${lab.rx.ip.replaceAll('.', '\\.')}:${PORT} 9$`));
    } finally {
      sock.close();
    }
  });
});

test('parseUdp() refuses what is not one whole UDP datagram; udpReply() gives a checksum that verifies (IPv4 and IPv6)', () => {
  const v = new UdpView();
  // IPv6: Ethernet, fixed header (next header 17), UDP 8 + 3 bytes
  const f = new Uint8Array(14 + 40 + 11);
  f.set([0x86, 0xdd], 12);
  f[14] = 0x60;
  f[14 + 5] = 11;
  f[14 + 6] = 17;
  f[14 + 7] = 64;
  for (let i = 0; i < 16; i++) (f[14 + 8 + i] = i), (f[14 + 24 + i] = 0xf0 + (i & 0xf));
  f.set([0x30, 0x39, 0x00, 0x07, 0x00, 0x0b, 0x12, 0x34, 0x61, 0x62, 0x63], 54);
  assert.equal(parseUdp(f, 0, f.length, v), true);
  assert.deepEqual([v.ipVersion, v.srcPort, v.dstPort, v.payloadOffset, v.payloadLength], [6, 12345, 7, 62, 3]);
  assert.deepEqual([v.ethOffset, v.ipOffset, v.udpOffset], [0, 14, 54], 'IPv6 right after Ethernet');
  udpReply(v);
  assert.deepEqual([f[54], f[55], f[56], f[57]], [0x00, 0x07, 0x30, 0x39], 'ports swapped');
  assert.equal(v.srcAddress(), 'f0f1:f2f3:f4f5:f6f7:f8f9:fafb:fcfd:feff', 'the reply comes from where the request went');
  assert.equal(pseudoSum(f, v), 0xffff, 'the UDP checksum verifies over the pseudo-header');
  assert.equal(parseUdp(f, 0, f.length - 1, v), false, 'UDP length beyond the frame');
  f[14 + 6] = 6;
  assert.equal(parseUdp(f, 0, f.length, v), false, 'TCP');
  // an IPv4 fragment
  const g = new Uint8Array(14 + 20 + 8);
  g.set([0x08, 0x00], 12);
  g[14] = 0x45;
  g[14 + 9] = 17;
  g[14 + 6] = 0x20; // more fragments
  g.set([0, 1, 0, 2, 0, 8, 0, 0], 34);
  assert.equal(parseUdp(g, 0, g.length, v), false);
  g[14 + 6] = 0x40; // don't fragment only
  assert.equal(parseUdp(g, 0, g.length, v), true);
  assert.equal(v.payloadLength, 0);
  // the same datagram behind an 802.1Q tag, 100 bytes into a buffer: every offset moves with it
  const h = new Uint8Array(100 + 4 + g.length);
  h.set(g.subarray(0, 12), 100);
  h.set([0x81, 0x00, 0x00, 0x05], 112);
  h.set(g.subarray(12), 116);
  assert.equal(parseUdp(h, 100, h.length - 100, v), true);
  assert.deepEqual([v.ipVersion, v.ethOffset, v.ipOffset, v.udpOffset, v.payloadOffset], [4, 100, 118, 138, 146]);
});

/** the ones'-complement sum over the pseudo-header and the datagram, folded: 0xffff when the checksum verifies */
function pseudoSum(b: Uint8Array, v: UdpView): number {
  let s = 17 + v.payloadLength + 8;
  for (const at of [v.srcAddressOffset, v.dstAddressOffset]) for (let i = 0; i < v.addressLength; i += 2) s += (b[at + i]! << 8) | b[at + i + 1]!;
  const n = v.payloadLength + 8;
  for (let i = 0; i < n; i += 2) s += (b[v.udpOffset + i]! << 8) | (i + 1 < n ? b[v.udpOffset + i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** what the first users wrote: Ethernet, IP addresses and ports swapped, the checksum untouched */
function swapUdpOnly(v: UdpView): void {
  const b = v.buffer;
  const sw = (a: number, c: number, n: number): void => {
    for (let i = 0; i < n; i++) [b[a + i], b[c + i]] = [b[c + i]!, b[a + i]!];
  };
  sw(v.ethOffset, v.ethOffset + 6, 6);
  sw(v.srcAddressOffset, v.dstAddressOffset, v.addressLength);
  sw(v.udpOffset, v.udpOffset + 2, 2);
}
