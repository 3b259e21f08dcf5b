/**
 * afxdp/report — the `afxdp.report/1` document and what reads and writes it: build and check one
 * (buildReport), print it (renderTable), open an output file the way the CLI does
 * (openOutputFile), read saved runs and render or compare them (`afxdp report`), and the
 * calibration file that reports cite (`afxdp calibrate`).
 *
 *   import { readRunFile, compareRuns, renderComparisonHtml } from 'afxdp/report';
 */
export {
  buildReport, REPORT_SCHEMA, type ReportInput,
  type Report, type PacketCounts, type KernelCounters, type LatencySegments, type LatencySummary, type RunEnvironment, type QueueReport, type PingReport,
  type MultiBufferReport, type TuningReport, type TakenReport, type WarmupReport, type TimelineEntry, type OutputInfo, type LatencyAnomalies, type Strategy,
  type ComparePaths, type AfXdpPath, type StackPath, type PathEffects, type PathEffect, type PathDelta, type PathName,
} from '../report/report.js';
export type { BindMode, KernelStats } from '../xsk/socket.js';
export type { XdpMode } from '../xdp/program.js';
export type { StrategyName } from '../xdp/meta.js';
export type { Segment } from '../measure/monitor.js';
export type { PollMode, ClockName, MapStats, StrategyCounts, HintCounts } from '../rx/receiver.js';
export { renderTable } from '../report/table.js';
export type { OutputOptions } from '../report/outputs.js';
export { openOutput as openOutputFile } from '../report/filebuf.js';
export { readRunFile, renderRunHtml, type RunSource } from '../report/runfile.js';
export { compareRuns, renderComparisonHtml, COMPARE_SCHEMA, type Comparison, type ComparedRun, type ComparedEnv, type ComparedPackets, type Distribution, type EnvField } from '../report/compare.js';
export { calibrationPath, loadCalibration, describeCalibration, CALIBRATION_SCHEMA, type Calibration, type CalibrationSide, type InstrumentCitation } from '../report/calibration.js';
