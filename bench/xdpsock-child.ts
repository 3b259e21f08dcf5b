/**
 * xdpsock's rxdrop and txonly loops on afxdp's openXsk(), as their own process: the TypeScript
 * side of `npm run bench`'s rxdrop/txonly comparison with bench/c/xdpsock_ref.c (the same loops in
 * C; same options, same JSON line). Run inside the interface's namespace (nsenter).
 *
 *   node dist/bench/xdpsock-child.js --mode rxdrop --iface IF [--count N] [--idle-ms 1000] [--xdp native|generic]
 *                                    [--rehearse N] [--sched receiver-first|off]
 *   node dist/bench/xdpsock-child.js --mode txonly --iface IF --dst-mac MAC --src-mac MAC [--count N] [--size B]
 *   node dist/bench/xdpsock-child.js --mode loop --iface IF [--count N]   (rxdrop's loop alone, no kernel)
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openXsk, loadProgram, XSK_REDIRECT_PROGRAM, type XskSocket } from '../src/index.js';
import { macFromString } from '../src/entry/lab.js';
import { holdReceiverFirst } from '../src/sys/sched.js';

const BATCH = 64;
const RING = 2048;
const { values: a } = parseArgs({
  options: {
    mode: { type: 'string' },
    iface: { type: 'string' },
    count: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '64' },
    'idle-ms': { type: 'string', default: '1000' },
    xdp: { type: 'string', default: 'native' },
    'dst-mac': { type: 'string' },
    // rxdrop: packets of the loop rehearsed on stand-in rings before "ready", then one full GC
    // (0: neither). afxdp's receivers rehearse before traffic too; without both, V8 compiles the
    // loop and finishes the start-up heap's first major GC (20-40 ms) inside the measured packets
    rehearse: { type: 'string', default: '1000000' },
    // rxdrop: receiver first (src/sys/sched.ts) while receiving, as open() and the CLI do; or off
    sched: { type: 'string', default: 'receiver-first' },
    'src-mac': { type: 'string' },
  },
});
const count = Number(a.count);
if (a.sched !== 'receiver-first' && a.sched !== 'off') {
  process.stderr.write(`--sched ${String(a.sched)}: expected receiver-first or off\n`);
  process.exit(2);
}
const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
/** CPU of the calling thread alone (utime + stime of /proc/thread-self/stat, 10 ms ticks): the loop's share of the process's CPU */
const threadCpuNs = (): number => {
  const f = readFileSync('/proc/thread-self/stat', 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 1e7;
};

/**
 * rxdrop's loop on stand-in rings in ordinary memory, this process playing the kernel (64
 * descriptors per batch): receive() + recycle(), no system call. CPU ns per packet.
 */
function rehearseLoop(sock: XskSocket, packets: number): number {
  const fs = sock.umem.frameSize;
  return sock.rehearse((rx, fill) => {
    const w = rx.words;
    // CPU time, not wall time: on a loaded machine a preemption would count as loop time
    const t0 = cpuNs();
    for (let done = 0, f = 0; done < packets; done += BATCH) {
      let idx = rx.kernelProducerIndex;
      for (let i = 0; i < BATCH; i++, idx++, f = (f + 1) & 2047) {
        const e = rx.entryWord(idx);
        w[e] = f * fs + 256;
        w[e + 1] = 0;
        w[e + 2] = 64;
        w[e + 3] = 0;
      }
      rx.produceAsKernel(BATCH);
      sock.recycle(sock.receive());
      fill.consumeAllAsKernel();
    }
    return (cpuNs() - t0) / packets;
  });
}

/** A full GC now, so that the one start-up leaves pending does not fall inside the measurement. */
function settleHeap(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

if (a.mode === 'rxdrop') {
  const sock = openXsk({ iface: a.iface!, rxRingSize: RING, fillRingSize: RING, frameCount: 4096, batchSize: BATCH });
  const prog = loadProgram(XSK_REDIRECT_PROGRAM);
  prog.register(sock);
  prog.attach(a.iface!, { mode: a.xdp === 'generic' ? 'generic' : 'native' });
  const idle = Number(a['idle-ms']);
  if (Number(a.rehearse) > 0) {
    rehearseLoop(sock, Number(a.rehearse));
    settleHeap();
  }
  // the main thread receives; V8's and libuv's helpers SCHED_IDLE (this process ends with the run)
  const sched = a.sched === 'receiver-first' ? holdReceiverFirst({ receiving: [], mainReceives: true, untilExit: true }) : null;
  const c0 = cpuNs();
  const th0 = threadCpuNs();
  process.stderr.write('ready\n');
  let got = 0;
  let first = 0;
  let last = 0;
  // wake-ups and batch sizes, as the C loop counts them (hist: 1, 2-7, 8-31, 32-63, 64 packets)
  let polls = 0;
  let batches = 0;
  const hist = new Float64Array(5);
  while (got < count) {
    const n = sock.receive();
    if (n === 0) {
      // recycle() kicks the fill ring when the kernel asks; sleep in poll(2) like the C loop
      polls++;
      if (!sock.pollFor('in', idle) && got > 0) break;
      continue;
    }
    batches++;
    hist[n === 1 ? 0 : n < 8 ? 1 : n < 32 ? 2 : n < 64 ? 3 : 4]!++;
    sock.recycle(n);
    if (got === 0) first = performance.now();
    got += n;
    last = performance.now();
  }
  const c1 = cpuNs();
  const th1 = threadCpuNs();
  const st = sock.statistics();
  sched?.release();
  process.stdout.write(JSON.stringify({ packets: got, elapsed_ns: Math.round((last - first) * 1e6), cpu_ns: c1 - c0, thread_cpu_ns: th1 - th0, rx_dropped: st.rx_dropped, rx_ring_full: st.rx_ring_full, polls, batches, batch_hist: Array.from(hist) }) + '\n');
  prog.close();
  sock.close();
} else if (a.mode === 'txonly') {
  const size = Number(a.size);
  const sock = openXsk({ iface: a.iface!, rxRingSize: 0, txRingSize: RING, completionRingSize: RING, frameCount: 4096, batchSize: BATCH });
  const dst = macFromString(a['dst-mac']!);
  const src = macFromString(a['src-mac']!);
  const bytes = sock.umem.bytes;
  // every frame written once; only descriptors move after this (xdpsock txonly)
  for (let f = 0; f < sock.umem.frameCount; f++) {
    const at = f * sock.umem.frameSize;
    bytes.set(dst, at);
    bytes.set(src, at + 6);
    bytes[at + 12] = 0x88;
    bytes[at + 13] = 0xb5;
    for (let k = 14; k < size; k++) bytes[at + k] = k & 0xff;
  }
  const c0 = cpuNs();
  process.stderr.write('ready\n');
  const t0 = performance.now();
  let sent = 0;
  while (sent < count || sock.framesInUse() > 0) {
    sock.reclaim();
    const room = sock.txFree(Math.min(BATCH, count - sent));
    let k = 0;
    for (; k < room; k++) {
      const addr = sock.txAlloc();
      if (addr < 0) break;
      sock.txPush(addr, size);
    }
    sent += k;
    sock.txFlush();
  }
  const t1 = performance.now();
  process.stdout.write(JSON.stringify({ packets: sent, elapsed_ns: Math.round((t1 - t0) * 1e6), cpu_ns: cpuNs() - c0 }) + '\n');
  sock.close();
} else if (a.mode === 'loop') {
  // rxdrop's user-space loop alone: receive() + recycle() on stand-in rings in ordinary memory,
  // this process playing the kernel (64 descriptors per batch) — no system call, no kernel work
  const sock = openXsk({ iface: a.iface!, rxRingSize: RING, fillRingSize: RING, frameCount: 4096, batchSize: BATCH });
  rehearseLoop(sock, 1_000_000); // V8 compiles it first
  const ns = rehearseLoop(sock, count);
  process.stderr.write('ready\n');
  process.stdout.write(JSON.stringify({ packets: count, ns_per_packet: ns }) + '\n');
  sock.close();
} else {
  process.stderr.write('usage: xdpsock-child --mode rxdrop|txonly --iface IF …\n');
  process.exit(2);
}
