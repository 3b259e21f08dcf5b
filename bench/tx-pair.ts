/**
 * TX side by side: the C sender (bench/c/tx_ref) and `afxdp gen` (src/lab/generator.ts through
 * src/xsk/tx.ts), interleaved on one lab with XDP_DROP on the peer, the order alternating per
 * round. Per run: Mpps by the sender's own clock (first batch to last completion) and the
 * process's user and system CPU per frame (the shell's `times`, 10 ms resolution). Prints one
 * line per run and the medians with TS ÷ C and the load average.
 *
 *   node dist/bench/tx-pair.js [--rounds 5] [--count 2000000] [--batch 32]
 */
import path from 'node:path';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Lab } from '../src/lab/lab.js';
import { native, PACKAGE_ROOT } from '../src/native.js';
import { withNetns } from '../src/sys/netns.js';
import { BpfObject, attachXdp } from '../src/xdp/program.js';

const TX_REF = path.join(PACKAGE_ROOT, 'build', 'bench', 'tx_ref');
const BENCH_BPF = path.join(PACKAGE_ROOT, 'build', 'bench-bpf', 'bench.bpf.o');
const BIN = path.join(PACKAGE_ROOT, 'bin', 'afxdp');

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, count: { type: 'string', default: '2000000' }, batch: { type: 'string', default: '32' } } });
const rounds = Number(args.rounds);
const count = Number(args.count);
const batch = Number(args.batch);

interface Run {
  mpps: number;
  userNs: number;
  sysNs: number;
}

/** `times` of the shell that ran it: children's user and system seconds (second line). */
function timesOf(stderr: string): [number, number] {
  const lines = stderr.trim().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l));
  const sec = (t: string): number => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t)!;
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const [u, s] = lines.at(-1)!.split(' ');
  return [sec(u!), sec(s!)];
}

function runOne(lab: Lab, who: 'c' | 'ts'): Run {
  const netns = `/proc/${lab.tx.netns.pid}/ns/net`;
  const argv =
    who === 'c'
      ? [TX_REF, '--iface', lab.tx.ifname, '--netns', netns, '--dst-mac', lab.rx.mac, '--src-mac', lab.tx.mac, '--count', String(count), '--rate', '0', '--batch', String(batch)]
      : ['nsenter', '--net=' + netns, '--', process.execPath, BIN, 'gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--count', String(count), '--rate', '0', '--batch', String(batch), '--json'];
  let r = spawnSync('sh', ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'sh', ...argv], { encoding: 'utf8' });
  // the kernel frees the last run's socket (and its queue) after that process has exited
  for (let tries = 0; r.status !== 0 && /in use|EBUSY|busy/i.test(r.stderr) && tries < 100; tries++) {
    spawnSync('sleep', ['0.05']);
    r = spawnSync('sh', ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'sh', ...argv], { encoding: 'utf8' });
  }
  if (r.status !== 0) throw new Error(`${who}: exit ${r.status}: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().startsWith('{\n') ? r.stdout : r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  const seconds = who === 'c' ? j.elapsed_ns! / 1e9 : j.duration_s!;
  const [u, s] = timesOf(r.stderr);
  return { mpps: j.sent! / seconds / 1e6, userNs: (u * 1e9) / j.sent!, sysNs: (s * 1e9) / j.sent! };
}

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
    const got: Record<'c' | 'ts', Run[]> = { c: [], ts: [] };
    process.stdout.write(`tx-pair: ${count} × 64 B at full speed, batch ${batch}, ${rounds} rounds; load before ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
    for (let i = 0; i < rounds; i++) {
      for (const who of i % 2 === 0 ? (['c', 'ts'] as const) : (['ts', 'c'] as const)) {
        const r = runOne(lab, who);
        got[who].push(r);
        process.stdout.write(`round ${i + 1} ${who === 'c' ? 'C ' : 'TS'}: ${r.mpps.toFixed(3)} Mpps, user ${r.userNs.toFixed(0)} ns/frame, sys ${r.sysNs.toFixed(0)} ns/frame\n`);
      }
    }
    const m = (who: 'c' | 'ts', k: keyof Run): number => median(got[who].map((r) => r[k]));
    const ratios = got.ts.map((r, i) => r.mpps / got.c[i]!.mpps);
    process.stdout.write(`median: C ${m('c', 'mpps').toFixed(3)} Mpps (user ${m('c', 'userNs').toFixed(0)}, sys ${m('c', 'sysNs').toFixed(0)} ns/frame), TS ${m('ts', 'mpps').toFixed(3)} Mpps (user ${m('ts', 'userNs').toFixed(0)}, sys ${m('ts', 'sysNs').toFixed(0)} ns/frame)\n`);
    process.stdout.write(`TS ÷ C: ${(m('ts', 'mpps') / m('c', 'mpps')).toFixed(3)} (ratio of medians), ${median(ratios).toFixed(3)} (median of rounds); load after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  } finally {
    link.detach();
  }
} finally {
  obj.close();
  await lab.destroy();
}
