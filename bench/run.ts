/**
 * `npm run bench`: afxdp's TypeScript data path side by side with the C reference (bench/c), on
 * a private lab (two namespaces + veth) made and removed by this run. Every comparison is
 * interleaved (the variants take turns within each repeat, in a rotating order) and repeated;
 * the table shows medians. Writes bench/results.json (schema afxdp.bench/1).
 *
 *   npm run bench                 full run (a few minutes, bounded to 10)
 *   npm run bench -- --quick      small counts, 1 repeat: checks that everything works (CI)
 *   npm run bench -- --out FILE   write the results elsewhere
 *   npm run bench -- --only l2fwd only the l2fwd comparison (handler mode vs rx_ref --l2fwd 1)
 *   npm run bench -- --only xdpsock  only xdpsock's rxdrop and txonly (openXsk loops vs xdpsock_ref)
 *   npm run bench -- --only api   only the library's default and a handler vs C poll() (bench/api-modes.ts)
 *
 * Receivers run as their own processes (C: build/bench/rx_ref; TS: dist/bench/rx-child.js) so
 * each one's CPU time is its own. The sender is the C generator for every receive figure, so the
 * receivers see identical traffic.
 */
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Lab } from '../src/lab/lab.js';
import { ReadyProcess, type Json } from '../src/run/ready-process.js';
import { native, PACKAGE_ROOT } from '../src/native.js';
import { withNetns } from '../src/sys/netns.js';
import { BpfObject, attachXdp } from '../src/xdp/program.js';
import { writeUdpFrame } from '../src/wire/frame.js';
import { STRATEGY_CODES } from '../src/xdp/meta.js';

export const BENCH_SCHEMA = 'afxdp.bench/1';

const here = path.dirname(fileURLToPath(import.meta.url));
const RX_REF = path.join(PACKAGE_ROOT, 'build', 'bench', 'rx_ref');
const TX_REF = path.join(PACKAGE_ROOT, 'build', 'bench', 'tx_ref');
const BENCH_BPF = path.join(PACKAGE_ROOT, 'build', 'bench-bpf', 'bench.bpf.o');
/** the stamp's cost programs (bench/bpf/cost.bpf.c): plain redirect, clock only, stamp, map_fresh */
const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
const COST_BPF = path.join(PACKAGE_ROOT, 'build', 'bench-bpf', 'cost.bpf.o');
const RX_CHILD = path.join(here, 'rx-child.js');
const L2FWD_CHILD = path.join(here, 'l2fwd-child.js');
const PING_CHILD = path.join(here, 'ping-child.js');
const XDPSOCK_REF = path.join(PACKAGE_ROOT, 'build', 'bench', 'xdpsock_ref');
const XDPSOCK_CHILD = path.join(here, 'xdpsock-child.js');
const API_MODES = path.join(here, 'api-modes.js');
const BIN = path.join(PACKAGE_ROOT, 'bin', 'afxdp');
const DEADLINE_MS = 10 * 60 * 1000;

