/**
 * The TypeScript l2fwd under test (afxdp's handler mode running examples/l2fwd-handler.forward:
 * swap the Ethernet addresses, ctx.forward every packet), as its own process so its CPU time is
 * its own; the counterpart of `rx_ref --l2fwd 1`. Same contract: "ready" on stderr once attached,
 * stops at --count packets or SIGINT/SIGTERM, prints one JSON object on stdout. CPU is every
 * thread of the process from "ready" on.
 *
 *   node dist/bench/l2fwd-child.js --iface IF [--poll worker|busy] [--count N]
 */
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
const cpu0 = process.cpuUsage();
process.stderr.write('ready\n');
const count = values.count === undefined ? Infinity : Number(values.count);
// the main thread only looks now and then: its wake-ups are in the CPU figure too
while (!stop.signal.aborted && sock.stats().received < count && sock.error === null) await new Promise((r) => setTimeout(r, 50));
const cpu = process.cpuUsage(cpu0);
sock.close();
const s = sock.stats();
process.stdout.write(
  JSON.stringify({
    received: s.received,
    forwarded: s.forwarded,
    mode: values.poll,
    bind: sock.bind,
    cpu_ns: (cpu.user + cpu.system) * 1000,
    kernel: s.kernel,
    latency_ns: sock.latency(),
    error: sock.error?.message ?? null,
  }) + '\n',
);
