/**
 * The flags `afxdp demo` and `afxdp latency` share, declared once: how the program stamps
 * (strategy, hints, your own program), how the engine receives (poll mode, batch, ring size),
 * and the mapping of the parsed flags to the receiver's options (docs/METADATA.md has the long
 * form of the stamping help).
 */
import type { Command } from 'commander';
import { AfxdpError, STRATEGY_NAMES, type StrategyName } from '../index.js';
import { POLL_MODES, SCHED_CHOICES, type SchedChoice, type ReceiverOptions, type PollMode, type WarmupSpec } from '../entry/receiver.js';
import { intArg, choiceArg, ringSizeArg, warmupArg, frameSizeArg } from './args.js';
import { addOutputOptions, type OutputFlags } from './outputs.js';

export const STRATEGY_HELP =
  'how the XDP stamp reaches user space: auto (metadata, falling back per packet to prepend, then map), meta (bpf_xdp_adjust_meta), prepend (bpf_xdp_adjust_head, stripped again), map (BPF hash keyed by the packet)';
export const SIMULATE_HELP =
  'diagnostic: make the XDP program behave as on a driver without metadata support (adjust_meta fails), to see what --strategy auto does there';
export const PROGRAM_HELP = 'your own XDP program (a BPF object that includes afxdp/meta.h and calls afxdp_stamp(ctx); see examples/own-program)';
export const XSKMAP_HELP = 'with --program: the XSKMAP afxdp registers its socket in (default: the only one)';
export const HINTS_HELP =
  'require hardware hints (RX hash, VLAN tag, RX timestamp via device-bound kfuncs; native XDP only). Default: read them where possible, else measure without';
export const NO_HINTS_HELP = 'do not read hardware hints';

/** What commander gives for the shared flags. */
export interface ReceiveFlags extends OutputFlags {
  mode: 'auto' | 'native' | 'generic';
  clock: 'monotonic' | 'tai';
  strategy: StrategyName;
  simulateNoMeta?: boolean;
  program?: string;
  xskmap?: string;
  /** true (--hints), false (--no-hints) or undefined (neither: 'auto') */
  hints?: boolean;
  ringSize: number;
  frameSize: number;
  debugFrames?: boolean;
  /** undefined: the command's default (receivePoll) */
  poll?: PollMode;
  batch: number;
  warmup?: WarmupSpec;
  cpu?: number;
  rt?: boolean;
  sched: SchedChoice;
  cpuDmaLatency?: boolean;
  busyPoll?: number;
  json?: boolean;
  user?: string;
}