/** a bad argument: one line on stderr, exit 2 */
function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}; usage: run.js [--quick] [--out FILE] [--repeats N] [--rate PPS] [--pin] [--nice N] [--only ${ALONE.join('|')}]\n`);
  process.exit(2);
}
const ALONE = ['l2fwd', 'xdpsock', 'api'];
const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string', default: path.join(PACKAGE_ROOT, 'bench', 'results.json') },
        repeats: { type: 'string' },
        rate: { type: 'string' },
        pin: { type: 'boolean', default: false },
        nice: { type: 'string', default: '-15' },
        only: { type: 'string' },
      },
    });
  } catch (e) {
    return usage((e as Error).message.split('\n')[0]!);
  }
})();
if (args.only !== undefined && !ALONE.includes(args.only)) usage(`--only ${args.only}: the sections that run alone are ${ALONE.join(', ')}`);
const QUICK = args.quick!;
const REPEATS = Number(args.repeats ?? (QUICK ? 1 : 3));
/** the fixed rate for CPU per packet and latency: both C poll() and TS event hold it here */
const RATE = Number(args.rate ?? (QUICK ? 20_000 : 50_000));
const N_RATE = QUICK ? 5_000 : RATE * 5;
const N_MAX = QUICK ? 20_000 : 1_000_000;
const N_TX = QUICK ? 20_000 : 2_000_000;
const N_HEAP = QUICK ? 30_000 : 10_000_000;
const TEST_RUN_REPEAT = QUICK ? 10_000 : 1_000_000;
const started = Date.now();
/**
 * --pin: receiver on the last CPU, sender on the first (taskset), so a spinning receiver and the
 * sender (in whose context veth runs the receiver's XDP program) never share a CPU. Off by
 * default: on a machine with other load, a pinned spinner cannot escape to an idle CPU and
 * loses milliseconds per preemption (measured here: busy p50 6–7 ms pinned vs µs unpinned).
 */
const NCPU = os.cpus().length;
const PIN = args.pin! && NCPU >= 2;
const RX_CPU = NCPU - 1;
const TX_CPU = 0;
/**
 * Receivers and senders run at nice -15 (--nice 0 to turn off): on a shared machine the CFS
 * weight keeps other load from preempting them for whole time slices, which otherwise decides the
 * latency medians. The same for C and TS, so the comparison stays fair.
 */
const NICE = Number(args.nice);
function pinned(cpu: number, cmd: string, argv: string[]): [string, string[]] {
  let c = cmd;
  let a = argv;
  if (PIN) [c, a] = ['taskset', ['-c', String(cpu), c, ...a]];
  if (NICE !== 0) [c, a] = ['nice', ['-n', String(NICE), c, ...a]];
  return [c, a];
}


function log(s: string): void {
  process.stderr.write(`bench: ${s}\n`);
}

function median(xs: number[]): number | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function checkDeadline(): void {
  if (Date.now() - started > DEADLINE_MS) throw new Error('the bench ran past its 10-minute bound');
}


const children = new Set<ReadyProcess>();
function start(cmd: string, argv: string[], cpu?: number): ReadyProcess {
  const [c0, a0] = cpu === undefined ? [cmd, argv] : pinned(cpu, cmd, argv);
  const c = new ReadyProcess(c0, a0, path.basename(c0));
  children.add(c);
  void c.done.finally(() => children.delete(c)).catch(() => undefined);
  return c;
}

type RxVariant = 'c_poll' | 'c_spin' | 'ts_event' | 'ts_worker' | 'ts_worker_bp' | 'ts_busy';
/** ts_worker_bp: --poll worker with --busy-poll of this many µs */
const BUSY_POLL_US = 50;
/** the C receiver each TS variant is compared with: its own shape (sleep in poll() or spin) */
const C_OF: Record<'ts_event' | 'ts_worker' | 'ts_worker_bp' | 'ts_busy', 'c_poll' | 'c_spin'> = { ts_event: 'c_poll', ts_worker: 'c_poll', ts_worker_bp: 'c_poll', ts_busy: 'c_spin' };
const TAILS = ['p50', 'p90', 'p99', 'p999', 'max'] as const;

function startReceiver(lab: Lab, v: RxVariant, count: number, extra: string[] = []): ReadyProcess {
  if (v === 'c_poll' || v === 'c_spin') {
    return start(RX_REF, ['--iface', lab.rx.ifname, '--netns', `/proc/${lab.rx.netns.pid}/ns/net`, '--mode', v === 'c_spin' ? 'spin' : 'poll', '--count', String(count)], RX_CPU);
  }
  const poll = v === 'ts_worker_bp' ? ['--poll', 'worker', '--busy-poll', String(BUSY_POLL_US)] : ['--poll', v.slice(3)];
  return start('nsenter', ['-t', String(lab.rx.netns.pid), '-n', '--', process.execPath, ...extra, RX_CHILD, '--iface', lab.rx.ifname, ...poll, '--count', String(count)], RX_CPU);
}

async function sendC(lab: Lab, count: number, rate: number): Promise<Json> {
  const c = start(TX_REF, ['--iface', lab.tx.ifname, '--netns', `/proc/${lab.tx.netns.pid}/ns/net`, '--dst-mac', lab.rx.mac, '--src-mac', lab.tx.mac, '--count', String(count), '--rate', String(rate)], TX_CPU);
  return c.finish(120_000);
}

async function sendTs(lab: Lab, count: number): Promise<Json> {
  const c = start('nsenter', ['-t', String(lab.tx.netns.pid), '-n', '--', process.execPath, BIN, 'gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--count', String(count), '--rate', '0', '--json'], TX_CPU);
  return c.finish(120_000);
}

/** One receive run: receiver ready → C sender → receiver done (or stopped after an idle second). */
async function rxRun(lab: Lab, v: RxVariant, count: number, rate: number, extra: string[] = []): Promise<{ rx: Json; tx: Json }> {
  const rx = startReceiver(lab, v, count, extra);
  await rx.ready;
  const tx = await sendC(lab, count, rate);
  const r = await rx.finish(1500);
  return { rx: r, tx };
}

function rotate<T>(xs: T[], k: number): T[] {
  return xs.map((_, i) => xs[(i + k) % xs.length]!);
}

/**
 * BPF_PROG_TEST_RUN ns/packet, in live-frames mode (a fresh copy of the frame per run, as
 * `bench:strategies` does: in the default mode every repeat runs on the same buffer, so a second
 * adjust_meta / adjust_head sees the first one's result and measures a failure path). The cost
 * programs (bench/bpf/cost.bpf.c) end in an XSKMAP redirect whose empty slot falls back to
 * XDP_DROP, so no frame reaches a stack.
 */
function stampCost(): Json {
  const frame = new Uint8Array(64);
  writeUdpFrame(frame, 0, 64, { srcMac: new Uint8Array(6), dstMac: new Uint8Array(6), srcIp: Uint8Array.of(198, 18, 0, 1), dstIp: Uint8Array.of(198, 18, 0, 2), srcPort: 40000, dstPort: 9 });
  const base = BpfObject.open(COST_BPF);
  const meta = BpfObject.open(COST_BPF);
  const prepend = BpfObject.open(COST_BPF);
  try {
    base.load();
    meta.load({ rodata: { afxdp_cfg_strategy: STRATEGY_CODES.meta } });
    prepend.load({ rodata: { afxdp_cfg_strategy: STRATEGY_CODES.prepend } });
    const n = native();
    const progs: Array<[string, number]> = [
      ['redirect', base.programFd('plain_redirect')],
      ['clock', base.programFd('clock_only')],
      ['meta', meta.programFd('stamp')],
      ['prepend', prepend.programFd('stamp')],
      ['map', base.programFd('map_fresh')],
    ];
    const runs = new Map<string, number[]>(progs.map(([k]) => [k, []]));
    for (const [, fd] of progs) n.bpfProgTestRun(fd, frame, 10_000, BPF_F_TEST_XDP_LIVE_FRAMES, 64); // rehearsal: the program's first runs are not measured
    // interleaved, like everything else here
    for (let r = 0; r < Math.max(REPEATS, 3); r++) {
      for (const [k, fd] of progs) runs.get(k)!.push(n.bpfProgTestRun(fd, frame, TEST_RUN_REPEAT, BPF_F_TEST_XDP_LIVE_FRAMES, 64).durationNs);
    }
    const m = (k: string): number | null => median(runs.get(k)!);
    return {
      redirect: m('redirect'),
      meta: m('meta'),
      prepend: m('prepend'),
      map: m('map'),
      // where the stamp's time goes: the clock read alone (redirect + bpf_ktime_get_ns)
      parts: { redirect_ktime: m('clock') },
    };
  } finally {
    base.close();
    meta.close();
    prepend.close();
  }
}

/** Attaches the XDP_DROP counter program on the rx end (or `side`) for the duration of fn. */
async function withDrop<T>(lab: Lab, fn: (dropped: () => number) => Promise<T>, side: 'rx' | 'tx' = 'rx'): Promise<T> {
  const obj = BpfObject.open(BENCH_BPF);
  try {
    obj.load();
    const mapFd = obj.mapFd('drop_count');
    const cpus = native().numPossibleCpus();
    const value = new Uint32Array(cpus * 2);
    const key = new Uint32Array(1);
    const dropped = (): number => {
      native().bpfMapLookup(mapFd, new Uint8Array(key.buffer), new Uint8Array(value.buffer));
      let t = 0;
      for (let c = 0; c < cpus; c++) t += value[c * 2]! + value[c * 2 + 1]! * 4294967296;
      return t;
    };
    const end = lab[side];
    const ifindex = withNetns(end.netns.fd, () => native().ifNameToIndex(end.ifname));
    const link = withNetns(end.netns.fd, () => attachXdp(obj.programFd('xdp_drop_count'), ifindex, end.ifname, 'native'));
    try {
      return await fn(dropped);
    } finally {
      link.detach();
    }
  } finally {
    obj.close();
  }
}

// ------------------------------------------------------------------ xdpsock: rxdrop and txonly

/** frame sizes of the rxdrop/txonly comparison: the smallest (full packet rate) and an MTU-sized one */
const XDPSOCK_SIZES = [64, 1500] as const;
const N_XDPSOCK_RX = QUICK ? 20_000 : 300_000;
const N_XDPSOCK_TX = QUICK ? 20_000 : 1_000_000;
const N_XDPSOCK_LOOP = QUICK ? 200_000 : 10_000_000;

/** One xdpsock loop, C (build/bench/xdpsock_ref) or TS (bench/xdpsock-child on openXsk), on `side`'s end. */
function startXdpsock(lab: Lab, who: 'c' | 'ts', mode: 'rxdrop' | 'txonly', size: number, count: number): ReadyProcess {
  const end = mode === 'rxdrop' ? lab.rx : lab.tx;
  const common = ['--mode', mode, '--iface', end.ifname, '--count', String(count), '--size', String(size)];
  const macs = mode === 'txonly' ? ['--dst-mac', lab.rx.mac, '--src-mac', lab.tx.mac] : [];
  const cpu = mode === 'rxdrop' ? RX_CPU : TX_CPU;
  if (who === 'c') return start(XDPSOCK_REF, [...common, ...macs, '--netns', `/proc/${end.netns.pid}/ns/net`], cpu);
  return start('nsenter', ['-t', String(end.netns.pid), '-n', '--', process.execPath, XDPSOCK_CHILD, ...common, ...macs], cpu);
}

/**
 * rxdrop: the C generator at full speed sends `size`-byte frames; the receiver (C or TS, poll(2)
 * when its RX ring is empty) puts every frame straight back on the fill ring. Its delivered rate
 * and its CPU per packet. txonly: the sender (C or TS) at full speed into XDP_DROP on the peer.
 * C and TS take turns in each repeat (rotating order); medians; TS ÷ C in the same run.
 */
async function xdpsockBench(lab: Lab): Promise<Json> {
  type Run = { mpps: number; cpu_ns_per_packet: number; packets: number };
  const rx: Record<string, Record<'c' | 'ts', Run[]>> = {};
  const tx: Record<string, Record<'c' | 'ts', Run[]>> = {};
  const run = (j: Json): Run => ({ mpps: mpps(num(j, 'packets'), num(j, 'elapsed_ns')), cpu_ns_per_packet: num(j, 'cpu_ns') / Math.max(1, num(j, 'packets')), packets: num(j, 'packets') });
  for (const size of XDPSOCK_SIZES) {
    rx[size] = { c: [], ts: [] };
    for (let r = 0; r < REPEATS; r++) {
      for (const who of rotate(['c', 'ts'] as Array<'c' | 'ts'>, r)) {
        checkDeadline();
        const p = startXdpsock(lab, who, 'rxdrop', size, N_XDPSOCK_RX);
        await p.ready;
        const s = start(TX_REF, ['--iface', lab.tx.ifname, '--netns', `/proc/${lab.tx.netns.pid}/ns/net`, '--dst-mac', lab.rx.mac, '--src-mac', lab.tx.mac, '--count', String(N_XDPSOCK_RX), '--rate', '0', '--size', String(size)], TX_CPU);
        await s.finish(120_000);
        const j = await p.finish(5_000);
        rx[size]![who].push(run(j));
        const th = j.thread_cpu_ns === undefined ? '' : `, of which the loop's thread ${(num(j, 'thread_cpu_ns') / Math.max(1, num(j, 'packets'))).toFixed(0)}`;
        // the wake-up path: polls per 1000 packets and packets per batch (histogram 1, 2-7, 8-31, 32-63, 64)
        const wk = j.polls === undefined ? '' : `; ${((num(j, 'polls') * 1000) / Math.max(1, num(j, 'packets'))).toFixed(1)} polls/1000 pkt, ${(num(j, 'packets') / Math.max(1, num(j, 'batches'))).toFixed(1)} pkt/batch [${String(j.batch_hist)}]`;
        log(`rxdrop ${size} B ${who}: ${num(j, 'packets')}/${N_XDPSOCK_RX} at ${run(j).mpps.toFixed(3)} Mpps, ${run(j).cpu_ns_per_packet.toFixed(0)} ns CPU/pkt${th} (kernel dropped ${num(j, 'rx_dropped') + num(j, 'rx_ring_full')})${wk}`);
      }
    }
  }
  // what limits rxdrop: the user-space loop alone (receive + recycle on rings in memory, no kernel)
  const loop: Record<'c' | 'ts', number[]> = { c: [], ts: [] };
  for (let r = 0; r < REPEATS; r++) {
    for (const who of rotate(['c', 'ts'] as Array<'c' | 'ts'>, r)) {
      checkDeadline();
      const argv = ['--mode', 'loop', '--count', String(N_XDPSOCK_LOOP)];
      const p = who === 'c' ? start(XDPSOCK_REF, argv, RX_CPU) : start('nsenter', ['-t', String(lab.rx.netns.pid), '-n', '--', process.execPath, XDPSOCK_CHILD, ...argv, '--iface', lab.rx.ifname], RX_CPU);
      const j = await p.finish(120_000);
      loop[who].push(num(j, 'ns_per_packet'));
      log(`rxdrop loop alone ${who}: ${num(j, 'ns_per_packet').toFixed(1)} ns/pkt`);
    }
  }
  await withDrop(lab, async () => {
    for (const size of XDPSOCK_SIZES) {
      tx[size] = { c: [], ts: [] };
      for (let r = 0; r < REPEATS; r++) {
        for (const who of rotate(['c', 'ts'] as Array<'c' | 'ts'>, r)) {
          checkDeadline();
          const p = startXdpsock(lab, who, 'txonly', size, N_XDPSOCK_TX);
          const j = await p.finish(120_000);
          tx[size]![who].push(run(j));
          log(`txonly ${size} B ${who}: ${run(j).mpps.toFixed(3)} Mpps, ${run(j).cpu_ns_per_packet.toFixed(0)} ns CPU/pkt`);
        }
      }
    }
  });
  const med = (xs: Run[], k: keyof Run): number | null => median(xs.map((x) => x[k]));
  const summary = (t: Record<string, Record<'c' | 'ts', Run[]>>): Json =>
    Object.fromEntries(
      XDPSOCK_SIZES.map((size) => {
        const v = t[size]!;
        const c = med(v.c, 'mpps');
        const ts = med(v.ts, 'mpps');
        const cc = med(v.c, 'cpu_ns_per_packet');
        const tc = med(v.ts, 'cpu_ns_per_packet');
        return [
          `${size}B`,
          {
            c_mpps: round3(c),
            ts_mpps: round3(ts),
            ts_over_c: c && ts ? round3(ts / c) : null,
            c_cpu_ns_per_packet: round(cc),
            ts_cpu_ns_per_packet: round(tc),
            // work per CPU: C's CPU per packet over TS's (1 = as little CPU per packet as C)
            ts_over_c_cpu: cc && tc ? round3(cc / tc) : null,
          },
        ];
      }),
    ) as Json;
  return {
    rxdrop: summary(rx),
    txonly: summary(tx),
    // rxdrop's user-space loop alone, ns per packet (64 per batch, no system call): C vs TS
    rxdrop_loop_ns_per_packet: { c: round3(median(loop.c)), ts: round3(median(loop.ts)) },
    packets: { rxdrop: N_XDPSOCK_RX, txonly: N_XDPSOCK_TX },
    compare: { ts: 'bench/xdpsock-child.ts (openXsk: receive/recycle, txAlloc/txPush/txFlush, poll(2) when idle)', c: 'build/bench/xdpsock_ref (the same loops on raw rings)', sender: 'rxdrop: build/bench/tx_ref at full speed; txonly: into XDP_DROP on the peer' },
    raw: { rxdrop: rx, txonly: tx, loop } as unknown as Json,
  };
}

