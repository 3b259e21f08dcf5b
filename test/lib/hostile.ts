/**
 * Hostile Ethernet frames for the robustness tests: runts, unknown EtherTypes, lying IPv4
 * headers, VLAN/QinQ, IPv6 garbage, maximum-size frames, ARP, plus seeded random garbage.
 * `udpMatch()` mirrors match_frame() in bpf/stamp.bpf.c, so a test can predict exactly which
 * frames the default (UDP) filter redirects.
 */
import { writeUdpFrame, PAYLOAD_MAGIC } from '../../src/wire/frame.js';

export interface HostileFrame {
  name: string;
  bytes: Uint8Array;
}

const BCAST = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function eth(dst: Uint8Array, src: Uint8Array, type: number, body: number[] | Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + body.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(body, 14);
  return f;
}

/** IPv4 header (20 bytes unless ihl says more) + body, with the given field overrides. */
function ipv4(o: { ihl?: number; version?: number; totLen?: number; proto?: number; frag?: number; extra?: number }, body: number[]): number[] {
  const ihl = o.ihl ?? 5;
  const h = new Array<number>(Math.max(20, o.extra ?? 20)).fill(0);
  h[0] = ((o.version ?? 4) << 4) | (ihl & 0x0f);
  const tot = o.totLen ?? h.length + body.length;
  h[2] = (tot >> 8) & 0xff;
  h[3] = tot & 0xff;
  h[6] = ((o.frag ?? 0x4000) >> 8) & 0xff;
  h[7] = (o.frag ?? 0x4000) & 0xff;
  h[8] = 64;
  h[9] = o.proto ?? 17;
  h.splice(12, 8, 198, 18, 9, 1, 198, 18, 9, 2);
  return [...h, ...body];
}

function udp(dport: number, len: number, payload: number[] = []): number[] {
  const l = len;
  return [0x9c, 0x40, dport >> 8, dport & 0xff, l >> 8, l & 0xff, 0, 0, ...payload];
}

const fakePayload = [(PAYLOAD_MAGIC >>> 24) & 0xff, (PAYLOAD_MAGIC >>> 16) & 0xff, (PAYLOAD_MAGIC >>> 8) & 0xff, PAYLOAD_MAGIC & 0xff, ...new Array<number>(16).fill(0xee)];

