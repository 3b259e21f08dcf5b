/**
 * QueueConsumer: the one way the main thread consumes a receiver's batches, in every poll mode —
 * take a batch (the queues take turns), release it, wait until one may be ready, or be called
 * whenever one may be (watch). Event mode takes from the queue's RxEngine on this thread (decoded,
 * latencies recorded; its frames stay with user space until release); the worker modes take from
 * the BatchChannel the queue's worker fills (a copy; release frees the slot). The receiver's sinks
 * (CSV, pcapng, ping's replies), LatencyProbe and AfxdpSocket all consume through it.
 *
 * One batch is out at a time. Per batch, never per packet: a turn over the queues and a call.
 */
import { AfxdpError } from '../errors.js';
import type { PacketBatch } from './batch.js';
import type { ReceiveQueue } from './queue.js';

/** What the consumer asks of its receiver. */
export interface ConsumerHooks {
  /** a queue's socket reported an error on poll (event mode): receiving ends */
  socketFailed(rq: ReceiveQueue, status: number): void;
  /** receiving ended (closed, or failed): waits end at once */
  ended(): boolean;
}

/** how long a worker-mode wait sleeps on the channels before it looks again (the timer keeps Node's loop alive) */
const CHANNEL_WAIT_MS = 100;

export class QueueConsumer {
  /** the queue the next take() looks at first */
  private next = 0;
  /** index of the queue whose batch is out, -1: none */
  private out = -1;
  /** packets of the batch out (what the engine takes back) */
  private outN = 0;
  private last: PacketBatch | null = null;
  /** watch()'s callback */
  private watcher: (() => void) | null = null;
  /** event mode: the sockets' readable callbacks are installed */
  private polling = false;
  /** the pending one-shot wake-up (wait()'s resolver or onceReady()'s callback); fire() clears it before calling */
  private wake: (() => void) | null = null;

  constructor(
    private readonly queues: readonly ReceiveQueue[],
    /** event mode: the engines run here; else the workers hand batches over */
    private readonly event: boolean,
    /** why nothing can be taken (worker modes without `deliver`), or null */
    private readonly refusal: AfxdpError | null,
    private readonly hooks: ConsumerHooks,
  ) {}

  /**
   * The next batch ready now, from the queue after the last one that gave one (round robin), or
   * null when none is. Release it before the next take(); its columns stay readable until then.
   */
  take(): PacketBatch | null {
    if (this.out >= 0) throw new AfxdpError('ESTATE', 'the previous batch is not released yet', { hint: 'call batch.release() before receiving again' });
    if (this.refusal !== null) throw this.refusal;
    const qs = this.queues;
    const len = qs.length;
    for (let k = 0; k < len; k++) {
      let i = this.next + k;
      if (i >= len) i -= len;
      const rq = qs[i]!;
      const e = rq.engine;
      let b: PacketBatch | null = null;
      if (e !== null) {
        if (!e.socket.isClosed) {
          const n = e.take();
          if (n > 0) {
            b = e.batch;
            this.outN = n;
          }
        }
      } else if (rq.channel !== null) {
        b = rq.channel.peek();
      }
      if (b !== null) {
        this.next = i + 1 === len ? 0 : i + 1;
        this.out = i;
        this.last = b;
        return b;
      }
    }
    return null;
  }

  /** Gives the batch of the last take() back: its frames to the kernel, or its channel slot to the worker. No-op when none is out. */
  release(): void {
    const i = this.out;
    if (i < 0) return;
    this.out = -1;
    const rq = this.queues[i]!;
    const e = rq.engine;
    if (e !== null) {
      if (!e.socket.isClosed) e.release(this.outN);
    } else {
      rq.channel?.done();
    }
  }

  /** A batch is out (taken, not released). */
  get holding(): boolean {
    return this.out >= 0;
  }

  /** The batch of the last take() (its columns: a tool's look at what arrived last), or null. */
  get lastBatch(): PacketBatch | null {
    return this.last;
  }