function xdpsockTable(x: Json): string {
  const rows: string[][] = [['xdpsock', 'size', 'C Mpps', 'TS Mpps', 'TS÷C', 'C ns CPU/pkt', 'TS ns CPU/pkt', 'C÷TS CPU']];
  for (const mode of ['rxdrop', 'txonly'] as const) {
    for (const size of XDPSOCK_SIZES) {
      const r = (x[mode] as Json)[`${size}B`] as Json;
      rows.push([mode, `${size} B`, String(r.c_mpps), String(r.ts_mpps), String(r.ts_over_c), String(r.c_cpu_ns_per_packet), String(r.ts_cpu_ns_per_packet), String(r.ts_over_c_cpu)]);
    }
  }
  const l = x.rxdrop_loop_ns_per_packet as Json;
  return `${grid(rows)}\nrxdrop's loop alone (no kernel): C ${String(l.c)} ns/pkt, TS ${String(l.ts)} ns/pkt`;
}

type L2Variant = 'c_l2fwd' | 'ts_l2fwd';

/** The forwarder on the rx end: C `rx_ref --l2fwd 1` (poll()) or TS handler mode (poll worker, examples/l2fwd-handler.forward). */
function startForwarder(lab: Lab, v: L2Variant, count: number): ReadyProcess {
  if (v === 'c_l2fwd') return start(RX_REF, ['--iface', lab.rx.ifname, '--netns', `/proc/${lab.rx.netns.pid}/ns/net`, '--mode', 'poll', '--l2fwd', '1', '--count', String(count)], RX_CPU);
  return start('nsenter', ['-t', String(lab.rx.netns.pid), '-n', '--', process.execPath, L2FWD_CHILD, '--iface', lab.rx.ifname, '--poll', 'worker', '--count', String(count)], RX_CPU);
}

