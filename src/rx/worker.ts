/**
 * A receive worker: one worker_thread per queue running the same RxEngine as the main thread.
 * Started by rx/receiver.ts (the one setup path); not an API of its own.
 *
 * The worker creates its AF_XDP socket itself (setns is per thread, so it enters the interface's
 * namespace on its own thread), rehearses the engine on synthetic packets, says "ready" with the fd
 * through shared memory (the main thread waits synchronously, puts the fd in the XSKMAP and
 * attaches the program), then receives until told to stop: poll 'worker' sleeps in poll(2)
 * whenever the ring is empty (the C poll loop's shape: one system call per wake-up, no event
 * loop), poll 'busy' spins on the ring. Results go through SharedArrayBuffers — counters, HdrHistogram buckets
 * and, when the main thread needs the packets, a BatchChannel — never per-packet messages.
 */
import { workerData, parentPort } from 'node:worker_threads';
import v8 from 'node:v8';
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../sys/netns.js';
import { XskSocket, type BindModeOption, type AdoptedSocket } from '../xsk/socket.js';
import { BucketWriter } from '../measure/recorder.js';
import { RxEngine, REHEARSAL_PACKETS, type EngineConfig } from './engine.js';
import { collectGarbage } from '../sys/gc.js';
import { tuneThisThread, type ThreadTuning } from '../sys/thread.js';
import { BatchChannel, type ChannelShape } from './channel.js';
import { C_HEAP_START, C_HEAP_END, C_IDLE_KICKS, C_POLL_WAITS, C_BUSY_POLLS } from './counts.js';
import type { HandlerSpec, HandlerHost } from './handler.js';
import { Outbox, type OutboxShape } from './outbox.js';

export interface WorkerData {
  ifname: string;
  netnsFd: number | undefined;
  bind: BindModeOption;
  ringSize: number;
  frameCount: number;
  frameSize: number;
  /** bind with XDP_USE_SG */
  sg: boolean;
  batchSize: number;
  trackFrames: boolean;
  /** poll 'worker': block in poll(2) while the ring is empty (else spin) */
  block: boolean;
  /** SO_BUSY_POLL µs for the socket (0 = off): an empty ring then runs the driver's NAPI here */
  busyPoll: number;
  /** --cpu / --rt for this worker's thread */
  tuning: ThreadTuning;
  config: EngineConfig;
  /** Int32Array of CTL_* words */
  ctl: SharedArrayBuffer;
  /** JSON of the setup error, when CTL_READY is READY_ERROR */
  error: SharedArrayBuffer;
  /** the queue's counter slots (rx/counts.ts) */
  counts: SharedArrayBuffer;
  /** XDP_STATISTICS at stop: 6 doubles */
  kernel: SharedArrayBuffer;
  /** recorder states (RECORDER_BYTES each); null: segment not measured */
  recorders: { xdpToUser: SharedArrayBuffer; senderToXdp: SharedArrayBuffer | null; hwToXdp: SharedArrayBuffer | null };
  /** the batches for the main thread, or null when it only needs the numbers */
  channel: { buffer: SharedArrayBuffer; shape: ChannelShape } | null;
  /** a broker's client: the socket the broker made (fds are process-wide), adopted instead of created */
  adopt: { socket: AdoptedSocket; ifindex: number } | null;
  /** handler mode: the user's module and the host that runs it (rx/handler.ts); null: none */
  handler: HandlerSpec | null;
  /** handler mode: the handler's own counters (HANDLER_COUNTERS doubles) */
  handlerCounters: SharedArrayBuffer | null;
  /** TX ring entries (handler mode: forward and send on this socket; send() on the main thread); 0 = receive only */
  txRingSize: number;
  /** the frames the main thread's send() hands this worker (rx/outbox.ts), and the eventfd that wakes it; null: none */
  outbox: { buffer: SharedArrayBuffer; shape: OutboxShape; wakeFd: number } | null;
}

/** What a worker posts to the main thread after setup: only an error that ended its receiving. */
export interface WorkerMessage {
  error: { code: AfxdpError['code']; message: string; hint?: string; errno?: number };
}

// ctl words
export const CTL_STATE = 0;
export const CTL_READY = 1;
export const CTL_FD = 2;
export const CTL_ZEROCOPY = 3;
/** the worker thread's kernel id (the scheduling policy of the run keeps it as it is) */
export const CTL_TID = 4;
export const CTL_LEN = 5;
export const STATE_RUNNING = 0;
export const STATE_STOP = 1;
export const STATE_STOPPED = 2;
export const READY_WAITING = 0;
export const READY_OK = 1;
export const READY_ERROR = 2;
export const ERROR_BYTES = 4096;
/** poll 'worker': the longest a blocked worker takes to see the stop word */
const STOP_CHECK_MS = 20;

