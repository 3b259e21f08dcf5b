/**
 * ReceiveQueue: one receiving queue as the main thread sees it — its counters and recorders
 * (shared with its engine, wherever that runs), its engine (event mode) or worker (worker, busy),
 * and the kernel's and the program's counters for it.
 */
import { Worker } from 'node:worker_threads';
import { native } from '../native.js';
import type { KernelStats } from '../xsk/socket.js';
import type { CounterReader, ProgramCounters } from '../xdp/counters.js';
import { LatencyRecorder, RECORDER_BYTES } from '../measure/recorder.js';
import type { Segment } from '../measure/monitor.js';
import type { RxEngine } from './engine.js';
import type { BatchChannel } from './channel.js';
import type { Outbox } from './outbox.js';
import { newCounts, C_RECEIVED, HANDLER_COUNTERS } from './counts.js';
import { CTL_STATE, STATE_STOPPED } from './worker.js';

export const NO_COUNTERS: ProgramCounters = { seen: 0, matched: 0, stamped: 0, meta_failed: 0, redirected: 0, via_meta: 0, via_prepend: 0, via_map: 0, map_collisions: 0, unstamped: 0 };

// a MeasuredQueue structurally (not `implements`: that interface is internal and would show in the public type)
/** One queue: its numbers (shared with its engine, wherever that runs) and its engine or worker. */
export class ReceiveQueue {
  readonly counts: Float64Array;
  readonly xdpToUser: LatencyRecorder;
  readonly senderToXdp: LatencyRecorder | null;
  readonly hwToXdp: LatencyRecorder | null;
  // engine, worker and channel are rx/'s own: a face consumes through LatencyReceiver's take,
  // release, wait and watch (rx/consumer.ts), never through these
  /** @internal event mode: the engine on the main thread */
  engine: RxEngine | null = null;
  /** @internal worker and busy modes: the worker, its control words, the kernel counters it leaves at stop */
  worker: { thread: Worker; ctl: Int32Array; kernel: Float64Array } | null = null;
  /** @internal worker modes with `deliver`: the batches the worker hands over */
  channel: BatchChannel | null = null;
  /** @internal worker modes with a TX ring, the first queue: the frames send() hands its worker */
  outbox: Outbox | null = null;
  /** handler mode: the handler's own counters (ctx.counters), written by the worker */
  handlerCounters: Float64Array | null = null;
  fd = -1;
  /** worker modes: the receiving worker's thread id (gettid), -1 otherwise */
  tid = -1;
  bindMode: 'copy' | 'zerocopy' = 'copy';
  private lastKernel: KernelStats | null = null;
  private readonly statsBuf = new Float64Array(8);

  /** @internal the receiver makes its queues */
  constructor(
    readonly queue: number,
    shared: boolean,
    segments: { sender: boolean; hw: boolean },
    private readonly programCounters: CounterReader | null,
  ) {
    this.counts = newCounts(shared);
    const rec = (): LatencyRecorder => new LatencyRecorder(shared ? new SharedArrayBuffer(RECORDER_BYTES) : undefined);
    this.xdpToUser = rec();
    this.senderToXdp = segments.sender ? rec() : null;
    this.hwToXdp = segments.hw ? rec() : null;
  }

  /** Handler mode: gives the queue the handler's counters (shared with its worker). */
  withHandlerCounters(): SharedArrayBuffer {
    const buf = new SharedArrayBuffer(8 * HANDLER_COUNTERS);
    this.handlerCounters = new Float64Array(buf);
    return buf;
  }

  get received(): number {
    return this.counts[C_RECEIVED]!;
  }

  recorder(s: Segment): LatencyRecorder | null {
    return s === 'xdp_to_user' ? this.xdpToUser : s === 'sender_to_xdp' ? this.senderToXdp : this.hwToXdp;
  }

  /** XDP_STATISTICS of the socket: live while it is open, else the last reading (zeros if none). */
  kernel(): KernelStats {
    const w = this.worker;
    if (w !== null && Atomics.load(w.ctl, CTL_STATE) === STATE_STOPPED) {
      const k = w.kernel;
      this.lastKernel = { rx_dropped: k[0]!, rx_invalid_descs: k[1]!, tx_invalid_descs: k[2]!, rx_ring_full: k[3]!, rx_fill_ring_empty_descs: k[4]!, tx_ring_empty_descs: k[5]! };
    } else if (this.fd >= 0 && (this.engine === null || !this.engine.socket.isClosed)) {
      try {
        // the fd is process-wide: also a worker's socket can be asked from here
        const st = this.statsBuf;
        st.fill(0);
        native().xskStatistics(this.fd, st);
        this.lastKernel = { rx_dropped: st[0]!, rx_invalid_descs: st[1]!, tx_invalid_descs: st[2]!, rx_ring_full: st[3]!, rx_fill_ring_empty_descs: st[4]!, tx_ring_empty_descs: st[5]! };
      } catch {
        // the interface is gone: keep the last reading
      }
    }
    return this.lastKernel ? { ...this.lastKernel } : emptyKernel();
  }

  kernelDrops(): number {
    const k = this.kernel();
    return k.rx_dropped + k.rx_ring_full;
  }

  /** The program's counters for this queue (zeros with a program that has none). */
  program(): ProgramCounters {
    return this.programCounters?.read(this.queue) ?? { ...NO_COUNTERS };
  }
}

/** All-zero XDP_STATISTICS, for a socket that is gone or never opened. */
export function emptyKernel(): KernelStats {
  return { rx_dropped: 0, rx_invalid_descs: 0, tx_invalid_descs: 0, rx_ring_full: 0, rx_fill_ring_empty_descs: 0, tx_ring_empty_descs: 0 };
}

