/**
 * A UDP view of a received frame (Ethernet, at most one 802.1Q tag, IPv4 or IPv6, UDP) and the
 * in-place reply: addresses and ports swapped, the UDP checksum computed anew. Reads and writes
 * the frame's bytes only; a view is filled, never allocated, per packet.
 */
import { internetChecksum, ETH_HLEN, UDP_HLEN, VLAN_HLEN } from './frame.js';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const IPPROTO_UDP = 17;
const IPV6_HLEN = 40;

/** Where a UDP datagram's parts are in a frame; fill it with parseUdp() (reuse one per loop). */
export class UdpView {
  /** 4 or 6 */
  ipVersion = 0;
  /** offset of the Ethernet header (the frame's start) */
  ethOffset = 0;
  /** offset of the IP header (after Ethernet and a VLAN tag) */
  ipOffset = 0;
  /** offset of the UDP header */
  udpOffset = 0;
  /** offsets of the source and destination address; `addressLength` bytes each (4 or 16) */
  srcAddressOffset = 0;
  dstAddressOffset = 0;
  addressLength = 0;
  srcPort = 0;
  dstPort = 0;
  /** the UDP payload: buffer[payloadOffset, payloadOffset + payloadLength) */
  payloadOffset = 0;
  payloadLength = 0;
  /** the buffer the offsets point into (set by parseUdp) */
  buffer: Uint8Array = new Uint8Array(0);

  /** The source address as text ('10.0.0.1', or IPv6 in full hex groups); allocates: not per packet in a fast path. */
  srcAddress(): string {
    return addressText(this.buffer, this.srcAddressOffset, this.addressLength);
  }

  dstAddress(): string {
    return addressText(this.buffer, this.dstAddressOffset, this.addressLength);
  }
}

/**
 * Fills `view` from the frame buf[off, off+len) and returns true when it is one whole UDP
 * datagram over IPv4 (not a fragment) or IPv6 (UDP right after the fixed header), else false.
 */
export function parseUdp(buf: Uint8Array, off: number, len: number, view: UdpView): boolean {
  const end = off + len;
  let at = off + ETH_HLEN;
  if (at > end) return false;
  let type = (buf[at - 2]! << 8) | buf[at - 1]!;
  if (type === ETH_P_8021Q) {
    at += VLAN_HLEN;
    if (at > end) return false;
    type = (buf[at - 2]! << 8) | buf[at - 1]!;
  }
  view.ethOffset = off;
  view.ipOffset = at;
  if (type === ETH_P_IP) {
    if (at + 20 > end || buf[at]! >> 4 !== 4) return false;
    const ihl = (buf[at]! & 0x0f) * 4;
    // more fragments, or a fragment offset: not a whole datagram
    if (ihl < 20 || buf[at + 9] !== IPPROTO_UDP || ((buf[at + 6]! & 0x3f) | buf[at + 7]!) !== 0) return false;
    view.ipVersion = 4;
    view.srcAddressOffset = at + 12;
    view.dstAddressOffset = at + 16;
    view.addressLength = 4;
    at += ihl;
  } else if (type === ETH_P_IPV6) {
    if (at + IPV6_HLEN > end || buf[at]! >> 4 !== 6 || buf[at + 6] !== IPPROTO_UDP) return false;
    view.ipVersion = 6;
    view.srcAddressOffset = at + 8;
    view.dstAddressOffset = at + 24;
    view.addressLength = 16;
    at += IPV6_HLEN;
  } else {
    return false;
  }
  if (at + UDP_HLEN > end) return false;
  const udpLen = (buf[at + 4]! << 8) | buf[at + 5]!;
  if (udpLen < UDP_HLEN || at + udpLen > end) return false;
  view.udpOffset = at;
  view.srcPort = (buf[at]! << 8) | buf[at + 1]!;
  view.dstPort = (buf[at + 2]! << 8) | buf[at + 3]!;
  view.payloadOffset = at + UDP_HLEN;
  view.payloadLength = udpLen - UDP_HLEN;
  view.buffer = buf;
  return true;
}

/**
 * Turns the datagram `view` describes into its reply, in place: Ethernet, IP addresses and UDP
 * ports swapped, and the UDP checksum computed over the pseudo-header and the datagram. Computed,
 * not zeroed: what arrived may carry a partial checksum (the sender's checksum offload on veth
 * and virtio leaves only the pseudo-header sum), IPv6 forbids a zero one, and a real one lets the
 * peer check the payload. The IPv4 header checksum stays valid (a swap keeps its sum).
 */
export function udpReply(view: UdpView): void {
  const b = view.buffer;
  swap(b, view.ethOffset, view.ethOffset + 6, 6);
  swap(b, view.srcAddressOffset, view.dstAddressOffset, view.addressLength);
  swap(b, view.udpOffset, view.udpOffset + 2, 2);
  const u = view.udpOffset;
  const udpLen = view.payloadLength + UDP_HLEN;
  b[u + 6] = 0;
  b[u + 7] = 0;
  // pseudo-header: both addresses, protocol, UDP length (the same sum for IPv4 and IPv6)
  let sum = sum16(b, view.srcAddressOffset, view.addressLength) + sum16(b, view.dstAddressOffset, view.addressLength) + IPPROTO_UDP + udpLen;
  sum += (~internetChecksum(b, u, udpLen)) & 0xffff;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  let ck = ~sum & 0xffff;
  if (ck === 0) ck = 0xffff; // 0 means "no checksum" (RFC 768)
  b[u + 6] = ck >> 8;
  b[u + 7] = ck & 0xff;
}

/** the ones'-complement sum (not folded to 16 bits, not inverted) of an even-length range */
function sum16(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  return s;
}

function swap(buf: Uint8Array, a: number, c: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = buf[a + i]!;
    buf[a + i] = buf[c + i]!;
    buf[c + i] = t;
  }
}

function addressText(b: Uint8Array, off: number, len: number): string {
  if (len === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
  return groups.join(':');
}
