import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DEFAULT_FRAME_SIZE,
  DEFAULT_UDP_PORT,
  FRAME_MAX,
  FRAME_MIN,
  PAYLOAD_FIELD,
  PAYLOAD_MAGIC,
  PAYLOAD_OFFSET,
  internetChecksum,
  ipv4FromString,
  macFromString,
  readPayload,
  setRunId,
  setSeq,
  setTxTimestamp,
  writeUdpFrame,
} from '../src/wire/frame.js';

const params = {
  srcMac: macFromString('02:00:00:00:00:01'),
  dstMac: macFromString('02:00:00:00:00:02'),
  srcIp: ipv4FromString('198.18.0.1'),
  dstIp: ipv4FromString('198.18.0.2'),
  srcPort: 40000,
  dstPort: DEFAULT_UDP_PORT,
};

/** A frame at a non-zero, unaligned offset inside a larger buffer, like a UMEM chunk. */
function built(size = DEFAULT_FRAME_SIZE, off = 4099): { buf: Uint8Array; off: number } {
  const buf = new Uint8Array(16384).fill(0xee);
  writeUdpFrame(buf, off, size, params);
  setRunId(buf, off, 0xdeadbeef);
  setSeq(buf, off, 123456789);
  setTxTimestamp(buf, off, 0x89abcdef, 0x01234567);
  return { buf, off };
}

function withVlan(frame: Uint8Array, tpid: number): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12), 0);
  out[12] = tpid >> 8;
  out[13] = tpid & 0xff;
  out[14] = 0x00; // PCP 0, VID 100
  out[15] = 100;
  out.set(frame.subarray(12), 16);
  return out;
}

test('a built frame parses and carries its fields', () => {
  const { buf, off } = built();
  const out = new Uint32Array(4);
  assert.equal(readPayload(buf, off, DEFAULT_FRAME_SIZE, out), true);
  assert.deepEqual([...out], [0xdeadbeef, 123456789, 0x89abcdef, 0x01234567]);
  // Layout others rely on.
  assert.equal(PAYLOAD_OFFSET, 42);
  const d = new DataView(buf.buffer, off);
  assert.equal(d.getUint32(PAYLOAD_OFFSET + PAYLOAD_FIELD.magic), PAYLOAD_MAGIC);
  assert.equal(new TextDecoder().decode(buf.subarray(off + 42, off + 46)), 'AFXG');
  assert.equal(d.getBigUint64(PAYLOAD_OFFSET + PAYLOAD_FIELD.txLo, true), 0x0123456789abcdefn);
  assert.equal(d.getUint32(PAYLOAD_OFFSET + PAYLOAD_FIELD.seq, true), 123456789);
  // Zero padding to the end, and nothing written past it.
  assert.ok(buf.subarray(off + PAYLOAD_OFFSET + 20, off + DEFAULT_FRAME_SIZE).every((b) => b === 0));
  assert.equal(buf[off + DEFAULT_FRAME_SIZE], 0xee);
  assert.equal(buf[off - 1], 0xee);
  // Hot setters overwrite in place.
  setSeq(buf, off, 0xffffffff);
  assert.equal(readPayload(buf, off, DEFAULT_FRAME_SIZE, out), true);
  assert.equal(out[1], 0xffffffff);
});

test('internetChecksum: the RFC 1071 example and a published IPv4 header', () => {
  // RFC 1071 §3: the one's-complement sum of 0001 f203 f4f5 f6f7 is ddf2; the checksum its complement
  const rfc = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(internetChecksum(rfc, 0, rfc.length), 0x220d);
  // the IPv4 header of the "IPv4 header checksum" example (Wikipedia): checksum b861; a header
  // carrying its checksum sums to 0; an odd length pads the last byte with a zero
  const hdr = Uint8Array.from([0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]);
  assert.equal(internetChecksum(hdr, 0, 20), 0xb861);
  hdr[10] = 0xb8;
  hdr[11] = 0x61;
  assert.equal(internetChecksum(hdr, 0, 20), 0);
  assert.equal(internetChecksum(Uint8Array.from([0x12, 0x34, 0x56]), 0, 3), ~(0x1234 + 0x5600) & 0xffff);
});

