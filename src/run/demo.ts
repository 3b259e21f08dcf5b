/**
 * `afxdp demo` as a library call: build a private lab (two namespaces + veth), run the pipeline
 * (run/pipeline.ts) on the receiving end while the other end sends test traffic, report, and tear
 * everything down — on success, on error and on abort.
 */
import { Lab } from '../lab/lab.js';
import { TrafficGenerator, type SendOptions } from '../lab/generator.js';
import { GeneratorThread } from '../lab/generator-thread.js';
import { runPipeline } from './pipeline.js';
import type { Report } from '../report/report.js';
import { checkStampObject } from '../xdp/stamp-program.js';
import { runPingDemo, checkPingOptions } from './ping-demo.js';
import { demoReceiverOptions, type DemoOptions } from './demo-options.js';

export type { DemoOptions };

export async function runDemo(opts: DemoOptions = {}): Promise<Report> {
  const packets = opts.packets ?? 10000;
  const rate = opts.rate ?? 10000;
  const queues = opts.queues ?? 1;
  const log = opts.log ?? (() => {});
  // a user object afxdp cannot use is refused before anything is built
  if (opts.ping) checkPingOptions(opts);
  if (opts.program !== undefined) checkStampObject(opts.program, opts.xskmap);
  const lab = await Lab.create({ queues });
  try {
    if (opts.ping) return await runPingDemo(lab, opts, packets, rate, log);
    const runId = (Math.random() * 0xffffffff) >>> 0;
    const gens: Sender[] = [];
    try {
      const { report, error } = await runPipeline({
        receiver: {
          ifname: lab.rx.ifname,
          netnsFd: lab.rx.netns.fd,
          queues: Array.from({ length: queues }, (_, i) => i),
          ...demoReceiverOptions(opts),
          poll: opts.poll ?? 'event',
          clock: opts.clock ?? 'monotonic',
          senderRunId: runId,
          program: opts.program,
          xskmap: opts.xskmap,
        },
        outputs: { target: packets, ...opts.outputs },
        warmup: opts.warmup,
        signal: opts.signal,
        onMetrics: opts.onMetrics,
        onOpen: (rx) => log(`lab ${lab.id}: ${lab.tx.ifname} → ${lab.rx.ifname}, XDP ${rx.mode} mode, AF_XDP ${rx.bindMode} bind, ${rx.poll} poll, ${queues} queue${queues > 1 ? 's' : ''}, strategy ${rx.strategy}${opts.simulateNoMeta ? ' (simulating a driver without metadata)' : ''}, hints ${rx.hints ? 'on' : `off: ${rx.hintsOff}`}`),
        traffic: () => {
          // veth delivers on the RX queue numbered like the sender's TX queue: one generator per
          // queue; with txWorker each in its own worker, so the receiving thread only receives
          log(`sending ${packets} packets at ${rate === 0 ? 'full speed' : `${rate} pps`}${opts.txWorker ? ' from a worker thread per queue' : ''}`);
          const share = (q: number): number => Math.floor(packets / queues) + (q < packets % queues ? 1 : 0);
          for (let q = 0; q < queues; q++) {
            const g = { ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, queue: q, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, runId };
            const s = { count: share(q), rate: rate === 0 ? 0 : rate / queues, signal: opts.signal };
            gens.push(opts.txWorker ? new GeneratorThread(g, s) : inThread(TrafficGenerator.open(g), s));
          }
          let total: number | null = null;
          const done = Promise.all(gens.map((g) => g.done)).then((n) => (total = n.reduce((a, b) => a + b, 0)));
          return { done, sent: () => gens.reduce((a, g) => a + g.sent, 0), expected: () => total };
        },
      });
      if (error) throw error;
      return report;
    } finally {
      for (const g of gens) g.close();
    }
  } finally {
    await lab.destroy();
  }
}

/** One queue's sender, on this thread or in a worker (GeneratorThread). */
interface Sender {
  readonly done: Promise<number>;
  readonly sent: number;
  close(): void;
}

function inThread(g: TrafficGenerator, s: SendOptions): Sender {
  const done = g.send(s);
  return {
    done,
    get sent() {
      return g.sent;
    },
    close: () => g.close(),
  };
}
