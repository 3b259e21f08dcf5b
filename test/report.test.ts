import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPORT_SCHEMA, buildReport, type ReportInput } from '../src/report/report.js';
import { TABLE_WIDTH, formatCount, formatNs, renderTable } from '../src/report/table.js';
import { LatencyRecorder } from '../src/measure/recorder.js';

const summary = (k = 1) => ({ count: 100_000 * k, min: 950, p50: 1500, p90: 1810, p99: 17_300, p999: 48_200, max: 2_500_000, mean: 1420 });

function input(over: Partial<ReportInput> = {}): ReportInput {
  return {
    iface: 'afxdp-3f9a1c-b',
    queues: [0],
    mode: 'native',
    bind: 'copy',
    strategy: 'meta',
    clock: 'monotonic',
    poll: 'busy',
    duration_s: 3.1,
    counts: {
      sent: 100_000,
      received: 100_000,
      meta_valid: 100_000,
      meta_invalid: 0,
      kernel: { rx_dropped: 0, rx_invalid_descs: 0, rx_ring_full: 0, rx_fill_ring_empty_descs: 0 },
    },
    summaries: { xdp_to_user: summary(), sender_to_xdp: summary(), hw_to_xdp: null },
    ...over,
  };
}

const SUMMARY_KEYS = ['count', 'min', 'p50', 'p90', 'p99', 'p999', 'max', 'mean'];

test('a built report has exactly the keys of the contract (docs/CLI.md), in order', () => {
  const r = buildReport(input());
  assert.equal(REPORT_SCHEMA, 'afxdp.report/1');
  // hints, hints_off and strategy_requested were added after the first contract, at the end
  assert.deepEqual(Object.keys(r), ['schema', 'iface', 'queues', 'mode', 'bind', 'strategy', 'clock', 'poll', 'duration_s', 'packets', 'latency_ns', 'hints', 'hints_off', 'strategy_requested']);
  assert.equal(r.schema, 'afxdp.report/1');
  // by_strategy and map were added after the first contract (fields are only ever added, at the end)
  assert.deepEqual(Object.keys(r.packets), ['sent', 'received', 'meta_valid', 'meta_invalid', 'kernel', 'by_strategy', 'map']);
  assert.deepEqual(Object.keys(r.packets.kernel), ['rx_dropped', 'rx_invalid_descs', 'rx_ring_full', 'rx_fill_ring_empty_descs']);
  assert.deepEqual(Object.keys(r.latency_ns), ['xdp_to_user', 'sender_to_xdp', 'hw_to_xdp']);
  assert.deepEqual(Object.keys(r.latency_ns.xdp_to_user), SUMMARY_KEYS);
  assert.deepEqual(Object.keys(r.latency_ns.sender_to_xdp!), SUMMARY_KEYS);
  assert.equal(r.latency_ns.hw_to_xdp, null);
});

test('JSON round trip; sent and optional segments become null; extra summary keys do not leak', () => {
  const rec = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) rec.record(i * 10);
  const s = { ...rec.summary(), extra: 1 };
  const r = buildReport(input({ counts: { ...input().counts, sent: undefined }, summaries: { xdp_to_user: s } }));
  const back = JSON.parse(JSON.stringify(r));
  assert.deepEqual(back, r);
  assert.equal(back.packets.sent, null);
  assert.equal(back.latency_ns.sender_to_xdp, null);
  assert.equal(back.latency_ns.hw_to_xdp, null);
  assert.deepEqual(Object.keys(back.latency_ns.xdp_to_user), SUMMARY_KEYS);
  assert.equal(back.latency_ns.xdp_to_user.count, 1000);
  // The contract's first document parses into the same shape.
  const doc = JSON.parse(`{ "schema": "afxdp.report/1", "iface": "...", "queues": [0], "mode": "native",
    "bind": "copy", "strategy": "meta", "clock": "monotonic", "poll": "busy", "duration_s": 3.1,
    "packets": { "sent": 100000, "received": 100000, "meta_valid": 100000, "meta_invalid": 0,
                 "kernel": { "rx_dropped": 0, "rx_invalid_descs": 0, "rx_ring_full": 0, "rx_fill_ring_empty_descs": 0 } },
    "latency_ns": { "xdp_to_user": { "count": 0, "min": 0, "p50": 0, "p90": 0, "p99": 0, "p999": 0, "max": 0, "mean": 0 },
                    "sender_to_xdp": null, "hw_to_xdp": null } }`);
  const fromDoc = buildReport({
    ...doc,
    duration_s: doc.duration_s,
    counts: doc.packets,
    summaries: doc.latency_ns,
  });
  // a fixed strategy carried every valid stamp; no map in use
  assert.deepEqual(fromDoc, { ...doc, packets: { ...doc.packets, by_strategy: { meta: 100000, prepend: 0, map: 0 }, map: null }, hints: null, hints_off: null, strategy_requested: 'meta' });
});