/** Adds the shared flags (and the output flags) to a command; `ringHelp` says what the ring size does there. */
export function addReceiveOptions(cmd: Command, ringHelp: string): Command {
  cmd
    .option('--mode <mode>', 'XDP attach mode: auto (native, else generic), native, generic', choiceArg('--mode', ['auto', 'native', 'generic'] as const), 'auto')
    .option('--clock <clock>', 'clock of the stamps: monotonic or tai', choiceArg('--clock', ['monotonic', 'tai'] as const), 'monotonic')
    .option('--poll <mode>', 'receive mode: worker (a worker thread per queue sleeps in poll(2); the default), event (uv_poll on the main thread; the default with --ping and --compare-stack, which need it) or busy (a worker thread spins per queue)', choiceArg('--poll', POLL_MODES))
    .option('--batch <n>', 'descriptors per receive batch', intArg('--batch', 1, 4096), 64)
    .option('--cpu <n>', 'pin the receiving thread to CPU n (event: the main thread; worker/busy: queue i on CPU n+i)', intArg('--cpu', 0, 4095))
    .option('--rt', 'run the receiving thread(s) SCHED_FIFO (needs CAP_SYS_NICE; with --poll busy a spinning FIFO thread holds its CPU up to the kernel\'s RT throttle)')
    .option('--sched <policy>', "who gets the CPU first while receiving: receiver-first (default: the process's other threads are lowered, V8's and libuv's helpers to SCHED_IDLE, the main thread to SCHED_BATCH; no privilege needed; the report lists every thread's policy) or off", choiceArg('--sched', SCHED_CHOICES), 'receiver-first')
    .option('--cpu-dma-latency', 'hold /dev/cpu_dma_latency at 0 µs for the run: CPUs stay out of deep idle states, so a wake-up pays no C-state exit (root)')
    .option('--busy-poll <us>', 'with --poll worker|busy: SO_BUSY_POLL for this many µs (with SO_PREFER_BUSY_POLL, budget = --batch); the receiving thread runs the driver\'s NAPI itself when its ring is empty (CAP_NET_ADMIN)', intArg('--busy-poll', 0, 10000))
    .option('--warmup <s|packets>', 'leave the first part of the run out of the latency figures: a time (2s, 500ms) or a packet count (10000); the report says what was excluded', warmupArg)
    .option('--strategy <s>', STRATEGY_HELP, choiceArg('--strategy', STRATEGY_NAMES), 'auto')
    .option('--simulate-no-meta', SIMULATE_HELP)
    .option('--hints', HINTS_HELP)
    .option('--no-hints', NO_HINTS_HELP)
    .option('--program <obj.o>', PROGRAM_HELP)
    .option('--xskmap <name>', XSKMAP_HELP)
    .option('--ring-size <n>', `RX and fill ring entries, a power of two (8..8192)${ringHelp}`, ringSizeArg, 2048)
    .option('--frame-size <bytes>', 'UMEM frame size, 2048 or 4096: a packet larger than a frame (jumbo frames) arrives as a chain of frames (XDP_USE_SG, turned on when the MTU needs it)', frameSizeArg, 4096)
    .option('--debug-frames', 'assert at every batch that each UMEM frame is in exactly one place (slower; for debugging)')
    .option('--json', 'print only the afxdp.report/1 JSON document on stdout')
    .option('--user <name>', 'after setup, run as this user with no capabilities; output files are written as this user (default: the user who ran sudo, from SUDO_UID; root: stay root; docs/SECURITY.md)');
  return addOutputOptions(cmd);
}

/**
 * The receive mode without --poll: a worker per queue that sleeps in poll(2) — the C poll loop's
 * shape, without a libuv turn per wake-up, so the cheapest in CPU per packet and the measured
 * default (docs/BENCHMARKS.md) — unless the run needs the main thread: --ping sends from the
 * receiving socket and --compare-stack measures the AF_XDP path's CPU there.
 */
export function receivePoll(f: ReceiveFlags, needsMainThread = false): PollMode {
  return f.poll ?? (needsMainThread ? 'event' : 'worker');
}

/** The receiver options the shared flags stand for. */
export function receiveOptions(f: ReceiveFlags, needsMainThread = false): Omit<ReceiverOptions, 'ifname' | 'program'> & { program?: string } {
  if (f.xskmap !== undefined && f.program === undefined) {
    throw new AfxdpError('EUSAGE', '--xskmap needs --program', { hint: "afxdp's own program has one XSKMAP; name yours with --program OBJ.o --xskmap NAME" });
  }
  return {
    mode: f.mode,
    clock: f.clock,
    poll: receivePoll(f, needsMainThread),
    batchSize: f.batch,
    strategy: f.strategy,
    simulateNoMeta: !!f.simulateNoMeta,
    program: f.program,
    xskmap: f.xskmap,
    hints: f.hints === undefined ? 'auto' : f.hints,
    ringSize: f.ringSize,
    frameSize: f.frameSize,
    trackFrames: !!f.debugFrames,
    cpu: f.cpu,
    rt: !!f.rt,
    sched: f.sched,
    // the command's process ends with the run: a helper thread may stay SCHED_IDLE without CAP_SYS_NICE
    schedUntilExit: true,
    cpuDmaLatency: !!f.cpuDmaLatency,
    busyPoll: f.busyPoll ?? 0,
  };
}