/**
 * l2fwd, TS handler vs the same loop in C, each forwarding frames back to the tx end. At full
 * speed the C sender's frames are counted back by the XDP_DROP counter on the tx end (Mpps per the
 * sender's time); at the fixed rate afxdp's ping on the tx end (bench/ping-child) measures the
 * round trip to its user space, and the forwarder reports its CPU per packet and its XDP →
 * forwarding-code latency.
 */
async function l2fwdBench(lab: Lab): Promise<Json> {
  const variants: L2Variant[] = ['c_l2fwd', 'ts_l2fwd'];
  const full: Record<L2Variant, number[]> = { c_l2fwd: [], ts_l2fwd: [] };
  const fixed: Record<L2Variant, Json[]> = { c_l2fwd: [], ts_l2fwd: [] };
  await withDrop(
    lab,
    async (back) => {
      for (let r = 0; r < REPEATS; r++) {
        for (const v of rotate(variants, r)) {
          checkDeadline();
          const fwd = startForwarder(lab, v, N_MAX);
          await fwd.ready;
          const b0 = back();
          const tx = await sendC(lab, N_MAX, 0);
          const j = await fwd.finish(1500);
          const returned = back() - b0;
          full[v].push(mpps(returned, num(tx, 'elapsed_ns')));
          log(`l2fwd ${v} full speed: received ${num(j, 'received')}, forwarded ${num(j, 'forwarded')}, back at the sender ${returned}/${N_MAX}`);
        }
      }
    },
    'tx',
  );
  for (let r = 0; r < REPEATS; r++) {
    for (const v of rotate(variants, r)) {
      checkDeadline();
      const fwd = startForwarder(lab, v, N_RATE);
      await fwd.ready;
      const ping = start('nsenter', ['-t', String(lab.tx.netns.pid), '-n', '--', process.execPath, PING_CHILD, '--iface', lab.tx.ifname, '--src-mac', lab.tx.mac, '--dst-mac', lab.rx.mac, '--src-ip', lab.tx.ip, '--dst-ip', lab.rx.ip, '--count', String(N_RATE), '--rate', String(RATE)], TX_CPU);
      const p = await ping.finish(120_000);
      const j = await fwd.finish(1500);
      fixed[v].push({ ...j, ping: p });
      const rtt = (p.rtt_ns ?? {}) as Json;
      log(`l2fwd ${v} @${RATE} pps: ${num(p, 'replies')}/${num(p, 'sent')} replies, rtt p50 ${num(rtt, 'p50')} p99 ${num(rtt, 'p99')} ns; forwarder cpu ${(num(j, 'cpu_ns') / Math.max(1, num(j, 'received'))).toFixed(0)} ns/pkt, XDP→forwarder p50 ${num(lat(j), 'p50')} p99 ${num(lat(j), 'p99')} ns`);
    }
  }
  const cpu = (v: L2Variant): number | null => round(median(fixed[v].map((j) => num(j, 'cpu_ns') / num(j, 'received'))));
  const pct = (v: L2Variant, k: string): number | null => round(median(fixed[v].map((j) => num(lat(j), k))));
  const rtt = (v: L2Variant, k: string): number | null => round(median(fixed[v].map((j) => num(((j.ping as Json).rtt_ns ?? {}) as Json, k))));
  return {
    rate_pps: RATE,
    mpps: { c: round3(median(full.c_l2fwd)), ts: round3(median(full.ts_l2fwd)), sender_bound: true },
    rtt_ns: { c: { p50: rtt('c_l2fwd', 'p50'), p99: rtt('c_l2fwd', 'p99') }, ts: { p50: rtt('ts_l2fwd', 'p50'), p99: rtt('ts_l2fwd', 'p99') } },
    cpu_ns_per_packet: { c: cpu('c_l2fwd'), ts: cpu('ts_l2fwd') },
    xdp_to_forwarder_ns: { c: { p50: pct('c_l2fwd', 'p50'), p99: pct('c_l2fwd', 'p99') }, ts: { p50: pct('ts_l2fwd', 'p50'), p99: pct('ts_l2fwd', 'p99') } },
    replies_at_rate: { c: median(fixed.c_l2fwd.map((j) => num(j.ping as Json, 'replies'))), ts: median(fixed.ts_l2fwd.map((j) => num(j.ping as Json, 'replies'))), sent: N_RATE },
    compare: { ts: 'handler mode, poll worker (examples/l2fwd-handler.forward)', c: 'rx_ref --l2fwd 1 --mode poll', rtt: 'afxdp ping on the tx end (bench/ping-child): send → reply in its user space' },
    // every run: the full-speed Mpps and each fixed-rate forwarder's JSON (the TS one with its threads' CPU)
    raw: { full, fixed } as unknown as Json,
  };
}