/** A deterministic PRNG (mulberry32) so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hostileFrames(dst: Uint8Array, src: Uint8Array, opts: { random?: number; seed?: number; maxFrame?: number } = {}): HostileFrame[] {
  const max = opts.maxFrame ?? 1514;
  const out: HostileFrame[] = [];
  const add = (name: string, bytes: Uint8Array): void => {
    out.push({ name, bytes });
  };
  add('runt: Ethernet header only', eth(dst, src, 0x0800, []));
  add('runt: header only, unknown type', eth(dst, src, 0x1234, []));
  add('runt: 15 bytes, IPv4 type', eth(dst, src, 0x0800, [0x45]));
  add('unknown EtherType 0x88b5', eth(dst, src, 0x88b5, new Array<number>(46).fill(0xab)));
  add('unknown EtherType 0xffff', eth(dst, src, 0xffff, new Array<number>(100).fill(1)));
  add('802.3 length field as type', eth(dst, src, 0x0040, new Array<number>(64).fill(0)));
  add('ARP request (broadcast)', eth(BCAST, src, 0x0806, [0, 1, 8, 0, 6, 4, 0, 1, ...src, 198, 18, 9, 1, 0, 0, 0, 0, 0, 0, 198, 18, 9, 2]));
  add('ARP truncated', eth(BCAST, src, 0x0806, [0, 1, 8]));
  add('IPv4 UDP, good', eth(dst, src, 0x0800, ipv4({}, udp(9, 28, fakePayload))));
  add('IPv4 UDP to port 4242', eth(dst, src, 0x0800, ipv4({}, udp(4242, 28, fakePayload))));
  add('IPv4 truncated header (10 bytes)', eth(dst, src, 0x0800, [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17]));
  add('IPv4 ihl 2 (< 5)', eth(dst, src, 0x0800, ipv4({ ihl: 2 }, udp(9, 28, fakePayload))));
  add('IPv4 ihl 15, header runs past the frame', eth(dst, src, 0x0800, ipv4({ ihl: 15 }, [1, 2, 3, 4])));
  add('IPv4 ihl 15, UDP header cut', eth(dst, src, 0x0800, ipv4({ ihl: 15, extra: 60 }, [0, 9, 0])));
  add('IPv4 total length 65535 (lying)', eth(dst, src, 0x0800, ipv4({ totLen: 65535 }, udp(9, 28, fakePayload))));
  add('IPv4 total length 0 (lying)', eth(dst, src, 0x0800, ipv4({ totLen: 0 }, udp(9, 28, fakePayload))));
  add('IPv4 version 6 in a v4 frame', eth(dst, src, 0x0800, ipv4({ version: 6 }, udp(9, 28, fakePayload))));
  add('IPv4 later fragment, UDP', eth(dst, src, 0x0800, ipv4({ frag: 0x0010 }, udp(9, 28, fakePayload))));
  add('IPv4 UDP length 65535 (lying)', eth(dst, src, 0x0800, ipv4({}, udp(9, 65535, fakePayload))));
  add('IPv4 UDP header cut after 3 bytes', eth(dst, src, 0x0800, ipv4({}, [0x9c, 0x40, 0])));
  add('IPv4 TCP', eth(dst, src, 0x0800, ipv4({ proto: 6 }, new Array<number>(20).fill(0))));
  add('IPv4 ICMP', eth(dst, src, 0x0800, ipv4({ proto: 1 }, [8, 0, 0, 0, 0, 0, 0, 0])));
  add('802.1Q VLAN 5, IPv4 UDP', eth(dst, src, 0x8100, [0, 5, 0x08, 0x00, ...ipv4({}, udp(9, 28, fakePayload))]));
  add('802.1Q tag cut (2 bytes)', eth(dst, src, 0x8100, [0, 5]));
  add('802.1Q, inner type missing', eth(dst, src, 0x8100, [0, 5, 0x08]));
  add('802.1ad QinQ, IPv4 UDP inside two tags', eth(dst, src, 0x88a8, [0, 7, 0x81, 0x00, 0, 5, 0x08, 0x00, ...ipv4({}, udp(9, 28, fakePayload))]));
  add('802.1ad, IPv4 UDP inside one tag', eth(dst, src, 0x88a8, [0, 7, 0x08, 0x00, ...ipv4({}, udp(9, 28, fakePayload))]));
  add('QinQ with garbage', eth(dst, src, 0x88a8, [0xff, 0xff, 0x88, 0xa8, 0xff, 0xff, 0x88, 0xa8]));
  const ip6 = (next: number, body: number[], payloadLen?: number): number[] => {
    const h = new Array<number>(40).fill(0);
    h[0] = 0x60;
    const pl = payloadLen ?? body.length;
    h[4] = (pl >> 8) & 0xff;
    h[5] = pl & 0xff;
    h[6] = next;
    h[7] = 64;
    h[8] = 0x20;
    h[24] = 0x20;
    return [...h, ...body];
  };
  add('IPv6 header cut (10 bytes)', eth(dst, src, 0x86dd, new Array<number>(10).fill(0x66)));
  add('IPv6 UDP, good', eth(dst, src, 0x86dd, ip6(17, udp(9, 28, fakePayload))));
  add('IPv6 UDP header cut', eth(dst, src, 0x86dd, ip6(17, [0x9c])));
  add('IPv6 payload length 65535 (lying)', eth(dst, src, 0x86dd, ip6(17, udp(9, 28, fakePayload), 65535)));
  add('IPv6 hop-by-hop then garbage', eth(dst, src, 0x86dd, ip6(0, new Array<number>(64).fill(0xff))));
  add('IPv6 version 4 in a v6 frame', eth(dst, src, 0x86dd, [0x45, ...new Array<number>(60).fill(0x11)]));
  // maximum size for a 1500-byte MTU: 1514 bytes on the wire (no FCS)
  const big = new Uint8Array(max);
  writeUdpFrame(big, 0, max, { srcMac: src, dstMac: dst, srcIp: Uint8Array.from([198, 18, 9, 1]), dstIp: Uint8Array.from([198, 18, 9, 2]), srcPort: 40000, dstPort: 9 });
  add(`maximum-size IPv4 UDP (${max} bytes)`, big);
  const bigJunk = new Uint8Array(max);
  bigJunk.fill(0xa5);
  bigJunk.set(dst, 0);
  bigJunk.set(src, 6);
  add(`maximum-size garbage (${max} bytes)`, bigJunk);
  // seeded random garbage: random length, random bytes after the MACs, EtherType from a list that
  // hits every branch of the parser
  const rnd = prng(opts.seed ?? 0x5eed);
  const types = [0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x1234];
  for (let i = 0; i < (opts.random ?? 0); i++) {
    const len = 14 + Math.floor(rnd() * (max - 14 + 1));
    const f = new Uint8Array(len);
    for (let j = 12; j < len; j++) f[j] = Math.floor(rnd() * 256);
    f.set(dst, 0);
    f.set(src, 6);
    if (rnd() < 0.8) {
      const t = types[Math.floor(rnd() * types.length)]!;
      f[12] = t >> 8;
      f[13] = t & 0xff;
      if ((t === 0x0800 || t === 0x8100) && len > 15 && rnd() < 0.5) f[t === 0x0800 ? 14 : 18] = 0x45;
      if (len > 23 && rnd() < 0.5) f[23] = 17; // IPv4 protocol UDP
      if (t === 0x8100 && len > 17) {
        f[16] = 0x08;
        f[17] = 0x00;
      }
    }
    add(`random #${i} (${len} bytes)`, f);
  }
  return out;
}

/**
 * Does match_frame() in bpf/stamp.bpf.c (cfg_match UDP, cfg_udp_port `port`, 0 = any) take this
 * frame? A line-by-line mirror of the C, so the test knows how many frames must arrive.
 */
export function udpMatch(f: Uint8Array, port = 0): boolean {
  const u16 = (o: number): number => (f[o]! << 8) | f[o + 1]!;
  if (f.length < 14) return false;
  let proto = u16(12);
  let l3 = 14;
  if (proto === 0x8100 || proto === 0x88a8) {
    if (l3 + 4 > f.length) return false;
    proto = u16(l3 + 2);
    l3 += 4;
  }
  let l4: number;
  if (proto === 0x0800) {
    if (l3 + 20 > f.length) return false;
    const ihl = f[l3]! & 0x0f;
    if (f[l3 + 9] !== 17 || ihl < 5) return false;
    l4 = l3 + ihl * 4;
  } else if (proto === 0x86dd) {
    if (l3 + 40 > f.length || f[l3 + 6] !== 17) return false;
    l4 = l3 + 40;
  } else {
    return false;
  }
  if (l4 + 8 > f.length) return false;
  return port === 0 || u16(l4 + 2) === port;
}
