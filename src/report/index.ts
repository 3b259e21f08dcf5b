/**
 * The measurement and report API on its own (no CLI): recorders, the per-second monitor, and the
 * writers. E.g. a program with its own AF_XDP receive loop can count latencies with
 * LatencyRecorder, log them with HlogWriter, serve them with MetricsServer, or capture frames
 * with PcapngWriter / CsvWriter through a PacketBatch.
 */
export { LatencyRecorder, newLatencyHistogram, type LatencySummary, type Histogram } from '../measure/recorder.js';
export { RunMonitor, SEGMENTS, intervalStats, summaryOf, type Segment, type TimelineRow, type TickListener, type IntervalStats } from '../measure/monitor.js';
export { PacketBatch, strategyOf, type PacketSink } from '../rx/batch.js';
export { CsvWriter, CSV_HEADER } from './csv.js';
export { PcapngWriter, type PcapngOptions } from './pcapng.js';
export { HlogWriter, HLOG_AFXDP_COMMENT } from './hlog.js';
export { MetricsServer, buildRegistry, parseEndpoint, cumulativeCounts, PROM_BUCKETS_S, type Endpoint } from './prometheus.js';
export { LiveView, LiveIntervals, SEGMENT_LABEL, type LiveViewOptions, type LiveInterval } from './live.js';
export { renderHtml, writeHtml, pageFromReport, pageFromHlog, parseReportJson, percentilePoints, readHlog, type ReportPage, type HlogRun } from './html.js';
export { readRunFile, renderRunHtml, type RunSource } from './runfile.js';
export { compareRuns, renderComparisonHtml, COMPARE_SCHEMA, ENV_FIELDS, type Comparison, type ComparedRun, type ComparedEnv, type ComparedPackets, type Distribution, type EnvField } from './compare.js';
export { RunOutputs, type OutputOptions } from './outputs.js';
export { buildReport, REPORT_SCHEMA, type Report } from './report.js';
export { renderTable, formatNs, formatCount } from './table.js';
