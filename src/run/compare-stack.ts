/**
 * AF_XDP vs the kernel stack on the same traffic: `afxdp demo --compare-stack` (on the lab) and
 * `afxdp compare --iface IF --port P` (on a real interface). The stamping program sends every Nth
 * matched frame to the kernel stack with the XDP time in its payload (bpf/stack_split.h) and the
 * rest to the AF_XDP socket; a stack receiver (rx/stack.ts: Node dgram or C recvmmsg, its own
 * process) reads the stack's share. One run per stack receiver, each the one run pipeline
 * (run/pipeline.ts); the report is the first run's, with `paths` holding every path.
 *
 * On the lab with both stack receivers this is a 2×2 — AF_XDP vs kernel stack × C vs Node — in
 * two runs paired by language: afxdp's receiver with Node's dgram, and the C AF_XDP receiver
 * (rx_ref, its own process on the same program and split) with C recvmmsg. Each run's packets are
 * all accounted on its two paths (received or counted dropped), and `paths.effects` reads the
 * 2×2 two ways: what AF_XDP saves (per language, within a run) and what Node costs (per socket type).
 */
import fs from 'node:fs';
import { AfxdpError, respell } from '../errors.js';
import { native } from '../native.js';
import path from 'node:path';
import { withNetns } from '../sys/netns.js';
import { resolve, lookup } from '../rx/options.js';
import type { Lab } from '../lab/lab.js';
import type { LatencyReceiver } from '../rx/receiver.js';
import { StackReceiver, STACK_PATH, STACK_RECEIVERS, STACK_RX_BINARY, type StackReceiverName, type StackResult } from '../rx/stack.js';
import type { StackCounters } from '../xdp/counters.js';
import { DEFAULT_UDP_PORT, STACK_FRAME_MIN } from '../wire/frame.js';
import { afXdpPath, cAfXdpPath, stackPath, pathComparison, pathEffects, pathEffectsHtml, type CAfXdpResult } from '../report/paths.js';
import { referenceBinary } from '../native.js';
import { GeneratorThread } from '../lab/generator-thread.js';
import { ReadyProcess } from './ready-process.js';
import { renderComparisonHtml } from '../report/compare.js';
import { openOutput } from '../report/filebuf.js';
import type { OutputOptions } from '../report/outputs.js';
import { pathDrops, type Report, type StackPath } from '../report/report.js';
import { registerCleanup } from '../sys/cleanup.js';
import { formatNs } from '../report/table.js';
import { runDemoOnLab } from './demo-run.js';
import { runPipeline, type LatencyRunResult, type Traffic } from './pipeline.js';
import type { DemoOptions, CompareStackOptions, StackReceiverChoice } from './demo-options.js';
import { LATENCY_RUN_OPTIONS, LATENCY_SPELLING, checkRunOptions, type LatencyRunOptions } from './latency.js';
import { openNetnsOption } from '../sys/netns.js';

export type { CompareStackOptions, StackReceiverChoice };

export const STACK_RECEIVER_CHOICES: readonly StackReceiverChoice[] = ['node', 'c', 'both'];
/** every other matched packet to the stack */
export const DEFAULT_STACK_EVERY = 2;

// clock_gettime(2): the calling thread's CPU time
const CLOCK_THREAD_CPUTIME_ID = 3;

/**
 * The stack receivers a run takes turns with. Not asked: both where the C receiver is there (a
 * checkout after `make`, or the package's prebuilt one for this architecture), else Node's alone;
 * asking for `c` or `both` without it stays a one-line error.
 */
export function stackReceiversOf(c: StackReceiverChoice | undefined, cBuilt = fs.existsSync(STACK_RX_BINARY)): StackReceiverName[] {
  if (c === undefined) return cBuilt ? [...STACK_RECEIVERS] : ['node'];
  const choice = c;
  if (!STACK_RECEIVER_CHOICES.includes(choice)) throw new AfxdpError('EUSAGE', `stack receiver ${JSON.stringify(choice)} is not node, c or both`, { hint: 'use --stack-receiver node, c or both' });
  return choice === 'both' ? [...STACK_RECEIVERS] : [choice];
}

