/**
 * afxdp's receiver as a process of its own, so its CPU time is its own: `afxdp calibrate` and
 * `npm run bench` start it next to the C reference receiver (rx_ref) and hand both the same
 * traffic. Same contract as rx_ref: "ready" on stderr once attached, stops at --count packets or
 * SIGINT/SIGTERM, prints one JSON object on stdout. CPU (process.cpuUsage: every thread of the
 * process) and heap are taken from "ready" on, so setup is not counted.
 *
 *   node dist/src/run/rx-child.js --iface IF [--netns PATH] --poll event|worker|busy [--count N]
 *        [--batch 64] [--mode native|generic] [--busy-poll US] [--sched receiver-first|off] [--rt]
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { LatencyReceiver, type PollMode, type SchedChoice } from '../rx/receiver.js';
import { waitForEnd } from './session.js';

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return v8.getHeapStatistics().used_heap_size;
}

export async function rxChild(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      iface: { type: 'string' },
      netns: { type: 'string' },
      poll: { type: 'string', default: 'event' },
      count: { type: 'string' },
      batch: { type: 'string', default: '64' },
      mode: { type: 'string', default: 'native' },
      'busy-poll': { type: 'string', default: '0' },
      sched: { type: 'string', default: 'receiver-first' },
      rt: { type: 'boolean', default: false },
    },
  });
  const stop = new AbortController();
  process.on('SIGINT', () => stop.abort());
  process.on('SIGTERM', () => stop.abort());
  const netnsFd = values.netns === undefined ? undefined : fs.openSync(values.netns, 'r');
  const rx = LatencyReceiver.open({
    ifname: values.iface!,
    netnsFd,
    poll: values.poll as PollMode,
    mode: values.mode as 'native' | 'generic',
    batchSize: Number(values.batch),
    busyPoll: Number(values['busy-poll']),
    sched: values.sched as SchedChoice,
    rt: values.rt,
    // this process ends with the run
    schedUntilExit: true,
  });
  if (netnsFd !== undefined) fs.closeSync(netnsFd);
  rx.start();
  const heapStart = heapUsed();
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage();
  process.stderr.write('ready\n');
  const count = values.count === undefined ? undefined : Number(values.count);
  await waitForEnd(rx, { packets: count, signal: stop.signal });
  const cpu = process.cpuUsage(cpu0);
  const faults1 = process.resourceUsage();
  const sched = rx.tuning().sched;
  rx.close();
  const heapEnd = heapUsed();
  const s = rx.stats();
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
      latency_ns: rx.summary(),
      heap: { main_start: heapStart, main_end: heapEnd, workers: rx.workerHeap() },
      sched,
    }) + '\n',
  );
}

// run as a script (not when imported)
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  await rxChild(process.argv.slice(2));
}
