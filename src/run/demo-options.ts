/** What `afxdp demo` (run/demo.ts) and its round-trip form (run/ping-demo.ts) take. */
import type { ClockName, StrategyName, PollMode, ReceiverOptions, SchedChoice } from '../rx/receiver.js';
import type { OutputOptions } from '../report/outputs.js';
import type { XdpModeOption } from '../xdp/program.js';
import type { WarmupSpec } from './warmup.js';
import type { StackReceiverName } from '../rx/stack.js';
import type { SizeRange } from '../lab/generator.js';
import type { LabDriver } from '../lab/lab.js';
import type { PrivilegeDrop } from '../sys/privileges.js';

export type StackReceiverChoice = StackReceiverName | 'both';

/** The kernel-stack comparison's options (`demo --compare-stack`, `afxdp compare`; run/compare-stack.ts). */
export interface CompareStackOptions {
  /** 'node', 'c', or 'both' (default: one run with each in turn) */
  stackReceiver?: StackReceiverChoice;
  /** every Nth matched packet to the kernel stack (2..1000; default 2) */
  stackEvery?: number;
  /** SO_RCVBUF of the stack receiver's socket in bytes (default: the kernel's) */
  stackRcvbuf?: number;
}

export interface DemoOptions extends CompareStackOptions {
  /** the lab's driver: 'veth' (default) or 'tap' (a tun/tap device fed through its fd; see LabOptions.driver) */
  driver?: LabDriver;
  packets?: number;
  /**
   * frame size without FCS (62..9000), or a range { min, max } the packets cycle through; default
   * 64. Above 1514 bytes the lab's MTU is 9000 and frames larger than a UMEM frame travel as
   * multi-buffer packets (xdp.frags, XDP_USE_SG)
   */
  size?: number | SizeRange;
  /** bytes per UMEM frame of receiver and generator, 2048 or 4096; default 4096 */
  frameSize?: number;
  /** packets per second, 0 = as fast as possible; default 10000 */
  rate?: number;
  mode?: XdpModeOption;
  clock?: ClockName;
  /** default 'auto' */
  strategy?: StrategyName;
  simulateNoMeta?: boolean;
  /** the user's own BPF object instead of afxdp's (see LatencyProbe) */
  program?: string;
  xskmap?: string;
  /** hardware hints: 'auto' (default), true (required), false */
  hints?: boolean | 'auto';
  /** RX and fill ring entries of the probe; default 2048 */
  ringSize?: number;
  /** debug: assert the UMEM frame invariant at every batch */
  trackFrames?: boolean;
  signal?: AbortSignal;
  /** progress notes for a human (stderr in the CLI) */
  log?: (line: string) => void;
  /** files / endpoint / live view; all checked before the lab is built */
  outputs?: OutputOptions;
  /** called with the /metrics URL once --prometheus listens (also with --json: it goes to stderr) */
  onMetrics?: (url: string) => void;
  /**
   * round trip instead of one way: the tx namespace sends with TX metadata (completion stamps),
   * the rx namespace reflects with XDP_TX, afxdp receives the replies (latency_ns.rtt, tx_completion)
   */
  ping?: boolean;
  /** receive mode; default 'event' */
  poll?: PollMode;
  /** veth queues (1..64): one socket per queue, traffic sent on every TX queue; default 1 */
  queues?: number;
  /** receive batch size; default 64 */
  batchSize?: number;
  /** leave the first seconds / packets out of the latency figures (reported as `warmup`) */
  warmup?: WarmupSpec;
  /** pin the receiving thread(s) (see ReceiverOptions.cpu) */
  cpu?: number;
  /** SCHED_FIFO for the receiving thread(s); needs CAP_SYS_NICE */
  rt?: boolean;
  /** who gets the CPU first while receiving (see ReceiverOptions.sched) */
  sched?: SchedChoice;
  /** the process ends with the run (see ReceiverOptions.schedUntilExit) */
  schedUntilExit?: boolean;
  /** hold /dev/cpu_dma_latency at 0 for the run (see ReceiverOptions.cpuDmaLatency) */
  cpuDmaLatency?: boolean;
  /** worker and busy modes: SO_BUSY_POLL µs (see ReceiverOptions.busyPoll) */
  busyPoll?: number;
  /**
   * each queue's generator in its own worker thread, off the receiving thread (default false: the
   * generator shares the main thread and yields to the receiver between batches, so a starved
   * receiver slows the sender instead of losing packets)
   */
  txWorker?: boolean;
  /**
   * AF_XDP vs the kernel stack on the same traffic: every Nth packet (stackEvery) goes to the
   * kernel stack and a stack receiver (stackReceiver) reads it; the report gains `paths`
   */
  compareStack?: boolean;
  /**
   * become this user once the lab, the program and the sockets are set up (resolveRunAs; output
   * files are opened as this user). Default null: the run keeps the privileges it started with.
   * Not with compareStack (each of its runs sets up as root): it then stays as it started
   */
  dropPrivileges?: PrivilegeDrop | null;
}

/** The receiver options a demo (one way or round trip) takes straight from its options. */
export function demoReceiverOptions(o: DemoOptions): Pick<ReceiverOptions, 'mode' | 'strategy' | 'simulateNoMeta' | 'hints' | 'ringSize' | 'batchSize' | 'trackFrames' | 'cpu' | 'rt' | 'sched' | 'schedUntilExit' | 'cpuDmaLatency' | 'busyPoll' | 'frameSize'> {
  return {
    mode: o.mode ?? 'auto',
    strategy: o.strategy,
    simulateNoMeta: o.simulateNoMeta,
    hints: o.hints,
    ringSize: o.ringSize,
    batchSize: o.batchSize,
    trackFrames: o.trackFrames,
    cpu: o.cpu,
    rt: o.rt,
    sched: o.sched,
    schedUntilExit: o.schedUntilExit,
    cpuDmaLatency: o.cpuDmaLatency,
    busyPoll: o.busyPoll,
    frameSize: o.frameSize,
  };
}

/** Ethernet's largest standard frame without FCS; a demo with larger frames builds a jumbo lab */
const STANDARD_FRAME_MAX = 1514;
/** the jumbo MTU of the lab */
export const JUMBO_MTU = 9000;

/** The MTU the demo's lab needs for its frame sizes: 1500, or 9000 for jumbo frames. */
export function demoMtu(size: number | SizeRange | undefined): number {
  const max = size === undefined ? 0 : typeof size === 'number' ? size : size.max;
  return max > STANDARD_FRAME_MAX ? JUMBO_MTU : 1500;
}
