// SPDX-License-Identifier: MIT
/**
 * The handler of examples/l2fwd-handler.ts: runs in each queue's receive worker, once per batch,
 * before the batch's frames go back to the kernel. Swaps the Ethernet addresses in place and
 * forwards every packet from the frame it arrived in.
 */
import type { Batch, HandlerContext } from 'afxdp';

export default function l2fwd(batch: Batch, ctx: HandlerContext): void {
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i);
    const b = p.buffer; // the UMEM: the packet is b[p.offset ..] (a jumbo frame: its first segment)
    const o = p.offset;
    // swap destination and source MAC byte by byte: no subarray (an object per packet) and no
    // typed-array method call, which cost more than the six swaps themselves
    for (let k = o; k < o + 6; k++) {
      const t = b[k]!;
      b[k] = b[k + 6]!;
      b[k + 6] = t;
    }
    ctx.forward(i); // transmitted as it is now, from the same frame
  }
  ctx.counters[0]! += batch.length;
}