/** bench/c/rx_ref.c: the C AF_XDP receiver of the 2×2 (a checkout's build, else the prebuilt one) */
export const C_AF_XDP_BINARY = referenceBinary('rx_ref');

/** One run of a comparison: which stack receiver, and who reads the AF_XDP socket beside it. */
export interface StackRunPlan {
  stack: StackReceiverName;
  afXdp: 'node' | 'c';
}

/**
 * The runs of a comparison and the one-line notes on what is left out. The 2×2 needs both stack
 * receivers, one queue and a lab (a known count sent): then C recvmmsg's run pairs with the C
 * AF_XDP receiver. Without a C receiver the comparison runs the paths it has and says so.
 */
export function stackRunPlan(choice: StackReceiverChoice | undefined, o: { lab: boolean; queues?: number; have?: { stack: boolean; afXdp: boolean } }): { runs: StackRunPlan[]; notes: string[] } {
  const have = o.have ?? { stack: fs.existsSync(STACK_RX_BINARY), afXdp: fs.existsSync(C_AF_XDP_BINARY) };
  const receivers = stackReceiversOf(choice, have.stack);
  const notes: string[] = [];
  const where = 'the package ships them in prebuilds/linux-<arch>/, a checkout builds them with `make`';
  const pair = o.lab && receivers.includes('node') && receivers.includes('c');
  if (choice === undefined && !have.stack) {
    const missing = [STACK_RX_BINARY, ...(o.lab && !have.afXdp ? [C_AF_XDP_BINARY] : [])];
    notes.push(`kernel stack: only Node's paths (dgram and afxdp): the C receivers are missing (${missing.map((m) => path.basename(m)).join(', ')} in ${path.dirname(STACK_RX_BINARY)}; ${where})`);
  } else if (pair && !have.afXdp) {
    notes.push(`kernel stack: no C AF_XDP path: ${C_AF_XDP_BINARY} is missing (${where}); C recvmmsg's run pairs with afxdp's receiver`);
  } else if (pair && (o.queues ?? 1) > 1) {
    notes.push(`kernel stack: no C AF_XDP path: the C receiver reads one queue; C recvmmsg's run pairs with afxdp's receiver`);
  }
  const cAfXdp = pair && have.afXdp && (o.queues ?? 1) === 1;
  return { runs: receivers.map((r) => ({ stack: r, afXdp: r === 'c' && cAfXdp ? 'c' : 'node' })), notes };
}

/** What cannot be compared, refused before anything is built. */
export function checkCompareStack(o: DemoOptions | CompareIfaceOptions): void {
  stackReceiversOf(o.stackReceiver);
  const every = o.stackEvery ?? DEFAULT_STACK_EVERY;
  if (!Number.isInteger(every) || every < 2 || every > 1000) throw new AfxdpError('EUSAGE', `--stack-every ${every} is out of range`, { hint: 'use 2..1000: every Nth packet goes to the kernel stack' });
  if (o.program !== undefined) throw new AfxdpError('EUSAGE', 'the kernel-stack comparison cannot use --program: the split is in afxdp\'s own program', { hint: 'drop --program' });
  if (o.clock === 'tai') throw new AfxdpError('EUSAGE', 'the kernel-stack comparison measures in CLOCK_MONOTONIC: Node\'s dgram receiver cannot read CLOCK_TAI', { hint: 'drop --clock tai' });
  if (o.warmup !== undefined) throw new AfxdpError('EUSAGE', 'the kernel-stack comparison cannot use --warmup: the stack receivers keep every sample', { hint: 'drop --warmup' });
  if ('ping' in o && o.ping) throw new AfxdpError('EUSAGE', '--compare-stack is one way: it cannot be combined with --ping', { hint: 'drop --ping' });
}

/** The receiving thread's CPU time (event mode: this thread), else null. */
function threadCpuNs(rx: LatencyReceiver): number | null {
  if (rx.poll !== 'event') return null;
  const out = new Uint32Array(2);
  native().clockGettime(CLOCK_THREAD_CPUTIME_ID, out);
  return out[0]! + out[1]! * 4294967296;
}

