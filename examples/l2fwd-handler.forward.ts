// SPDX-License-Identifier: MIT
/**
 * The handler of examples/l2fwd-handler.ts: runs in each queue's receive worker, once per batch,
 * before the batch's frames go back to the kernel. Swaps the Ethernet addresses in place and
 * forwards every packet from the frame it arrived in.
 */
import type { Batch, HandlerContext } from 'afxdp';

const tmp = new Uint8Array(6);

export default function l2fwd(batch: Batch, ctx: HandlerContext): void {
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i);
    const b = p.buffer; // the UMEM: the packet is b[p.offset ..] (a jumbo frame: its first segment)
    const o = p.offset;
    tmp.set(b.subarray(o, o + 6));
    b.copyWithin(o, o + 6, o + 12);
    b.set(tmp, o + 6);
    ctx.forward(i); // transmitted as it is now, from the same frame
  }
  ctx.counters[0]! += batch.length;
}
