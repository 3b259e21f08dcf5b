/**
 * The afxdp.report/1 document's types and the types its fields use, listed once: every entry whose
 * signatures return or take a report (`afxdp`, afxdp/report, afxdp/receiver's receiverReport,
 * afxdp/lab's runs) re-exports this list, so its users can name them.
 */
export type {
  Report, PacketCounts, KernelCounters, LatencySegments, LatencySummary, RunEnvironment, QueueReport, PingReport,
  MultiBufferReport, TuningReport, TakenReport, WarmupReport, TimelineEntry, OutputInfo, LatencyAnomalies, Strategy,
  ComparePaths, AfXdpPath, StackPath, PathEffects, PathEffect, PathDelta, PathName,
} from './report.js';
export type { Calibration, CalibrationSide, InstrumentCitation } from './calibration.js';
// the types the report's fields use
export type { BindMode, KernelStats } from '../xsk/socket.js';
export type { XdpMode } from '../xdp/program.js';
export type { StrategyName } from '../xdp/meta.js';
export type { Segment } from '../measure/monitor.js';
export type { PollMode, ClockName, MapStats, StrategyCounts, HintCounts } from '../rx/receiver.js';
