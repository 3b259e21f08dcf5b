/**
 * `--pcap FILE.pcapng`: the received frames, as Wireshark / tshark read them.
 *
 * Hand-written (about 100 lines) because no maintained npm package writes pcapng with per-packet
 * options and nanosecond resolution without allocating per packet; the format is simple
 * (IETF draft-ietf-opsawg-pcapng): one Section Header Block, one Interface Description Block with
 * if_tsresol = 9 (nanoseconds), then one Enhanced Packet Block per frame whose timestamp is the
 * XDP stamp moved to the Unix epoch, and whose opt_comment carries the latencies, e.g.
 * "seq=17 xdp_to_user_ns=4312 sender_to_xdp_ns=903".
 *
 * Per packet everything goes into the preallocated FileBuffer (block length patched in after the
 * comment is written), so the receive loop allocates nothing.
 */
import { native } from '../native.js';
import { CLOCK_MONOTONIC, CLOCK_TAI } from '../xsk/constants.js';
import { FileBuffer, openOutput } from './filebuf.js';
import { segmentCount, segmentRange, type PacketBatch, type PacketSink } from '../rx/batch.js';

const CLOCK_REALTIME = 0;
const TWO_POW_32 = 4294967296;
const LINKTYPE_ETHERNET = 1;
/** the most bytes of a packet written by default (the whole packet, jumbo and GRO packets too) */
export const SNAPLEN = 262144;

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const SEQ = ascii('seq=');
const XU = ascii(' xdp_to_user_ns=');
const SX = ascii(' sender_to_xdp_ns=');
const HX = ascii(' hw_to_xdp_ns=');
const NO_STAMP = ascii(' no_xdp_stamp');
// the same without the leading space, for a comment that does not start with seq=
const XU0 = XU.subarray(1);
const NO_STAMP0 = NO_STAMP.subarray(1);

export interface PcapngOptions {
  /** the clock of the XDP stamps (the probe's) */
  clock: 'monotonic' | 'tai';
  /** interface name written into the IDB */
  ifname: string;
  /** shb_userappl, e.g. "afxdp 0.1.0" */
  application: string;
  /** write at most this many bytes of each packet (the rest is only counted in its original length); default SNAPLEN */
  snaplen?: number;
}

export class PcapngWriter implements PacketSink {
  packets = 0;
  private readonly out: FileBuffer;
  // realtime − stamp clock, as two words (lo, hi), taken once at open
  private readonly offLo: number;
  private readonly offHi: number;
  private readonly umemBufs = new WeakMap<Uint8Array, Buffer>();
  private readonly snaplen: number;
  private readonly range = new Uint32Array(2);

  constructor(file: string, o: PcapngOptions) {
    this.snaplen = o.snaplen ?? SNAPLEN;
    this.out = new FileBuffer(openOutput('--pcap', file), 4 << 20);
    const t = new Uint32Array(2);
    const nat = native();
    nat.clockGettime(o.clock === 'tai' ? CLOCK_TAI : CLOCK_MONOTONIC, t);
    const a = (BigInt(t[1]!) << 32n) | BigInt(t[0]!);
    nat.clockGettime(CLOCK_REALTIME, t);
    const r = (BigInt(t[1]!) << 32n) | BigInt(t[0]!);
    const off = r - a; // can be negative only for TAI vs a realtime before 1970: never
    this.offLo = Number(off & 0xffffffffn);
    this.offHi = Number((off >> 32n) & 0xffffffffn);
    this.writeHeader(o);
  }

