/**
 * Every combination of the one receive engine composes: each strategy × each poll mode × 1 and
 * 2 queues through the real CLI (`afxdp demo --json`), on both lab drivers (veth, and a tap fed
 * through its fd: `--driver tap`; both keep metadata, so auto finds meta on each), and a
 * selection with every output at once, checked by independent readers (tshark for the pcapng,
 * hdr-histogram-js's log reader for the hlog, headless Chromium for the HTML).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { HistogramLogReader } from 'hdr-histogram-js';
import { runCli, assertNoLeftovers } from './lib/cli.js';
import { hasChromium, openInChromium } from './lib/chromium.js';
import type { Report } from '../src/index.js';

const N = 800;
const STRATEGIES = ['meta', 'prepend', 'map', 'auto'] as const;
type StrategyName = (typeof STRATEGIES)[number];

/** The strategy that carries every stamp on veth and tap (both keep metadata): auto finds meta. */
function carrier(s: StrategyName): 'meta' | 'prepend' | 'map' {
  return s === 'auto' ? 'meta' : s;
}

async function demo(args: string[]): Promise<Report> {
  const r = await runCli(['demo', '--json', '--packets', String(N), '--rate', '20000', ...args], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `afxdp demo ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

function checkAccounting(r: Report, poll: string, queues: number, strategy: StrategyName, carrierOf = carrier(strategy)): void {
  const what = `${strategy} ${poll} ${queues}q`;
  assert.equal(r.packets.sent, N, what);
  assert.equal(r.packets.received, N, `${what}: received (kernel ${JSON.stringify(r.packets.kernel)})`);
  assert.equal(r.packets.meta_valid, N, what);
  assert.equal(r.poll, poll);
  assert.equal(r.strategy_requested, strategy);
  assert.equal(r.packets.by_strategy[carrierOf], N, what);
  assert.deepEqual(r.queues, Array.from({ length: queues }, (_, i) => i));
  assert.equal(r.per_queue?.length, queues, `${what}: per_queue`);
  assert.equal(
    r.per_queue!.reduce((a, q) => a + q.received, 0),
    N,
    `${what}: per_queue sums to the total`,
  );
  for (const q of r.per_queue!) assert.equal(q.latency_ns.xdp_to_user.count, q.meta_valid, `${what}: queue ${q.queue} samples`);
  assert.equal(r.latency_ns.xdp_to_user.count, N);
  // the sender's TX time travels in every payload: sender → XDP is measured in every mode
  assert.equal(r.latency_ns.sender_to_xdp?.count, N, `${what}: sender → xdp`);
}

describe('strategy × poll × queues × driver', { concurrency: 2 }, () => {
  after(() => assertNoLeftovers());
  for (const driver of ['veth', 'tap'] as const) {
    for (const strategy of STRATEGIES) {
      for (const poll of ['event', 'busy'] as const) {
        // tap: one queue count per poll mode (both still covered), to keep its half of the matrix short
        const queueCounts = driver === 'veth' ? [1, 2] : [poll === 'busy' ? 2 : 1];
        test(`${driver}: ${strategy}, ${poll}, ${queueCounts.join(' and ')} queue${queueCounts.length > 1 || queueCounts[0]! > 1 ? 's' : ''}`, async () => {
          for (const queues of queueCounts) {
            const r = await demo(['--driver', driver, '--strategy', strategy, '--poll', poll, '--queues', String(queues)]);
            checkAccounting(r, poll, queues, strategy);
            // tap has no RX-metadata kfuncs: hints stay on, without a hash; veth hashes every packet
            assert.equal(r.hints?.rx_hash, driver === 'veth' ? N : 0, `${driver} ${strategy} ${poll} ${queues}q: rx_hash hints`);
          }
        });
      }
    }
  }
});

for (const [poll, strategy, extra] of [
  ['busy', 'prepend', []],
  ['event', 'auto', ['--simulate-no-meta']],
] as const) {
  test(`every output at once: ${poll} poll, 2 queues, --strategy ${strategy} ${extra.join(' ')}`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-matrix-'));
    const f = (n: string): string => path.join(dir, n);
    try {
      const r = await demo(['--poll', poll, '--queues', '2', '--strategy', strategy, ...extra, '--csv', f('run.csv'), '--pcap', f('run.pcapng'), '--hlog', f('run.hlog'), '--html', f('run.html'), '--prometheus', '127.0.0.1:0']);
      // prepend carries every stamp: asked for, or auto's fallback on a driver without metadata
      checkAccounting(r, poll, 2, strategy, 'prepend');
      // CSV: a header and one row per packet, each queue's rows there
      const rows = fs.readFileSync(f('run.csv'), 'utf8').trim().split('\n').slice(1);
      assert.equal(rows.length, r.packets.received);
      assert.deepEqual(new Set(rows.map((l) => l.split(',')[1])), new Set(['0', '1']));
      assert.ok(rows.every((l) => l.endsWith(',prepend,64')), 'each row names the strategy and the length');
      // pcapng: tshark reads every frame, each a 64-byte frame as sent (the prepended stamp stripped)
      const ts = spawnSync('tshark', ['-r', f('run.pcapng'), '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8', maxBuffer: 16 << 20 });
      assert.equal(ts.status, 0, ts.stderr);
      const lens = ts.stdout.trim().split('\n');
      assert.equal(lens.length, r.packets.received);
      assert.ok(lens.every((l) => l === '64'), `frame lengths ${[...new Set(lens)].join(',')}`);
      // hlog: the log reader finds interval histograms whose counts add up to every sample
      const reader = new HistogramLogReader(fs.readFileSync(f('run.hlog'), 'utf8'), 64);
      let samples = 0;
      for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) if (h.tag === 'xdp_to_user') samples += h.totalCount;
      assert.equal(samples, N);
      assert.match(r.outputs?.prometheus?.path ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      // the HTML page renders its three charts in headless Chromium without an error
      assert.ok(hasChromium, 'chromium is installed (scripts/setup)');
      const [page] = await openInChromium([{ file: f('run.html'), screenshot: f('run.png') }]);
      assert.deepEqual(page!.errors, []);
      assert.ok(page!.canvases >= 3, `canvases ${page!.canvases}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await assertNoLeftovers();
    }
  });
}