/** One run's bookkeeping around the pipeline: the stack receiver, the split, the CPU. */
class StackRun {
  split: StackCounters = { to_stack: 0, stamped: 0, unstamped: 0 };
  matched = 0;
  stack: StackResult | null = null;
  private cpu0: number | null = null;
  cpuNs: number | null = null;

  constructor(readonly receiver: StackReceiver) {}

  onOpen(rx: LatencyReceiver): void {
    this.cpu0 = threadCpuNs(rx);
  }

  /** Reads the split before the receiver closes, then lets the stack receiver read its share. */
  async settle(rx: LatencyReceiver): Promise<void> {
    const end = threadCpuNs(rx);
    this.cpuNs = end === null || this.cpu0 === null ? null : end - this.cpu0;
    this.split = rx.stackSplit() ?? this.split;
    this.matched = rx.stats().program?.matched ?? 0;
    this.stack = await this.receiver.stop(this.split.to_stack);
  }

  /** The AF_XDP receiver waits for the sender's count less what the program sent to the stack. */
  traffic(t: Traffic, rx: LatencyReceiver): Traffic {
    return {
      ...t,
      expected: () => {
        const total = t.expected();
        return total === null ? null : total - (rx.stackSplit()?.to_stack ?? 0);
      },
      settle: () => this.settle(rx),
    };
  }

  amend(report: Report): void {
    const af = afXdpPath(report, this.cpuNs);
    const path = stackPath(this.stack!, { sent: report.packets.sent, matched: this.matched, split: this.split, afXdp: af });
    report.paths ??= { af_xdp: af };
    report.paths[STACK_PATH[this.receiver.receiver]] = path;
  }
}

/** The C side of the 2×2: the C AF_XDP receiver's run beside C recvmmsg (lab only). */
type CPairRun = (stack: StackReceiver) => Promise<{ af: ReturnType<typeof cAfXdpPath>; sent: number; matched: number; split: StackCounters }>;

/**
 * One run per stack receiver; the first run's report carries every path. The files (--csv,
 * --pcap, --hlog, --prometheus) are the first run's AF_XDP path; --html is the overlay of every
 * path, written at the end (its path checked first). A run planned with the C AF_XDP receiver
 * goes through `cPair` instead of the pipeline (after the first run: the report is afxdp's).
 */
async function eachReceiver(o: CompareStackOptions & { signal?: AbortSignal }, plan: { runs: StackRunPlan[]; notes: string[] }, outputs: OutputOptions | undefined, log: (l: string) => void, start: (r: StackReceiverName) => Promise<StackReceiver>, run: (s: StackRun, outputs: OutputOptions | undefined) => Promise<LatencyRunResult>, cPair?: CPairRun): Promise<Report> {
  const { html, ...files } = outputs ?? {};
  if (html !== undefined) fs.closeSync(openOutput('--html', html));
  let first: Report | null = null;
  for (const n of plan.notes) log(n);
  // the runs with afxdp's receiver first: the report's top-level figures are the first run's
  const runs = [...plan.runs].sort((a, b) => (a.afXdp === b.afXdp ? 0 : a.afXdp === 'node' ? -1 : 1));
  for (const { stack: r, afXdp } of runs) {
    // Ctrl-C / SIGTERM: the report covers the runs made so far
    if (first !== null && o.signal?.aborted) break;
    const receiver = await start(r);
    try {
      log(`kernel stack: ${STACK_PATH[r]} receives every ${ordinal(o.stackEvery ?? DEFAULT_STACK_EVERY)} packet${afXdp === 'c' ? ', the C AF_XDP receiver (rx_ref) the rest' : ''}`);
      let sp: StackPath;
      if (afXdp === 'c' && first !== null && cPair) {
        const c = await cPair(receiver);
        const stack = await receiver.stop(c.split.to_stack);
        sp = stackPath(stack, { sent: c.sent, matched: c.matched, split: c.split, afXdp: c.af });
        first.paths!.c_af_xdp = c.af;
        first.paths![STACK_PATH[r]] = sp;
      } else {
        const s = new StackRun(receiver);
        const { report, error } = await run(s, first === null ? files : { live: files.live });
        if (error) throw error;
        if (s.stack === null) throw new AfxdpError('EUSAGE', 'the run ended before the stack receiver was read', { hint: 'let the run finish' });
        s.amend(report);
        // the live view shows the AF_XDP path while the run goes; the stack path's line comes at its end
        sp = report.paths![STACK_PATH[r]]!;
        if (first === null) first = report;
        else first.paths![STACK_PATH[r]] = sp;
      }
      const l = sp.latency_ns.xdp_to_user;
      log(`${STACK_PATH[r]}: received ${sp.packets.received} of ${sp.run.program.to_stack}, drops ${pathDrops(sp)}, xdp → user p50 ${formatNs(l.p50)} p99 ${formatNs(l.p99)}; ${afXdp === 'c' ? 'c_af_xdp' : 'af_xdp'} p50 ${formatNs(sp.run.af_xdp.latency_ns.xdp_to_user.p50)} p99 ${formatNs(sp.run.af_xdp.latency_ns.xdp_to_user.p99)}`);
    } finally {
      receiver.kill();
    }
  }
  if (first!.paths!.c_af_xdp) first!.paths!.effects = pathEffects(first!.paths!);
  if (html !== undefined) {
    const page = renderComparisonHtml(pathComparison(first!), first!.paths!.effects ? pathEffectsHtml(first!.paths!.effects) : '');
    fs.writeFileSync(html, page);
    first!.outputs = { ...first!.outputs, html: { path: html, bytes: Buffer.byteLength(page), records: 1 } };
  }
  return first!;
}

