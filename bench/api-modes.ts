/**
 * open()'s ways to receive side by side with the C `poll()` loop (rx_ref), on the same lab
 * traffic, each in its own process inside the receiving namespace, interleaved (the ways take
 * turns within each repeat): onBatch and `for await` in poll 'event' (Node's loop wakes the main
 * thread) and poll 'worker' (a worker per queue blocks in poll(2) and hands batches to the main
 * thread), a handler in poll 'worker' (user code in the receiving thread), and `afxdp latency`.
 * For each: CPU per packet of the whole process (every thread) and the latency from the XDP hook
 * to the moment the user's code has the packet (the callback, the loop body, the handler; C: its
 * loop) — p50, p99, p99.9 — as medians of the repeats, with TS ÷ C.
 *
 *   node dist/bench/api-modes.js [packets] [rate] [repeats]     (root; npm run bench:api)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Lab, TrafficGenerator } from '../src/entry/lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RX_REF = path.join(ROOT, 'build', 'bench', 'rx_ref');
/** the receivers are files of their own (a worker thread inherits a parent's -e), importing the built API by path */
const API = pathToFileURL(path.join(ROOT, 'dist', 'src', 'index.js')).href;
const RECEIVER_API = pathToFileURL(path.join(ROOT, 'dist', 'src', 'entry', 'receiver.js')).href;
const [N, RATE, REPS] = [Number(process.argv[2] ?? 100_000), Number(process.argv[3] ?? 20_000), Number(process.argv[4] ?? 3)];

/**
 * A receiver on the public API. The latency is taken where the user's code runs: the stamp's
 * XDP time (CLOCK_MONOTONIC, as process.hrtime) against hrtime when the callback / loop body has
 * the batch, per packet, into a LatencyRecorder (no allocation per packet).
 */
const receiver = (form: 'callback' | 'iterator', poll: 'event' | 'worker'): string => `
import { open } from ${JSON.stringify(API)};
import { LatencyRecorder } from ${JSON.stringify(RECEIVER_API)};
const s = open({ iface: process.argv[1], poll: '${poll}' });
const rec = new LatencyRecorder();
let n = 0;
let printed = false;
const cpu0 = process.cpuUsage();
const done = () => {
  if (printed) return; printed = true;
  const c = process.cpuUsage(cpu0);
  s.close();
  process.stdout.write(JSON.stringify({ received: n, cpu_ns: (c.user + c.system) * 1000, latency_ns: rec.summary() }));
};
process.once('SIGINT', done);
const take = (b) => {
  const now = Number(process.hrtime.bigint());
  for (let i = 0; i < b.length; i++) { const p = b.packet(i); if (p.flags !== 0) rec.record(now - (p.xdpTsHi * 4294967296 + p.xdpTsLo)); }
  n += b.length;
};
console.error('ready');
${form === 'callback' ? `s.onBatch((b) => { take(b); if (n >= ${N}) done(); });` : `for await (const b of s) { take(b); if (n >= ${N}) break; } done();`}`;

/** A handler that counts: its latency is the engine's (XDP → the receiving thread took the batch, right before the handler). */
const HANDLER = `export default function (batch, ctx) { ctx.counters[0] += batch.length; }\n`;
const handlerReceiver = (file: string): string => `
import { open } from ${JSON.stringify(API)};
const s = open({ iface: process.argv[1], handler: ${JSON.stringify(file)} });
const cpu0 = process.cpuUsage();
let printed = false;
const done = () => {
  if (printed) return; printed = true;
  const c = process.cpuUsage(cpu0);
  s.close();
  process.stdout.write(JSON.stringify({ received: s.stats().received, cpu_ns: (c.user + c.system) * 1000, latency_ns: s.latency() }));
};
process.once('SIGINT', done);
console.error('ready');
const t = setInterval(() => { if (s.stats().received >= ${N}) { clearInterval(t); done(); } }, 100);`;