test('by_strategy: derived for a fixed strategy, required and validated for auto; map counters validated', () => {
  const usage = { name: 'AfxdpError', code: 'EUSAGE' };
  assert.deepEqual(buildReport(input({ strategy: 'prepend' })).packets.by_strategy, { meta: 0, prepend: 100_000, map: 0 });
  assert.throws(() => buildReport(input({ strategy: 'auto' })), { ...usage, message: /by_strategy is missing for strategy auto/ });
  const by = { meta: 10, prepend: 99_980, map: 10 };
  const map = { stored: 10, matched: 10, packets_without_stamp: 0, stamps_without_packet: 0, collisions: null };
  const r = buildReport(input({ strategy: 'auto', counts: { ...input().counts, by_strategy: by, map } }));
  // `strategy` keeps its three values: the carrier of most stamps; what was asked for is beside it
  assert.equal(r.strategy, 'prepend');
  assert.equal(r.strategy_requested, 'auto');
  const none = buildReport(input({ strategy: 'auto', counts: { ...input().counts, meta_valid: 0, by_strategy: { meta: 0, prepend: 0, map: 0 } } }));
  assert.equal(none.strategy, 'meta');
  assert.deepEqual(r.packets.by_strategy, by);
  assert.deepEqual(r.packets.map, map);
  assert.deepEqual(Object.keys(r.packets.map!), ['stored', 'matched', 'packets_without_stamp', 'stamps_without_packet', 'collisions']);
  assert.throws(() => buildReport(input({ strategy: 'auto', counts: { ...input().counts, by_strategy: { ...by, map: -1 } } })), usage);
  assert.throws(() => buildReport(input({ counts: { ...input().counts, map: { ...map, matched: 0.5 } } })), usage);
});

test('bad enums and numbers are rejected with EUSAGE', () => {
  const usage = { name: 'AfxdpError', code: 'EUSAGE' };
  assert.throws(() => buildReport(input({ mode: 'skb' })), { ...usage, message: /mode "skb" is not one of native, generic/ });
  assert.throws(() => buildReport(input({ bind: 'zero-copy' })), usage);
  assert.throws(() => buildReport(input({ strategy: 'tail' })), { ...usage, message: /strategy "tail" is not one of auto, meta, prepend, map/ });
  assert.throws(() => buildReport(input({ clock: 'realtime' })), usage);
  assert.throws(() => buildReport(input({ poll: 'spin' })), usage);
  assert.throws(() => buildReport(input({ iface: '' })), usage);
  assert.throws(() => buildReport(input({ queues: [] })), usage);
  assert.throws(() => buildReport(input({ queues: [0, 0] })), usage);
  assert.throws(() => buildReport(input({ queues: [-1] })), usage);
  assert.throws(() => buildReport(input({ duration_s: Number.NaN })), usage);
  assert.throws(() => buildReport(input({ counts: { ...input().counts, received: 1.5 } })), usage);
  assert.throws(() => buildReport(input({ summaries: { xdp_to_user: { ...summary(), p99: Number.NaN } } })), usage);
});