function l2fwdTable(l: Json): string {
  const f = (x: unknown): string => (x === null || x === undefined ? '–' : String(x));
  const m = l.mpps as Json;
  const c = l.cpu_ns_per_packet as Json;
  const x = l.xdp_to_forwarder_ns as Record<'c' | 'ts', Json>;
  const rt = l.rtt_ns as Record<'c' | 'ts', Json>;
  return grid([
    ['l2fwd (TS handler vs C)', 'C', 'TS', 'TS ÷ C'],
    ['Mpps back at the sender, full speed (sender-bound)', f(m.c), f(m.ts), ratio(m.ts, m.c)],
    [`round trip p50 ns @${f(l.rate_pps)} pps (ping)`, f(rt.c.p50), f(rt.ts.p50), ratio(rt.ts.p50, rt.c.p50)],
    [`round trip p99 ns @${f(l.rate_pps)} pps (ping)`, f(rt.c.p99), f(rt.ts.p99), ratio(rt.ts.p99, rt.c.p99)],
    [`forwarder CPU ns/pkt @${f(l.rate_pps)} pps`, f(c.c), f(c.ts), ratio(c.ts, c.c)],
    [`XDP→forwarder p50 ns @${f(l.rate_pps)} pps`, f(x.c.p50), f(x.ts.p50), ratio(x.ts.p50, x.c.p50)],
    [`XDP→forwarder p99 ns @${f(l.rate_pps)} pps`, f(x.c.p99), f(x.ts.p99), ratio(x.ts.p99, x.c.p99)],
  ]);
}

