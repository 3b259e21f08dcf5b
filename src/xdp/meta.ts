/**
 * Reading the afxdp_meta struct (bpf/include/afxdp/meta.h) in front of a received packet.
 *
 * The struct is found from its END: the magic/version word at data-4 and the length at data-8.
 * Fields are read at fixed negative offsets from the packet, so this reader works on any newer
 * struct that added fields at the front. Nothing is allocated per packet: `read()` fills the
 * reader's own fields and returns whether the metadata is valid.
 */

// keep in sync with meta.h
export const META_MAGIC = 0xafd8a000;
export const META_MAGIC_MASK = 0xffffff00;
export const META_VERSION = 1;
export const META_SIZE = 48;
/** smallest struct this reader understands: magic, len, flags, rx_queue, xdp_ts */
export const META_MIN_LEN = 24;
export const META_MAX_LEN = 216;

export const F_XDP_TS = 1 << 0;
export const F_CLOCK_TAI = 1 << 1;
export const F_HW_TS = 1 << 2;
export const F_RX_HASH = 1 << 3;
export const F_VLAN = 1 << 4;
export const F_QUEUE = 1 << 5;
export const F_VIA_PREPEND = 1 << 8;
export const F_VIA_MAP = 1 << 9;

/** afxdp_cfg_strategy values (meta.h AFXDP_STRATEGY_*) */
// the names spelled out (not `keyof typeof`), so the public type does not show the internal table
export type StrategyName = 'auto' | 'meta' | 'prepend' | 'map';
export const STRATEGY_CODES = { auto: 0, meta: 1, prepend: 2, map: 3 } as const satisfies Record<StrategyName, number>;
export const STRATEGY_NAMES = Object.keys(STRATEGY_CODES) as StrategyName[];

/** struct afxdp_map_key: hash over the first AFXDP_MAP_KEY_WORDS u32 words + frame length */
export const MAP_KEY_WORDS = 16;
export const MAP_KEY_SIZE = 8;

export class MetaReader {
  private readonly words: Uint32Array;
  private readonly bytes: Uint8Array;
  private readonly frameShift: number;
  // The last read() result: u32 words. They start as -0 (equal to 0 everywhere) because -0 is a
  // heap number: a field that starts as a small integer changes its hidden class the first time
  // it holds a word ≥ 2^30, which deoptimized the whole receive loop in the middle of traffic.
  flags = -0;
  len = -0;
  version = -0;
  rxQueue = -0;
  cookie = -0;
  xdpTsLo = -0;
  xdpTsHi = -0;
  hwTsLo = -0;
  hwTsHi = -0;
  rxHash = -0;
  rxHashType = -0;
  vlanTci = -0;
  vlanProto = -0;

  constructor(umem: { words: Uint32Array; bytes: Uint8Array; frameShift: number }) {
    this.words = umem.words;
    this.bytes = umem.bytes;
    this.frameShift = umem.frameShift;
  }

  /**
   * Validates and decodes the metadata in front of the packet at UMEM address `addr`.
   * Returns false (and flags = 0) when there is none: wrong magic, a length that is not a
   * multiple of 4, too small, larger than the kernel allows, or reaching outside the frame.
   */
  read(addr: number): boolean {
    this.flags = 0;
    const base = (addr >>> this.frameShift) << this.frameShift;
    const room = addr - base;
    if (room < META_MIN_LEN) return false;
    if ((addr & 3) !== 0) return this.readUnaligned(addr, room);
    const w = this.words;
    const at = addr >>> 2;
    const magic = w[at - 1]!;
    if (((magic & META_MAGIC_MASK) >>> 0) !== META_MAGIC) return false;
    const len = w[at - 2]!;
    if (len < META_MIN_LEN || len > META_MAX_LEN || (len & 3) !== 0 || len > room) return false;
    this.version = magic & 0xff;
    this.len = len;
    this.flags = w[at - 3]!;
    this.rxQueue = w[at - 4]!;
    this.xdpTsLo = w[at - 6]!;
    this.xdpTsHi = w[at - 5]!;
    this.cookie = len >= 28 ? w[at - 7]! : 0;
    if (len >= META_SIZE) {
      const vw = w[at - 8]!; // vlan_proto (low half), vlan_tci (high half), little-endian host
      this.vlanProto = vw & 0xffff;
      this.vlanTci = vw >>> 16;
      this.rxHashType = w[at - 9]!;
      this.rxHash = w[at - 10]!;
      this.hwTsLo = w[at - 12]!;
      this.hwTsHi = w[at - 11]!;
    } else {
      this.vlanProto = this.vlanTci = this.rxHashType = this.rxHash = this.hwTsLo = this.hwTsHi = 0;
      this.flags &= ~(F_HW_TS | F_RX_HASH | F_VLAN);
    }
    return true;
  }

