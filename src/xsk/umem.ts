/**
 * UMEM: the packet memory shared by user space and the kernel, split into equal chunks
 * ("frames"). The mapping is anonymous memory from the addon, registered on an AF_XDP socket; or,
 * with `shared`, a memfd: the broker (docs/BROKER.md) registers it and passes the fd, its client
 * maps the same pages (the kernel pinned them at registration, in the broker).
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { isPowerOfTwo } from './ring.js';
import { XDP_PACKET_HEADROOM, XDP_UMEM_UNALIGNED_CHUNK_FLAG } from './constants.js';

export interface UmemOptions {
  /** number of frames (chunks); default 4096 */
  frameCount?: number;
  /** bytes per frame, a power of two in [2048, 4096] (aligned chunk mode); default 4096 */
  frameSize?: number;
  /** back the UMEM with a memfd another process can map (`fd`); default false */
  shared?: boolean;
  /**
   * bytes the kernel leaves free in each frame in front of a received packet, on top of its own
   * XDP_PACKET_HEADROOM (256): a received packet starts at frame + 256 + headroom. At most
   * frameSize - 704 (maxHeadroom(): the kernel keeps room for 128 bytes of packet and an skb's tail); default 0
   */
  headroom?: number;
  /**
   * unaligned chunk mode (XDP_UMEM_UNALIGNED_CHUNK_FLAG): descriptors may point anywhere in the
   * UMEM, not only into frame-aligned chunks, and RX descriptors carry the packet's offset in their
   * upper 16 bits (receive() adds it). afxdp keeps frames a power of two in size; default false
   */
  unaligned?: boolean;
}

/** The kernel's rules for a UMEM registration (net/xdp/xdp_umem.c), checked before anything is made. */
export function checkUmemOptions(frameSize: number, headroom: number, unaligned: boolean): void {
  if (typeof unaligned !== 'boolean') throw new AfxdpError('EUSAGE', `UMEM option unaligned must be a boolean, got ${typeof unaligned}`, { hint: 'unaligned: true for unaligned chunk mode, else leave it out' });
  if (!Number.isInteger(headroom) || headroom < 0) {
    throw new AfxdpError('EUSAGE', `UMEM headroom ${String(headroom)} is not a whole number of bytes ≥ 0`, { hint: 'use e.g. 0, 64, 128, 256' });
  }
  const max = maxHeadroom(frameSize);
  if (headroom > max) {
    throw new AfxdpError('EUSAGE', `UMEM headroom ${headroom} is too large for ${frameSize}-byte frames: the kernel takes at most ${max}`, {
      hint: `use a headroom ≤ ${max} (frame size - ${XDP_PACKET_HEADROOM} XDP headroom - ${SKB_SHARED_INFO} skb_shared_info - 128 bytes of packet), or a larger frameSize`,
    });
  }
}

/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on 64-bit kernels: the tail a copy-mode skb needs */
const SKB_SHARED_INFO = 320;

/** The largest UMEM headroom the kernel accepts for this frame size (xdp_umem_reg, kernel ≥ 6.x; older ones allowed up to frame - 257). */
export function maxHeadroom(frameSize: number): number {
  return frameSize - XDP_PACKET_HEADROOM - SKB_SHARED_INFO - 128;
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
  /** UmemOptions.headroom */
  readonly headroom: number;
  /** UmemOptions.unaligned */
  readonly unaligned: boolean;
  /** xdp_umem_reg.flags for this UMEM's registration */
  readonly regFlags: number;
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
      const why = opts.unaligned && Number.isInteger(frameSize) && frameSize >= 2048 && frameSize <= 4096 ? ': the kernel takes it in unaligned chunk mode, but afxdp finds a frame from an address by its power-of-two size' : '';
      throw new AfxdpError('EUSAGE', `UMEM frame size ${frameSize} is not supported${why}`, { hint: 'use 2048 or 4096 (a power of two, at most the page size)' });
    }
    checkUmemOptions(frameSize, opts.headroom ?? 0, opts.unaligned ?? false);
    this.headroom = opts.headroom ?? 0;
    this.unaligned = opts.unaligned ?? false;
    this.regFlags = this.unaligned ? XDP_UMEM_UNALIGNED_CHUNK_FLAG : 0;
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