/** The isolate's live heap, after a collection (so garbage does not count as growth). */
function heapUsed(): number {
  collectGarbage();
  return v8.getHeapStatistics().used_heap_size;
}

function errorJson(e: unknown): WorkerMessage['error'] {
  const a = e as AfxdpError;
  return { code: a.code ?? 'ESYS', message: a.message ?? String(e), hint: a.hint, errno: a.errno };
}

function fail(d: WorkerData, ctl: Int32Array, e: unknown): void {
  const json = JSON.stringify(errorJson(e));
  new TextEncoder().encodeInto(json.slice(0, ERROR_BYTES / 4), new Uint8Array(d.error));
  Atomics.store(ctl, CTL_READY, READY_ERROR);
  Atomics.notify(ctl, CTL_READY);
}

/**
 * One turn of a worker's receive loop: a batch if one is ready, else (poll 'worker') a sleep in
 * poll(2) until the socket is readable or STOP_CHECK_MS pass, or (poll 'busy') another look.
 * A method rather than the body of run()'s loop so that V8 compiles it like any hot function —
 * and the rehearsal can run it — instead of replacing run() on the stack in the middle of traffic.
 */
class ReceiveLoop {
  /** how long an idle turn sleeps in poll(2) (the rehearsal sets 0) */
  waitMs = STOP_CHECK_MS;
  private idle = 0;
  private readonly sock: XskSocket;
  private readonly fd: number;
  private readonly pollWait: (fd: number, timeoutMs: number) => number;
  private readonly pollWaitWake: (fd: number, wakeFd: number, timeoutMs: number) => number;

  constructor(
    private readonly engine: RxEngine,
    private readonly ctl: Int32Array,
    private readonly counts: Float64Array,
    /** poll 'worker': sleep in poll(2) while the ring is empty (else spin) */
    private readonly block: boolean,
    /** SO_BUSY_POLL is set: an empty ring first runs the driver's NAPI here */
    private readonly busyPoll: boolean,
    /** frames the main thread sends on this socket, or null */
    private readonly outbox: Outbox | null,
  ) {
    this.sock = engine.socket;
    this.fd = engine.socket.fd;
    this.pollWait = native().pollWait;
    this.pollWaitWake = native().pollWaitWake;
  }

  /** Returns false once the main thread asked this worker to stop. */
  turn(): boolean {
    const engine = this.engine;
    const counts = this.counts;
    const ob = this.outbox;
    // the owning thread sends what the main thread's send() handed over
    if (ob !== null && ob.pending()) ob.drainInto(this.sock);
    let n = engine.pollOnce();
    if (n === 0 && this.busyPoll) {
      // recvfrom on the empty ring: the kernel runs the driver's NAPI in this thread (up to
      // SO_BUSY_POLL µs) and the ring may hold packets right after
      this.sock.kickRx();
      counts[C_BUSY_POLLS]++;
      n = engine.pollOnce();
    }
    if (n > 0) {
      this.idle = 0;
      return Atomics.load(this.ctl, CTL_STATE) === STATE_RUNNING; // one load per batch: stops under load too
    }
    if (this.block) {
      if (!this.idleCheck()) return false;
      counts[C_POLL_WAITS]++;
      let r: number;
      if (ob === null) r = this.pollWait(this.fd, this.waitMs);
      else if (ob.asleep(true)) r = 0; // a frame came in meanwhile: no sleep
      else r = this.pollWaitWake(this.fd, ob.wakeFd, this.waitMs);
      ob?.asleep(false);
      if (r < 0) throw new AfxdpError('ESYS', `poll() on the AF_XDP socket of queue ${engine.config.queue} failed`, { errno: -r });
      return true;
    }
    // Spinning: the stop word costs an atomic load, so it is read only now and then while idle
    // (a burst is always drained first). With need_wakeup the kernel may ask for a kick to refill.
    if ((++this.idle & 1023) === 0) return this.idleCheck();
    return true;
  }

  /** While idle: false once told to stop; else kicks the kernel if it asked to refill (need_wakeup). */
  private idleCheck(): boolean {
    if (Atomics.load(this.ctl, CTL_STATE) !== STATE_RUNNING) return false;
    // forwarded frames owed to the fill ring come back with their completions
    if (this.sock.tx !== null) this.sock.reclaim();
    if (this.sock.fill.needsWakeup()) {
      this.sock.kickRx();
      this.counts[C_IDLE_KICKS]++;
    }
    return true;
  }
}

