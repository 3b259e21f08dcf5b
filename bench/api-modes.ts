/**
 * open()'s ways to receive side by side with the C `poll()` loop (rx_ref), on the same lab
 * traffic, each in its own process inside the receiving namespace, interleaved (the ways take
 * turns within each repeat): onBatch and `for await` in poll 'event' (Node's loop wakes the main
 * thread) and poll 'worker' (a worker per queue blocks in poll(2) and hands batches to the main
 * thread), a handler in poll 'worker' (user code in the receiving thread), and `afxdp latency`.
 * For each: CPU per packet of the whole process (every thread) and the latency from the XDP hook
 * to the moment the user's code has the packet (the callback, the loop body, the handler; C: its
 * loop) — p50, p99, p99.9 — as medians of the repeats, with TS ÷ C. Every receiver prints
 * once and exits, also when stopped by SIGINT because packets were lost.
 *
 * Steady state: each run sends --warmup packets (default: two seconds' worth at the rate) before
 * the measured ones, and every way (C too) counts CPU, packets and latency only after it received
 * them — otherwise a 2-second run measures V8 compiling the wake-up path (TurboFan on its helper
 * threads was about a fifth of a Node receiver's CPU in such a run, and the per-batch functions
 * were still being compiled after 20000 packets at 50000 pps). --warmup 0 measures from the
 * first packet.
 *
 *   node dist/bench/api-modes.js [packets] [rate] [repeats] [--warmup N] [--only WAY[,WAY]] [--json FILE]     (root; npm run bench:api)
 *
 * --json FILE also writes the medians and TS ÷ C ratios as JSON (`npm run bench` takes its
 * `api_modes` section from it).
 *
 * --only runs a subset (names as in the table, e.g. --only 'C poll(),onBatch, event' or the
 * short names c, onbatch-event, onbatch-worker, iterator-event, iterator-worker, handler-worker).
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

/** the ways, by table name and short name (the receiver script's file name) */
const WAYS: ReadonlyArray<readonly [string, string]> = [
  ['C poll()', 'c'],
  ['onBatch, event', 'onbatch-event'],
  ['onBatch, worker', 'onbatch-worker'],
  ['for await, event', 'iterator-event'],
  ['for await, worker', 'iterator-worker'],
  ['handler, worker', 'handler-worker'],
];

/** [packets] [rate] [repeats] [--only WAY[,WAY]]; a bad argument is a one-line error */
function parseArgs(argv: string[]): { n: number; rate: number; reps: number; warmup: number; only: Set<string> | null; json: string | null } {
  const pos: string[] = [];
  let only: Set<string> | null = null;
  let json: string | null = null;
  let warmup = -1; // default: two seconds of traffic
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--warmup' || a.startsWith('--warmup=')) {
      const v = a === '--warmup' ? argv[++i] : a.slice('--warmup='.length);
      warmup = Number(v);
      if (v === undefined || v === '' || !Number.isInteger(warmup) || warmup < 0) fail(`--warmup must be a whole number of packets ≥ 0, got '${v ?? ''}'`);
    } else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (v === undefined || v === '') fail('--only needs a way name (or several, comma-separated)');
      only = new Set();
      // table names hold a comma ('onBatch, event'): match the longest names first
      let rest = v.trim();
      while (rest.length > 0) {
        const hit = WAYS.flatMap((w) => [...w]).sort((x, y) => y.length - x.length).find((name) => rest === name || rest.startsWith(`${name},`));
        if (hit === undefined) fail(`--only: unknown way '${rest.split(',')[0]!.trim()}'`);
        only.add(WAYS.find((w) => w.includes(hit))![0]);
        rest = rest.slice(hit.length).replace(/^,\s*/, '');
      }
    } else if (a === '--json' || a.startsWith('--json=')) {
      const v = a === '--json' ? argv[++i] : a.slice('--json='.length);
      if (v === undefined || v === '') fail('--json needs a file name');
      json = v;
    } else if (a.startsWith('-')) {
      fail(`unknown option ${a}`);
    } else {
      pos.push(a);
    }
  }
  if (pos.length > 3) fail(`too many arguments (${pos.join(' ')})`);
  const num = (i: number, def: number, what: string): number => {
    if (pos[i] === undefined) return def;
    const x = Number(pos[i]);
    if (!Number.isInteger(x) || x <= 0) fail(`${what} must be a whole number > 0, got '${pos[i]}'`);
    return x;
  };
  const rate = num(1, 20_000, 'rate');
  return { n: num(0, 100_000, 'packets'), rate, reps: num(2, 3, 'repeats'), warmup: warmup < 0 ? 2 * rate : warmup, only, json };
}

