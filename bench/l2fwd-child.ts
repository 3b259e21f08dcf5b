/**
 * The TypeScript l2fwd under test (afxdp's handler mode running examples/l2fwd-handler.forward:
 * swap the Ethernet addresses, ctx.forward every packet), as its own process so its CPU time is
 * its own; the counterpart of `rx_ref --l2fwd 1`. Same contract: "ready" on stderr once attached,
 * stops at --count packets or SIGINT/SIGTERM, prints one JSON object on stdout. CPU is every
 * thread of the process from "ready" on.
 *
 *   node dist/bench/l2fwd-child.js --iface IF [--poll worker|busy] [--count N]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { open } from '../src/index.js';

const { values } = parseArgs({
  options: {
    iface: { type: 'string' },
    poll: { type: 'string', default: 'worker' },
    count: { type: 'string' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const stop = new AbortController();
process.on('SIGINT', () => stop.abort());
process.on('SIGTERM', () => stop.abort());

const sock = open({ iface: values.iface!, poll: values.poll as 'worker' | 'busy', mode: 'native', handler: path.join(here, '..', 'examples', 'l2fwd-handler.forward.js') });
// the threads' CPU is read outside the measured window
const threads0 = threadCpu();
const cpu0 = process.cpuUsage();
process.stderr.write('ready\n');
const count = values.count === undefined ? Infinity : Number(values.count);
// the main thread only looks now and then (5 times a second): its wake-ups are in the CPU figure
// too, and they are the harness's, not the forwarder's (the C loop checks its count for free);
// at 20 looks a second they were about 30 ms of the main thread's CPU per 3 s at 50 kpps
while (!stop.signal.aborted && sock.stats().received < count && sock.error === null) await new Promise((r) => setTimeout(r, 200));
const cpu = process.cpuUsage(cpu0);
const threads = threadCpu().map((t) => {
  const t0 = threads0.find((x) => x.tid === t.tid);
  return { name: t.name, user_ms: t.user_ms - (t0?.user_ms ?? 0), sys_ms: t.sys_ms - (t0?.sys_ms ?? 0) };
});
sock.close();
const s = sock.stats();
process.stdout.write(
  JSON.stringify({
    received: s.received,
    forwarded: s.forwarded,
    meta_valid: s.metaValid,
    meta_invalid: s.metaInvalid,
    by_strategy: s.byStrategy,
    mode: values.poll,
    bind: sock.bind,
    cpu_ns: (cpu.user + cpu.system) * 1000,
    cpu_user_ns: cpu.user * 1000,
    cpu_sys_ns: cpu.system * 1000,
    threads,
    kernel: s.kernel,
    latency_ns: sock.latency(),
    error: sock.error?.message ?? null,
  }) + '\n',
);

/**
 * CPU time of each thread of this process since it started (utime, stime in ms, from
 * /proc/self/task/N/stat; 10 ms ticks): which threads the process's CPU figure is made of.
 */
function threadCpu(): Array<{ tid: string; name: string; user_ms: number; sys_ms: number }> {
  const out: Array<{ tid: string; name: string; user_ms: number; sys_ms: number }> = [];
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      // comm may hold spaces: the fields after it start past the last ')'
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ tid: t, name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), user_ms: Number(f[11]) * 10, sys_ms: Number(f[12]) * 10 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