function ordinal(n: number): string {
  return n === 2 ? 'other' : `${n}th`;
}

/** `afxdp demo --compare-stack`: on a lab that exists (run/demo.ts builds and removes it). */
export function runCompareStack(lab: Lab, opts: DemoOptions): Promise<Report> {
  const log = opts.log ?? (() => {});
  const every = opts.stackEvery ?? DEFAULT_STACK_EVERY;
  // the generators in workers: the receiving thread only receives, so its CPU time is its own
  const demo: DemoOptions = { ...opts, txWorker: true };
  return eachReceiver(
    opts,
    stackRunPlan(opts.stackReceiver, { lab: true, queues: opts.queues }),
    opts.outputs,
    log,
    (r) => StackReceiver.start({ receiver: r, port: DEFAULT_UDP_PORT, netnsFd: lab.rx.netns.fd, rcvbuf: opts.stackRcvbuf }),
    (s, outputs) => runDemoOnLab(lab, { ...demo, outputs }, { stackEvery: every, size: STACK_FRAME_MIN, onOpen: (rx) => s.onOpen(rx), traffic: (t, rx) => s.traffic(t, rx) }),
    () => runCPair(lab, opts, every, log),
  );
}

/**
 * The C AF_XDP receiver's run: rx_ref (its own process, on afxdp's program with the same split and
 * port) reads the socket's share while the same generator sends the same traffic as afxdp's run;
 * it stops once every frame sent is received, passed to the stack or counted dropped.
 */
async function runCPair(lab: Lab, opts: DemoOptions, every: number, log: (l: string) => void): Promise<Awaited<ReturnType<CPairRun>>> {
  const packets = opts.packets ?? 10000;
  const rate = opts.rate ?? 10000;
  const argv = ['--pdeathsig', 'KILL', C_AF_XDP_BINARY, '--iface', lab.rx.ifname, '--netns', `/proc/${lab.rx.netns.pid}/ns/net`, '--mode', 'poll', '--xdp', opts.mode === 'generic' ? 'generic' : 'native', '--port', String(DEFAULT_UDP_PORT), '--stack-every', String(every), '--sent', String(packets)];
  // setpriv: it dies with us, even when we are SIGKILLed (its XDP link goes with its fds)
  const rx = new ReadyProcess('setpriv', argv, 'the C AF_XDP receiver (rx_ref)', { readyMs: 30_000, hint: 'run `afxdp doctor`; or compare without it: --stack-receiver node' });
  const unregister = registerCleanup(`C AF_XDP receiver ${rx.proc.pid}`, () => rx.kill());
  try {
    await rx.ready;
    const gen = new GeneratorThread({ ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, size: STACK_FRAME_MIN, frameSize: opts.frameSize }, { count: packets, rate, signal: opts.signal });
    let sent: number;
    try {
      await gen.ready;
      log(`sending ${packets} packets at ${rate === 0 ? 'full speed' : `${rate} pps`} to the C AF_XDP receiver and C recvmmsg`);
      gen.start();
      sent = await gen.done;
    } finally {
      gen.close();
    }
    // it stops by itself once every frame is accounted for; a frame lost on the way would leave it waiting
    const j = (await rx.finish(5_000)) as unknown as CAfXdpResult & { program: { matched: number; to_stack: number; stamped: number; unstamped: number } };
    return { af: cAfXdpPath(j), sent, matched: j.program.matched, split: { to_stack: j.program.to_stack, stamped: j.program.stamped, unstamped: j.program.unstamped } };
  } finally {
    rx.kill();
    unregister();
  }
}

