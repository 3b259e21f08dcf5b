/**
 * LatencyProbe: the single-queue, main-thread face of LatencyReceiver (rx/receiver.ts) — the
 * stamping program, one AF_XDP socket, its engine — with direct access to that queue's socket,
 * recorders and last batch. It consumes as every receiver does (take/release, sinks through
 * drain); everything else (setup, receive loop, counts) is the receiver's.
 */
import type { XskSocket } from '../xsk/socket.js';
import { AfxdpError } from '../errors.js';
import type { LatencyRecorder } from '../measure/recorder.js';
import type { PacketBatch } from './batch.js';
import { LatencyReceiver, type ReceiverOptions, type ReceiverStats } from './receiver.js';

export type { ClockName, MatchName, StrategyName, MapStats } from './receiver.js';
export { rxQueueCount, emptyKernel } from './receiver.js';

export interface ProbeOptions extends Omit<ReceiverOptions, 'queues' | 'poll' | 'deliver'> {
  /** default 0 */
  queue?: number;
}

/** The counts of a probe (the receiver's, for its one queue). */
export type ProbeStats = ReceiverStats;

export class LatencyProbe extends LatencyReceiver {
  /** Opens the probe (synchronously, inside `netnsFd` when given). */
  static override open(opts: ProbeOptions): LatencyProbe {
    if (opts === null || typeof opts !== 'object') throw new AfxdpError('EUSAGE', 'LatencyProbe.open needs an options object');
    const { queue, ...rest } = opts as ProbeOptions & Record<string, unknown>;
    for (const k of ['queues', 'poll', 'deliver']) {
      if (k in rest) throw new AfxdpError('EUSAGE', `LatencyProbe has no option ${JSON.stringify(k)}`, { hint: 'use LatencyReceiver for several queues or busy polling' });
    }
    if (queue !== undefined && (!Number.isInteger(queue) || queue < 0)) {
      throw new AfxdpError('EUSAGE', `queue ${String(queue)} is not a valid queue number`, { hint: 'use an integer ≥ 0' });
    }
    return super.open({ ...rest, queues: [queue ?? 0], poll: 'event' }) as LatencyProbe;
  }

  get queue(): number {
    return this.queues[0]!;
  }

  get socket(): XskSocket {
    return this.socketOf(0);
  }

  /** xdp_to_user: XDP stamp → first JS touch of the batch */
  get recorder(): LatencyRecorder {
    return this.perQueue[0]!.xdpToUser;
  }

  /** sender_to_xdp: the generator's TX time (payload) → XDP stamp; null when not measured */
  get senderRecorder(): LatencyRecorder | null {
    return this.perQueue[0]!.senderToXdp;
  }

  /** hw_to_xdp: NIC RX stamp → XDP stamp; only with clock 'tai' */
  get hwRecorder(): LatencyRecorder | null {
    return this.perQueue[0]!.hwToXdp;
  }

  /** the columns of the last batch taken (empty before the first) */
  get batch(): PacketBatch {
    return this.lastBatch ?? this.perQueue[0]!.engine!.batch;
  }

  /**
   * Called once per batch, before the frames go back to the kernel, with the packets as the
   * sender sent them (prepended stamps stripped): UMEM addresses and lengths of packets 0..n-1.
   */
  set onFrames(fn: ((addrs: Uint32Array, lens: Uint32Array, n: number, bytes: Uint8Array) => void) | null) {
    if (fn === null) return;
    this.addSink({ onBatch: (b) => fn(b.addr, b.len, b.n, b.bytes) });
  }
}
