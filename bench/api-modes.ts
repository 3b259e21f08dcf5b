/**
 * XDP → user latency of the three ways to receive, on the same lab traffic, each in its own
 * process inside the receiving namespace: `afxdp latency` (LatencyProbe's drain), the public
 * API's callback form (onBatch) and its async iterator (for await). Repeats and prints the
 * median p50 / p99 per way. Usage (root): node dist/bench/api-modes.js [packets] [rate] [reps]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, TrafficGenerator } from '../src/entry/lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [N, RATE, REPS] = [Number(process.argv[2] ?? 20000), Number(process.argv[3] ?? 20000), Number(process.argv[4] ?? 3)];

const receiver = (form: 'callback' | 'iterator'): string => `
import { open } from 'afxdp';
const s = open({ iface: process.argv[1] });
let n = 0;
let printed = false;
const done = () => { if (printed) return; printed = true; process.stdout.write(JSON.stringify(s.latency())); s.close(); };
process.once('SIGINT', done);
console.error('ready');
${form === 'callback'
  ? `s.onBatch((b) => { n += b.length; if (n >= ${N}) done(); });`
  : `for await (const b of s) { n += b.length; if (n >= ${N}) break; } done();`}`;

const ways: Record<string, (ifname: string) => string[]> = {
  'afxdp latency': (ifn) => [process.execPath, path.join(ROOT, 'bin', 'afxdp'), 'latency', '--iface', ifn, '--packets', String(N), '--json'],
  'onBatch': (ifn) => [process.execPath, '--input-type=module', '-e', receiver('callback'), ifn],
  'for await': (ifn) => [process.execPath, '--input-type=module', '-e', receiver('iterator'), ifn],
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const lab = await Lab.create();
const results: Record<string, { p50: number[]; p99: number[] }> = {};
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, argv] of Object.entries(ways)) {
      const child = spawn('nsenter', ['-t', String(lab.rx.netns.pid), '-n', '--', ...argv(lab.rx.ifname)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const closed = new Promise<number | null>((r) => child.on('close', r));
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (/ready|measuring/.test(err)) resolve();
        });
        void closed.then(() => resolve());
      });
      const gen = TrafficGenerator.open({ ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes });
      await gen.send({ count: N, rate: RATE });
      gen.close();
      const killer = setTimeout(() => child.kill('SIGINT'), 10_000); // packets lost: stop and report what arrived
      await closed;
      clearTimeout(killer);
      if (!out) throw new Error(`${name} printed nothing: ${err}`);
      const j = JSON.parse(out) as { p50: number; p99: number; latency_ns?: { xdp_to_user: { p50: number; p99: number } } };
      const l = j.latency_ns ? j.latency_ns.xdp_to_user : j;
      (results[name] ??= { p50: [], p99: [] }).p50.push(l.p50);
      results[name]!.p99.push(l.p99);
      console.error(`rep ${rep} ${name}: p50 ${l.p50} ns, p99 ${l.p99} ns`);
    }
  }
} finally {
  await lab.destroy();
}
console.log(`${N} packets at ${RATE} pps, ${REPS} runs each, medians:`);
for (const [name, r] of Object.entries(results)) console.log(`  ${name.padEnd(14)} p50 ${(median(r.p50) / 1000).toFixed(1)} µs   p99 ${(median(r.p99) / 1000).toFixed(1)} µs`);
