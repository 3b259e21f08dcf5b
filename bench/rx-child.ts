/**
 * The TypeScript receiver under test, as its own process so its CPU time is its own (the bench
 * starts it inside the lab's rx namespace with nsenter, like the C rx_ref). Same contract as
 * rx_ref: "ready" on stderr once attached, stops at --count packets or SIGINT/SIGTERM, prints one
 * JSON object on stdout. CPU (process.cpuUsage: every thread of the process) and heap are taken
 * from "ready" on, so setup is not counted.
 *
 *   node [--expose-gc] dist/bench/rx-child.js --iface IF --poll event|worker|busy [--count N] [--batch 64] [--busy-poll US]
 */
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import { LatencyReceiver, type PollMode } from '../src/rx/receiver.js';
import { waitForEnd } from '../src/run/session.js';

const { values } = parseArgs({
  options: {
    iface: { type: 'string' },
    poll: { type: 'string', default: 'event' },
    count: { type: 'string' },
    batch: { type: 'string', default: '64' },
    mode: { type: 'string', default: 'native' },
    'busy-poll': { type: 'string', default: '0' },
  },
});

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return v8.getHeapStatistics().used_heap_size;
}

const stop = new AbortController();
process.on('SIGINT', () => stop.abort());
process.on('SIGTERM', () => stop.abort());

const rx = await LatencyReceiver.open({
  ifname: values.iface!,
  poll: values.poll as PollMode,
  mode: values.mode as 'native' | 'generic',
  batchSize: Number(values.batch),
  busyPoll: Number(values['busy-poll']),
});
rx.start();
const heapStart = heapUsed();
const cpu0 = process.cpuUsage();
const faults0 = process.resourceUsage();
process.stderr.write('ready\n');
const count = values.count === undefined ? undefined : Number(values.count);
await waitForEnd(rx, { packets: count, signal: stop.signal });
const cpu = process.cpuUsage(cpu0);
const faults1 = process.resourceUsage();
await rx.close();
const heapEnd = heapUsed();
const s = rx.stats();
const summary = rx.summary();
process.stdout.write(
  JSON.stringify({
    received: s.received,
    meta_valid: s.metaValid,
    meta_invalid: s.metaInvalid,
    mode: values.poll,
    bind: rx.bindMode,
    batch: rx.batchSize,
    cpu_ns: (cpu.user + cpu.system) * 1000,
    // page faults of every thread while receiving (getrusage): is the steady loop touching new memory?
    page_faults: { minor: faults1.minorPageFault - faults0.minorPageFault, major: faults1.majorPageFault - faults0.majorPageFault },
    kernel: s.kernel,
    latency_ns: summary,
    heap: { main_start: heapStart, main_end: heapEnd, workers: rx.workerHeap() },
  }) + '\n',
);
