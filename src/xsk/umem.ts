/**
 * UMEM: the packet memory shared by user space and the kernel, split into equal chunks
 * ("frames"). The mapping is anonymous memory from the addon, registered on an AF_XDP socket; or,
 * with `shared`, a memfd: the broker (docs/BROKER.md) registers it and passes the fd, its client
 * maps the same pages (the kernel pinned them at registration, in the broker).
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { isPowerOfTwo } from './ring.js';

export interface UmemOptions {
  /** number of frames (chunks); default 4096 */
  frameCount?: number;
  /** bytes per frame, a power of two in [2048, 4096] (aligned chunk mode); default 4096 */
  frameSize?: number;
  /** back the UMEM with a memfd another process can map (`fd`); default false */
  shared?: boolean;
}

export class Umem {
  readonly frameCount: number;
  readonly frameSize: number;
  readonly size: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  /** the same memory as u32 words, for aligned metadata reads without DataView */
  readonly words: Uint32Array;
  /** log2(frameSize): frame base of an address is (addr >>> shift) << shift */
  readonly frameShift: number;
  /** the memfd of a shared UMEM, else -1 */
  readonly fd: number = -1;

  /** @param adoptFd a shared UMEM's memfd received from the broker: map it instead of making one */
  constructor(opts: UmemOptions = {}, adoptFd = -1) {
    const frameCount = opts.frameCount ?? 4096;
    const frameSize = opts.frameSize ?? 4096;
    if (!Number.isInteger(frameCount) || frameCount < 64 || frameCount > 1 << 20) {
      throw new AfxdpError('EUSAGE', `UMEM frame count ${frameCount} is out of range`, { hint: 'use 64..1048576 frames' });
    }
    if (!isPowerOfTwo(frameSize) || frameSize < 2048 || frameSize > 4096) {
      throw new AfxdpError('EUSAGE', `UMEM frame size ${frameSize} is not supported`, { hint: 'use 2048 or 4096 (a power of two, at most the page size)' });
    }
    this.frameCount = frameCount;
    this.frameSize = frameSize;
    this.frameShift = Math.log2(frameSize);
    // addresses are handled as one u32 word: keep the UMEM below 4 GiB
    this.size = frameCount * frameSize;
    if (this.size >= 2 ** 32) {
      throw new AfxdpError('EUSAGE', `UMEM of ${this.size} bytes is too large`, { hint: 'keep frameCount × frameSize below 4 GiB' });
    }
    try {
      const n = native();
      if (adoptFd >= 0 || opts.shared) {
        this.fd = adoptFd >= 0 ? adoptFd : n.memfdCreate('afxdp-umem', this.size);
        this.buffer = n.mmapShared(this.fd, this.size);
      } else {
        this.buffer = n.mmapAnonymous(this.size);
      }
    } catch (e) {
      throw new AfxdpError('ESYS', `cannot map ${this.size} bytes of UMEM: ${(e as Error).message}`, {
        errno: (e as { errno?: number }).errno,
        hint: 'use fewer frames (--frames) or check the memory cgroup limit',
        cause: e,
      });
    }
    this.bytes = new Uint8Array(this.buffer);
    this.words = new Uint32Array(this.buffer);
  }

  frameAddr(i: number): number {
    return i * this.frameSize;
  }
}
