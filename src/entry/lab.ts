/**
 * afxdp/lab — the private test lab and its traffic, for your own tests and demos: two network
 * namespaces joined by a veth pair (Lab), the AF_XDP traffic generator (TrafficGenerator, or in a
 * worker of its own: GeneratorThread), the afxdp test frame's addresses and sizes, and the runs
 * built on them (`afxdp demo`: runDemo; the kernel-stack comparison: runCompareIface).
 *
 *   import { Lab, TrafficGenerator } from 'afxdp/lab';
 */
export { Lab, LAB_DRIVERS, checkLabDriver, type LabDriver, type LabOptions, type LabSide, type LabLeftovers } from '../lab/lab.js';
export { TrafficGenerator, type GeneratorOptions, type SendOptions, type SizeRange } from '../lab/generator.js';
export { GeneratorThread, type GeneratorResult } from '../lab/generator-thread.js';
export { runDemo, type DemoOptions } from '../run/demo.js';
export type { LatencyRunOptions } from '../run/latency.js';
export type { ReceiverOptions, PollMode, ClockName, SchedChoice, StrategyName } from '../rx/receiver.js';
export type { StackReceiverName } from '../rx/stack.js';
export type { XdpModeOption } from '../xdp/program.js';
// the types the lab's public signatures use (also exported by `afxdp`), so this entry's users can name them
export type { XdpMode } from '../xdp/program.js';
export type { BindMode, BindModeOption } from '../xsk/socket.js';
export type { MatchName, LoadedProgram, ReceiverSetup } from '../rx/receiver.js';
export type { NetnsOption } from '../api/netns.js';
export type { NetnsHolder } from '../sys/netns.js';
export type { LiveInterval } from '../report/live.js';
export type { Segment, IntervalStats } from '../measure/monitor.js';
export type { WarmupSpec } from '../run/warmup.js';
export type { OutputOptions } from '../report/outputs.js';
export type { PrivilegeDrop } from '../sys/privileges.js';
// the report's types (runCompareIface returns a Report; also exported by `afxdp` and afxdp/report)
export type * from '../report/types.js';
export { runCompareIface, type CompareIfaceOptions, type CompareStackOptions, type StackReceiverChoice } from '../run/compare-stack.js';
export { macFromString, ipv4FromString, FRAME_MIN, FRAME_MAX, DEFAULT_UDP_PORT } from '../wire/frame.js';
