/**
 * The one TX path of afxdp: a packet as a chain of frames (one frame, or several with
 * XDP_PKT_CONTD on all but the last: a multi-buffer packet), queued on a socket's TX ring, and the
 * flush that publishes the queued descriptors and kicks the kernel until it took them. The public
 * send(), a handler's ctx.send() and ctx.forward(), the traffic generator and ping all go through
 * here, so they share one kick-retry policy. Frames come from the socket's FramePool.
 *
 * No allocation per packet: callers pass preallocated address arrays.
 */
import { AfxdpError } from '../errors.js';
import { XDP_PKT_CONTD } from './constants.js';
import type { XskSocket } from './socket.js';

/** frames of one sent packet at most: the kernel builds it as one skb of MAX_SKB_FRAGS (17) fragments + the linear part */
export const MAX_TX_CHAIN = 16;
/**
 * kicks one flush makes at most while the TX ring is not empty: copy mode transmits at most 32
 * frames per kick, so a full 2048-entry ring takes 64; the rest is room for kicks that found the
 * kernel busy (EAGAIN/EBUSY) before the frames stay queued for the next flush
 */
export const MAX_TX_KICKS = 256;

/**
 * Takes k free frames for one packet into out[at .. at + k): all of them, or none (returns
 * false, nothing taken, when the pool runs short: try again after completions).
 */
export function allocChain(sock: Pick<XskSocket, 'txAlloc' | 'txUnalloc'>, k: number, out: Uint32Array, at = 0): boolean {
  for (let j = 0; j < k; j++) {
    const a = sock.txAlloc();
    if (a < 0) {
      for (let u = 0; u < j; u++) sock.txUnalloc(out[at + u]!);
      return false;
    }
    out[at + j] = a;
  }
  return true;
}

/**
 * Queues frames addrs[at .. at + k) (lengths lens[...]) as one packet: XDP_PKT_CONTD on all but
 * the last, `options` (e.g. XDP_TX_METADATA) on every descriptor. Check TX ring room first.
 */
export function pushChain(sock: Pick<XskSocket, 'txPush'>, addrs: Uint32Array, lens: Uint32Array, at: number, k: number, options = 0): void {
  for (let j = 0; j < k; j++) sock.txPush(addrs[at + j]!, lens[at + j]!, j + 1 < k ? options | XDP_PKT_CONTD : options);
}

/**
 * Frames a packet of `length` bytes takes on this socket; throws EUSAGE (prefixed with `who`)
 * when it cannot be sent as one packet.
 */
export function framesFor(sock: XskSocket, length: number, who: string): number {
  const fs = sock.umem.frameSize;
  if (length > fs && !sock.sg) {
    throw new AfxdpError('EUSAGE', `${who}: ${length} bytes exceed the UMEM frame size ${fs} and this socket is not bound for multi-buffer packets`, { hint: 'open it with { sg: true } (kernel ≥ 6.6), or send at most one frame (no FCS) per call' });
  }
  const k = length <= fs ? 1 : Math.ceil(length / fs);
  if (k > MAX_TX_CHAIN) {
    throw new AfxdpError('EUSAGE', `${who}: ${length} bytes take ${k} frames of ${fs} bytes; the kernel sends at most ${MAX_TX_CHAIN} per packet`, { hint: `send at most ${MAX_TX_CHAIN * fs} bytes per packet` });
  }
  return k;
}

/**
 * A copy of `data[offset, offset + length)` queued as one packet (the caller checked the
 * arguments and took k from framesFor(); `chain`, `lens`: scratch of MAX_TX_CHAIN). Returns the
 * frames used, 0 when the TX ring or the pool has no room (then nothing is queued; flush or wait
 * and retry).
 */
export function queueCopy(sock: XskSocket, data: Uint8Array, offset: number, length: number, k: number, chain: Uint32Array, lens: Uint32Array): number {
  // room for what is queued and not yet published, too
  const queued = sock.txQueuedCount;
  if (sock.txFree(queued + k) < queued + k) {
    sock.reclaim();
    return 0;
  }
  if (!allocChain(sock, k, chain)) return 0;
  const bytes = sock.umem.bytes;
  const fs = sock.umem.frameSize;
  if (k === 1) {
    bytes.set(length === data.length && offset === 0 ? data : data.subarray(offset, offset + length), chain[0]!);
    lens[0] = length;
  } else {
    for (let j = 0; j < k; j++) {
      const n = Math.min(fs, length - j * fs);
      bytes.set(data.subarray(offset + j * fs, offset + j * fs + n), chain[j]!);
      lens[j] = n;
    }
  }
  pushChain(sock, chain, lens, 0, k);
  return k;
}

/**
 * Publishes what is queued on the TX ring and kicks the kernel until the ring is empty (copy
 * mode transmits at most 32 frames per kick), at most MAX_TX_KICKS times, and only while the
 * kernel asks for kicks (need_wakeup: a zero-copy driver that clears the flag sends on its own;
 * a sink without the flag is kicked until empty). Frames still queued after that go with the
 * next flush.
 */
export function flushTx(sock: { readonly tx: { pending(): number; needsWakeup?(): boolean } | null; readonly needWakeup?: boolean; txFlush(): unknown }): void {
  const tx = sock.tx!;
  const asks = sock.needWakeup === true;
  let tries = 0;
  // one call site for the first flush and the retries: a rehearsal that never retries still
  // compiles it, so the first retry on traffic does not throw the caller's code away
  do sock.txFlush();
  while (tries++ < MAX_TX_KICKS && tx.pending() > 0 && (!asks || tx.needsWakeup!()));
}
