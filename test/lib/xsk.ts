/**
 * Helpers for tests that drive AF_XDP sockets from openXsk() directly (shared UMEM, the kernel's
 * AF_XDP scenarios): frames with a checkable pattern, a sender that puts them on a TX ring, a
 * receiver that takes and checks them, and a redirect program on an interface for the duration of
 * a test.
 */
import { openXsk, loadProgram, XSK_REDIRECT_PROGRAM, type XskSocket, type XdpProgram, type XskOptions } from '../../src/index.js';
import type { LabSide } from '../../src/lab/lab.js';
import type { TxSink } from '../../src/lab/tap-sink.js';

/** ethertype of the test frames (IEEE local experimental: no stack handles it) */
export const ETHERTYPE = 0x88b5;
/** header bytes: destination and source MAC, ethertype, u32 sequence number */
export const HDR = 18;

/** Writes test frame `seq` of `len` bytes at bytes[at]: `dst`/`src` MACs, ETHERTYPE, seq, then a pattern of seq. */
export function writeFrame(bytes: Uint8Array, at: number, len: number, dst: Uint8Array, src: Uint8Array, seq: number): void {
  bytes.set(dst, at);
  bytes.set(src, at + 6);
  bytes[at + 12] = ETHERTYPE >> 8;
  bytes[at + 13] = ETHERTYPE & 0xff;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at + 14, seq);
  for (let k = HDR; k < len; k++) bytes[at + k] = (seq * 7 + k) & 0xff;
}

/** The sequence number of the test frame at bytes[at] of `len` bytes, or -1 when its ethertype or pattern is not the test's. */
export function checkFrame(bytes: Uint8Array, at: number, len: number): number {
  if (len < HDR || bytes[at + 12] !== ETHERTYPE >> 8 || bytes[at + 13] !== (ETHERTYPE & 0xff)) return -1;
  const seq = new DataView(bytes.buffer, bytes.byteOffset).getUint32(at + 14);
  for (let k = HDR; k < len; k++) if (bytes[at + k] !== ((seq * 7 + k) & 0xff)) return -1;
  return seq;
}

/** Queues test frames seq from..from+count (fewer when the ring or UMEM is full) and flushes; returns how many. `sock`: a socket, or a tap lab's writer. */
export function sendFrames(sock: TxSink, from: number, count: number, len: number, dst: Uint8Array, src: Uint8Array): number {
  sock.reclaim();
  let k = 0;
  const room = sock.txFree(count);
  for (; k < room; k++) {
    const a = sock.txAlloc();
    if (a < 0) break;
    writeFrame(sock.umem.bytes, a, len, dst, src, from + k);
    sock.txPush(a, len);
  }
  sock.txFlush();
  return k;
}

/** Takes one batch off `sock`'s RX ring, checks each frame, recycles; calls seen(seq or -1, addr, len) per frame. */
export function drain(sock: XskSocket, seen: (seq: number, addr: number, len: number) => void): number {
  const n = sock.receive();
  for (let i = 0; i < n; i++) seen(checkFrame(sock.umem.bytes, sock.rxAddr[i]!, sock.rxLen[i]!), sock.rxAddr[i]!, sock.rxLen[i]!);
  sock.recycle(n);
  return n;
}

/** A socket from openXsk() on one lab end (in its namespace). */
export function xskOn(side: LabSide, o: Omit<XskOptions, 'iface' | 'netns'> = {}): XskSocket {
  return openXsk({ iface: side.ifname, netns: side.netns.fd, ...o });
}

/** XSK_REDIRECT_PROGRAM (or `file`, with an XSKMAP) attached to `side` with `socks` registered at their queues; close() detaches and unloads. */
export function redirectOn(side: LabSide, socks: XskSocket[], mode: 'native' | 'generic' | 'auto' = 'auto', file = XSK_REDIRECT_PROGRAM): XdpProgram {
  const p = loadProgram(file);
  try {
    for (const s of socks) p.register(s);
    p.attach(side.ifname, { netns: side.netns.fd, mode });
    return p;
  } catch (e) {
    p.close();
    throw e;
  }
}
