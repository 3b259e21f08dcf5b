/**
 * TX side by side: the C sender (bench/c/tx_ref) and afxdp's (TrafficGenerator.sendSync in a
 * worker thread after rehearse(): what `afxdp gen` runs, src/lab/generator.ts through
 * src/xsk/tx.ts), interleaved on one lab with XDP_DROP on the peer, the order alternating per
 * round. Per run: Mpps by the sender's own clock (first batch to last completion) and the sending
 * thread's user and system CPU per frame (C: getrusage; TS: /proc/thread-self/stat around the
 * send, 10 ms ticks: ±5 ns/frame at 2 M frames). Node's start-up is outside both, as the C
 * sender's is. Prints a line per run, then the medians, TS ÷ C and the load average.
 *
 *   node dist/bench/tx-pair.js [--rounds 5] [--count 2000000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Lab } from '../src/lab/lab.js';
import { TrafficGenerator } from '../src/lab/generator.js';
import { native, PACKAGE_ROOT } from '../src/native.js';
import { withNetns } from '../src/sys/netns.js';
import { BpfObject, attachXdp } from '../src/xdp/program.js';

const TX_REF = path.join(PACKAGE_ROOT, 'build', 'bench', 'tx_ref');
const BENCH_BPF = path.join(PACKAGE_ROOT, 'build', 'bench-bpf', 'bench.bpf.o');

interface Run {
  mpps: number;
  userNs: number;
  sysNs: number;
}
interface Target {
  netns: string;
  ifname: string;
  dst: string;
  src: string;
  count: number;
}

/** user and system ticks (1/100 s) of the calling thread */
function threadTicks(): [number, number] {
  const f = fs.readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return [Number(f[11]), Number(f[12])];
}

if (!isMainThread) {
  // the TS sender: its own thread, as GeneratorThread runs it for `afxdp gen`
  const t = workerData as Target;
  const fd = fs.openSync(t.netns, 'r');
  const mac = (s: string): Uint8Array => Uint8Array.from(s.split(':').map((x) => parseInt(x, 16)));
  const g = TrafficGenerator.open({ ifname: t.ifname, netnsFd: fd, srcMac: mac(t.src), dstMac: mac(t.dst), srcIp: Uint8Array.of(198, 18, 0, 1), dstIp: Uint8Array.of(198, 18, 0, 2) });
  fs.closeSync(fd);
  try {
    g.rehearse();
    const [u0, s0] = threadTicks();
    const t0 = process.hrtime.bigint();
    const n = g.sendSync({ count: t.count, rate: 0 });
    const ns = Number(process.hrtime.bigint() - t0);
    const [u1, s1] = threadTicks();
    parentPort!.postMessage({ mpps: (n / ns) * 1e3, userNs: ((u1 - u0) * 1e7) / n, sysNs: ((s1 - s0) * 1e7) / n } satisfies Run);
  } finally {
    g.close();
  }
} else {
  const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, count: { type: 'string', default: '2000000' } } });
  const rounds = Number(args.rounds);
  const count = Number(args.count);
  const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

  const runC = (t: Target): Run => {
    const r = spawnSync(TX_REF, ['--iface', t.ifname, '--netns', t.netns, '--dst-mac', t.dst, '--src-mac', t.src, '--count', String(t.count), '--rate', '0'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tx_ref: ${r.stderr.trim()}`);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    return { mpps: (j.sent! / j.elapsed_ns!) * 1e3, userNs: j.cpu_user_ns! / j.sent!, sysNs: j.cpu_sys_ns! / j.sent! };
  };
  const runTs = (t: Target): Promise<Run> =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: t });
      w.once('message', resolve);
      w.once('error', reject);
    });
  /** the kernel frees the last run's socket, and its queue, a moment after it closed: retry while busy */
  const retry = async (f: () => Run | Promise<Run>): Promise<Run> => {
    for (let i = 0; ; i++) {
      try {
        return await f();
      } catch (e) {
        if (i >= 100 || !/busy|in use/i.test(String(e))) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const median = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };

  const lab = await Lab.create();
  const obj = BpfObject.open(BENCH_BPF);
  try {
    obj.load();
    const ifindex = withNetns(lab.rx.netns.fd, () => native().ifNameToIndex(lab.rx.ifname));
    const link = withNetns(lab.rx.netns.fd, () => attachXdp(obj.programFd('xdp_drop_count'), ifindex, lab.rx.ifname, 'native'));
    try {
      const t: Target = { netns: `/proc/${lab.tx.netns.pid}/ns/net`, ifname: lab.tx.ifname, dst: lab.rx.mac, src: lab.tx.mac, count };
      const got: Record<'c' | 'ts', Run[]> = { c: [], ts: [] };
      process.stdout.write(`tx-pair: ${count} × 64 B at full speed, batch 32, ${rounds} rounds; load ${load()}\n`);
      for (let i = 0; i < rounds; i++) {
        for (const who of i % 2 === 0 ? (['c', 'ts'] as const) : (['ts', 'c'] as const)) {
          const r = await retry(() => (who === 'c' ? runC(t) : runTs(t)));
          got[who].push(r);
          process.stdout.write(`round ${i + 1} ${who === 'c' ? 'C ' : 'TS'}: ${r.mpps.toFixed(3)} Mpps, user ${r.userNs.toFixed(0)} ns/frame, sys ${r.sysNs.toFixed(0)} ns/frame\n`);
        }
      }
      const m = (who: 'c' | 'ts', k: keyof Run): number => median(got[who].map((r) => r[k]));
      process.stdout.write(`median: C ${m('c', 'mpps').toFixed(3)} Mpps (user ${m('c', 'userNs').toFixed(0)}, sys ${m('c', 'sysNs').toFixed(0)} ns/frame), TS ${m('ts', 'mpps').toFixed(3)} Mpps (user ${m('ts', 'userNs').toFixed(0)}, sys ${m('ts', 'sysNs').toFixed(0)} ns/frame)\n`);
      process.stdout.write(`TS ÷ C: ${(m('ts', 'mpps') / m('c', 'mpps')).toFixed(3)} (ratio of medians), ${median(got.ts.map((r, i) => r.mpps / got.c[i]!.mpps)).toFixed(3)} (median of the rounds' ratios); load ${load()}\n`);
    } finally {
      link.detach();
    }
  } finally {
    obj.close();
    await lab.destroy();
  }
}