function fail(msg: string): never {
  console.error(`bench:api: ${msg}; usage: api-modes.js [packets] [rate] [repeats] [--warmup N] [--only WAY[,WAY]] [--json FILE], ways: ${WAYS.map((w) => w[1]).join(', ')}`);
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
const [N, RATE, REPS, WARM] = [args.n, args.rate, args.reps, args.warmup];

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
let warm = ${WARM} > 0;
let cpu0 = process.cpuUsage();
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
  // the warm-up's packets (the batch that reaches it included) are not measured
  if (warm && n >= ${WARM}) { warm = false; n = 0; rec.exclude(); cpu0 = process.cpuUsage(); }
};
console.error('ready');
${form === 'callback' ? `s.onBatch((b) => { take(b); if (n >= ${N}) done(); });` : `for await (const b of s) { take(b); if (n >= ${N}) break; } done();`}`;

/** A handler that counts: its latency is the engine's (XDP → the receiving thread took the batch, right before the handler). */
const HANDLER = `export default function (batch, ctx) { ctx.counters[0] += batch.length; }\n`;
const handlerReceiver = (file: string): string => `
import fs from 'node:fs';
import { open } from ${JSON.stringify(API)};
const s = open({ iface: process.argv[1], handler: ${JSON.stringify(file)} });
// each thread's CPU (ns, from schedstat): the main thread, the receive worker (the busiest other), the rest (V8's helpers)
const threads = () => Object.fromEntries(fs.readdirSync('/proc/self/task').map((t) => [t, Number(fs.readFileSync('/proc/self/task/' + t + '/schedstat', 'utf8').split(' ')[0])]));
let cpu0 = process.cpuUsage();
let th0 = threads();
let printed = false;
let t = null;
// the warm-up ends at the first look (every 100 ms) that sees it received
let base = ${WARM} > 0 ? -1 : 0;
const done = () => {
  if (printed) return; printed = true;
  const c = process.cpuUsage(cpu0);
  const th = threads();
  clearInterval(t); // stopped by SIGINT too: nothing may keep the process alive after it printed
  const latency = s.latency({ since: 'reset' });
  s.close();
  const used = Object.entries(th).map(([k, v]) => [k, v - (th0[k] ?? 0)]);
  const main = used.find(([k]) => k === String(process.pid))?.[1] ?? 0;
  const others = used.filter(([k]) => k !== String(process.pid)).map(([, v]) => v).sort((a, b) => b - a);
  const threads_ns = { main, worker: others[0] ?? 0, rest: others.slice(1).reduce((a, b) => a + b, 0) };
  process.stdout.write(JSON.stringify({ received: s.stats().received - Math.max(base, 0), cpu_ns: (c.user + c.system) * 1000, latency_ns: latency, threads_ns }));
};
process.once('SIGINT', done);
console.error('ready');
t = setInterval(() => {
  const r = s.stats().received;
  if (base < 0) { if (r >= ${WARM}) { base = r; s.resetLatency(); cpu0 = process.cpuUsage(); th0 = threads(); } }
  else if (r >= ${WARM} + ${N}) done(); // every packet sent arrived (the measured ones are those after base)
}, 100);`;

interface Result {
  received: number;
  cpu_ns: number;
  /** the handler way: CPU of the main thread, the receive worker and the other threads (V8's) */
  threads_ns?: { main: number; worker: number; rest: number };
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
const sources: Record<string, () => string> = {
  'onbatch-event': () => receiver('callback', 'event'),
  'onbatch-worker': () => receiver('callback', 'worker'),
  'iterator-event': () => receiver('iterator', 'event'),
  'iterator-worker': () => receiver('iterator', 'worker'),
  'handler-worker': () => handlerReceiver(handlerFile),
};
const ways: Record<string, (ifname: string) => string[]> = {};
for (const [name, short] of WAYS) {
  if (args.only !== null && !args.only.has(name)) continue;
  ways[name] = short === 'c' ? (ifn) => [RX_REF, '--iface', ifn, '--mode', 'poll', '--warmup', String(WARM), '--count', String(N)] : node(script(short, sources[short]!()));
}

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
      await gen.send({ count: WARM + N, rate: RATE });
      gen.close();
      // packets lost: stop it and report what arrived; a receiver that still does not exit is a bug, said and ended
      let hung = false;
      const killer = setTimeout(() => child.kill('SIGINT'), 5_000);
      const reaper = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, 10_000);
      await closed;
      clearTimeout(killer);
      clearTimeout(reaper);
      if (hung) err += `\nerror: ${name} did not exit 5 s after SIGINT`;
      if (!out) {
        // a loaded machine can time a worker's start out: that repeat is lost, said, not hidden
        console.error(`rep ${rep} ${name}: no result (${err.trim().split('\n').find((l) => /Error|error/.test(l)) ?? 'nothing printed'})`);
        continue;
      }
      const j = JSON.parse(out) as Result;
      (results[name] ??= []).push(j);
      const th = j.threads_ns ? ` (main ${Math.round(j.threads_ns.main / j.received)}, worker ${Math.round(j.threads_ns.worker / j.received)}, other threads ${Math.round(j.threads_ns.rest / j.received)})` : '';
      console.error(`rep ${rep} ${name}: ${j.received} packets, cpu ${Math.round(j.cpu_ns / j.received)} ns/pkt${th}, p50 ${j.latency_ns.p50} p99 ${j.latency_ns.p99} p99.9 ${j.latency_ns.p999} ns`);
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
console.log(`${N} packets at ${RATE} pps after ${WARM} unmeasured, ${REPS} runs each (interleaved; ${Object.entries(results).map(([k, v]) => `${k} ${v.length}`).join(', ')} with a result), medians, TS ÷ C; load average ${load0[0]!.toFixed(1)} → ${load1[0]!.toFixed(1)}`);
console.log(`| way | ${cols.map(([c]) => c).join(' | ')} |`);
console.log(`|---|${cols.map(() => '---').join('|')}|`);
for (const name of Object.keys(results)) {
  const cells = cols.map(([, f]) => {
    const v = med(name, f);
    const c = med('C poll()', f);
    const shown = f === cols[0]![1] ? Math.round(v).toString() : `${(v / 1000).toFixed(1)} µs`;
    return name === 'C poll()' || Number.isNaN(c) ? shown : `${shown} (${(v / c).toFixed(2)})`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
if (args.json !== null) {
  const ratio = (name: string, f: (r: Result) => number): number | null => {
    const c = med('C poll()', f);
    return name === 'C poll()' || !(c > 0) ? null : Math.round((med(name, f) / c) * 100) / 100;
  };
  const out = {
    packets: N,
    rate_pps: RATE,
    warmup_packets: WARM,
    repeats: REPS,
    loadavg: [load0[0], load1[0]].map((x) => Math.round(x! * 100) / 100),
    ways: Object.fromEntries(
      Object.keys(results).map((name) => [
        WAYS.find((w) => w[0] === name)![1],
        {
          name,
          runs: results[name]!.length,
          cpu_ns_per_packet: Math.round(med(name, cols[0]![1])),
          latency_ns: { p50: med(name, cols[1]![1]), p99: med(name, cols[2]![1]), p999: med(name, cols[3]![1]) },
          vs_c: name === 'C poll()' ? null : { cpu: ratio(name, cols[0]![1]), p50: ratio(name, cols[1]![1]), p99: ratio(name, cols[2]![1]), p999: ratio(name, cols[3]![1]) },
          ...(results[name]!.every((r) => r.threads_ns)
            ? { threads_ns_per_packet: { main: Math.round(med(name, (r) => r.threads_ns!.main / r.received)), worker: Math.round(med(name, (r) => r.threads_ns!.worker / r.received)), rest: Math.round(med(name, (r) => r.threads_ns!.rest / r.received)) } }
            : {}),
        },
      ]),
    ),
  };
  fs.writeFileSync(args.json, JSON.stringify(out, null, 2) + '\n');
}
// a way that never produced a result is a broken bench, not a figure: say so and fail
const missing = Object.keys(ways).filter((k) => (results[k]?.length ?? 0) === 0);
if (missing.length > 0) {
  console.error(`bench:api: no result for ${missing.join(', ')} (see the lines above)`);
  process.exitCode = 1;
}
