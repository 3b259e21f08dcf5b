/**
 * The busy-poll receive loop, run in a worker_thread (one per queue). Started by
 * src/measure/receiver.ts; not an API of its own.
 *
 * The worker creates the AF_XDP socket itself (setns is per thread, so it enters the lab
 * namespace with withNetns on its own thread), posts the fd to the main thread, which puts it in
 * the XSKMAP and attaches the program, and then spins on the RX ring until told to stop. Results
 * go through SharedArrayBuffers — counters and HdrHistogram buckets — never per-packet messages.
 * The loop allocates nothing: preallocated typed arrays, u64 as two u32 words.
 */
import { parentPort, workerData } from 'node:worker_threads';
import v8 from 'node:v8';
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { withNetns } from '../sys/netns.js';
import { XskSocket, type BindMode } from '../xsk/socket.js';
import { MetaReader, F_CLOCK_TAI, F_XDP_TS } from '../xdp/meta.js';
import { HIGHEST_TRACKABLE_NS, indexOfValue } from '../measure/recorder.js';

export interface BusyWorkerData {
  ifname: string;
  netnsFd: number | undefined;
  queue: number;
  bind: BindMode;
  ringSize: number;
  frameCount: number;
  batchSize: number;
  clockId: number;
  clockFlag: number;
  /** Int32Array: [CTL_STATE] */
  ctl: SharedArrayBuffer;
  /** Float64Array of S_* slots */
  stats: SharedArrayBuffer;
  /** Float64Array(COUNTS_LENGTH): latency counts per HdrHistogram bucket */
  counts: SharedArrayBuffer;
}

export type BusyWorkerMessage =
  | { type: 'ready'; fd: number; bindMode: 'copy' | 'zerocopy' }
  | { type: 'error'; code: string; message: string; hint?: string; errno?: number }
  | { type: 'stopped' };

// ctl words
export const CTL_STATE = 0;
export const STATE_RUNNING = 1;
export const STATE_STOP = 2;

// stats slots (Float64Array)
export const S_RECEIVED = 0;
export const S_META_VALID = 1;
export const S_META_INVALID = 2;
export const S_SUM = 3;
export const S_MIN = 4;
export const S_MAX = 5;
export const S_NEGATIVE = 6;
export const S_OVERFLOW = 7;
/** XDP_STATISTICS, written once at stop: 6 slots */
export const S_KERNEL = 8;
export const S_HEAP_START = 14;
export const S_HEAP_END = 15;
export const S_IDLE_KICKS = 16;
export const S_LEN = 17;

const TWO_POW_32 = 4294967296;

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  return v8.getHeapStatistics().used_heap_size;
}

function run(d: BusyWorkerData): void {
  const port = parentPort!;
  const ctl = new Int32Array(d.ctl);
  const st = new Float64Array(d.stats);
  const counts = new Float64Array(d.counts);
  let sock: XskSocket;
  try {
    sock = withNetns(d.netnsFd, () => {
      const n = native();
      const ifindex = n.ifNameToIndex(d.ifname);
      if (ifindex === 0) throw new AfxdpError('ENOIFACE', `interface ${d.ifname} not found`, { hint: 'list interfaces with `ip -br link`' });
      return XskSocket.create({
        ifindex,
        ifname: d.ifname,
        queue: d.queue,
        bind: d.bind,
        rxRingSize: d.ringSize,
        fillRingSize: d.ringSize,
        frameCount: d.frameCount,
        batchSize: d.batchSize,
      });
    });
  } catch (e) {
    const a = e as AfxdpError;
    port.postMessage({ type: 'error', code: a.code ?? 'ESYS', message: a.message, hint: a.hint, errno: a.errno } satisfies BusyWorkerMessage);
    return;
  }
  st[S_MIN] = Infinity;
  st[S_MAX] = -Infinity;
  port.postMessage({ type: 'ready', fd: sock.fd, bindMode: sock.bindMode } satisfies BusyWorkerMessage);
  st[S_HEAP_START] = heapUsed();

  const meta = new MetaReader(sock.umem);
  const nat = native();
  const now = new Uint32Array(2);
  const clockId = d.clockId;
  const clockFlag = d.clockFlag;
  const addrs = sock.rxAddr;
  const fill = sock.fill;
  let idle = 0;
  for (;;) {
    const n = sock.receive();
    if (n === 0) {
      // Checking the stop word costs an atomic load; do it only while idle, and a packet burst
      // is always drained first. With need_wakeup the kernel may ask for a kick to refill.
      if ((++idle & 1023) === 0) {
        if (Atomics.load(ctl, CTL_STATE) === STATE_STOP) break;
        if (fill.needsWakeup()) {
          sock.kickRx();
          st[S_IDLE_KICKS]++;
        }
      }
      continue;
    }
    idle = 0;
    nat.clockGettime(clockId, now);
    const nowLo = now[0]!;
    const nowHi = now[1]!;
    let valid = 0;
    let sum = 0;
    let min = st[S_MIN]!;
    let max = st[S_MAX]!;
    for (let i = 0; i < n; i++) {
      if (meta.read(addrs[i]!) && (meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === clockFlag) {
        valid++;
        let ns = (nowHi - meta.xdpTsHi) * TWO_POW_32 + (nowLo - meta.xdpTsLo);
        if (ns < 0) {
          st[S_NEGATIVE]++;
          continue;
        }
        if (ns > HIGHEST_TRACKABLE_NS) {
          st[S_OVERFLOW]++;
          ns = HIGHEST_TRACKABLE_NS;
        }
        counts[indexOfValue(ns)]++;
        sum += ns;
        if (ns < min) min = ns;
        if (ns > max) max = ns;
      }
    }
    sock.recycle(n);
    st[S_SUM] += sum;
    st[S_MIN] = min;
    st[S_MAX] = max;
    st[S_META_VALID] += valid;
    st[S_META_INVALID] += n - valid;
    st[S_RECEIVED] += n; // last: the main thread's progress check reads this one
    if (Atomics.load(ctl, CTL_STATE) === STATE_STOP) break; // one load per batch: stops under load too
  }

  st[S_HEAP_END] = heapUsed();
  try {
    const k = sock.statistics();
    st[S_KERNEL] = k.rx_dropped;
    st[S_KERNEL + 1] = k.rx_invalid_descs;
    st[S_KERNEL + 2] = k.tx_invalid_descs;
    st[S_KERNEL + 3] = k.rx_ring_full;
    st[S_KERNEL + 4] = k.rx_fill_ring_empty_descs;
    st[S_KERNEL + 5] = k.tx_ring_empty_descs;
  } finally {
    sock.close();
  }
  port.postMessage({ type: 'stopped' } satisfies BusyWorkerMessage);
}

// Only as the worker that receiver.ts starts (importing this module for its constants runs nothing).
if (parentPort && (workerData as BusyWorkerData | null)?.ctl instanceof SharedArrayBuffer) run(workerData as BusyWorkerData);