  private writeHeader(o: PcapngOptions): void {
    const w = this.out;
    // Section Header Block
    const appl = Buffer.from(o.application, 'utf8');
    const shbLen = 28 + opt(appl.length) + 4;
    w.reserve(shbLen + 256);
    w.u32le(0x0a0d0d0a);
    w.u32le(shbLen);
    w.u32le(0x1a2b3c4d);
    w.u16le(1);
    w.u16le(0);
    w.u32le(0xffffffff); // section length unknown (-1 as i64)
    w.u32le(0xffffffff);
    writeOpt(w, 4, appl); // shb_userappl
    w.u32le(0); // opt_endofopt
    w.u32le(shbLen);
    // Interface Description Block
    const name = Buffer.from(o.ifname, 'utf8');
    const idbLen = 16 + opt(name.length) + opt(1) + 4 + 4;
    w.u32le(1);
    w.u32le(idbLen);
    w.u16le(LINKTYPE_ETHERNET);
    w.u16le(0);
    w.u32le(this.snaplen);
    writeOpt(w, 2, name); // if_name
    writeOpt(w, 9, Buffer.from([9])); // if_tsresol: 10^-9 s
    w.u32le(0);
    w.u32le(idbLen);
  }

  /** The first `cap` bytes of a multi-buffer packet, buffer after buffer. */
  private copyChain(b: PacketBatch, i: number, src: Buffer, cap: number): void {
    const r = this.range;
    const n = segmentCount(b, i);
    let left = cap;
    for (let k = 0; k < n && left > 0; k++) {
      segmentRange(b, i, k, r);
      const len = Math.min(r[1]! - r[0]!, left);
      this.out.copy(src, r[0]!, r[0]! + len);
      left -= len;
    }
  }

  onBatch(b: PacketBatch): void {
    const w = this.out;
    let src = this.umemBufs.get(b.bytes);
    if (src === undefined) {
      src = Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength);
      this.umemBufs.set(b.bytes, src);
    }
    for (let i = 0; i < b.n; i++) {
      const len = b.len[i]!;
      const addr = b.addr[i]!;
      const snap = this.snaplen;
      const cap = len > snap ? snap : len;
      w.reserve(28 + cap + 3 + 4 + 128 + 8);
      const start = w.pos;
      const flags = b.flags[i]!;
      let lo = flags !== 0 ? b.xdpLo[i]! : b.userLo;
      let hi = flags !== 0 ? b.xdpHi[i]! : b.userHi;
      lo += this.offLo;
      hi += this.offHi;
      if (lo >= TWO_POW_32) {
        lo -= TWO_POW_32;
        hi += 1;
      }
      w.u32le(6); // Enhanced Packet Block
      w.u32le(0); // total length, patched below
      w.u32le(0); // interface 0
      w.u32le(hi >>> 0);
      w.u32le(lo >>> 0);
      w.u32le(cap);
      w.u32le(len);
      if (segmentCount(b, i) === 1) w.copy(src, addr, addr + cap);
      else this.copyChain(b, i, src, cap);
      pad(w);
      // opt_comment
      const optStart = w.pos;
      w.u32le(0); // code 1 + length, patched below
      const textStart = w.pos;
      const seq = b.seq[i]!;
      if (seq >= 0) {
        w.bytes(SEQ);
        w.uint(seq);
      }
      const xu = b.xdpToUser[i]!;
      if (xu === xu) {
        w.bytes(seq >= 0 ? XU : XU0);
        w.int(xu);
        const sx = b.senderToXdp[i]!;
        if (sx === sx) {
          w.bytes(SX);
          w.int(sx);
        }
        const hx = b.hwToXdp[i]!;
        if (hx === hx) {
          w.bytes(HX);
          w.int(hx);
        }
      } else w.bytes(seq >= 0 ? NO_STAMP : NO_STAMP0);
      const textLen = w.pos - textStart;
      w.view.setUint16(optStart, 1, true);
      w.view.setUint16(optStart + 2, textLen, true);
      pad(w);
      w.u32le(0); // opt_endofopt
      const total = w.pos - start + 4;
      w.u32le(total);
      w.view.setUint32(start + 4, total, true);
    }
    this.packets += b.n;
  }

  get bytes(): number {
    return this.out.written + this.out.pos;
  }

  close(): void {
    this.out.close();
  }
}

function opt(len: number): number {
  return 4 + ((len + 3) & ~3);
}

function writeOpt(w: FileBuffer, code: number, value: Buffer): void {
  w.u16le(code);
  w.u16le(value.length);
  w.copy(value, 0, value.length);
  pad(w);
}

function pad(w: FileBuffer): void {
  while ((w.pos & 3) !== 0) w.byte(0);
}
