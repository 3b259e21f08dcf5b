/**
 * UMEM frame ownership tracking: a debug mode that proves every frame is in exactly one place.
 *
 * A frame is FREE (user space's free list), KERNEL (put on the fill ring: the kernel owns it until
 * it comes back on the RX ring), APP (received, not yet recycled — or allocated for TX and not yet
 * pushed) or TX (on the TX ring or in flight until the completion ring returns it). Every move is
 * checked against the frame's current state, so a double recycle, a frame the kernel hands out
 * twice or an address that was never given out is caught at the batch where it happens; and at
 * every batch the totals are checked against the ring indices:
 *
 *   KERNEL ≥ fill ring entries not yet consumed + RX ring entries not yet read
 *   TX     ≥ TX ring entries not yet consumed  + completion ring entries not yet read
 *   FREE   = length of the free list
 *
 * (≥, not =: in copy mode the kernel may keep a frame it took from the fill ring in its own pool
 * after dropping a packet, and reuse it for the next one.)
 *
 * The socket calls the tracker once per batch and only when it exists (`tracker !== null`), so the
 * data path pays one comparison per batch when tracking is off.
 */
import { AfxdpError } from '../errors.js';

export const FRAME_FREE = 0;
export const FRAME_KERNEL = 1;
export const FRAME_APP = 2;
export const FRAME_TX = 3;
const NAMES = ['free', 'kernel (fill/RX)', 'application', 'TX/completion'] as const;

export interface FrameCounts {
  free: number;
  kernel: number;
  app: number;
  tx: number;
}

export class FrameTracker {
  readonly frameCount: number;
  private readonly shift: number;
  private readonly size: number;
  private readonly state: Uint8Array;
  private readonly counts = new Int32Array(4);
  /** batches checked, for tests and the soak report */
  checks = 0;

  constructor(frameCount: number, frameShift: number) {
    this.frameCount = frameCount;
    this.shift = frameShift;
    this.size = 1 << frameShift;
    this.state = new Uint8Array(frameCount);
    this.counts[FRAME_FREE] = frameCount;
  }

  /** Moves the frame holding UMEM address `addr` from state `from` to `to`; throws when it is elsewhere. */
  move(addr: number, from: number, to: number, what: string): void {
    const i = Math.floor(addr / this.size);
    if (!(addr >= 0) || i >= this.frameCount || !Number.isInteger(addr)) {
      throw broken(`${what}: address ${addr} is outside the UMEM (${this.frameCount} frames of ${this.size} bytes)`);
    }
    const s = this.state[i]!;
    if (s !== from) throw broken(`${what}: frame ${i} (address ${addr}) is ${NAMES[s]}, expected ${NAMES[from]}`);
    this.state[i] = to;
    this.counts[from]!--;
    this.counts[to]!++;
  }

  /** Called once per batch with what the rings say. */
  check(o: { freeTop: number; fillPending: number; rxReady: number; txPending: number; completionReady: number }): void {
    this.checks++;
    const c = this.counts;
    if (c[FRAME_FREE] !== o.freeTop) throw broken(`${c[FRAME_FREE]} frames marked free but the free list holds ${o.freeTop}`);
    // The RX ring can never hold more frames than the kernel was given. The fill ring is not
    // checked: the kernel takes fill entries into a cache and publishes its consumer index only
    // when it next refills that cache, so entries it has already used — frames received, even
    // recycled, since — still look pending (fill 16 > 15 given, seen under load in worker mode
    // with --ring-size 16).
    if (c[FRAME_KERNEL]! < o.rxReady) {
      throw broken(`the RX ring holds ${o.rxReady} frames, more than the ${c[FRAME_KERNEL]} given to the kernel`);
    }
    // likewise: a completion can be published before the TX ring's consumer index moves
    const txMin = Math.max(o.txPending, o.completionReady);
    if (c[FRAME_TX]! < txMin) {
      throw broken(`TX ring (${o.txPending}) or completion ring (${o.completionReady}) holds more frames than the ${c[FRAME_TX]} sent`);
    }
    const sum = c[0]! + c[1]! + c[2]! + c[3]!;
    if (sum !== this.frameCount) throw broken(`frame states add up to ${sum}, not ${this.frameCount}`);
  }

  snapshot(): FrameCounts {
    const c = this.counts;
    return { free: c[FRAME_FREE]!, kernel: c[FRAME_KERNEL]!, app: c[FRAME_APP]!, tx: c[FRAME_TX]! };
  }

  /** Frame index of an address (for messages). */
  frameOf(addr: number): number {
    return addr >>> this.shift;
  }
}

function broken(why: string): AfxdpError {
  return new AfxdpError('ESTATE', `UMEM frame accounting broken: ${why}`, {
    hint: 'this is a bug in afxdp or in code that recycles frames twice; run with --debug and report it',
  });
}