const num = (j: Json, k: string): number => Number(j[k]);
const lat = (j: Json): Json => j.latency_ns as Json;
const mpps = (packets: number, ns: number): number => (ns > 0 ? (packets / ns) * 1e3 : NaN);

// ------------------------------------------------------------------ api_modes: the library's default and a handler

/**
 * open()'s default (onBatch in poll 'event') and a handler (user code in the receive worker),
 * each beside the C poll() loop on the same traffic, interleaved: bench/api-modes.ts (its own
 * lab), whose --json medians and TS ÷ C ratios become `api_modes`.
 */
async function apiModesBench(): Promise<Json> {
  const file = path.join(os.tmpdir(), `afxdp-bench-api-${process.pid}.json`);
  const [n, rate] = QUICK ? [3000, 20_000] : [100_000, 50_000];
  const argv = [API_MODES, String(n), String(rate), String(REPEATS), ...(QUICK ? ['--warmup', '2000'] : []), '--only', 'c,onbatch-event,handler-worker', '--json', file];
  log(`api_modes: ${n} packets at ${rate} pps, ${REPEATS} repeat(s): C poll(), onBatch in poll 'event' (the default), a handler`);
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    if (code !== 0) throw new Error(`bench/api-modes exited with ${code} (see its lines above)`);
    return JSON.parse(readFileSync(file, 'utf8')) as Json;
  } finally {
    rmSync(file, { force: true });
  }
}

