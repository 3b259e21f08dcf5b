/**
 * The main thread's side of the receive workers (rx/worker.ts) and of the liveness check: starts
 * a queue's worker and waits (synchronously, bounded) until its socket exists; hears when one
 * fails or exits; stops and joins them at close; and asks the sockets whether they are still
 * bound, since an interface that vanishes gives no poll event.
 */
import { Worker } from 'node:worker_threads';
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { busyPollOf, type BusyPollSettings, type AdoptedSocket } from '../xsk/socket.js';
import type { LatencyRecorder } from '../measure/recorder.js';
import type { EngineConfig } from './engine.js';
import { BatchChannel, type ChannelShape } from './channel.js';
import { Outbox } from './outbox.js';
import * as W from './worker.js';
import type { Resolved } from './options.js';
import type { ReceiveQueue } from './queue.js';

const ENXIO = 6;
/**
 * How often the liveness check (checkAlive) runs while receiving: an interface that vanishes or a
 * broker that goes away gives no poll event, so it is asked. Not per packet.
 */
export const ALIVE_CHECK_MS = 200;
const WORKER_URL = new URL('./worker.js', import.meta.url);
/**
 * A worker's batch channel holds about this many bytes (its slots sized for the MTU), at least 32
 * and at most 1024 batches. Its depth is what a slow moment of the main thread's sinks (a CSV
 * flush, a GC, the JIT at start) can absorb before the worker waits for a free slot — and a
 * waiting worker is latency afxdp adds to every packet behind it: 32 slots of small batches (50
 * kpps arrives ~8 packets per batch) were ~5 ms, and `--poll worker --csv` measured p99 20-70 ms.
 */
const CHANNEL_BYTES = 32 << 20;
/** frames send() can hand a worker before it has queued them (rx/outbox.ts) */
const OUTBOX_SLOTS = 512;

/** What a worker is started with besides its queue. */
export interface WorkerSetup {
  o: Resolved;
  ifindex: number;
  mtu: number;
  sg: boolean;
  config: EngineConfig;
  adopt: AdoptedSocket | null;
  /** the queue's index in the receiver (its CPU is cpu + index) */
  index: number;
  /** receiving ended for this reason (a worker failed or exited while asked to run) */
  fail: (e: AfxdpError) => void;
  closed: () => boolean;
}

/**
 * Starts the queue's worker and waits (synchronously, bounded) until its socket exists. Returns
 * the busy polling the kernel took for its socket (null: off).
 */
