/**
 * afxdp/receiver — the receive engine under open() and runLatency(), for tools that drive it
 * themselves: LatencyReceiver (and its one-queue face LatencyProbe) with PacketBatch sinks,
 * waiting for a run's end, its report, the latency recorder, and the receiver options' names and
 * bounds (what the `afxdp` CLI checks its flags against).
 *
 *   import { LatencyReceiver, waitForEnd, receiverReport } from 'afxdp/receiver';
 */
export {
  LatencyReceiver, ReceiveQueue, POLL_MODES, SCHED_CHOICES,
  type SchedChoice, type SchedReport, type ThreadSched, type ReceiverOptions, type ReceiverSetup, type ReceiverStats, type HandlerStats, type ReceiverTuning,
  type MapStats, type PollMode, type ClockName, type MatchName, type StrategyName, type LoadedProgram, type StrategyCounts, type HintCounts,
} from '../rx/receiver.js';
export type { BindModeOption, KernelStats } from '../xsk/socket.js';
// the types the receiver's public signatures use (also exported by `afxdp`), so this entry's users can name them
export type { BindMode, BusyPollSettings, XskSocket, XskSocketOptions } from '../xsk/socket.js';
export type { Ring } from '../xsk/ring.js';
export type { Umem, UmemOptions } from '../xsk/umem.js';
export type { AfxdpError, AfxdpErrorCode } from '../errors.js';
export type { MetaReader } from '../xdp/meta.js';
export type { Segment } from '../measure/monitor.js';
export type { BucketWriter } from '../measure/recorder.js';
export type { WarmupCut } from '../rx/receiver-stats.js';
export type { PolicyName, ThreadRole } from '../sys/sched.js';
export type { XdpMode, XdpModeOption } from '../xdp/program.js';
export type { ProgramCounters, StackCounters } from '../xdp/counters.js';
export { LatencyProbe, type ProbeOptions, type ProbeStats } from '../rx/probe.js';
export { PacketBatch, type PacketSink } from '../rx/batch.js';
export { MATCH_NAMES, describeMatch } from '../rx/options.js';
export { checkOption, checkQueues, RING_SIZE_MIN, RING_SIZE_MAX, FRAME_COUNT_MAX, type BoundedOption, type CheckHow } from '../rx/bounds.js';
export { waitForEnd, type WaitOptions, type Receiving } from '../run/session.js';
export { parseWarmup, type WarmupSpec } from '../run/warmup.js';
export { receiverReport, type ReportExtras } from '../report/receiver-report.js';
// the report's types (receiverReport returns a Report; also exported by `afxdp` and afxdp/report)
export type * from '../report/types.js';
export { LatencyRecorder, type LatencySummary } from '../measure/recorder.js';
