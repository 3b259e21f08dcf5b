/**
 * StampDecoder and the map key on synthetic UMEM (no kernel): which packets count as stamped,
 * how prepended structs are recognised and stripped, and that the JS key matches meta.h's.
 * The kernel side of the same paths is tested end to end in strategies.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StampDecoder } from '../src/rx/stamps.js';
import { PacketBatch } from '../src/rx/batch.js';
import { newCounts, C_VIA_META, C_VIA_PREPEND, C_VIA_MAP } from '../src/rx/counts.js';
import { LatencyRecorder } from '../src/measure/recorder.js';
import { META_SIZE, F_XDP_TS, F_QUEUE, F_CLOCK_TAI, F_VIA_PREPEND, frameKey, mixWord, fmix32 } from '../src/xdp/meta.js';
import { writeUdpFrame, setSeq, setTxTimestamp, setRunId } from '../src/wire/frame.js';

const FRAME = 4096;
const COOKIE = 0xc0ffee01;

function umem(frames = 8) {
  const bytes = new Uint8Array(frames * FRAME);
  return { bytes, words: new Uint32Array(bytes.buffer), frameShift: 12 };
}

/** writes an afxdp_meta ending at byte `end`: ts = (hi, lo) */
function writeMeta(u: ReturnType<typeof umem>, end: number, o: { flags?: number; lo?: number; hi?: number; cookie?: number; len?: number; magic?: number } = {}): void {
  const w = u.words;
  const at = end >>> 2;
  w[at - 1] = o.magic ?? 0xafd8a001;
  w[at - 2] = o.len ?? META_SIZE;
  w[at - 3] = o.flags ?? F_XDP_TS | F_QUEUE;
  w[at - 4] = 0;
  w[at - 5] = o.hi ?? 0;
  w[at - 6] = o.lo ?? 1000;
  w[at - 7] = o.cookie ?? COOKIE;
}

function decode(strategy: 'auto' | 'meta' | 'prepend', u: ReturnType<typeof umem>, addrs: number[], lens: number[], clockFlag = 0) {
  const counts = newCounts(false);
  const dec = new StampDecoder(u, { strategy, clockFlag, cookie: COOKIE, mapFd: -1, batchSize: 64 }, counts);
  const rec = new LatencyRecorder();
  const a = Uint32Array.from(addrs);
  const l = Uint32Array.from(lens);
  const b = new PacketBatch(0, u.bytes, a.length, undefined, { addr: a, len: l });
  const valid = dec.decode(b, addrs.length);
  // as the engine does: a sample of now (5000) − stamp for each packet with flags
  for (let i = 0; i < addrs.length; i++) if (b.flags[i] !== 0) rec.record(5000 - b.xdpLo[i]! - b.xdpHi[i]! * 4294967296);
  const by = { meta: counts[C_VIA_META]!, prepend: counts[C_VIA_PREPEND]!, map: counts[C_VIA_MAP]! };
  return { valid, addrs: [...a], lens: [...l], by, summary: rec.summary(), flags: [...b.flags.subarray(0, addrs.length)] };
}

test('meta: a valid struct in front of the packet is one sample of now − stamp', () => {
  const u = umem();
  writeMeta(u, 256, { lo: 1000 });
  const r = decode('meta', u, [256], [64]);
  assert.equal(r.valid, 1);
  assert.deepEqual(r.by, { meta: 1, prepend: 0, map: 0 });
  assert.equal(r.summary.count, 1);
  assert.equal(r.summary.min, 4000);
});