function apiModesTable(a: Json): string {
  const ways = a.ways as Record<string, Json>;
  const rows: string[][] = [['library (÷ C poll())', 'CPU ns/pkt', 'p50', 'p99', 'p99.9']];
  for (const [key, label] of [['c', 'C poll()'], ['onbatch-event', "onBatch, 'event' (default)"], ['handler-worker', 'handler']] as const) {
    const w = ways[key];
    if (w === undefined) continue;
    const l = w.latency_ns as Json;
    const v = w.vs_c as Json | null;
    const cell = (x: unknown, r: unknown, us: boolean): string => `${typeof x === 'number' ? (us ? `${(x / 1000).toFixed(1)} µs` : String(x)) : '–'}${v === null ? '' : ` (${typeof r === 'number' ? r.toFixed(2) : '–'})`}`;
    rows.push([label, cell(w.cpu_ns_per_packet, v?.cpu, false), cell(l.p50, v?.p50, true), cell(l.p99, v?.p99, true), cell(l.p999, v?.p999, true)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const lab = await Lab.create();
  const cleanup = (): void => {
    for (const c of children) c.kill();
  };
  process.once('SIGINT', () => {
    cleanup();
    void lab.destroy().finally(() => process.exit(130));
  });
  const raw: Json = {};
  try {
    log(`lab ${lab.id}; ${REPEATS} repeat(s); fixed rate ${RATE} pps; ${PIN ? `receiver on CPU ${RX_CPU}, sender on CPU ${TX_CPU}` : 'not pinned'}; nice ${NICE}`);
    if (args.only !== undefined) {
      // a section alone: its own field, the common meta, its table
      const [field, run, table]: [string, () => Promise<Json>, (j: Json) => string] =
        args.only === 'xdpsock' ? ['xdpsock', () => xdpsockBench(lab), xdpsockTable] : args.only === 'api' ? ['api_modes', apiModesBench, apiModesTable] : ['l2fwd', () => l2fwdBench(lab), l2fwdTable];
      const section = await run();
      const results = { schema: BENCH_SCHEMA, [field]: section, meta: { quick: QUICK, only: args.only, repeats: REPEATS, date: new Date().toISOString(), duration_s: Math.round((Date.now() - started) / 1000), node: process.version, kernel: os.release(), cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100), nice: NICE } };
      mkdirSync(path.dirname(args.out!), { recursive: true });
      writeFileSync(args.out!, JSON.stringify(results, null, 2) + '\n');
      process.stdout.write(table(section) + '\n');
      log(`wrote ${args.out} in ${results.meta.duration_s} s`);
      return;
    }

    // 1. CPU per packet and XDP → user p50 at a fixed rate
    const variants: RxVariant[] = ['c_poll', 'ts_event', 'ts_worker', 'ts_worker_bp', 'c_spin', 'ts_busy'];
    const fixed: Record<RxVariant, Json[]> = { c_poll: [], ts_event: [], ts_worker: [], ts_worker_bp: [], c_spin: [], ts_busy: [] };
    for (let r = 0; r < REPEATS; r++) {
      for (const v of rotate(variants, r)) {
        checkDeadline();
        const { rx } = await rxRun(lab, v, N_RATE, RATE);
        fixed[v].push(rx);
        log(`fixed ${RATE} pps ${v}: received ${num(rx, 'received')}/${N_RATE}, cpu ${(num(rx, 'cpu_ns') / Math.max(1, num(rx, 'received'))).toFixed(0)} ns/pkt, p50 ${num(lat(rx), 'p50')} p99 ${num(lat(rx), 'p99')} p99.9 ${num(lat(rx), 'p999')} max ${num(lat(rx), 'max')} ns${rx.page_faults ? `, page faults ${num(rx.page_faults as Json, 'minor')} minor / ${num(rx.page_faults as Json, 'major')} major` : ''}`);
      }
    }
    raw.fixed = fixed;
    const cpuPer = (v: RxVariant): number | null => median(fixed[v].map((j) => num(j, 'cpu_ns') / num(j, 'received')));
    const p50 = (v: RxVariant): number | null => median(fixed[v].map((j) => num(lat(j), 'p50')));
    // every percentile and CPU per packet of every variant, from the same runs: medians over repeats
    const tails = Object.fromEntries(
      variants.map((v) => [v, { cpu_ns_per_packet: round(cpuPer(v)), ...Object.fromEntries(TAILS.map((k) => [k, round(median(fixed[v].map((j) => num(lat(j), k))))])) }]),
    ) as unknown as Record<RxVariant, Record<string, number | null>>;

    // 2. Max receive rate: C sender at full speed; delivered = received / sender time
    const max: Record<RxVariant | 'xdp_drop', number[]> = { c_poll: [], ts_event: [], ts_worker: [], ts_worker_bp: [], c_spin: [], ts_busy: [], xdp_drop: [] };
    const maxVariants: RxVariant[] = ['c_spin', 'ts_busy', 'c_poll', 'ts_event', 'ts_worker'];
    for (let r = 0; r < REPEATS; r++) {
      for (const v of rotate(maxVariants, r)) {
        checkDeadline();
        const { rx, tx } = await rxRun(lab, v, N_MAX, 0);
        max[v].push(mpps(num(rx, 'received'), num(tx, 'elapsed_ns')));
        log(`full speed ${v}: received ${num(rx, 'received')}/${N_MAX} in the sender's ${(num(tx, 'elapsed_ns') / 1e9).toFixed(2)} s`);
      }
    }

    // 3. TX: C vs TS generator at full speed, into XDP_DROP (which gives the drop bound too)
    const tx: Record<'c' | 'ts', number[]> = { c: [], ts: [] };
    await withDrop(lab, async (dropped) => {
      for (let r = 0; r < REPEATS; r++) {
        for (const who of rotate(['c', 'ts'] as const as unknown as Array<'c' | 'ts'>, r)) {
          checkDeadline();
          const d0 = dropped();
          if (who === 'c') {
            const j = await sendC(lab, N_TX, 0);
            tx.c.push(mpps(num(j, 'sent'), num(j, 'elapsed_ns')));
            max.xdp_drop.push(mpps(dropped() - d0, num(j, 'elapsed_ns')));
          } else {
            const j = await sendTs(lab, N_TX);
            tx.ts.push(num(j, 'sent') / num(j, 'duration_s') / 1e6);
          }
          log(`tx ${who}: ${tx[who][tx[who].length - 1]!.toFixed(3)} Mpps`);
        }
      }
    });

    // 4. Heap growth of the TS receiver over many packets (GC before both readings)
    const heap: Record<'ts_event' | 'ts_worker' | 'ts_busy', number[]> = { ts_event: [], ts_worker: [], ts_busy: [] };
    const heapReceived: Record<'ts_event' | 'ts_worker' | 'ts_busy', number> = { ts_event: 0, ts_worker: 0, ts_busy: 0 };
    for (const v of ['ts_event', 'ts_worker', 'ts_busy'] as const) {
      checkDeadline();
      const { rx } = await rxRun(lab, v, N_HEAP, 0, ['--expose-gc']);
      const h = rx.heap as { main_start: number; main_end: number; workers: Array<{ start: number; end: number }> };
      const growth = h.main_end - h.main_start + h.workers.reduce((a, w) => a + (w.end - w.start), 0);
      heap[v].push(growth);
      heapReceived[v] = num(rx, 'received');
      log(`heap ${v}: ${num(rx, 'received')} packets, growth ${growth} bytes`);
    }

    // 5. Stamp cost (no traffic)
    const stamp = stampCost();
    log(`stamp: ${JSON.stringify(stamp)}`);

    // 6. l2fwd: handler mode vs the same loop in C
    const l2fwd = await l2fwdBench(lab);

    // 7. xdpsock's rxdrop and txonly: openXsk loops vs the same loops in C
    const xdpsock = await xdpsockBench(lab);

    // 8. the library's default and a handler vs C poll()
    const api_modes = await apiModesBench();

    const results = {
      schema: BENCH_SCHEMA,
      rx_cpu_ns_per_packet: { rate_pps: RATE, c: round(cpuPer('c_poll')), ts_event: round(cpuPer('ts_event')), ts_busy: round(cpuPer('ts_busy')), c_spin: round(cpuPer('c_spin')), ts_worker: round(cpuPer('ts_worker')) },
      xdp_to_user_p50_ns: { c_spin: round(p50('c_spin')), ts_busy: round(p50('ts_busy')), c_poll: round(p50('c_poll')), ts_event: round(p50('ts_event')), ts_worker: round(p50('ts_worker')) },
      // the same fixed-rate runs, every percentile; `compare` names each TS variant's C reference
      rx_tails_ns: { rate_pps: RATE, ...tails, compare: C_OF },
      rx_max_mpps: { xdp_drop: round3(median(max.xdp_drop)), c: round3(median(max.c_spin)), ts_busy: round3(median(max.ts_busy)), ts_event: round3(median(max.ts_event)), c_poll: round3(median(max.c_poll)), ts_worker: round3(median(max.ts_worker)), sender_bound: true },
      stamp_ns_per_packet: stamp,
      tx_mpps: { c: round3(median(tx.c)), ts: round3(median(tx.ts)) },
      heap_growth_bytes: { packets: N_HEAP, ts_event: median(heap.ts_event), ts_busy: median(heap.ts_busy), ts_worker: median(heap.ts_worker), received: heapReceived },
      l2fwd,
      xdpsock,
      api_modes,
      meta: {
        quick: QUICK,
        repeats: REPEATS,
        date: new Date().toISOString(),
        duration_s: Math.round((Date.now() - started) / 1000),
        node: process.version,
        kernel: os.release(),
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? '?',
        loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
        pinned: PIN ? { rx_cpu: RX_CPU, tx_cpu: TX_CPU } : null,
        nice: NICE,
        packets: { fixed_rate: N_RATE, max: N_MAX, tx: N_TX, heap: N_HEAP },
      },
      raw,
    };
    mkdirSync(path.dirname(args.out!), { recursive: true });
    writeFileSync(args.out!, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(table(results) + '\n\n' + l2fwdTable(l2fwd) + '\n\n' + xdpsockTable(xdpsock) + '\n\n' + apiModesTable(api_modes) + '\n');
    log(`wrote ${args.out} in ${results.meta.duration_s} s`);
  } finally {
    cleanup();
    await lab.destroy();
  }
}

function round(x: number | null): number | null {
  return x === null ? null : Math.round(x);
}
function round3(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000;
}

function ratio(a: unknown, b: unknown): string {
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? (a / b).toFixed(2) : '–';
}

function table(r: {
  rx_cpu_ns_per_packet: Json;
  rx_tails_ns: Json;
  xdp_to_user_p50_ns: Json;
  rx_max_mpps: Json;
  stamp_ns_per_packet: Json;
  tx_mpps: Json;
  heap_growth_bytes: Json;
}): string {
  const c = r.rx_cpu_ns_per_packet;
  const p = r.xdp_to_user_p50_ns;
  const m = r.rx_max_mpps;
  const s = r.stamp_ns_per_packet;
  const t = r.tx_mpps;
  const h = r.heap_growth_bytes;
  const f = (x: unknown): string => (x === null || x === undefined ? '–' : String(x));
  const rows: string[][] = [
    ['figure', 'C', 'TS', 'TS ÷ C'],
    [`rx CPU ns/pkt @${f(c.rate_pps)} pps, event vs poll()`, f(c.c), f(c.ts_event), ratio(c.ts_event, c.c)],
    [`rx CPU ns/pkt @${f(c.rate_pps)} pps, busy vs spin`, f(c.c_spin), f(c.ts_busy), ratio(c.ts_busy, c.c_spin)],
    ['XDP→user p50 ns, busy vs spin', f(p.c_spin), f(p.ts_busy), ratio(p.ts_busy, p.c_spin)],
    ['XDP→user p50 ns, event vs poll()', f(p.c_poll), f(p.ts_event), ratio(p.ts_event, p.c_poll)],
    [`rx CPU ns/pkt @${f(c.rate_pps)} pps, worker vs poll()`, f(c.c), f(c.ts_worker), ratio(c.ts_worker, c.c)],
    ['XDP→user p50 ns, worker vs poll()', f(p.c_poll), f(p.ts_worker), ratio(p.ts_worker, p.c_poll)],
    ['rx max Mpps, busy vs spin (sender-bound)', f(m.c), f(m.ts_busy), ratio(m.ts_busy, m.c)],
    ['rx max Mpps, event vs poll() (sender-bound)', f(m.c_poll), f(m.ts_event), ratio(m.ts_event, m.c_poll)],
    ['rx max Mpps, worker vs poll() (sender-bound)', f(m.c_poll), f(m.ts_worker), ratio(m.ts_worker, m.c_poll)],
    ['XDP_DROP Mpps (bound; C sender)', f(m.xdp_drop), '', ''],
    ['tx Mpps (copy mode)', f(t.c), f(t.ts), ratio(t.ts, t.c)],
    ['stamp ns/pkt: redirect → meta', f(s.redirect), f(s.meta), `+${typeof s.meta === 'number' && typeof s.redirect === 'number' ? s.meta - s.redirect : '–'} ns`],
    ['stamp ns/pkt: prepend, map (fresh key)', '', `${f(s.prepend)}, ${f(s.map)}`, ''],
    [`heap growth bytes / ${f(h.packets)} pkts: event, worker, busy`, '', `${f(h.ts_event)}, ${f(h.ts_worker)}, ${f(h.ts_busy)}`, ''],
  ];
  // tails: each TS variant against the C loop of its shape, every percentile and CPU per packet
  const t2 = r.rx_tails_ns as Record<string, Record<string, number | null>>;
  const tails: string[][] = [['receiver (TS vs C)', 'CPU ns/pkt', ...TAILS.map((k) => (k === 'p999' ? 'p99.9' : k))]];
  for (const [ts, c0] of Object.entries(C_OF)) {
    const a = t2[ts]!;
    const b = t2[c0]!;
    const name = ts === 'ts_worker_bp' ? `worker + busy poll ${BUSY_POLL_US} µs` : ts.slice(3);
    tails.push([`${name} vs ${c0 === 'c_poll' ? 'poll()' : 'spin'}`, ...['cpu_ns_per_packet', ...TAILS].map((k) => `${f(a[k])} / ${f(b[k])} = ${ratio(a[k], b[k])}`)]);
  }
  return `${grid(rows)}\n\nXDP→user ns at ${f(r.rx_tails_ns.rate_pps)} pps, TS / C = TS ÷ C (medians of the repeats)\n${grid(tails)}`;
}

function grid(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(w[i]!) : cell.padStart(w[i]!))).join('  ')).join('\n');
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error)?.message ?? String(e)}\n`);
  process.exitCode = 1;
});
