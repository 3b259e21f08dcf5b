/**
 * GeneratorThread: a TrafficGenerator in its own worker_thread, so a run that sends and receives
 * in one process (`afxdp demo`) measures the receive path, not a sender sharing its thread, and
 * `afxdp gen` sends from a thread that does nothing else. The worker opens the generator
 * (entering the namespace on its own thread) and says so (`ready`, with the bind mode), then
 * waits for start() — so the process can drop root in between —, sends with sendSync() (the
 * loop never yields: no event-loop turn, no garbage collection during the run), and closes; the
 * main thread reads the running count from shared memory, stops the worker through a shared
 * cell (the loop checks it between batches), and gets the result (or the error) in one message.
 */
import { Worker, workerData, parentPort } from 'node:worker_threads';
import { AfxdpError } from '../errors.js';
import { collectGarbage } from '../sys/gc.js';
import { markWorkThread } from '../sys/sched.js';
import { native } from '../native.js';
import { TrafficGenerator, type GeneratorOptions, type SendOptions } from './generator.js';

/** marks GeneratorThread's own workerData: other workers (the receiver's) import this module too */
const KIND = 'afxdp-generator-thread';

interface ThreadData {
  kind: typeof KIND;
  opts: Omit<GeneratorOptions, 'progress'>;
  count: number;
  rate: number;
  /** Float64Array [0]: sent so far; then Int32Array [2]: stop (non-zero: stop sending) */
  shared: SharedArrayBuffer;
}

/** What the worker's sender reports at the end (besides the count). */
export interface GeneratorResult {
  sent: number;
  /** from the first batch to the last completion, measured in the worker */
  seconds: number;
  /** descriptors the kernel refused (XDP statistics of the socket) */
  txInvalidDescs: number;
}

type Ready = { ready: { bind: 'copy' | 'zerocopy'; sg: boolean; tid: number } };
type Done = GeneratorResult | { error: { code: AfxdpError['code']; message: string; hint?: string; errno?: number } };
type Message = Ready | Done;

const STOP = 2; // Int32 index of the stop cell, after the Float64 count

export class GeneratorThread {
  /** resolves once the worker's socket is open (it sends nothing before start()); rejects like done */
  readonly ready: Promise<void>;
  /** resolves with the number of frames sent once all of them completed */
  readonly done: Promise<number>;
  /** resolves with the whole result once all frames completed; rejects like done */
  readonly result: Promise<GeneratorResult>;
  /** after ready: the bind mode that took effect and whether frames go out as multi-buffer chains */
  bindMode: 'copy' | 'zerocopy' | null = null;
  sg = false;
  private readonly shared = new SharedArrayBuffer(16);
  private readonly progress = new Float64Array(this.shared, 0, 1);
  private readonly stopCell = new Int32Array(this.shared);
  private readonly worker: Worker;

  constructor(opts: Omit<GeneratorOptions, 'progress'>, send: SendOptions) {
    const data: ThreadData = { kind: KIND, opts, count: send.count, rate: send.rate, shared: this.shared };
    this.worker = new Worker(new URL(import.meta.url), { workerData: data, name: `afxdp-tx-q${opts.queue ?? 0}` });
    const stop = (): void => this.stop();
    send.signal?.addEventListener('abort', stop, { once: true });
    let isReady: () => void = () => undefined;
    this.ready = new Promise<void>((resolve) => (isReady = resolve));
    this.result = new Promise<GeneratorResult>((resolve, reject) => {
      this.worker.on('message', (m: Message) => {
        if ('ready' in m) {
          // a sender works for the run: lowered no further than SCHED_BATCH while a receiver runs first
          const unmark = markWorkThread(m.ready.tid);
          this.worker.once('exit', unmark);
          this.bindMode = m.ready.bind;
          this.sg = m.ready.sg;
          isReady();
        } else if ('sent' in m) resolve(m);
        else reject(new AfxdpError(m.error.code, m.error.message, { hint: m.error.hint, errno: m.error.errno }));
      });
      this.worker.once('error', (e) => reject(new AfxdpError('ESTATE', `the sending worker failed: ${e.message}`, { cause: e })));
      this.worker.once('exit', () => reject(new AfxdpError('ESTATE', 'the sending worker ended without a result')));
    }).finally(() => send.signal?.removeEventListener('abort', stop));
    this.done = this.result.then((r) => r.sent);
    // a worker that fails before it is ready fails `ready` too
    this.ready = Promise.race([this.ready, this.done.then(() => undefined)]);
    this.ready.catch(() => undefined); // the same failure reaches whoever awaits done
    this.result.catch(() => undefined);
  }

  /** Lets the worker send (after ready). */
  start(): void {
    this.worker.postMessage('start');
  }

  /** Stops sending early (the worker drains its completions and reports what it sent). */
  stop(): void {
    Atomics.store(this.stopCell, STOP, 1);
    Atomics.notify(this.stopCell, STOP); // wakes a paced sender's sleep
    this.worker.postMessage('stop'); // not started yet: it reports 0
  }

  /** frames handed to the kernel so far */
  get sent(): number {
    return this.progress[0]!;
  }

  /** Ends the worker (its socket is closed by then, or by the process's exit). */
  close(): void {
    void this.worker.terminate();
  }
}

async function run(d: ThreadData): Promise<Done> {
  const stopCell = new Int32Array(d.shared);
  let go: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (go = resolve));
  parentPort!.on('message', (m) => {
    if (m === 'stop' || m === 'start') go();
  });
  let gen: TrafficGenerator | undefined;
  try {
    gen = TrafficGenerator.open({ ...d.opts, progress: new Float64Array(d.shared, 0, 1) });
    gen.rehearse();
    collectGarbage(); // what the rehearsal's interpreted batches left behind, before the clock starts
    parentPort!.postMessage({ ready: { bind: gen.socket.bindMode, sg: gen.socket.sg, tid: native().threadId() } } satisfies Ready);
    await started;
    const t0 = process.hrtime.bigint();
    const sent = Atomics.load(stopCell, STOP) !== 0 ? 0 : gen.sendSync({ count: d.count, rate: d.rate, stop: stopCell.subarray(STOP) });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { sent, seconds, txInvalidDescs: gen.socket.statistics().tx_invalid_descs };
  } catch (e) {
    const a = e as AfxdpError;
    return { error: { code: a.code ?? 'ESYS', message: a.message ?? String(e), hint: a.hint, errno: a.errno } };
  } finally {
    gen?.close();
  }
}

// Only as the worker GeneratorThread starts (importing this module runs nothing).
if ((workerData as ThreadData | null)?.kind === KIND) {
  void run(workerData as ThreadData).then((m) => {
    parentPort!.postMessage(m);
    parentPort!.close();
  });
}