test('meta: bad magic, bad length, no XDP_TS flag, or the other clock are invalid and never samples', () => {
  const u = umem();
  writeMeta(u, 256, { magic: 0 });
  writeMeta(u, FRAME + 256, { len: 50 });
  writeMeta(u, 2 * FRAME + 256, { flags: F_QUEUE });
  writeMeta(u, 3 * FRAME + 256, { flags: F_XDP_TS | F_CLOCK_TAI });
  writeMeta(u, 4 * FRAME + 256, { len: 220 });
  const r = decode('meta', u, [256, FRAME + 256, 2 * FRAME + 256, 3 * FRAME + 256, 4 * FRAME + 256], [64, 64, 64, 64, 64]);
  assert.equal(r.valid, 0);
  assert.equal(r.summary.count, 0);
  assert.deepEqual(r.flags, [0, 0, 0, 0, 0], 'no columns for invalid stamps');
  // the TAI-stamped one is valid for a TAI run
  assert.equal(decode('meta', u, [3 * FRAME + 256], [64], F_CLOCK_TAI).valid, 1);
});

test('prepend: recognised by magic, length, flag and run cookie; stripped so the frame is the original', () => {
  const u = umem();
  writeMeta(u, 256 + META_SIZE, { flags: F_XDP_TS | F_VIA_PREPEND });
  const r = decode('prepend', u, [256], [64 + META_SIZE]);
  assert.equal(r.valid, 1);
  assert.deepEqual(r.addrs, [256 + META_SIZE]);
  assert.deepEqual(r.lens, [64]);
  assert.deepEqual(r.by, { meta: 0, prepend: 1, map: 0 });
});

test('prepend: payload that looks like a struct but lacks the cookie or the flag is left alone', () => {
  const u = umem();
  writeMeta(u, 256 + META_SIZE, { flags: F_XDP_TS | F_VIA_PREPEND, cookie: 7 });
  writeMeta(u, FRAME + 256 + META_SIZE, { flags: F_XDP_TS });
  const r = decode('prepend', u, [256, FRAME + 256], [100, 100]);
  assert.equal(r.valid, 0);
  assert.deepEqual(r.addrs, [256, FRAME + 256], 'not stripped');
  assert.deepEqual(r.lens, [100, 100]);
  // too short to hold a struct at all
  assert.equal(decode('prepend', u, [256], [40]).valid, 0);
});

test('auto: meta first, then prepend, per packet; a meta-only run ignores prepended structs', () => {
  const u = umem();
  writeMeta(u, 256);
  writeMeta(u, FRAME + 256 + META_SIZE, { flags: F_XDP_TS | F_VIA_PREPEND });
  const r = decode('auto', u, [256, FRAME + 256], [64, 64 + META_SIZE]);
  assert.equal(r.valid, 2);
  assert.deepEqual(r.by, { meta: 1, prepend: 1, map: 0 });
  assert.deepEqual(r.lens, [64, 64]);
  const m = decode('meta', u, [FRAME + 256], [64 + META_SIZE]);
  assert.equal(m.valid, 0);
  assert.deepEqual(m.lens, [64 + META_SIZE]);
});

test('frameKey: murmur3_32 blocks over ≤16 LE words + fmix32, aligned and unaligned alike, length in the second word', () => {
  const u = umem();
  for (let i = 0; i < 80; i++) u.bytes[256 + i] = (i * 37 + 11) & 0xff;
  u.bytes.copyWithin(FRAME + 257, 256, 256 + 80);
  const a = new Uint32Array(4);
  frameKey(u, 256, 80, a, 0);
  frameKey(u, FRAME + 257, 80, a, 2);
  assert.equal(a[0], a[2]);
  assert.equal(a[1], 80);
  // the key is murmur3's block mixing over the first 16 words, then its finalizer (both checked
  // against the published vectors below), without murmur3's length step: the length is word 2
  const dv = new DataView(u.bytes.buffer);
  let h = 0;
  for (let i = 0; i < 16; i++) h = mixWord(h, dv.getUint32(256 + i * 4, true));
  assert.equal(a[0], fmix32(h));
  // bytes after the first 64 do not matter; the length does; a short frame hashes only whole words
  u.bytes[256 + 70] ^= 0xff;
  frameKey(u, 256, 80, a, 0);
  assert.equal(a[0], a[2]);
  frameKey(u, 256, 81, a, 0);
  assert.equal(a[0], a[2]);
  assert.equal(a[1], 81);
  const b = new Uint32Array(4);
  frameKey(u, 256, 9, b, 0);
  u.bytes[256 + 8] ^= 0xff; // the 9th byte is a tail byte: not hashed
  frameKey(u, 256, 9, b, 2);
  assert.equal(b[0], b[2]);
});

