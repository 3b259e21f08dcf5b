/**
 * `afxdp latency` as a library call: the run pipeline on an interface of this (or a given)
 * network namespace, with traffic that comes from elsewhere. Stops at `packets`, `durationS`, the
 * signal or a failure, whichever comes first, and returns the report of what it measured.
 */
import type { ReceiverOptions, LatencyReceiver } from '../rx/receiver.js';
import type { OutputOptions } from '../report/outputs.js';
import { runPipeline, type PipelineResult } from './pipeline.js';
import type { WarmupSpec } from './warmup.js';
import type { PrivilegeDrop } from '../sys/privileges.js';
import { respell, type AfxdpError, type Spelling } from '../errors.js';

/** the CLI's flags as runLatency() spells them: the lower layers' hints read in this face's names */
const LATENCY_SPELLING: Spelling = {
  '--iface': 'ifname', '--queue': ['queues', false], '--queues': 'queues', '--poll': 'poll', '--hints': 'hints', '--no-hints': 'hints: false', '--mode': 'mode', '--bind': 'bind',
  '--frame-size': 'frameSize', '--frames': 'frameCount', '--match': 'match', '--all': "match: 'all'", '--program': 'program', '--ring-size': 'ringSize', '--batch-size': 'batchSize',
  '--broker': 'broker', '--busy-poll': 'busyPoll', '--cpu': 'cpu', '--rt': 'rt', '--sched': 'sched', '--force': 'force', '--cpu-dma-latency': 'cpuDmaLatency', '--stack-every': 'stackEvery',
  '--user': ['dropPrivileges (resolveRunAs)', false],
  '--csv': ['outputs.csv', false], '--hlog': ['outputs.hlog', false], '--pcap': ['outputs.pcap', false], '--html': ['outputs.html', false], '--prometheus': ['outputs.prometheus', false],
};

export interface LatencyRunOptions extends Omit<ReceiverOptions, 'deliver'> {
  /** stop after this many packets */
  packets?: number;
  /** stop after this many seconds */
  durationS?: number;
  /** leave the first seconds / packets out of the latency figures (reported as `warmup`) */
  warmup?: WarmupSpec;
  /** stop when aborted (Ctrl-C): the report covers what was measured so far */
  signal?: AbortSignal;
  /** files / endpoint / live view; all checked before anything is attached */
  outputs?: OutputOptions;
  /** called with the /metrics URL once --prometheus listens */
  onMetrics?: (url: string) => void;
  /** called once the program is attached, before the wait */
  onOpen?: (rx: LatencyReceiver) => void;
  /** become this user once the program and the sockets are set up (resolveRunAs); outputs are opened as this user. Default null: no drop */
  dropPrivileges?: PrivilegeDrop | null;
  /** how errors name the options: 'api' (default: these options' names, `use queues 0..3`) or 'cli' (the afxdp command's flags, `use --queue 0..3`) */
  spelling?: 'api' | 'cli';
}

/** The report, and the failure that ended the run early (null when it ended as asked). */
export type LatencyRunResult = PipelineResult;

export function runLatency(opts: LatencyRunOptions): Promise<LatencyRunResult> {
  const { packets, durationS, warmup, signal, outputs, onMetrics, onOpen, dropPrivileges, spelling = 'api', ...receiver } = opts;
  const run = runPipeline({ receiver, packets, durationS, warmup, signal, outputs, onMetrics, onOpen, dropPrivileges });
  if (spelling === 'cli') return run;
  return run.then(
    (r) => (r.error === null ? r : { ...r, error: respell(r.error, LATENCY_SPELLING) as AfxdpError }),
    (e: unknown) => {
      throw respell(e, LATENCY_SPELLING);
    },
  );
}