  // Rare: only a zero-copy driver that moved data by an odd amount gets here.
  private readUnaligned(addr: number, room: number): boolean {
    const b = this.bytes;
    const magic = u32le(b, addr - 4);
    if (((magic & META_MAGIC_MASK) >>> 0) !== META_MAGIC) return false;
    const len = u32le(b, addr - 8);
    if (len < META_MIN_LEN || len > META_MAX_LEN || (len & 3) !== 0 || len > room) return false;
    this.version = magic & 0xff;
    this.len = len;
    this.flags = u32le(b, addr - 12);
    this.rxQueue = u32le(b, addr - 16);
    this.xdpTsLo = u32le(b, addr - 24);
    this.xdpTsHi = u32le(b, addr - 20);
    this.cookie = len >= 28 ? u32le(b, addr - 28) : 0;
    if (len >= META_SIZE) {
      const vw = u32le(b, addr - 32);
      this.vlanProto = vw & 0xffff;
      this.vlanTci = vw >>> 16;
      this.rxHashType = u32le(b, addr - 36);
      this.rxHash = u32le(b, addr - 40);
      this.hwTsLo = u32le(b, addr - 48);
      this.hwTsHi = u32le(b, addr - 44);
    } else {
      this.vlanProto = this.vlanTci = this.rxHashType = this.rxHash = this.hwTsLo = this.hwTsHi = 0;
      this.flags &= ~(F_HW_TS | F_RX_HASH | F_VLAN);
    }
    return true;
  }

  /**
   * The `prepend` strategy: is there a struct of this ABI at the START of the packet at `addr`
   * (`len` bytes), written by a program whose run cookie is `cookie`? Payload bytes cannot pass
   * for one by chance: magic, length, the VIA_PREPEND flag and the 32-bit run cookie must match.
   * The struct ends at addr + META_SIZE, so the usual from-the-end reader applies there.
   */
  readPrepended(addr: number, len: number, cookie: number): boolean {
    if (len < META_SIZE) {
      this.flags = 0;
      return false;
    }
    if (!this.read(addr + META_SIZE) || this.len !== META_SIZE || (this.flags & F_VIA_PREPEND) === 0 || this.cookie !== cookie) {
      this.flags = 0;
      return false;
    }
    return true;
  }

  /** Decodes a whole struct afxdp_meta held in `w` at words [at, at + META_SIZE/4) (a map value). */
  readWords(w: Uint32Array, at: number): boolean {
    const end = at + (META_SIZE >>> 2);
    const magic = w[end - 1]!;
    this.flags = 0;
    if (((magic & META_MAGIC_MASK) >>> 0) !== META_MAGIC || w[end - 2]! !== META_SIZE) return false;
    this.version = magic & 0xff;
    this.len = META_SIZE;
    this.flags = w[end - 3]!;
    this.rxQueue = w[end - 4]!;
    this.xdpTsHi = w[end - 5]!;
    this.xdpTsLo = w[end - 6]!;
    this.cookie = w[end - 7]!;
    const vw = w[end - 8]!;
    this.vlanProto = vw & 0xffff;
    this.vlanTci = vw >>> 16;
    this.rxHashType = w[end - 9]!;
    this.rxHash = w[end - 10]!;
    this.hwTsHi = w[end - 11]!;
    this.hwTsLo = w[end - 12]!;
    return true;
  }
}

/**
 * The map strategy's key of the frame at `addr` (`len` bytes), exactly as afxdp_frame_key() in
 * meta.h computes it: murmur3_32 block mixing over the first ≤16 little-endian u32 words, fmix32,
 * and the length. Written to out[at], out[at + 1]; allocates nothing.
 */
export function frameKey(umem: { words: Uint32Array; bytes: Uint8Array }, addr: number, len: number, out: Uint32Array, at: number): void {
  const nw = Math.min(MAP_KEY_WORDS, len >>> 2);
  let h = 0;
  if ((addr & 3) === 0) {
    const w = umem.words;
    const base = addr >>> 2;
    for (let i = 0; i < nw; i++) h = mixWord(h, w[base + i]!);
  } else {
    const b = umem.bytes;
    for (let i = 0; i < nw; i++) h = mixWord(h, u32le(b, addr + i * 4));
  }
  out[at] = fmix32(h);
  out[at + 1] = len;
}

/**
 * One MurmurHash3_x86_32 block step (the loop body of afxdp_frame_key in meta.h): state `h`, one
 * little-endian 32-bit word. Exported for the test against the published murmur3 vectors.
 */
export function mixWord(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finalizer (afxdp_fmix32 in meta.h); exported for the same test. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
