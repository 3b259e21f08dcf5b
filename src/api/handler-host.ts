/**
 * The handler host: runs a user's handler module (`open({ handler })`) inside a queue's receive
 * worker. The worker loads this module by URL (rx/handler.ts) and gets a PacketSink that, for
 * every batch, shows the user's default export the same Batch/Packet views as the other modes —
 * over the UMEM, no copy — with a context to forward packets in place or send new frames on the
 * queue's own socket. It runs before the engine recycles the batch; what was forwarded leaves by
 * TX (xsk/socket.ts forward()), the rest goes back to the fill ring.
 *
 * A handler that throws ends that queue's receiving with one EHANDLER error naming the module;
 * its batch is still recycled, so no frame stays behind.
 */
import { AfxdpError } from '../errors.js';
import type { PacketBatch, PacketSink } from '../rx/batch.js';
import type { HandlerHostInput } from '../rx/handler.js';
import { C_HANDLED, C_FORWARDED, C_SENT, C_HANDLER_DROPPED } from '../rx/counts.js';
import type { XskSocket } from '../xsk/socket.js';
import { MAX_TX_CHAIN, framesFor, queueCopy, flushTx } from '../xsk/tx.js';
import { Batch, type BatchOwner } from './batch.js';
import { describe } from './validate.js';

/** What a handler gets besides the batch: its queue, the ways to transmit, its counters. */
export interface HandlerContext {
  /** the queue this worker receives */
  readonly queue: number;
  /**
   * Transmits packet i of the batch, as the handler left it (edit it through packet(i).bytes()
   * first), from its own frames on this queue's socket: no copy. Its frames go back to the pool
   * when the transmission completes. Returns false when the TX ring is full (the packet is then
   * dropped: its frames are recycled with the batch).
   */
  forward(i: number): boolean;
  /** Transmits a copy of `bytes` as a new frame (or chain) on this queue's socket; false when no frame or ring slot is free. */
  send(bytes: Uint8Array): boolean;
  /** the handler's own numbers, shared with the main thread (AfxdpSocket.stats().handler.counters, summed over queues) */
  readonly counters: Float64Array;
}

/** A handler module's default export. */
export type PacketHandler = (batch: Batch, ctx: HandlerContext) => void;

/** Called by the receive worker (rx/worker.ts) with its queue's socket. */
export async function createHandlerSink(input: HandlerHostInput): Promise<PacketSink> {
  let mod: { default?: unknown };
  try {
    mod = (await import(input.module)) as { default?: unknown };
  } catch (e) {
    throw new AfxdpError('EHANDLER', `handler module ${input.module} could not be loaded: ${firstLine(e)}`, { hint: 'check the path and that it is an ES module with a default export (batch, ctx) => void' });
  }
  if (typeof mod.default !== 'function') {
    throw new AfxdpError('EHANDLER', `handler module ${input.module} has no default export function (got ${describe(mod.default)})`, { hint: 'export default function (batch, ctx) { … }' });
  }
  return new HandlerSink(input, mod.default as PacketHandler);
}

class HandlerSink implements PacketSink, BatchOwner {
  private readonly batch = new Batch(this);
  private readonly ctx: HandlerContext;
  private readonly sock: XskSocket;
  private readonly counts: Float64Array;
  private readonly chain = new Uint32Array(MAX_TX_CHAIN);
  private readonly lens = new Uint32Array(MAX_TX_CHAIN);
  private forwardedNow = 0;
  private sentNow = 0;
  private failed = false;

  /**
   * the rehearsal's twin, kept: the code V8 optimized during the rehearsal refers to its objects
   * (its context's closures, its views) and would be thrown away when they are collected
   */
  private readonly kept: HandlerSink[] = [];

