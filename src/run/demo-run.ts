/**
 * One one-way demo run on a lab that exists: the pipeline (run/pipeline.ts) on the receiving end
 * while the generators send from the other. `afxdp demo` runs it once; the kernel-stack
 * comparison (run/compare-stack.ts) once per stack receiver, on the same lab.
 */
import type { Lab } from '../lab/lab.js';
import { TrafficGenerator, type SendOptions } from '../lab/generator.js';
import { GeneratorThread } from '../lab/generator-thread.js';
import { runPipeline, type PipelineOptions, type LatencyRunResult, type Traffic } from './pipeline.js';
import type { LatencyReceiver } from '../rx/receiver.js';
import { demoReceiverOptions, type DemoOptions } from './demo-options.js';

/** What a caller adds to a plain demo run. */
export interface DemoRunExtras {
  /** every Nth matched frame to the kernel stack (ReceiverOptions.stackEvery) */
  stackEvery?: number;
  /** frame size of the generators (default theirs) */
  size?: number;
  /** turns the generators' traffic into what the run waits for (e.g. less what went to the stack) */
  traffic?: (t: Traffic, rx: LatencyReceiver) => Traffic;
  onOpen?: (rx: LatencyReceiver) => void;
  amend?: PipelineOptions['amend'];
}

export async function runDemoOnLab(lab: Lab, opts: DemoOptions, x: DemoRunExtras = {}): Promise<LatencyRunResult> {
  const packets = opts.packets ?? 10000;
  const rate = opts.rate ?? 10000;
  const queues = opts.queues ?? 1;
  const log = opts.log ?? (() => {});
  const runId = (Math.random() * 0xffffffff) >>> 0;
  const gens: Sender[] = [];
  try {
    return await runPipeline({
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
        ...(x.stackEvery ? { stackEvery: x.stackEvery } : {}),
      },
      outputs: { target: packets, ...opts.outputs },
      expectedS: rate > 0 ? packets / rate : undefined,
      warmup: opts.warmup,
      signal: opts.signal,
      onMetrics: opts.onMetrics,
      onOpen: (rx) => {
        if (rx.fragsNote) log(rx.fragsNote);
        log(`lab ${lab.id}: ${lab.driver === 'tap' ? `writer of the tap's fd → tap ${lab.rx.ifname}` : `${lab.tx.ifname} → ${lab.rx.ifname}`}${lab.mtu !== 1500 ? ` (MTU ${lab.mtu})` : ''}, XDP ${rx.mode} mode, AF_XDP ${rx.bindMode} bind${rx.sg ? ' (multi-buffer)' : ''}, ${rx.poll} poll, ${queues} queue${queues > 1 ? 's' : ''}, strategy ${rx.strategy}${opts.simulateNoMeta ? ' (simulating a driver without metadata)' : ''}, hints ${rx.hints ? 'on' : `off: ${rx.hintsOff}`}`);
        x.onOpen?.(rx);
      },
      // the senders' sockets are opened while still privileged (before a privilege drop)
      prepare: async () => {
        // veth delivers on the RX queue numbered like the sender's TX queue, a tap on its fd's
        // queue: one generator per queue; with txWorker each in its own worker, so the receiving thread only receives
        const share = (q: number): number => Math.floor(packets / queues) + (q < packets % queues ? 1 : 0);
        for (let q = 0; q < queues; q++) {
          const g = { ...lab.senderOptions(q), runId, size: x.size ?? opts.size, frameSize: opts.frameSize };
          const s = { count: share(q), rate: rate === 0 ? 0 : rate / queues, signal: opts.signal };
          gens.push(opts.txWorker ? new GeneratorThread(g, s) : inThread(TrafficGenerator.open(g), s));
        }
        await Promise.all(gens.map((g) => g.ready));
      },
      dropPrivileges: opts.dropPrivileges,
      traffic: (rx) => {
        log(`sending ${packets} packets at ${rate === 0 ? 'full speed' : `${rate} pps`}${opts.txWorker ? ' from a worker thread per queue' : ''}`);
        for (const g of gens) g.start();
        let total: number | null = null;
        const done = Promise.all(gens.map((g) => g.done)).then((n) => (total = n.reduce((a, b) => a + b, 0)));
        const t: Traffic = { done, sent: () => gens.reduce((a, g) => a + g.sent, 0), expected: () => total };
        return x.traffic ? x.traffic(t, rx) : t;
      },
      amend: x.amend,
    });
  } finally {
    for (const g of gens) g.close();
  }
}

/** One queue's sender, on this thread or in a worker (GeneratorThread): opened, then started. */
interface Sender {
  readonly ready: Promise<void>;
  start(): void;
  readonly done: Promise<number>;
  readonly sent: number;
  close(): void;
}

function inThread(g: TrafficGenerator, s: SendOptions): Sender {
  let begin: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (begin = resolve));
  return {
    ready: Promise.resolve(),
    start: begin,
    done: started.then(() => g.send(s)),
    get sent() {
      return g.sent;
    },
    close: () => g.close(),
  };
}