interface Result {
  received: number;
  cpu_ns: number;
  latency_ns: { p50: number; p99: number; p999: number };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-api-modes-'));
const handlerFile = path.join(dir, 'count.mjs');
fs.writeFileSync(handlerFile, HANDLER);

/** a receiver's source as a module file of its own; its argv[2] is the interface */
function script(name: string, source: string): string {
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(file, source.replace('process.argv[1]', 'process.argv[2]'));
  return file;
}
const node = (file: string) => (ifn: string): string[] => [process.execPath, file, ifn];
const ways: Record<string, (ifname: string) => string[]> = {
  'C poll()': (ifn) => [RX_REF, '--iface', ifn, '--mode', 'poll', '--count', String(N)],
  'onBatch, event': node(script('onbatch-event', receiver('callback', 'event'))),
  'onBatch, worker': node(script('onbatch-worker', receiver('callback', 'worker'))),
  'for await, event': node(script('iterator-event', receiver('iterator', 'event'))),
  'for await, worker': node(script('iterator-worker', receiver('iterator', 'worker'))),
  'handler, worker': node(script('handler-worker', handlerReceiver(handlerFile))),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const load0 = os.loadavg();
const lab = await Lab.create();
const results: Record<string, Result[]> = {};
try {
  const names = Object.keys(ways);
  for (let rep = 0; rep < REPS; rep++) {
    // a rotating order: no way always runs first (or right after the same neighbour)
    for (const name of [...names.slice(rep % names.length), ...names.slice(0, rep % names.length)]) {
      const child = spawn('nsenter', ['-t', String(lab.rx.netns.pid), '-n', '--', ...ways[name]!(lab.rx.ifname)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const killer = setTimeout(() => child.kill('SIGINT'), 5_000); // packets lost: stop and report what arrived
      await closed;
      clearTimeout(killer);
      if (!out) {
        // a loaded machine can time a worker's start out: that repeat is lost, said, not hidden
        console.error(`rep ${rep} ${name}: no result (${err.trim().split('\n').find((l) => /Error|error/.test(l)) ?? 'nothing printed'})`);
        continue;
      }
      const j = JSON.parse(out) as Result;
      (results[name] ??= []).push(j);
      console.error(`rep ${rep} ${name}: ${j.received} packets, cpu ${Math.round(j.cpu_ns / j.received)} ns/pkt, p50 ${j.latency_ns.p50} p99 ${j.latency_ns.p99} p99.9 ${j.latency_ns.p999} ns`);
    }
  }
} finally {
  await lab.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}
const load1 = os.loadavg();
const med = (name: string, f: (r: Result) => number): number => (results[name] ? median(results[name]!.map(f)) : NaN);
const cols: Array<[string, (r: Result) => number]> = [
  ['CPU ns/pkt', (r) => r.cpu_ns / r.received],
  ['p50', (r) => r.latency_ns.p50],
  ['p99', (r) => r.latency_ns.p99],
  ['p99.9', (r) => r.latency_ns.p999],
];
console.log(`${N} packets at ${RATE} pps, ${REPS} runs each (interleaved; ${Object.entries(results).map(([k, v]) => `${k} ${v.length}`).join(', ')} with a result), medians, TS ÷ C; load average ${load0[0]!.toFixed(1)} → ${load1[0]!.toFixed(1)}`);
console.log(`| way | ${cols.map(([c]) => c).join(' | ')} |`);
console.log(`|---|${cols.map(() => '---').join('|')}|`);
for (const name of Object.keys(results)) {
  const cells = cols.map(([, f]) => {
    const v = med(name, f);
    const c = med('C poll()', f);
    const shown = f === cols[0]![1] ? Math.round(v).toString() : `${(v / 1000).toFixed(1)} µs`;
    return name === 'C poll()' ? shown : `${shown} (${(v / c).toFixed(2)})`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
// a way that never produced a result is a broken bench, not a figure: say so and fail
const missing = Object.keys(ways).filter((k) => (results[k]?.length ?? 0) === 0);
if (missing.length > 0) {
  console.error(`bench:api: no result for ${missing.join(', ')} (see the lines above)`);
  process.exitCode = 1;
}
