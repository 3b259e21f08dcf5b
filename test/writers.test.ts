/** The output writers on their own (library API), without a network: digits, pcapng blocks, endpoints, buckets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FileBuffer, openOutput } from '../src/report/filebuf.js';
import { CsvWriter, CSV_HEADER } from '../src/report/csv.js';
import { PcapngWriter } from '../src/report/pcapng.js';
import { HlogWriter } from '../src/report/hlog.js';
import { pageFromHlog, renderHtml } from '../src/report/html.js';
import { parseEndpoint, cumulativeCounts } from '../src/report/prometheus.js';
import { PacketBatch } from '../src/rx/batch.js';
import { LatencyRecorder } from '../src/measure/recorder.js';
import { writeUdpFrame, setSeq, ipv4FromString, macFromString } from '../src/wire/frame.js';
import { AfxdpError } from '../src/errors.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-writers-'));

test('FileBuffer writes integers exactly like String() across the whole range', () => {
  const dir = tmp();
  const file = path.join(dir, 'n.txt');
  const fb = new FileBuffer(openOutput('--test', file), 4096);
  const values = [0, 1, 9, 10, 99, 100, 4294967295, 4294967296, 1539492229179, 2 ** 53 - 1, -1, -4294967297];
  for (let e = 0; e < 53; e++) values.push(2 ** e, 2 ** e - 1, 10 ** Math.min(e, 15));
  for (const v of values) {
    fb.reserve(32);
    fb.int(v);
    fb.byte(10);
  }
  fb.reserve(32);
  fb.u64(0xffffffff, 0x1fffff); // 2^53 − 1 as two words
  fb.byte(10);
  fb.close();
  assert.deepEqual(fs.readFileSync(file, 'utf8').trimEnd().split('\n'), [...values.map(String), String(2 ** 53 - 1)]);
  fs.rmSync(dir, { recursive: true });
});

function syntheticBatch(n: number): { b: PacketBatch; umem: Uint8Array } {
  const umem = new Uint8Array(n * 2048);
  const addr = new Uint32Array(n);
  const len = new Uint32Array(n);
  const b = new PacketBatch(3, umem, addr.length, undefined, { addr, len });
  const p = { srcMac: macFromString('02:00:00:00:00:01'), dstMac: macFromString('02:00:00:00:00:02'), srcIp: ipv4FromString('198.18.0.1'), dstIp: ipv4FromString('198.18.0.2'), srcPort: 40000, dstPort: 9 };
  for (let i = 0; i < n; i++) {
    addr[i] = i * 2048 + 256;
    len[i] = 64 + i;
    writeUdpFrame(umem, addr[i]!, len[i]!, p);
    setSeq(umem, addr[i]!, i);
    b.seq[i] = i % 3 === 2 ? -1 : i; // every third frame "foreign": no payload
    b.flags[i] = i % 4 === 3 ? 0 : 1; // every fourth without metadata
    b.xdpLo[i] = b.flags[i] ? 1000 + i : 0;
    b.xdpHi[i] = b.flags[i] ? 1 : 0;
    b.txLo[i] = b.seq[i]! >= 0 ? 500 : 0;
    b.txHi[i] = b.seq[i]! >= 0 ? 1 : 0;
    b.xdpToUser[i] = b.flags[i] ? 5000 - i : NaN;
    b.senderToXdp[i] = b.flags[i] && b.seq[i]! >= 0 ? 500 + i : NaN;
    b.hwToXdp[i] = NaN;
  }
  b.n = n;
  b.userLo = 6000;
  b.userHi = 1;
  return { b, umem };
}

test('CSV: empty cells for what was not measured, never zeros', () => {
  const dir = tmp();
  const file = path.join(dir, 'x.csv');
  const w = new CsvWriter(file);
  const { b } = syntheticBatch(8);
  w.onBatch(b);
  w.close();
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines[0], CSV_HEADER);
  assert.equal(lines.length, 9);
  assert.equal(lines[1], `0,3,${2 ** 32 + 500},${2 ** 32 + 1000},${2 ** 32 + 6000},500,5000,,meta,64`);
  assert.equal(lines[3], `,3,,${2 ** 32 + 1002},${2 ** 32 + 6000},,4998,,meta,66`, 'a frame without afxdp payload');
  assert.equal(lines[4], `3,3,${2 ** 32 + 500},,${2 ** 32 + 6000},,,,,67`, 'a frame without metadata');
  fs.rmSync(dir, { recursive: true });
});

test('pcapng: tshark reads the blocks, ns resolution, frame lengths and comments', () => {
  const dir = tmp();
  const file = path.join(dir, 'x.pcapng');
  const w = new PcapngWriter(file, { clock: 'monotonic', ifname: 'afxdp-test0', application: 'afxdp test' });
  const { b } = syntheticBatch(8);
  w.onBatch(b);
  w.onBatch(b);
  w.close();
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.comment', '-e', 'udp.dstport'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
  assert.equal(rows.length, 16);
  assert.deepEqual(rows.slice(0, 4), [
    ['64', 'seq=0 xdp_to_user_ns=5000 sender_to_xdp_ns=500', '9'],
    ['65', 'seq=1 xdp_to_user_ns=4999 sender_to_xdp_ns=501', '9'],
    ['66', 'xdp_to_user_ns=4998', '9'],
    ['67', 'seq=3 no_xdp_stamp', '9'],
  ]);
  const info = spawnSync('capinfos', [file], { encoding: 'utf8' });
  assert.match(info.stdout, /nanoseconds \(9\)/);
  assert.match(info.stdout, /Capture application: afxdp test/);
  assert.match(info.stdout, /Name = afxdp-test0/);
  fs.rmSync(dir, { recursive: true });
});

test('--prometheus endpoints parse; bad ones are usage errors', () => {
  assert.deepEqual(parseEndpoint('9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseEndpoint(':0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseEndpoint('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseEndpoint('[::1]:9464'), { host: '::1', port: 9464 });
  assert.deepEqual(parseEndpoint('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['', 'x', '1:2:3', '70000', 'host:', '[::1]']) {
    assert.throws(() => parseEndpoint(bad), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE', bad);
  }
});

test('Prometheus bucket counts equal a direct count of the values', () => {
  const rec = new LatencyRecorder();
  const values: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const v = Math.floor(10 ** (2 + 6 * ((i * 7919) % 20_000) / 20_000)); // 100 ns … 100 ms
    values.push(v);
    rec.record(v);
  }
  const bounds = [1000, 2000, 5000, 10_000, 1e5, 1e6, 1e7, 1e8];
  const got = cumulativeCounts(rec.histogram, bounds);
  // HdrHistogram buckets are 0.1 % wide: a value within that of a bound may land on either side
  bounds.forEach((le, k) => {
    const below = values.filter((v) => v <= le * 0.999).length;
    const upTo = values.filter((v) => v <= le * 1.001).length;
    assert.ok(got[k]! >= below && got[k]! <= upTo, `le=${le}: ${got[k]} not in [${below}, ${upTo}]`);
  });
  assert.equal(cumulativeCounts(rec.histogram, [1e10])[0], 20_000);
});

test('HlogWriter on its own: recorder intervals in, hdr-histogram-js reader out; the HTML page from the log', async () => {
  const { HistogramLogReader } = await import('hdr-histogram-js');
  const dir = tmp();
  const file = path.join(dir, 'x.hlog');
  const rec = new LatencyRecorder();
  const w = new HlogWriter(file);
  const start = Date.now() - 3000;
  w.begin(start, { iface: 'eth9', queues: [0] });
  for (let s = 0; s < 3; s++) {
    for (let i = 1; i <= 1000 * (s + 1); i++) rec.record(i * 100);
    const h = rec.takeInterval();
    h.tag = 'xdp_to_user';
    h.startTimeStampMsec = start + s * 1000;
    h.endTimeStampMsec = start + (s + 1) * 1000;
    w.onInterval({ t: s + 1, dt: 1, received: 0, dropped: 0, latency_ns: {} }, { xdp_to_user: h });
  }
  w.close();
  const text = fs.readFileSync(file, 'utf8');
  const reader = new HistogramLogReader(text, 64);
  const counts: number[] = [];
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    assert.equal(h.tag, 'xdp_to_user');
    counts.push(h.totalCount);
  }
  assert.deepEqual(counts, [1000, 2000, 3000]);
  const page = pageFromHlog(text, file);
  assert.equal(page.segments.length, 1);
  assert.equal(page.segments[0]!.summary.count, 6000);
  assert.equal(page.timeline.length, 3);
  assert.deepEqual(page.timeline.map((r) => r.received), [1000, 2000, 3000]);
  assert.ok(page.env.some(([k, v]) => k === 'iface' && v === 'eth9'), 'the afxdp comment labels the page');
  assert.match(renderHtml(page), /<title>afxdp latency report: eth9<\/title>/);
  fs.rmSync(dir, { recursive: true });
});
