/**
 * AF_XDP vs the kernel stack (docs/BENCHMARKS.md "AF_XDP vs the kernel stack"): `demo
 * --compare-stack` on one lab at 1k, 10k, 100k pps and full rate, the 2×2 (AF_XDP vs kernel stack
 * × C vs Node: afxdp with Node dgram, rx_ref with C recvmmsg), repeated; the medians of p50 / p99 /
 * p99.9, CPU per packet and drops per path.
 *
 *   npm run bench:stack                   3 repeats per rate (≈ 2 min on a quiet machine)
 *   npm run bench:stack -- --quick        small counts, 1 repeat, two rates: checks that it works (the suite)
 *   npm run bench:stack -- --out FILE     write the results elsewhere (default bench/stack-results.json)
 *
 * The machine is shared and noisy: every figure is the median over the repeats, and the load
 * average at the start and end is recorded with them.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Lab } from '../src/lab/lab.js';
import { PACKAGE_ROOT } from '../src/native.js';
import { runCompareStack } from '../src/run/compare-stack.js';
import { pathDrops, type AfXdpPath, type StackPath } from '../src/report/report.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    out: { type: 'string', default: path.join(PACKAGE_ROOT, 'bench', 'stack-results.json') },
  },
  strict: true,
});
const QUICK = args.quick!;
const REPEATS = args.repeats ? Number(args.repeats) : QUICK ? 1 : 3;
// rate 0 = the generator's maximum; packets: about two seconds of traffic (≥ 3,000 samples at 1k)
const PLAN: Array<{ rate: number; packets: number }> = QUICK
  ? [{ rate: 1000, packets: 300 }, { rate: 0, packets: 2000 }]
  : [{ rate: 1000, packets: 3000 }, { rate: 10_000, packets: 20_000 }, { rate: 100_000, packets: 200_000 }, { rate: 0, packets: 400_000 }];
const PATHS = ['af_xdp', 'c_af_xdp', 'node_dgram', 'c_recvmmsg'] as const;
type PathName = (typeof PATHS)[number];

interface Sample {
  p50: number;
  p99: number;
  p999: number;
  cpu_ns_per_packet: number | null;
  received: number;
  drops: number;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function sampleOf(p: AfXdpPath | StackPath): Sample {
  const l = p.latency_ns.xdp_to_user;
  return { p50: l.p50, p99: l.p99, p999: l.p999, cpu_ns_per_packet: p.cpu_ns_per_packet, received: p.packets.received, drops: pathDrops(p) };
}

const log = (s: string): void => void process.stderr.write(`bench:stack: ${s}\n`);

async function main(): Promise<void> {
  const load0 = os.loadavg()[0]!;
  const lab = await Lab.create({ queues: 1 });
  log(`lab ${lab.id}; ${REPEATS} repeat(s); load ${load0.toFixed(2)}`);
  const results: Array<{ rate_pps: number; packets: number; paths: Record<PathName, Record<keyof Sample, number | null>>; achieved_pps: number | null }> = [];
  try {
    for (const { rate, packets } of PLAN) {
      const samples: Record<PathName, Sample[]> = { af_xdp: [], c_af_xdp: [], node_dgram: [], c_recvmmsg: [] };
      const achieved: number[] = [];
      for (let i = 0; i < REPEATS; i++) {
        const r = await runCompareStack(lab, { packets, rate, stackReceiver: 'both', outputs: {} });
        const p = r.paths!;
        samples.af_xdp.push(sampleOf(p.af_xdp));
        if (p.c_af_xdp) samples.c_af_xdp.push(sampleOf(p.c_af_xdp));
        for (const s of [p.node_dgram!, p.c_recvmmsg!]) samples[s.receiver === 'node' ? 'node_dgram' : 'c_recvmmsg'].push(sampleOf(s));
        achieved.push(Math.round(packets / r.duration_s));
        log(`${rate === 0 ? 'full rate' : `${rate} pps`} #${i + 1}: ` + PATHS.filter((n) => samples[n].length > 0).map((n) => `${n} p50 ${samples[n].at(-1)!.p50} p99 ${samples[n].at(-1)!.p99} cpu ${samples[n].at(-1)!.cpu_ns_per_packet} drops ${samples[n].at(-1)!.drops}`).join(' | '));
      }
      const paths = Object.fromEntries(
        PATHS.map((n) => [n, Object.fromEntries((['p50', 'p99', 'p999', 'cpu_ns_per_packet', 'received', 'drops'] as const).map((k) => [k, median(samples[n].map((s) => s[k]).filter((v): v is number => v !== null))]))]),
      ) as Record<PathName, Record<keyof Sample, number | null>>;
      results.push({ rate_pps: rate, packets, paths, achieved_pps: median(achieved) });
    }
  } finally {
    await lab.destroy();
  }
  const doc = { schema: 'afxdp.bench-stack/1', meta: { quick: QUICK, repeats: REPEATS, load_start: load0, load_end: os.loadavg()[0], kernel: os.release(), cpus: os.cpus().length, date: new Date().toISOString() }, rates: results };
  writeFileSync(args.out!, JSON.stringify(doc, null, 2) + '\n');
  const us = (v: number | null): string => (v === null ? '–' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : `${(v / 1e3).toFixed(1)} µs`);
  const lines = ['| rate | path | p50 | p99 | p99.9 | CPU/packet | drops |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const r of results) {
    for (const n of PATHS) {
      const p = r.paths[n];
      lines.push(`| ${r.rate_pps === 0 ? `full (≈${Math.round((r.achieved_pps ?? 0) / 1000)}k)` : `${r.rate_pps / 1000}k`} | ${n} | ${us(p.p50)} | ${us(p.p99)} | ${us(p.p999)} | ${us(p.cpu_ns_per_packet)} | ${p.drops ?? '–'} |`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  log(`wrote ${args.out}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:stack: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
