/**
 * The counts of a receiver, of one queue or summed over queues: packets, stamps by strategy,
 * hints, the map strategy's bookkeeping, sizes, the kernel's XDP_STATISTICS, the program's and the
 * handlers' counters — read from each queue's counter slots (rx/counts.ts), never per packet.
 */
import type { KernelStats, BusyPollSettings } from '../xsk/socket.js';
import type { ProgramCounters } from '../xdp/counters.js';
import type { Segment } from '../measure/monitor.js';
import type { SchedReport } from '../sys/sched.js';
import type { StrategyCounts, HintCounts } from './stamps.js';
import { C_RECEIVED, C_META_VALID, C_META_INVALID, C_VIA_META, C_VIA_PREPEND, C_VIA_MAP, C_HINT_HW_TS, C_HINT_RX_HASH, C_HINT_VLAN, C_MAP_MATCHED, C_MAP_NO_STAMP, C_SIZE_BASE, C_MULTI_BUFFER, C_CHAINS_DROPPED, C_HANDLED, C_FORWARDED, C_SENT, C_HANDLER_DROPPED, HANDLER_COUNTERS, SIZE_CLASSES } from './counts.js';
import { emptyKernel, NO_COUNTERS, type ReceiveQueue } from './queue.js';

export interface MapStats {
  /** stamps the program stored (null: a user program without afxdp's counters) */
  stored: number | null;
  /** stamps user space took from the map */
  matched: number;
  /** packets whose key had no stamp in the map */
  packets_without_stamp: number;
  /** stored − matched: evicted, or their packet never reached the socket (null with stored) */
  stamps_without_packet: number | null;
  /** stamps refused because one with the same key was still waiting (null with stored) */
  collisions: number | null;
}

/** The counts of one queue, or summed over queues. */
export interface ReceiverStats {
  received: number;
  metaValid: number;
  metaInvalid: number;
  kernel: KernelStats;
  program: ProgramCounters;
  /** valid stamps by the strategy that carried them */
  byStrategy: StrategyCounts;
  /** valid packets that carried each hardware hint; null when the program reads none */
  hints: HintCounts | null;
  /** map strategy bookkeeping; null when the map is not in use */
  map: MapStats | null;
  /** received packets by size class (rx/counts.ts SIZE_CLASSES names), whole packets */
  bySize: Record<string, number>;
  /** packets that arrived in more than one buffer (multi-buffer, XDP_USE_SG) */
  multiBuffer: number;
  /** chains longer than the socket takes at once (batch size + 64 buffers), dropped whole */
  chainsDropped: number;
  /** handler mode: what the handlers did (null without a handler) */
  handler: HandlerStats | null;
}

/** Handler mode: packets handled = forwarded + dropped (recycled); sent = new frames; counters = the handlers' own (ctx.counters), summed. */
export interface HandlerStats {
  handled: number;
  forwarded: number;
  sent: number;
  dropped: number;
  counters: number[];
}

/** The real-time knobs of a run (--cpu, --rt, --cpu-dma-latency, --busy-poll). */
export interface ReceiverTuning {
  /** the first receiving thread's CPU (queue i: cpu + i in the worker modes); null: not pinned */
  cpu: number | null;
  rt: boolean;
  cpuDmaLatency: boolean;
  /** what the kernel reports for the first socket, and the busy-poll calls made; null: off */
  busyPoll: (BusyPollSettings & { polls: number }) | null;
  /** the scheduling policy and every thread's policy while receiving; null: sched 'off' or not started */
  sched: SchedReport | null;
}

/** What excludeWarmup() dropped from the histograms (the report's `warmup`, with what was asked). */
export interface WarmupCut {
  /** packets received before the cut (all queues) */
  packets: number;
  /** latency samples dropped from each measured segment's histograms */
  samples: Partial<Record<Segment, number>>;
}

/** What the counts mean for this receiver's program. */
export interface StatsShape {
  /** the program reads hardware hints */
  hints: boolean;
  /** the map strategy is in use */
  mapInUse: boolean;
  /** the program has afxdp's counters */
  ownCounters: boolean;
  /** a handler receives (its counts are reported) */
  handler: boolean;
  /** a program counter that cannot be read is left at zero (the interface is gone or the receiver closed) */
  tolerant: boolean;
}

/** The counts of `list`, summed. */
export function statsOf(list: readonly ReceiveQueue[], shape: StatsShape): ReceiverStats {
  const kernel = emptyKernel();
  const program = { ...NO_COUNTERS };
  const c = new Float64Array(C_CHAINS_DROPPED + 1);
  for (const rq of list) {
    addInto(kernel, rq.kernel());
    try {
      addInto(program, rq.program());
    } catch (e) {
      if (!shape.tolerant) throw e; // after an error (interface gone) keep the rest of the report
    }
    for (let i = 0; i <= C_MAP_NO_STAMP; i++) c[i] += rq.counts[i]!;
    for (let i = C_SIZE_BASE; i <= C_CHAINS_DROPPED; i++) c[i] += rq.counts[i]!;
  }
  const own = shape.ownCounters;
  return {
    received: c[C_RECEIVED]!,
    metaValid: c[C_META_VALID]!,
    metaInvalid: c[C_META_INVALID]!,
    kernel,
    program,
    byStrategy: { meta: c[C_VIA_META]!, prepend: c[C_VIA_PREPEND]!, map: c[C_VIA_MAP]! },
    hints: shape.hints ? { rx_timestamp: c[C_HINT_HW_TS]!, rx_hash: c[C_HINT_RX_HASH]!, vlan: c[C_HINT_VLAN]! } : null,
    map: !shape.mapInUse
      ? null
      : {
          stored: own ? program.via_map : null,
          matched: c[C_MAP_MATCHED]!,
          packets_without_stamp: c[C_MAP_NO_STAMP]!,
          stamps_without_packet: own ? Math.max(0, program.via_map - c[C_MAP_MATCHED]!) : null,
          collisions: own ? program.map_collisions : null,
        },
    bySize: Object.fromEntries(SIZE_CLASSES.map((k, i) => [k.name, c[C_SIZE_BASE + i]!])),
    multiBuffer: c[C_MULTI_BUFFER]!,
    chainsDropped: c[C_CHAINS_DROPPED]!,
    handler: shape.handler ? handlerStats(list) : null,
  };
}

/** A counter summed over queues. */
export function sumOf(list: readonly ReceiveQueue[], slot: number): number {
  let n = 0;
  for (const rq of list) n += rq.counts[slot]!;
  return n;
}

function handlerStats(list: readonly ReceiveQueue[]): HandlerStats {
  const s: HandlerStats = { handled: 0, forwarded: 0, sent: 0, dropped: 0, counters: new Array<number>(HANDLER_COUNTERS).fill(0) };
  for (const rq of list) {
    s.handled += rq.counts[C_HANDLED]!;
    s.forwarded += rq.counts[C_FORWARDED]!;
    s.sent += rq.counts[C_SENT]!;
    s.dropped += rq.counts[C_HANDLER_DROPPED]!;
    const u = rq.handlerCounters;
    if (u !== null) for (let i = 0; i < HANDLER_COUNTERS; i++) s.counters[i]! += u[i]!;
  }
  return s;
}

function addInto<T extends object>(a: T, b: T): void {
  const x = a as Record<string, number>;
  for (const [k, v] of Object.entries(b as Record<string, number>)) x[k] = (x[k] ?? 0) + v;
}
