/**
 * A file written through one preallocated buffer: the per-packet writers (CSV, pcapng) put bytes
 * and decimal digits straight into it, and it goes to the file with one writeSync when it fills
 * up (and at close). Nothing is allocated per packet: no strings, no Buffers, no promises.
 */
import fs from 'node:fs';
import { AfxdpError, isNativeError } from '../errors.js';
import { native } from '../native.js';

const TWO_POW_32 = 4294967296;

/** /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: one of our own fds, by number */
const OWN_FD = /^(?:\/dev\/(stdout|stderr)|\/dev\/fd\/(\d{1,9})|\/proc\/self\/fd\/(\d{1,9}))$/;

/**
 * Opens (creates / truncates) `file` for writing, or throws one clear AfxdpError. Used before a run
 * starts, so an unwritable path fails before anything is attached. A path naming one of our own
 * fds (`--csv /dev/stdout`) gets a duplicate of that fd: it writes where the fd points without
 * reopening it (reopening needs the permission to open that pipe or file again).
 */
export function openOutput(flag: string, file: string): number {
  try {
    const own = OWN_FD.exec(file);
    if (own) return native().dupFd(own[1] === 'stdout' ? 1 : own[1] === 'stderr' ? 2 : Number(own[2] ?? own[3]));
    return fs.openSync(file, 'w', 0o644);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const code = err.code ?? (isNativeError(e) && e.errno === 9 ? 'EBADF' : undefined);
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : code === 'EBADF' ? 'that fd is not open' : (code ?? err.message);
    throw new AfxdpError('ESYS', `cannot write ${flag} ${file}: ${why}`, { hint: 'choose a writable file path', cause: e });
  }
}

/** The decimal digits of the last value written through u64Memo(). */
export class DigitMemo {
  lo = -1;
  hi = -1;
  len = 0;
  readonly digits = new Uint8Array(20);
}

export class FileBuffer {
  readonly buf: Buffer;
  readonly view: DataView;
  pos = 0;
  /** bytes written to the file so far (not counting what is still buffered) */
  written = 0;
  private fd: number;

  /** `fd` from openOutput(); `size` bytes of buffer (the largest single record must fit). */
  constructor(fd: number, size = 1 << 20) {
    this.fd = fd;
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Makes room for `n` more bytes (flushing if needed). */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
    if (n > this.buf.length) throw new AfxdpError('ESTATE', `a record of ${n} bytes does not fit the ${this.buf.length}-byte buffer`);
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) off += fs.writeSync(this.fd, this.buf, off, this.pos - off);
    this.written += this.pos;
    this.pos = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** ASCII text; setup / rare paths only (encodes into the buffer, but the string is the caller's). */
  ascii(s: string): void {
    this.reserve(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A non-negative integer < 2^53 in decimal. */
  uint(v: number): void {
    if (v < 2147483648) {
      this.small(v | 0);
      return;
    }
    // split so both halves are small integers: int32 division is far cheaper than double division
    const hi = Math.floor(v / 1e9);
    this.small(hi);
    this.nine(v - hi * 1e9);
  }

  /** 0 ≤ v < 2^31. */
  private small(v: number): void {
    const b = this.buf;
    const digits = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 1e4 ? 4 : v < 1e5 ? 5 : v < 1e6 ? 6 : v < 1e7 ? 7 : v < 1e8 ? 8 : v < 1e9 ? 9 : 10;
    let p = this.pos + digits;
    this.pos = p;
    do {
      const q = (v / 10) | 0;
      b[--p] = 48 + v - q * 10;
      v = q;
    } while (v !== 0);
  }

  /** 0 ≤ v < 1e9 as exactly nine digits (leading zeros). */
  private nine(v: number): void {
    const b = this.buf;
    let p = this.pos + 9;
    this.pos = p;
    for (let k = 0; k < 9; k++) {
      const q = (v / 10) | 0;
      b[--p] = 48 + v - q * 10;
      v = q;
    }
  }

  /** An integer (may be negative) in decimal. */
  int(v: number): void {
    if (v < 0) {
      this.buf[this.pos++] = 45; // '-'
      this.uint(-v);
    } else this.uint(v);
  }

  /** A u64 given as two u32 words, in decimal (exact below 2^53, i.e. any clock value for 285 years). */
  u64(lo: number, hi: number): void {
    this.uint(hi * TWO_POW_32 + lo);
  }

  /**
   * Like u64(), but remembers the digits of the last value in `memo` and copies them when the
   * same value comes again (the user time is one per batch, the sender's TX time one per send
   * batch): a copy of ~13 bytes instead of ~13 divisions.
   */
  u64Memo(lo: number, hi: number, memo: DigitMemo): void {
    if (lo !== memo.lo || hi !== memo.hi || memo.len === 0) {
      const start = this.pos;
      this.u64(lo, hi);
      memo.len = this.pos - start;
      for (let k = 0; k < memo.len; k++) memo.digits[k] = this.buf[start + k]!;
      memo.lo = lo;
      memo.hi = hi;
      return;
    }
    const b = this.buf;
    const d = memo.digits;
    let p = this.pos;
    for (let k = 0; k < memo.len; k++) b[p++] = d[k]!;
    this.pos = p;
  }

  u16le(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32le(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Copies src[start, end) in; `src` is a Buffer (Buffer.copy takes offsets, so no view is made per call). */
  copy(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 256) {
      // a JS loop beats Buffer.copy's call into C++ (~110 ns) for frames this small
      const b = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) b[p++] = src[i]!;
      this.pos = p;
      return;
    }
    src.copy(this.buf, this.pos, start, end);
    this.pos += n;
  }

  /** Appends the bytes of a preallocated Uint8Array (constant text). */
  bytes(a: Uint8Array): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < a.length; i++) b[p++] = a[i]!;
    this.pos = p;
  }
}