  /**
   * Resolves when a batch may be ready, after `timeoutMs`, on abort, or when receiving ends.
   * Event mode: the sockets' readable callbacks stay installed across waits (no epoll_ctl per
   * batch); if one fires while nobody waits they are removed, so a slow consumer with packets
   * pending never makes the loop spin on a level-triggered poll. Worker modes: the channels'
   * head words (Atomics.waitAsync), looked at again every 100 ms.
   */
  wait(timeoutMs = Infinity, signal?: AbortSignal): Promise<void> {
    if (this.refusal !== null) throw this.refusal;
    this.fire(); // one waiter at a time: an earlier one returns now
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        if (this.wake === done) this.wake = null;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      if (this.hooks.ended() || signal?.aborted) return done();
      signal?.addEventListener('abort', done, { once: true });
      if (this.event) {
        if (Number.isFinite(timeoutMs)) timer = setTimeout(done, timeoutMs);
        this.poll(); // level-triggered: fires at once if packets arrived since the last take()
      } else {
        // each channel's wait ends at its own timeout (its timer keeps Node's loop alive)
        const ms = Math.min(timeoutMs, CHANNEL_WAIT_MS);
        void Promise.race(this.queues.map((rq) => rq.channel!.wait(ms))).then(done);
      }
    });
  }

  /**
   * wait() without a timeout or signal, as a callback: `cb` is called once when a batch may be
   * ready or receiving ends. In event mode nothing is allocated (no Promise, no closure): the
   * form for a consumer that waits once per wake-up (the batch iterator). cancelWait() drops it.
   */
  onceReady(cb: () => void): void {
    if (this.refusal !== null) throw this.refusal;
    this.fire(); // one waiter at a time
    if (!this.event) {
      void this.wait(CHANNEL_WAIT_MS).then(cb);
      return;
    }
    this.wake = cb;
    if (this.hooks.ended()) return this.fire();
    this.poll(); // level-triggered: fires at once if packets arrived since the last take()
  }

  /** Calls the pending wait()'s or onceReady()'s wake-up now (e.g. on abort); no-op when none. */
  cancelWait(): void {
    this.fire();
  }

  private fire(): void {
    const w = this.wake;
    if (w === null) return;
    this.wake = null;
    w();
  }

  /**
   * Calls `cb` whenever a batch may be ready (and once soon, for what arrived before) until
   * unwatch() or the end of receiving; `cb` takes and releases. One watcher at a time.
   */
  watch(cb: () => void): void {
    if (this.watcher !== null) throw new AfxdpError('ESTATE', 'the receiver already has a consumer watching it', { hint: 'use one way of receiving at a time' });
    if (this.refusal !== null) throw this.refusal;
    this.watcher = cb;
    if (this.event) {
      this.poll();
      // packets that arrived before the callbacks were installed
      setImmediate(() => {
        if (this.watcher === cb && !this.hooks.ended()) cb();
      });
    } else {
      void this.pump(cb);
    }
  }

  /** Ends watch(). */
  unwatch(): void {
    this.watcher = null;
    if (this.wake === null) this.unpoll();
  }

  /** Receiving ended: no more callbacks, and a pending wait() returns. */
  stop(): void {
    this.watcher = null;
    this.unpoll();
    this.fire();
  }

  /** Worker modes: the watcher runs whenever a worker hands over batches. */
  private async pump(cb: () => void): Promise<void> {
    while (this.watcher === cb && !this.hooks.ended()) {
      cb();
      await this.wait(CHANNEL_WAIT_MS);
    }
  }

  private poll(): void {
    if (this.polling) return;
    this.polling = true;
    for (const rq of this.queues) {
      rq.engine!.socket.onReadable((status) => {
        if (status < 0) this.hooks.socketFailed(rq, status);
        else this.readable();
      });
    }
  }

  private readable(): void {
    if (this.watcher !== null) this.watcher();
    else if (this.wake !== null) this.fire();
    else this.unpoll();
  }

  private unpoll(): void {
    if (!this.polling) return;
    this.polling = false;
    for (const rq of this.queues) rq.engine?.socket.offReadable();
  }
}