export function startWorker(rq: ReceiveQueue, s: WorkerSetup): BusyPollSettings | null {
  const o = s.o;
  const first = s.index === 0;
  const ctl = new Int32Array(new SharedArrayBuffer(4 * W.CTL_LEN));
  const error = new SharedArrayBuffer(W.ERROR_BYTES);
  const kernel = new SharedArrayBuffer(8 * 6);
  let channel: W.WorkerData['channel'] = null;
  if (o.deliver) {
    // room per packet: an MTU-sized frame with a VLAN tag or two (a frame cannot hold more without
    // sg), or with sg an MTU-sized packet (a larger one, a GRO packet in generic mode, is cut there)
    const mtuFrame = Math.ceil((s.mtu + 22) / 64) * 64;
    const room = s.mtu <= 0 ? 4096 : s.sg ? Math.max(4096, mtuFrame) : Math.min(4096, mtuFrame);
    const slots = Math.min(1024, Math.max(32, Math.floor(CHANNEL_BYTES / (o.batchSize * room))));
    const shape: ChannelShape = { slots, batchSize: o.batchSize, frameSize: room };
    rq.channel = new BatchChannel(shape, rq.queue);
    channel = { buffer: rq.channel.buffer, shape };
  }
  const bufferOf = (r: LatencyRecorder | null): SharedArrayBuffer | null => (r === null ? null : (r.stateBuffer as SharedArrayBuffer));
  const data: W.WorkerData = {
    ifname: o.ifname,
    netnsFd: o.netnsFd,
    bind: o.bind,
    ringSize: o.ringSize,
    frameCount: o.frameCount,
    frameSize: o.frameSize,
    sg: s.sg,
    batchSize: o.batchSize,
    trackFrames: o.trackFrames,
    block: o.poll === 'worker',
    busyPoll: o.busyPoll,
    tuning: { cpu: o.cpu === undefined ? -1 : o.cpu + s.index, rt: o.rt },
    config: s.config,
    ctl: ctl.buffer as SharedArrayBuffer,
    error,
    counts: rq.counts.buffer as SharedArrayBuffer,
    kernel,
    recorders: { xdpToUser: bufferOf(rq.xdpToUser)!, senderToXdp: bufferOf(rq.senderToXdp), hwToXdp: bufferOf(rq.hwToXdp) },
    channel,
    adopt: s.adopt === null ? null : { socket: s.adopt, ifindex: s.ifindex },
    handler: o.handler ?? null,
    handlerCounters: o.handler ? rq.withHandlerCounters() : null,
    // a handler forwards and sends on the queue's own socket; send() goes through the first queue's
    txRingSize: o.txRingSize > 0 && first ? o.txRingSize : o.handler ? o.ringSize : 0,
    outbox: null,
  };
  if (o.txRingSize > 0 && first) {
    // room per frame as the socket can send one: a UMEM frame, or with sg an MTU-sized chain
    const room = s.sg ? Math.max(o.frameSize, Math.ceil((s.mtu + 22) / 64) * 64) : o.frameSize;
    rq.outbox = new Outbox({ slots: OUTBOX_SLOTS, room }, native().wakeCreate());
    data.outbox = { buffer: rq.outbox.buffer, shape: rq.outbox.shape, wakeFd: rq.outbox.wakeFd };
  }
  const thread = new Worker(WORKER_URL, { workerData: data, name: `afxdp-rx-q${rq.queue}` });
  thread.unref();
  // an exception inside the worker after setup ends its loop; the state word says stopped
  thread.on('error', (e) => s.fail(new AfxdpError('ESTATE', `the receive worker of queue ${rq.queue} failed: ${e.message}`, { cause: e })));
  // a worker that ends while asked to run (process.exit() in a handler, a terminated thread) receives nothing any more
  thread.on('exit', (code) => {
    if (s.closed() || Atomics.load(ctl, W.CTL_STATE) !== W.STATE_RUNNING || Atomics.load(ctl, W.CTL_READY) !== W.READY_OK) return;
    s.fail(new AfxdpError('ESTATE', `the receive worker of queue ${rq.queue} exited (code ${code}) while receiving`, { hint: 'the counts until then stay; close the socket and open it again' }));
  });
  rq.worker = { thread, ctl, kernel: new Float64Array(kernel) };
  // an error that ended the worker's receiving after setup (a handler that threw)
  thread.on('message', (m: W.WorkerMessage) => {
    if (m && typeof m === 'object' && 'error' in m) s.fail(new AfxdpError(m.error.code, m.error.message, { hint: m.error.hint, errno: m.error.errno }));
  });
  // a worker starts in tens of ms; 10 s covers a loaded machine
  const r = Atomics.wait(ctl, W.CTL_READY, W.READY_WAITING, 10_000);
  const ready = Atomics.load(ctl, W.CTL_READY);
  if (ready === W.READY_ERROR) {
    const text = new TextDecoder().decode(new Uint8Array(error)).replace(/\0+$/, '');
    const e = JSON.parse(text) as { code: AfxdpError['code']; message: string; hint?: string; errno?: number };
    throw new AfxdpError(e.code, e.message, { hint: e.hint, errno: e.errno });
  }
  if (ready !== W.READY_OK) {
    throw new AfxdpError('ESTATE', `the receive worker of queue ${rq.queue} did not start (${r})`, { hint: 'the machine may be overloaded; try again' });
  }
  rq.fd = ctl[W.CTL_FD]!;
  rq.tid = ctl[W.CTL_TID]!;
  rq.bindMode = ctl[W.CTL_ZEROCOPY] === 1 ? 'zerocopy' : 'copy';
  return o.busyPoll > 0 ? busyPollOf(rq.fd, o.batchSize) : null;
}

/**
 * Asks every worker to stop and waits (bounded) until each has drained, read its statistics and
 * closed its socket. A worker waiting for a free channel slot needs the main thread to keep
 * consuming meanwhile: `consume` is called while waiting.
 */
export function stopWorkers(queues: readonly ReceiveQueue[], consume: () => void): void {
  for (const rq of queues) if (rq.worker) Atomics.store(rq.worker.ctl, W.CTL_STATE, W.STATE_STOP);
  const deadline = Date.now() + 5000;
  for (const rq of queues) {
    const w = rq.worker;
    if (w === null) continue;
    while (Atomics.load(w.ctl, W.CTL_STATE) !== W.STATE_STOPPED && Date.now() < deadline) {
      consume();
      Atomics.wait(w.ctl, W.CTL_STATE, W.STATE_STOP, 5);
    }
  }
  consume();
}

/**
 * The first queue whose socket is no longer bound, or null. The kernel unbinds an AF_XDP socket
 * when its interface is unregistered, without a poll event (xsk_poll never reports sk_err): a
 * non-blocking recvfrom() answers ENXIO then. Works for a worker's socket too (the fd is
 * process-wide). Not per packet.
 */
export function unboundQueue(queues: readonly ReceiveQueue[]): ReceiveQueue | null {
  for (const rq of queues) {
    if (rq.fd < 0) continue;
    // ENETDOWN (interface down) is not fatal: a link flap must not end a long measurement
    if (native().xskKick(rq.fd, 0) === -ENXIO) return rq;
  }
  return null;
}

/** A socket that failed while receiving (poll status, or ENXIO from the liveness check), as one line. */
export function socketError(ifname: string, queue: number, status: number): AfxdpError {
  return status === -ENXIO
    ? new AfxdpError('ENOIFACE', `interface ${ifname} disappeared while measuring`, { hint: 'the report covers the packets received until then; check who deletes the interface' })
    : new AfxdpError('ESYS', `the AF_XDP socket on ${ifname} queue ${queue} failed (poll status ${status})`, {
        errno: -status,
        hint: 'the report covers the packets received until then; `ip link show` the interface, it may be down or reconfigured',
      });
}

export const UNBOUND = -ENXIO;
