/**
 * GeneratorThread: a TrafficGenerator in its own worker_thread, so a run that sends and receives
 * in one process (`afxdp demo`) measures the receive path, not a sender sharing its thread. The
 * worker opens the generator (entering the namespace on its own thread) and says so (`ready`),
 * then waits for start() — so the process can drop root in between —, sends, drains its
 * completions and closes; the main thread reads the running count from shared memory and gets
 * the final one (or the error) in one message.
 */
import { Worker, workerData, parentPort } from 'node:worker_threads';
import { AfxdpError } from '../errors.js';
import { TrafficGenerator, type GeneratorOptions, type SendOptions } from './generator.js';

interface ThreadData {
  opts: Omit<GeneratorOptions, 'progress'>;
  count: number;
  rate: number;
  /** Float64Array: [0] sent so far */
  progress: SharedArrayBuffer;
}

type Done = { sent: number } | { error: { code: AfxdpError['code']; message: string; hint?: string; errno?: number } };
type Message = 'ready' | Done;

export class GeneratorThread {
  /** resolves once the worker's socket is open (it sends nothing before start()); rejects like done */
  readonly ready: Promise<void>;
  /** resolves with the number of frames sent once all of them completed */
  readonly done: Promise<number>;
  private readonly progress = new Float64Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;

  constructor(opts: Omit<GeneratorOptions, 'progress'>, send: SendOptions) {
    const data: ThreadData = { opts, count: send.count, rate: send.rate, progress: this.progress.buffer as SharedArrayBuffer };
    this.worker = new Worker(new URL(import.meta.url), { workerData: data, name: `afxdp-tx-q${opts.queue ?? 0}` });
    const stop = (): void => this.worker.postMessage('stop');
    send.signal?.addEventListener('abort', stop, { once: true });
    let isReady: () => void = () => undefined;
    this.ready = new Promise<void>((resolve) => (isReady = resolve));
    this.done = new Promise<number>((resolve, reject) => {
      this.worker.on('message', (m: Message) => {
        if (m === 'ready') isReady();
        else if ('sent' in m) resolve(m.sent);
        else reject(new AfxdpError(m.error.code, m.error.message, { hint: m.error.hint, errno: m.error.errno }));
      });
      this.worker.once('error', (e) => reject(new AfxdpError('ESTATE', `the sending worker failed: ${e.message}`, { cause: e })));
      this.worker.once('exit', () => reject(new AfxdpError('ESTATE', 'the sending worker ended without a result')));
    }).finally(() => send.signal?.removeEventListener('abort', stop));
    // a worker that fails before it is ready fails `ready` too
    this.ready = Promise.race([this.ready, this.done.then(() => undefined)]);
    this.ready.catch(() => undefined); // the same failure reaches whoever awaits done
  }

  /** Lets the worker send (after ready). */
  start(): void {
    this.worker.postMessage('start');
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
  const abort = new AbortController();
  let go: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (go = resolve));
  parentPort!.on('message', (m) => {
    if (m === 'stop') {
      abort.abort();
      go();
    } else if (m === 'start') go();
  });
  let gen: TrafficGenerator | undefined;
  try {
    gen = TrafficGenerator.open({ ...d.opts, progress: new Float64Array(d.progress) });
    parentPort!.postMessage('ready');
    await started;
    return { sent: await gen.send({ count: d.count, rate: d.rate, signal: abort.signal }) };
  } catch (e) {
    const a = e as AfxdpError;
    return { error: { code: a.code ?? 'ESYS', message: a.message ?? String(e), hint: a.hint, errno: a.errno } };
  } finally {
    gen?.close();
  }
}

// Only as the worker GeneratorThread starts (importing this module runs nothing).
if ((workerData as ThreadData | null)?.progress instanceof SharedArrayBuffer) {
  void run(workerData as ThreadData).then((m) => {
    parentPort!.postMessage(m);
    parentPort!.close();
  });
}
