/**
 * afxdp — AF_XDP sockets for Node.js. The public API; everything users (and the `afxdp` CLI)
 * build on. See docs/API.md for every export with an example.
 *
 *   import { open } from 'afxdp';
 *   await using sock = open({ iface: 'eth0' });
 *   for await (const batch of sock) for (let i = 0; i < batch.length; i++) console.log(batch.latencyOf(i));
 */
import path from 'node:path';
import { PACKAGE_ROOT } from './native.js';

// sockets, batches, packets
export { open, AfxdpSocket, type OpenOptions, type SocketStats, type BatchesOptions, type ReportOptions } from './api/socket.js';
export { Batch, Packet } from './api/batch.js';
export type { HandlerContext, PacketHandler } from './api/handler-host.js';
export type { NetnsOption } from './api/netns.js';
// one AF_XDP socket at xsk.h's level: its UMEM and rings, shared UMEM, unaligned chunks, headroom
export { openXsk, XskSocket, XSK_REDIRECT_PROGRAM, type XskOptions } from './api/xsk.js';

// your own XDP programs
export { loadProgram, XdpProgram, type LoadProgramOptions, type AttachOptions, type Attachment, type MapInfo } from './api/program.js';
export { checkObject as checkProgram, type CheckResult, type ProgramVerdict } from './xdp/check.js';

// errors
export { AfxdpError, type AfxdpErrorCode } from './errors.js';

// measuring without touching packets, and reports
export { LatencyReceiver, ReceiveQueue, POLL_MODES, SCHED_CHOICES, type SchedChoice, type SchedReport, type ThreadSched, type ReceiverOptions, type ReceiverStats, type HandlerStats, type ReceiverTuning, type MapStats, type PollMode, type ClockName, type MatchName, type StrategyName, type LoadedProgram } from './rx/receiver.js';
export { LatencyProbe, type ProbeOptions, type ProbeStats } from './rx/probe.js';
export { MATCH_NAMES, describeMatch } from './rx/options.js';
export { checkOption, checkQueues, RING_SIZE_MIN, RING_SIZE_MAX, FRAME_COUNT_MAX, type BoundedOption, type CheckHow } from './rx/bounds.js';
export { PacketBatch, type PacketSink } from './rx/batch.js';
export { waitForEnd, type WaitOptions, type Receiving } from './run/session.js';
export { runLatency, latencyMatch, type LatencyRunOptions, type LatencyRunResult } from './run/latency.js';
export { Broker, type BrokerOptions } from './run/serve.js';
export { DEFAULT_LIMITS, type BrokerLimits } from './run/broker-limits.js';
export { BROKER_PROTOCOL } from './sys/broker-wire.js';
export { parseWarmup, type WarmupSpec } from './run/warmup.js';
export { receiverReport, type ReportExtras } from './report/receiver-report.js';
export type { OutputOptions } from './report/outputs.js';
export type { LiveInterval } from './report/live.js';
export { requireCaps, PROBE_NEEDS, LAB_NEEDS, RT_NEED } from './sys/caps.js';
export { resolveRunAs, type RunAs, type PrivilegeDrop } from './sys/privileges.js';
export { LatencyRecorder, type LatencySummary } from './measure/recorder.js';
export { buildReport, REPORT_SCHEMA, type ComparePaths, type AfXdpPath, type StackPath, type Report, type ReportInput, type PacketCounts, type KernelCounters, type LatencySegments, type RunEnvironment } from './report/report.js';
export { renderTable } from './report/table.js';
// saved runs: one run's page, several compared (`afxdp report`)
export { readRunFile, renderRunHtml, type RunSource } from './report/runfile.js';
export { compareRuns, renderComparisonHtml, COMPARE_SCHEMA, type Comparison, type ComparedRun, type ComparedEnv, type ComparedPackets, type Distribution, type EnvField } from './report/compare.js';
export { openOutput as openOutputFile } from './report/filebuf.js';
export type { KernelStats, BindMode } from './xsk/socket.js';
export type { XdpMode, XdpModeOption } from './xdp/program.js';
export type { ProgramCounters, StackCounters } from './xdp/counters.js';

// the test lab (private namespaces + veth) and its traffic generator, for your own tests
export { Lab, LAB_DRIVERS, checkLabDriver, type LabDriver, type LabOptions, type LabSide, type LabLeftovers } from './lab/lab.js';
export { TrafficGenerator, type GeneratorOptions, type SendOptions, type SizeRange } from './lab/generator.js';
export { GeneratorThread, type GeneratorResult } from './lab/generator-thread.js';
export { runDemo, type DemoOptions } from './run/demo.js';
export { runCompareIface, type CompareIfaceOptions, type CompareStackOptions, type StackReceiverChoice } from './run/compare-stack.js';
export { macFromString, ipv4FromString, FRAME_MIN, FRAME_MAX, DEFAULT_UDP_PORT } from './wire/frame.js';
export { UdpView, parseUdp, udpReply } from './wire/udp.js';

// diagnosing: the environment, and verifier logs
export { runDoctor, renderDoctor, type DoctorReport } from './doctor/index.js';
export { explainLog, renderExplanation, PROG_TYPES, type Explanation, type ExplainOptions, type ProgType } from './explain/index.js';

/** afxdp's own version (its package.json). */
export { packageVersion } from './run/session.js';

// the metadata ABI (bpf/include/afxdp/meta.h), for reading it yourself
export {
  MetaReader,
  STRATEGY_NAMES,
  META_MAGIC,
  META_MAGIC_MASK,
  META_VERSION,
  META_SIZE,
  META_MAX_LEN,
  F_XDP_TS as AFXDP_F_XDP_TS,
  F_CLOCK_TAI as AFXDP_F_CLOCK_TAI,
  F_HW_TS as AFXDP_F_HW_TS,
  F_RX_HASH as AFXDP_F_RX_HASH,
  F_VLAN as AFXDP_F_VLAN,
  F_QUEUE as AFXDP_F_QUEUE,
  F_VIA_PREPEND as AFXDP_F_VIA_PREPEND,
  F_VIA_MAP as AFXDP_F_VIA_MAP,
} from './xdp/meta.js';

/** `clang -I<INCLUDE_DIR>` finds <afxdp/meta.h> for your own XDP programs. */
export const INCLUDE_DIR: string = path.join(PACKAGE_ROOT, 'bpf', 'include');
export { runCalibrate, type CalibrateOptions, type CalibrateResult } from './run/calibrate.js';
export { calibrationPath, loadCalibration, describeCalibration, CALIBRATION_SCHEMA, type Calibration, type CalibrationSide, type InstrumentCitation } from './report/calibration.js';