/**
 * MurmurHash3_x86_32 built from afxdp's own block step and finalizer; only the tail (≤3 bytes, which
 * frameKey never hashes) and the length step are written here, as in the reference
 * implementation (SMHasher's MurmurHash3.cpp).
 */
function murmur3(data: Uint8Array, seed: number): number {
  let h = seed | 0;
  const blocks = data.length >>> 2;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < blocks; i++) h = mixWord(h, dv.getUint32(i * 4, true));
  // the 1..3 tail bytes, little-endian, mixed like a block but without the rotate/multiply of h
  const tail = blocks * 4;
  if (data.length > tail) {
    let k = 0;
    for (let i = data.length - 1; i >= tail; i--) k = (k << 8) | data[i]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  return fmix32(h ^ data.length);
}

test('murmur3: our block step and finalizer reproduce the published MurmurHash3_x86_32 vectors', () => {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
  // (input, seed, hash): the vectors of SMHasher's verification set as collected on Wikipedia and
  // in the murmur3 ports' test suites
  const vectors: Array<[Uint8Array, number, number]> = [
    [bytes(), 0, 0],
    [bytes(), 1, 0x514e28b7],
    [bytes(), 0xffffffff, 0x81f16f39],
    [bytes(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
    [bytes(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
    [bytes(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
    [bytes(0x21, 0x43, 0x65), 0, 0x7e4a8634],
    [bytes(0x21, 0x43), 0, 0xa0f7b07a],
    [bytes(0x21), 0, 0x72661cf4],
    [bytes(0, 0, 0, 0), 0, 0x2362f9de],
    [bytes(0, 0, 0), 0, 0x85f0b427],
    [bytes(0, 0), 0, 0x30f4c306],
    [bytes(0), 0, 0x514e28b7],
    [text('test'), 0, 0xba6bd213],
    [text('test'), 0x9747b28c, 0x704b81dc],
    [text('Hello, world!'), 0, 0xc0363e43],
    [text('Hello, world!'), 0x9747b28c, 0x24884cba],
    [text('The quick brown fox jumps over the lazy dog'), 0, 0x2e4ff723],
    [text('The quick brown fox jumps over the lazy dog'), 0x9747b28c, 0x2fa826cd],
  ];
  for (const [data, seed, want] of vectors) {
    assert.equal(murmur3(data, seed), want, `murmur3_32(${JSON.stringify(new TextDecoder().decode(data))} [${data.length} bytes], seed 0x${seed.toString(16)})`);
  }
});

test('frameKey: test traffic (sequence number and batch timestamp changing together) does not collide', () => {
  // word-wise FNV-1a collided in ~7% of such 200-packet runs; a good 32-bit hash: ~5e-6
  const u = umem();
  const key = new Uint32Array(2);
  const p = { srcMac: new Uint8Array([2, 0, 0, 0, 0, 1]), dstMac: new Uint8Array([2, 0, 0, 0, 0, 2]), srcIp: new Uint8Array([198, 18, 0, 1]), dstIp: new Uint8Array([198, 18, 0, 2]), srcPort: 40000, dstPort: 9 };
  writeUdpFrame(u.bytes, 256, 64, p);
  let collisions = 0;
  let x = 12345;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (let run = 0; run < 300; run++) {
    const seen = new Set<number>();
    setRunId(u.bytes, 256, rnd());
    let ts = rnd();
    for (let seq = 0; seq < 200; seq++) {
      if (seq % 32 === 0) ts = (ts + 1000 + (rnd() % 50000)) >>> 0;
      setSeq(u.bytes, 256, seq);
      setTxTimestamp(u.bytes, 256, ts, 1234);
      frameKey(u, 256, 64, key, 0);
      if (seen.has(key[0]!)) collisions++;
      seen.add(key[0]!);
    }
  }
  assert.equal(collisions, 0);
});
