/**
 * CPU ns per packet (process.cpuUsage: user + sys, so a shared, loaded machine inflates it less
 * than wall time) of the per-packet writers (CSV, pcapng) on batches of 64 synthetic 64-byte
 * frames written to /dev/null, and the number of garbage collections during the run (an
 * allocation-free writer triggers none). 2M packets per run, median of 5. Not part of the suite.
 *   node --expose-gc dist/bench/writers.bench.js
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { CsvWriter } from '../src/report/csv.js';
import { PcapngWriter } from '../src/report/pcapng.js';
import { PacketBatch, type PacketSink } from '../src/rx/batch.js';
import { writeUdpFrame, setSeq, macFromString, ipv4FromString } from '../src/wire/frame.js';

const N = 2_000_000;
const RUNS = 5;
const B = 64;

function batch(): PacketBatch {
  const umem = new Uint8Array(B * 2048);
  const addr = new Uint32Array(B);
  const len = new Uint32Array(B);
  const b = new PacketBatch(0, umem, addr.length, undefined, { addr, len });
  const p = { srcMac: macFromString('02:00:00:00:00:01'), dstMac: macFromString('02:00:00:00:00:02'), srcIp: ipv4FromString('198.18.0.1'), dstIp: ipv4FromString('198.18.0.2'), srcPort: 40000, dstPort: 9 };
  for (let i = 0; i < B; i++) {
    addr[i] = i * 2048 + 256;
    len[i] = 64;
    writeUdpFrame(umem, addr[i]!, 64, p);
    setSeq(umem, addr[i]!, i);
    b.flags[i] = 1;
    b.xdpLo[i] = 3_000_000_000 + i * 100;
    b.xdpHi[i] = 358;
    b.txLo[i] = 2_999_990_000;
    b.txHi[i] = 358;
    b.xdpToUser[i] = 15_000 + i * 37;
    b.senderToXdp[i] = 10_000 + i * 100;
    b.hwToXdp[i] = NaN;
  }
  b.n = B;
  b.userLo = 3_000_020_000;
  b.userHi = 358;
  return b;
}

let gcs = 0;
new PerformanceObserver((l) => (gcs += l.getEntries().length)).observe({ entryTypes: ['gc'] });

function run(name: string, make: () => PacketSink & { close(): void }): void {
  const b = batch();
  const times: number[] = [];
  const gcCounts: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const w = make();
    (globalThis as { gc?: () => void }).gc?.();
    const g0 = gcs;
    const t0 = process.cpuUsage();
    for (let seq = 0; seq < N; seq += B) {
      for (let i = 0; i < B; i++) b.seq[i] = seq + i;
      w.onBatch(b);
    }
    const d = process.cpuUsage(t0);
    const ns = ((d.user + d.system) * 1000) / N;
    w.close();
    times.push(ns);
    gcCounts.push(gcs - g0);
  }
  times.sort((a, c) => a - c);
  console.log(`${name.padEnd(8)} ${times[RUNS >> 1]!.toFixed(1)} CPU ns/packet (runs ${times.map((t) => t.toFixed(1)).join(' ')}), GCs per run: ${gcCounts.join(' ')}`);
}

run('csv', () => new CsvWriter('/dev/null'));
run('pcapng', () => new PcapngWriter('/dev/null', { clock: 'monotonic', ifname: 'bench0', application: 'afxdp bench' }));
