/**
 * afxdp — AF_XDP sockets for Node.js. The main entry: what an application programs against. Each
 * export is documented in docs/API.md, which also lists the subpath entries (afxdp/receiver,
 * afxdp/lab, afxdp/report, afxdp/broker, afxdp/privileges) for tools built like the `afxdp` CLI.
 *
 *   import { open } from 'afxdp';
 *   await using sock = open({ iface: 'eth0' });
 *   for await (const batch of sock) for (let i = 0; i < batch.length; i++) console.log(batch.latencyOf(i));
 */
import path from 'node:path';
import { PACKAGE_ROOT } from './native.js';

// sockets, batches, packets
export { open, AfxdpSocket, type OpenOptions, type SocketStats, type BatchesOptions, type LatencyOptions, type ReportOptions, type AfxdpSocketEvents } from './api/socket.js';
export { Batch, Packet } from './api/batch.js';
export type { HandlerContext, PacketHandler } from './api/handler-host.js';
export type { NetnsOption } from './api/netns.js';
export { UdpView, parseUdp, udpReply } from './wire/udp.js';
// one AF_XDP socket at xsk.h's level: its UMEM and rings, shared UMEM, unaligned chunks, headroom
export { openXsk, XskSocket, XSK_REDIRECT_PROGRAM, type XskOptions } from './api/xsk.js';
export type { KernelStats, BindMode, BindModeOption, XskSocketOptions } from './xsk/socket.js';
export type { UmemOptions, Umem } from './xsk/umem.js';
export type { Ring } from './xsk/ring.js';

// your own XDP programs
export { loadProgram, XdpProgram, type LoadProgramOptions, type AttachOptions, type Attachment, type MapInfo } from './api/program.js';
export { checkObject as checkProgram, type CheckResult, type ProgramVerdict } from './xdp/check.js';
export type { XdpMode, XdpModeOption } from './xdp/program.js';
export type { ProgramCounters, StackCounters } from './xdp/counters.js';

// errors
export { AfxdpError, type AfxdpErrorCode } from './errors.js';

// a latency run and its report (afxdp/report reads, writes and compares reports)
export { runLatency, latencyMatch, type LatencyRunOptions, type LatencyRunResult } from './run/latency.js';
export type { ReceiverOptions, ReceiverSetup, LoadedProgram, PollMode, ClockName, MatchName, SchedChoice, HandlerStats, MapStats, StrategyCounts, HintCounts } from './rx/receiver.js';
export type { WarmupSpec } from './run/warmup.js';
export type { OutputOptions } from './report/outputs.js';
export type { LiveInterval } from './report/live.js';
export type { Segment, IntervalStats } from './measure/monitor.js';
export type { PrivilegeDrop } from './sys/privileges.js';
export { REPORT_SCHEMA } from './report/report.js';
export type * from './report/types.js';

// diagnosing: the environment, verifier logs, the instrument's own share
export { runDoctor, renderDoctor, DOCTOR_SCHEMA, type DoctorReport, type Finding, type Status } from './doctor/index.js';
export { explainLog, renderExplanation, PROG_TYPES, EXPLAIN_SCHEMA, type Explanation, type ExplainOptions, type ProgType } from './explain/index.js';
export type { SourceLine } from './explain/log.js';
export type { ProgTypeSource } from './explain/progtype.js';
export { runCalibrate, type CalibrateOptions, type CalibrateResult } from './run/calibrate.js';

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
  type StrategyName,
} from './xdp/meta.js';

/** `clang -I<INCLUDE_DIR>` finds <afxdp/meta.h> for your own XDP programs. */
export const INCLUDE_DIR: string = path.join(PACKAGE_ROOT, 'bpf', 'include');

/** afxdp's own version (its package.json). */
export { packageVersion } from './run/session.js';