test('table: header, packets line, one row per non-null segment, units', () => {
  const text = renderTable(buildReport(input()));
  const lines = text.split('\n');
  for (const l of lines) assert.ok(l.length <= TABLE_WIDTH, `≤ 80 columns: ${JSON.stringify(l)}`);
  for (const w of ['afxdp-3f9a1c-b', 'queue 0', 'native', 'copy', 'meta', 'monotonic', 'busy']) assert.ok(text.includes(w), w);
  assert.match(text, /sent 100,000\s+received 100,000/);
  assert.match(text, /meta valid 100,000 \/ invalid 0/);
  assert.match(text, /kernel drops 0/);
  const header = lines.find((l) => l.startsWith('latency'))!;
  assert.match(header, /count\s+min\s+p50\s+p90\s+p99\s+p99\.9\s+max\s+mean$/);
  const xdp = lines.find((l) => l.startsWith('xdp → user'));
  const sender = lines.find((l) => l.startsWith('sender → xdp'));
  assert.ok(xdp && sender);
  assert.ok(!text.includes('hw → xdp'), 'null segment has no row');
  for (const row of [xdp, sender]) {
    assert.match(row, /100,000\s+950 ns\s+1\.50 µs\s+1\.81 µs\s+17\.3 µs\s+48\.2 µs\s+2\.50 ms\s+1\.42 µs$/);
  }
  // Right-aligned: every column ends where its header ends.
  assert.equal(xdp.length, header.length);

  const all = renderTable(buildReport(input({ summaries: { xdp_to_user: summary(), sender_to_xdp: summary(), hw_to_xdp: summary() } })));
  assert.ok(all.split('\n').some((l) => l.startsWith('hw → xdp')));
});

test('table stays within 80 columns for extreme values; empty segments show dashes', () => {
  const big = { count: 123_456_789_012, min: 123_456, p50: 123_456, p90: 123_456, p99: 123_456, p999: 123_456, max: 1e10, mean: 123_456 };
  const r = buildReport(
    input({
      iface: 'enp129s0f1np1',
      queues: [0, 1, 2, 3, 4, 5, 6, 7],
      counts: { sent: null, received: 123_456_789_012, meta_valid: 1, meta_invalid: 2, kernel: { rx_dropped: 3, rx_invalid_descs: 4, rx_ring_full: 5, rx_fill_ring_empty_descs: 6 } },
      summaries: { xdp_to_user: big, sender_to_xdp: big, hw_to_xdp: { count: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 } },
    }),
  );
  const text = renderTable(r);
  for (const l of text.split('\n')) assert.ok(l.length <= TABLE_WIDTH, `≤ 80 columns: ${JSON.stringify(l)}`);
  assert.ok(!text.includes('sent'), 'sent: null is not shown');
  assert.match(text, /kernel drops 8 \(rx_dropped 3, rx_ring_full 5\)/);
  assert.match(text, /hw → xdp\s+0(\s+-){7}$/m);
  assert.match(text, /10\.0 s/);
});

test('formatNs and formatCount', () => {
  assert.equal(formatNs(0), '0 ns');
  assert.equal(formatNs(950), '950 ns');
  assert.equal(formatNs(999), '999 ns');
  assert.equal(formatNs(1000), '1.00 µs');
  assert.equal(formatNs(1500), '1.50 µs');
  assert.equal(formatNs(17_349), '17.3 µs');
  assert.equal(formatNs(123_449), '123.4 µs');
  assert.equal(formatNs(999_950), '1.00 ms');
  assert.equal(formatNs(2_500_000), '2.50 ms');
  assert.equal(formatNs(1.5e9), '1.50 s');
  assert.equal(formatNs(1e10), '10.0 s');
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1000), '1,000');
  assert.equal(formatCount(1_234_567), '1,234,567');
});