/** `afxdp compare`: a real interface, traffic from elsewhere to one UDP port. */
export interface CompareIfaceOptions extends Omit<LatencyRunOptions, 'match' | 'onOpen' | 'onInterval'>, CompareStackOptions {
  /** the UDP destination port of the flow (1..65535) */
  udpPort: number;
  /** progress notes for a human */
  log?: (line: string) => void;
}

const COMPARE_IFACE_OPTIONS = [...LATENCY_RUN_OPTIONS.filter((k) => k !== 'match' && k !== 'onOpen' && k !== 'onInterval'), 'stackReceiver', 'stackEvery', 'stackRcvbuf', 'log'];

export async function runCompareIface(opts: CompareIfaceOptions): Promise<Report> {
  const spelling = opts?.spelling ?? 'api';
  try {
    checkRunOptions('runCompareIface', opts, COMPARE_IFACE_OPTIONS);
    const ns = openNetnsOption(opts.netns);
    try {
      return await compareIface(opts, ns.fd);
    } finally {
      ns.close();
    }
  } catch (e) {
    throw spelling === 'cli' ? e : respell(e, LATENCY_SPELLING);
  }
}

async function compareIface(opts: CompareIfaceOptions, netnsFd: number | undefined): Promise<Report> {
  const { iface, netns: _n, spelling: _s, udpPort: port, stackReceiver, stackEvery, stackRcvbuf, log: logOpt, packets, durationS, warmup: _w, signal, outputs, onMetrics, ...rest } = opts;
  const receiver = { ...rest, ifname: iface, netnsFd };
  checkCompareStack(opts);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new AfxdpError('EUSAGE', `--port ${port} is out of range`, { hint: 'use 1..65535: the UDP port the traffic is sent to' });
  if (packets === undefined && durationS === undefined) throw new AfxdpError('EUSAGE', 'afxdp compare needs an end', { hint: 'give --duration S or --packets N' });
  const log = logOpt ?? (() => {});
  const every = stackEvery ?? DEFAULT_STACK_EVERY;
  // the interface, its queue and every receiver option are checked before a stack receiver starts
  withNetns(receiver.netnsFd, () => lookup(resolve({ ...receiver, stackEvery: every })));
  return eachReceiver(
    { stackReceiver, stackEvery, signal },
    stackRunPlan(stackReceiver, { lab: false }),
    outputs,
    log,
    (r) => StackReceiver.start({ receiver: r, port, netnsFd: receiver.netnsFd, rcvbuf: stackRcvbuf }),
    async (s, outputs) => {
      let rxRef: LatencyReceiver | null = null;
      const res = await runPipeline({
        receiver: { ...receiver, match: 'udp', udpPort: port, stackEvery: every },
        packets,
        durationS,
        signal,
        outputs,
        onMetrics,
        onOpen: (rx) => {
          rxRef = rx;
          s.onOpen(rx);
          log(`${rx.ifname}: UDP port ${port}, XDP ${rx.mode} mode, AF_XDP ${rx.bindMode} bind, ${rx.poll} poll`);
        },
        settle: (rx) => s.settle(rx),
        amend: () => {
          if (s.matched === 0) {
            throw new AfxdpError('EUSAGE', `no UDP traffic to port ${port} reached ${rxRef?.ifname ?? receiver.ifname} during the run`, { hint: 'check the port and the interface (`afxdp latency` shows what arrives), or send with `afxdp gen`' });
          }
        },
      });
      return res;
    },
  );
}
