/**
 * `afxdp latency` as a library call: the run pipeline on an interface of this (or a given)
 * network namespace, with traffic that comes from elsewhere. Stops at `packets`, `durationS`, the
 * signal or a failure, whichever comes first, and returns the report of what it measured. Its
 * options are spelled as open()'s (iface, netns, udpPort) and default as the command does.
 */
import type { ReceiverOptions, ReceiverSetup } from '../rx/receiver.js';
import { RECEIVER_OPTION_NAMES } from '../rx/options.js';
import type { OutputOptions } from '../report/outputs.js';
import type { LiveInterval } from '../report/live.js';
import { runPipeline, type LatencyRunResult } from './pipeline.js';
import type { WarmupSpec } from './warmup.js';
import type { PrivilegeDrop } from '../sys/privileges.js';
import { openNetnsOption, type NetnsOption } from '../sys/netns.js';
import { DEFAULT_UDP_PORT } from '../wire/frame.js';
import { AfxdpError, respell, unknownOption, type Spelling } from '../errors.js';

/** the CLI's flags as runLatency() spells them: the lower layers' hints read in this face's names */
export const LATENCY_SPELLING: Spelling = {
  '--iface': 'iface', '--queue': ['queues', false], '--queues': 'queues', '--poll': 'poll', '--hints': 'hints', '--no-hints': 'hints: false', '--mode': 'mode', '--bind': 'bind',
  '--frame-size': 'frameSize', '--frames': 'frameCount', '--match': 'match', '--all': "match: 'all'", '--port': 'udpPort', '--program': 'program', '--ring-size': 'ringSize', '--batch-size': 'batchSize',
  '--broker': 'broker', '--busy-poll': 'busyPoll', '--cpu': 'cpu', '--rt': 'rt', '--sched': 'sched', '--force': 'force', '--cpu-dma-latency': 'cpuDmaLatency', '--stack-every': 'stackEvery',
  '--user': ['dropPrivileges (resolveRunAs)', false], '--duration': 'durationS', '--packets': 'packets', '--warmup': 'warmup',
  '--csv': ['outputs.csv', false], '--hlog': ['outputs.hlog', false], '--pcap': ['outputs.pcap', false], '--html': ['outputs.html', false], '--prometheus': ['outputs.prometheus', false],
};

/** other faces' and the CLI's names for these options: "did you mean" points across */
export const RUN_ALIASES: Readonly<Record<string, string>> = { ifname: 'iface', netnsFd: 'netns', port: 'udpPort', queue: 'queues', duration: 'durationS', tx: 'txRingSize' };

export interface LatencyRunOptions extends Omit<ReceiverOptions, 'deliver' | 'ifname' | 'netnsFd'> {
  /** the interface, e.g. 'eth0' */
  iface: string;
  /** its network namespace, as open() takes it: a path (/proc/PID/ns/net, /run/netns/NAME), an `ip netns` name or an open fd; default this process's */
  netns?: NetnsOption;
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
  /** called with the /metrics URL once outputs.prometheus listens (the registry is served there; the socket's own counters are stats()) */
  onMetrics?: (url: string) => void;
  /** called about once a second with the live view's numbers (counts, rate, p50/p99/max per segment), and once at the end with the last part */
  onInterval?: (i: LiveInterval) => void;
  /** called once the program is attached, before the wait, with what was set up (start your traffic here) */
  onOpen?: (rx: ReceiverSetup) => void;
  /** become this user once the program and the sockets are set up (resolveRunAs); outputs are opened as this user. Default null: no drop */
  dropPrivileges?: PrivilegeDrop | null;
  /** how errors name the options: 'api' (default: these options' names, `use queues 0..3`) or 'cli' (the afxdp command's flags, `use --queue 0..3`) */
  spelling?: 'api' | 'cli';
}

const RUN_OPTIONS = ['iface', 'netns', 'packets', 'durationS', 'warmup', 'signal', 'outputs', 'onMetrics', 'onInterval', 'onOpen', 'dropPrivileges', 'spelling'];
/** every name runLatency() takes: the receiver's (less the ones spelled otherwise here) and its own */
export const LATENCY_RUN_OPTIONS: readonly string[] = [...RECEIVER_OPTION_NAMES.filter((k) => k !== 'ifname' && k !== 'netnsFd' && k !== 'deliver'), ...RUN_OPTIONS];

export type { LatencyRunResult };

/**
 * What the run takes off the queue when `match` is not given, as `afxdp latency` does: afxdp's
 * own test frames to its port, or every UDP datagram to `udpPort` when one is named, so the
 * other flows of a real interface (DNS, ssh, QUIC) still reach their sockets.
 */
export function latencyMatch(o: Pick<ReceiverOptions, 'match' | 'udpPort' | 'program'>): Pick<ReceiverOptions, 'match' | 'udpPort'> {
  if (o.program !== undefined) return { match: o.match, udpPort: o.udpPort };
  const match = o.match ?? (o.udpPort !== undefined ? 'udp' : 'afxdp');
  return { match, udpPort: match === 'all' ? o.udpPort : (o.udpPort ?? (match === 'afxdp' ? DEFAULT_UDP_PORT : 0)) };
}

/** Checks the option names (one line with a did-you-mean for a wrong one). */
export function checkRunOptions(where: string, opts: unknown, known: readonly string[]): void {
  if (opts === null || typeof opts !== 'object') throw new AfxdpError('EUSAGE', `${where}: options must be an object`, { hint: `the options are ${known.join(', ')}` });
  const aliases = Object.fromEntries(Object.entries(RUN_ALIASES).filter(([, to]) => known.includes(to)));
  for (const k of Object.keys(opts)) if (!known.includes(k)) throw unknownOption(where, k, known, aliases);
}

export async function runLatency(opts: LatencyRunOptions): Promise<LatencyRunResult> {
  const spelling = opts?.spelling ?? 'api';
  try {
    checkRunOptions('runLatency', opts, LATENCY_RUN_OPTIONS);
    const { iface, netns, packets, durationS, warmup, signal, outputs, onMetrics, onInterval, onOpen, dropPrivileges, spelling: _s, ...rest } = opts;
    if (typeof iface !== 'string' || iface.length === 0) throw new AfxdpError('EUSAGE', 'runLatency: options.iface must be an interface name', { hint: "e.g. runLatency({ iface: 'eth0', durationS: 10 })" });
    const ns = openNetnsOption(netns);
    try {
      const receiver = { ...rest, ...latencyMatch(rest), ifname: iface, netnsFd: ns.fd };
      const r = await runPipeline({ receiver, packets, durationS, warmup, signal, outputs, onMetrics, onInterval, onOpen, dropPrivileges });
      return spelling === 'cli' || r.error === null ? r : { ...r, error: respell(r.error, LATENCY_SPELLING) as AfxdpError };
    } finally {
      ns.close();
    }
  } catch (e) {
    throw spelling === 'cli' ? e : respell(e, LATENCY_SPELLING);
  }
}