  constructor(
    private readonly input: HandlerHostInput,
    /** the user's handler (the rehearsal's twin: its stand-ins, by turns) */
    private handler: PacketHandler,
  ) {
    this.sock = input.socket;
    this.counts = input.counts;
    const batch = this.batch;
    const sock = this.sock;
    this.ctx = {
      queue: input.queue,
      counters: input.counters,
      forward: (i: number): boolean => {
        batch.lengthOf(i); // a live batch and an index in range, or a one-line error
        if (!sock.forward(i)) return false;
        this.forwardedNow++;
        return true;
      },
      send: (bytes: Uint8Array): boolean => {
        if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new AfxdpError('EUSAGE', `ctx.send: bytes must be a non-empty Uint8Array (or Buffer), got ${describe(bytes)}`);
        const k = framesFor(sock, bytes.length, 'ctx.send');
        if (queueCopy(sock, bytes, 0, bytes.length, k, this.chain, this.lens) === 0) return false;
        this.sentNow++;
        return true;
      },
    };
  }

  /**
   * The engine's rehearsal (RxEngine.rehearse) runs this path on its synthetic batches before
   * traffic, so V8 has compiled the Batch/Packet views and this onBatch() when the first real
   * packet comes: a twin of this sink over scratch counters with a stand-in handler that reads
   * every packet's view as a handler does and forwards two of every three, so ctx.forward(), the
   * flush and the reclaim of completions are compiled too. Not the user's handler (its module
   * state must see real packets only). The socket's TX and completion rings are stand-ins during
   * the rehearsal (XskSocket.rehearse); settle() plays the kernel's side of them.
   */
  rehearsal(): { sink: PacketSink; settle(): void } {
    const scratch = new Float64Array(this.counts.length);
    const twin = new HandlerSink({ ...this.input, counts: scratch, counters: new Float64Array(this.input.counters.length), stop: () => undefined }, rehearse);
    this.kept.push(twin);
    const sock = this.sock;
    let turns = 0;
    return {
      sink: twin,
      settle: () => {
        scratch.fill(0);
        sock.completeTxAsKernel();
        // two stand-ins by turns: onBatch() calls its handler as any function, so the user's
        // handler, a third, does not throw onBatch() (and the receive loop it is compiled into)
        // away on the first real packet
        twin.handler = (++turns & 1) === 0 ? rehearse : rehearseToo;
      },
    };
  }

  onBatch(b: PacketBatch): void {
    if (this.failed) return; // the queue is stopping: the engine recycles what is left
    const n = b.n;
    this.batch.begin(b);
    try {
      this.handler(this.batch, this.ctx);
    } catch (e) {
      this.failed = true;
      this.input.stop(new AfxdpError('EHANDLER', `handler ${this.input.module} threw on queue ${this.input.queue}: ${firstLine(e)}`, { hint: 'fix the handler; the packets of that batch that it did not forward were recycled', cause: e }));
    }
    this.batch.releaseIfLive();
    const fwd = this.forwardedNow;
    const sent = this.sentNow;
    this.forwardedNow = 0;
    this.sentNow = 0;
    const c = this.counts;
    // counted before the flush: a frame can be back at its sender before this thread's next
    // statement, and whoever got it may read the counts then
    c[C_FORWARDED] += fwd;
    c[C_SENT] += sent;
    c[C_HANDLER_DROPPED] += n - fwd;
    c[C_HANDLED] += n;
    if (fwd + sent > 0) {
      flushTx(this.sock);
      this.sock.reclaim();
    }
  }

  /** @internal the batch ends when the handler returns; the engine recycles its frames after */
  releaseBatch(): void {}
}

/** The rehearsal's stand-in handler: what a handler reads of each packet, forwarding (not all: recycling is rehearsed too), and the context's counters. */
function rehearse(batch: Batch, ctx: HandlerContext): void {
  let sum = 0;
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i);
    sum += p.buffer[p.offset]! + p.length + p.latencyNs;
    if (i % 3 !== 2) ctx.forward(i);
  }
  ctx.counters[0]! += sum === sum ? batch.length : 0;
}

/** rehearse() as another function (see rehearsal()) */
function rehearseToo(batch: Batch, ctx: HandlerContext): void {
  rehearse(batch, ctx);
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!;
}