async function run(d: WorkerData): Promise<void> {
  const ctl = new Int32Array(d.ctl);
  const counts = new Float64Array(d.counts);
  let sock: XskSocket;
  try {
    tuneThisThread(d.tuning, d.config.queue);
    ctl[CTL_TID] = native().threadId();
    const opts = (ifindex: number): Parameters<typeof XskSocket.create>[0] => ({
      ifindex,
      ifname: d.ifname,
      queue: d.config.queue,
      bind: d.bind,
      rxRingSize: d.ringSize,
      fillRingSize: d.ringSize,
      txRingSize: d.txRingSize,
      frameCount: d.frameCount,
      frameSize: d.frameSize,
      sg: d.sg,
      batchSize: d.batchSize,
      trackFrames: d.trackFrames,
    });
    const a = d.adopt;
    sock = a
      ? XskSocket.adopt(opts(a.ifindex), a.socket)
      : withNetns(d.netnsFd, () => {
          const ifindex = native().ifNameToIndex(d.ifname);
          if (ifindex === 0) throw new AfxdpError('ENOIFACE', `interface ${d.ifname} not found`, { hint: 'list interfaces with `ip -br link`' });
          return XskSocket.create(opts(ifindex));
        });
    // an adopted socket's busy polling was set by the broker (raising it needs CAP_NET_ADMIN)
    if (d.busyPoll > 0 && !a) {
      try {
        sock.setBusyPoll(d.busyPoll);
      } catch (e) {
        sock.close(); // nothing else holds it yet: the queue must not stay bound
        throw e;
      }
    }
  } catch (e) {
    fail(d, ctl, e);
    return;
  }
  const r = d.recorders;
  const engine = new RxEngine(
    sock,
    d.config,
    {
      xdpToUser: new BucketWriter(r.xdpToUser),
      senderToXdp: r.senderToXdp ? new BucketWriter(r.senderToXdp) : null,
      hwToXdp: r.hwToXdp ? new BucketWriter(r.hwToXdp) : null,
    },
    counts,
  );
  if (d.channel) engine.sinks.push(new BatchChannel(d.channel.shape, d.config.queue, d.channel.buffer));
  if (d.handler !== null) {
    try {
      const host = (await import(d.handler.host)) as HandlerHost;
      const stop = (e: unknown): void => {
        // the rest of this batch is recycled by the engine; the loop ends at its next look at the state word
        parentPort?.postMessage({ error: errorJson(e) } satisfies WorkerMessage);
        Atomics.store(ctl, CTL_STATE, STATE_STOP);
      };
      engine.sinks.push(await host.createHandlerSink({ socket: sock, queue: d.config.queue, module: d.handler.module, counts, counters: new Float64Array(d.handlerCounters!), stop }));
    } catch (e) {
      sock.close();
      fail(d, ctl, e);
      return;
    }
  }
  const outbox = d.outbox === null ? null : new Outbox(d.outbox.shape, d.outbox.wakeFd, d.outbox.buffer);
  const loop = new ReceiveLoop(engine, ctl, counts, d.block, d.busyPoll > 0, outbox);
  // the loop's own step is rehearsed too (without waiting: nothing can arrive yet)
  loop.waitMs = 0;
  engine.rehearse(REHEARSAL_PACKETS, () => loop.turn());
  loop.waitMs = STOP_CHECK_MS;
  // collects the rehearsal's garbage now, before traffic, rather than in a scavenge during it
  counts[C_HEAP_START] = heapUsed();
  ctl[CTL_FD] = sock.fd;
  ctl[CTL_ZEROCOPY] = sock.bindMode === 'zerocopy' ? 1 : 0;
  Atomics.store(ctl, CTL_READY, READY_OK);
  Atomics.notify(ctl, CTL_READY);

  try {
    for (;;) if (!loop.turn()) break;
    engine.drain(); // what arrived before the stop word
    if (outbox !== null) outbox.drainInto(sock); // and what the main thread sent before it
  } finally {
    counts[C_HEAP_END] = heapUsed();
    const k = new Float64Array(d.kernel);
    try {
      const s = sock.statistics();
      k.set([s.rx_dropped, s.rx_invalid_descs, s.tx_invalid_descs, s.rx_ring_full, s.rx_fill_ring_empty_descs, s.tx_ring_empty_descs]);
    } catch {
      // the interface may be gone: the main thread keeps its last reading
    }
    sock.close();
    Atomics.store(ctl, CTL_STATE, STATE_STOPPED);
    Atomics.notify(ctl, CTL_STATE);
  }
}

// Only as the worker that receiver.ts starts (importing this module for its constants runs nothing).
if ((workerData as WorkerData | null)?.ctl instanceof SharedArrayBuffer) void run(workerData as WorkerData);