test('IPv4 header: checksum verifies, TTL 64, DF, lengths cover the frame', () => {
  for (const size of [FRAME_MIN, 64, 1514, FRAME_MAX]) {
    const { buf, off } = built(size, 0);
    const ip = off + 14;
    assert.equal(internetChecksum(buf, ip, 20), 0, `checksum of a ${size}-byte frame`);
    const d = new DataView(buf.buffer);
    assert.equal(buf[ip], 0x45);
    assert.equal(buf[ip + 8], 64);
    assert.equal(buf[ip + 9], 17);
    assert.equal(d.getUint16(ip + 6), 0x4000);
    assert.equal(d.getUint16(ip + 2), size - 14);
    assert.equal(d.getUint16(ip + 20 + 4), size - 34);
    assert.equal(d.getUint16(ip + 20 + 6), 0, 'UDP checksum 0');
  }
});

test('tcpdump decodes the frame as UDP 198.18.0.1.x > 198.18.0.2.9', (t) => {
  if (spawnSync('tcpdump', ['--version']).error) {
    t.skip('tcpdump not installed');
    return;
  }
  const { buf, off } = built();
  const frame = buf.subarray(off, off + DEFAULT_FRAME_SIZE);
  // Classic pcap: global header (LE, v2.4, snaplen 65535, LINKTYPE_ETHERNET) + one record.
  const pcap = new Uint8Array(24 + 16 + frame.length);
  const d = new DataView(pcap.buffer);
  d.setUint32(0, 0xa1b2c3d4, true);
  d.setUint16(4, 2, true);
  d.setUint16(6, 4, true);
  d.setUint32(16, 65535, true);
  d.setUint32(20, 1, true);
  d.setUint32(24, 1_700_000_000, true);
  d.setUint32(28, 0, true);
  d.setUint32(32, frame.length, true);
  d.setUint32(36, frame.length, true);
  pcap.set(frame, 40);
  const dir = mkdtempSync(path.join(tmpdir(), 'afxdp-frame-'));
  try {
    const file = path.join(dir, 'frame.pcap');
    writeFileSync(file, pcap);
    const r = spawnSync('tcpdump', ['-nn', '-v', '-e', '-r', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 \(0x0800\), length 64/);
    assert.match(out, /ttl 64, id 0, offset 0, flags \[DF\], proto UDP \(17\), length 50\)/);
    assert.match(out, /198\.18\.0\.1\.40000 > 198\.18\.0\.2\.9: (\[no cksum\] )?UDP, length 22/);
    assert.doesNotMatch(out, /bad cksum|truncated|bad-len/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a VLAN-tagged copy parses (802.1Q and 802.1ad); a double tag does not', () => {
  const { buf, off } = built();
  const frame = buf.slice(off, off + DEFAULT_FRAME_SIZE);
  const out = new Uint32Array(4);
  for (const tpid of [0x8100, 0x88a8]) {
    const tagged = withVlan(frame, tpid);
    out.fill(0);
    assert.equal(readPayload(tagged, 0, tagged.length, out), true, `tpid ${tpid.toString(16)}`);
    assert.deepEqual([...out], [0xdeadbeef, 123456789, 0x89abcdef, 0x01234567]);
  }
  const twice = withVlan(withVlan(frame, 0x8100), 0x88a8);
  assert.equal(readPayload(twice, 0, twice.length, out), false);
});

test('garbage, foreign and truncated frames are rejected', () => {
  const out = new Uint32Array(4);
  const { buf, off } = built();
  const good = buf.slice(off, off + DEFAULT_FRAME_SIZE);
  const bad = (mutate: (f: Uint8Array) => void, len = good.length): boolean => {
    const f = good.slice();
    mutate(f);
    return readPayload(f, 0, len, out);
  };
  assert.equal(bad(() => {}), true);
  assert.equal(bad((f) => (f[13] = 0xdd)), false, 'ethertype');
  assert.equal(bad((f) => (f[14] = 0x65)), false, 'IP version');
  assert.equal(bad((f) => (f[14] = 0x44)), false, 'IHL < 5');
  assert.equal(bad((f) => (f[23] = 6)), false, 'protocol TCP');
  assert.equal(bad((f) => (f[37] = 10)), false, 'dst port');
  assert.equal(bad((f) => (f[42] = 0x42)), false, 'magic');
  assert.equal(bad((f) => (f[21] = 0x01)), false, 'later fragment');
  assert.equal(bad((f) => (f[16] = 0x7f)), false, 'IP total length beyond the frame');
  assert.equal(bad((f) => (f[39] = 20)), false, 'UDP length too short for the payload');
  assert.equal(bad(() => {}, 61), false, 'truncated to 61');
  assert.equal(bad(() => {}, 14), false, 'only the Ethernet header');
  assert.equal(bad(() => {}, 0), false, 'empty');
  assert.equal(readPayload(good, 10, good.length, out), false, 'len beyond the buffer');
  assert.equal(readPayload(good, -1, 62, out), false, 'negative offset');
  // The port filter: 0 accepts any port, another port rejects.
  const other = good.slice();
  other[37] = 10;
  assert.equal(readPayload(other, 0, other.length, out, 10), true);
  assert.equal(readPayload(other, 0, other.length, out, 0), true);
  assert.equal(readPayload(good, 0, good.length, out, 10), false);
  // Random bytes never parse.
  let seed = 1;
  const junk = new Uint8Array(2048);
  for (let i = 0; i < 2000; i++) {
    for (let j = 0; j < 128; j++) junk[j] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    assert.equal(readPayload(junk, 0, 128, out), false);
  }
});

test('size bounds and bad parameters throw EUSAGE', () => {
  const buf = new Uint8Array(FRAME_MAX + 100);
  const usage = { name: 'AfxdpError', code: 'EUSAGE' };
  for (const size of [0, 59, 60, 61, FRAME_MAX + 1, 64.5, Number.NaN]) {
    assert.throws(() => writeUdpFrame(buf, 0, size, params), usage, `size ${size}`);
  }
  for (const size of [FRAME_MIN, DEFAULT_FRAME_SIZE, FRAME_MAX]) {
    writeUdpFrame(buf, 0, size, params);
    assert.equal(readPayload(buf, 0, size, new Uint32Array(4)), true, `size ${size}`);
  }
  assert.throws(() => writeUdpFrame(buf, 200, FRAME_MAX, params), usage, 'does not fit');
  assert.throws(() => writeUdpFrame(buf, 0, 64, { ...params, srcMac: new Uint8Array(5) }), usage);
  assert.throws(() => writeUdpFrame(buf, 0, 64, { ...params, dstIp: new Uint8Array(16) }), usage);
  assert.throws(() => writeUdpFrame(buf, 0, 64, { ...params, dstPort: 0 }), usage);
  assert.throws(() => writeUdpFrame(buf, 0, 64, { ...params, srcPort: 70000 }), usage);
  assert.throws(() => macFromString('02:00:00:00:00'), usage);
  assert.throws(() => ipv4FromString('198.18.0.256'), usage);
  assert.throws(() => ipv4FromString('198.18.0.01'), usage);
});

test('setters and reader work across several buffers (no cached view mix-up)', () => {
  const a = built(64, 0);
  const b = built(64, 128);
  const out = new Uint32Array(4);
  for (let i = 0; i < 5; i++) {
    setSeq(a.buf, a.off, i);
    setSeq(b.buf, b.off, 1000 + i);
    assert.equal(readPayload(a.buf, a.off, 64, out), true);
    assert.equal(out[1], i);
    assert.equal(readPayload(b.buf, b.off, 64, out), true);
    assert.equal(out[1], 1000 + i);
  }
  // A view with a byteOffset into a shared ArrayBuffer (like a UMEM slice).
  const big = new Uint8Array(8192);
  const slice = big.subarray(1000, 3000);
  writeUdpFrame(slice, 10, 64, params);
  setSeq(slice, 10, 77);
  assert.equal(readPayload(big, 1010, 64, out), true);
  assert.equal(out[1], 77);
});
