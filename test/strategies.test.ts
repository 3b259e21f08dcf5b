/**
 * Stamping strategies end to end (docs/METADATA.md) against the real kernel: a lab, the XDP program,
 * an AF_XDP socket and generator traffic. Every packet sent must arrive with a valid stamp
 * carried by the strategy asked for; packets without a stamp must be counted, never measured.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli, assertNoLeftovers, assertOneLineError, trackLab, ROOT } from './lib/cli.js';
import { withLab, openGenerator } from './lib/lab.js';
import { TrafficGenerator } from '../src/lab/generator.js';
import { LatencyProbe, type ProbeOptions } from '../src/rx/probe.js';
import { waitForEnd } from '../src/run/session.js';
import { runDemo } from '../src/run/demo.js';
import { readPayload, DEFAULT_FRAME_SIZE } from '../src/wire/frame.js';
import type { Report } from '../src/report/report.js';

const HALF_STAMP = path.join(ROOT, 'build', 'test-bpf', 'half_stamp.bpf.o');

/** the lab id of an in-process runDemo (its rx interface is afxdp-<id>r) */
function labOf(r: Report): string {
  return /^afxdp-([a-z0-9]{6})r$/.exec(r.iface)![1]!;
}

async function demoJson(args: string[]): Promise<Report> {
  const r = await runCli(['demo', '--json', ...args]);
  assert.equal(r.code, 0, `afxdp demo ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

function assertAllStampedBy(r: Report, sent: number, carrier: 'meta' | 'prepend' | 'map'): void {
  const p = r.packets;
  assert.equal(p.sent, sent);
  assert.equal(p.received, sent, 'received == sent');
  assert.equal(p.meta_valid, sent, 'meta_valid == sent');
  assert.equal(p.meta_invalid, 0);
  assert.deepEqual(p.by_strategy, { meta: 0, prepend: 0, map: 0, [carrier]: sent });
  assert.equal(r.latency_ns.xdp_to_user.count, sent);
}

/**
 * 1000 packets never fit more than the 2048-entry RX and fill rings hold, so no packet can be
 * dropped however the vCPUs are scheduled: the counts must be exact.
 */
const N = 1000;

type Case = { name: string; strategy: 'auto' | 'meta' | 'prepend' | 'map'; mode?: 'native' | 'generic'; simulateNoMeta?: boolean; clock?: 'tai'; check: (r: Report) => void };

const allBy = (carrier: 'meta' | 'prepend' | 'map') => (r: Report) => assertAllStampedBy(r, N, carrier);

const CASES: Case[] = [
  {
    name: 'meta (native)',
    strategy: 'meta',
    check: (r) => {
      assertAllStampedBy(r, N, 'meta');
      assert.equal(r.packets.map, null);
    },
  },
  { name: 'prepend (native)', strategy: 'prepend', check: allBy('prepend') },
  {
    name: 'map (native)',
    strategy: 'map',
    check: (r) => {
      assertAllStampedBy(r, N, 'map');
      assert.deepEqual(r.packets.map, { stored: N, matched: N, packets_without_stamp: 0, stamps_without_packet: 0, collisions: 0 });
    },
  },
  { name: 'auto (native): all by meta', strategy: 'auto', check: allBy('meta') },
  { name: 'prepend (generic)', strategy: 'prepend', mode: 'generic', check: allBy('prepend') },
  { name: 'map (generic)', strategy: 'map', mode: 'generic', check: allBy('map') },
  {
    name: 'auto --simulate-no-meta (native): falls back per packet, by_strategy.meta == 0, all valid',
    strategy: 'auto',
    simulateNoMeta: true,
    check: (r) => {
      assert.equal(r.strategy, 'prepend', 'the strategy that carried the stamps');
      assertAllStampedBy(r, N, 'prepend');
      // the program's own view: adjust_meta refused every time, prepend carried every stamp
      const p = r.per_queue![0]!.program as unknown as Record<string, number>;
      assert.deepEqual([p.meta_failed, p.via_prepend, p.stamped, p.unstamped], [N, N, N, 0]);
    },
  },
  { name: 'auto --simulate-no-meta (generic)', strategy: 'auto', mode: 'generic', simulateNoMeta: true, check: allBy('prepend') },
  {
    name: 'meta --simulate-no-meta: every packet without a stamp, counted invalid, never a sample',
    strategy: 'meta',
    simulateNoMeta: true,
    check: (r) => {
      assert.equal(r.packets.received, N);
      assert.equal(r.packets.meta_valid, 0);
      assert.equal(r.packets.meta_invalid, N);
      assert.deepEqual(r.packets.by_strategy, { meta: 0, prepend: 0, map: 0 });
      assert.equal(r.latency_ns.xdp_to_user.count, 0);
      const p = r.per_queue![0]!.program as unknown as Record<string, number>;
      assert.deepEqual([p.meta_failed, p.stamped, p.unstamped, p.redirected], [N, 0, N, N]);
    },
  },
  // A stamp counts only when its TAI flag matches the run's clock, and a difference across clock
  // domains (TAI − MONOTONIC ≈ 1.7e18 ns) would never become a sample: count == sent proves both.
  ...(['meta', 'map'] as const).map((strategy): Case => ({ name: `--clock tai, ${strategy}: stamped, flagged and read as CLOCK_TAI`, strategy, clock: 'tai', check: allBy(strategy) })),
  { name: '--clock tai, auto --simulate-no-meta', strategy: 'auto', simulateNoMeta: true, clock: 'tai', check: allBy('prepend') },
];

function cliArgs(c: Case): string[] {
  return [
    '--packets', String(N), '--rate', '0', '--strategy', c.strategy, '--mode', c.mode ?? 'native',
    ...(c.simulateNoMeta ? ['--simulate-no-meta'] : []),
    ...(c.clock ? ['--clock', c.clock] : []),
  ];
}

function checkCommon(c: Case, r: Report): void {
  assert.equal(r.strategy_requested, c.strategy);
  assert.equal(r.mode, c.mode ?? 'native');
  assert.equal(r.clock, c.clock ?? 'monotonic');
  c.check(r);
}

// The first five through the real CLI (`afxdp demo --json`), concurrently: parallel labs do not
// collide. The rest in process (the same runDemo without a Node start per run), concurrently too.
describe('each strategy end to end', { concurrency: 3 }, () => {
  after(() => assertNoLeftovers());
  for (const c of CASES.slice(0, 5)) {
    test(`afxdp demo --strategy ${c.name}`, async () => checkCommon(c, await demoJson(cliArgs(c))));
  }
  test('in process: ' + CASES.slice(5).map((c) => c.name.split(':')[0]).join('; '), async () => {
    const reports = await Promise.all(
      CASES.slice(5).map(async (c) => {
        const r = await runDemo({ packets: N, rate: 0, strategy: c.strategy, mode: c.mode ?? 'native', simulateNoMeta: c.simulateNoMeta, clock: c.clock });
        trackLab(labOf(r));
        return r;
      }),
    );
    CASES.slice(5).forEach((c, i) => checkCommon(c, reports[i]!));
  });
  // the second driver: the same cases on a tap fed through its fd (native XDP, keeps metadata),
  // in process, four labs at a time (thirteen at once outran a loaded machine's 10 s for `ip`)
  test('on tap, in process: every case above', async () => {
    for (let at = 0; at < CASES.length; at += 4) {
      const some = CASES.slice(at, at + 4);
      const reports = await Promise.all(
        some.map(async (c) => {
          const r = await runDemo({ driver: 'tap', packets: N, rate: 0, strategy: c.strategy, mode: c.mode ?? 'native', simulateNoMeta: c.simulateNoMeta, clock: c.clock });
          trackLab(labOf(r));
          return r;
        }),
      );
      some.forEach((c, i) => checkCommon(c, reports[i]!));
    }
  });
  test('unknown strategy: exit 2, one line naming the choices', async () => {
    const rs = await Promise.all([runCli(['demo', '--strategy', 'tail']), runCli(['latency', '--iface', 'lo', '--strategy', 'tail'])]);
    for (const r of rs) assertOneLineError(r, 2, /--strategy must be one of auto, meta, prepend, map/);
    assert.throws(() => LatencyProbe.open({ ifname: 'lo', strategy: 'tail' as never }), /strategy must be one of auto, meta, prepend, map, got the string "tail"/);
  });
});

test('stale guard: reused frames whose packet carried no stamp are meta_invalid, never a latency sample', async () => {
  // 10000 packets through 4096 frames: each frame is reused, sometimes with and sometimes
  // without a stamp in front of the packet. Without the guard the old stamp would be read again.
  try {
    const reports = await Promise.all((['meta', 'auto'] as const).map((strategy) => runDemo({ packets: 10000, rate: 0, strategy, program: HALF_STAMP })));
    for (const [i, strategy] of (['meta', 'auto'] as const).entries()) {
      const r = reports[i]!;
      trackLab(labOf(r));
      assert.equal(r.packets.sent, 10000);
      assert.equal(r.packets.received, 10000);
      // seq 0, 3, ..., 9999 carry a stamp
      assert.equal(r.packets.meta_valid, 3334, strategy);
      assert.equal(r.packets.meta_invalid, 6666, strategy);
      assert.equal(r.latency_ns.xdp_to_user.count, 3334);
      assert.equal(r.packets.by_strategy.meta, 3334);
    }
  } finally {
    await assertNoLeftovers();
  }
});

test('map strategy counts packets without a stamp (a program that skips some)', async () => {
  try {
    const r = await runDemo({ packets: 2000, rate: 20000, strategy: 'map', program: HALF_STAMP });
    trackLab(labOf(r));
    assert.equal(r.packets.received, 2000);
    assert.equal(r.packets.meta_valid, 667);
    assert.equal(r.packets.by_strategy.map, 667);
    // a user program has no afxdp counters: what only the program knows is null, not 0
    assert.deepEqual(r.packets.map, { stored: null, matched: 667, packets_without_stamp: 1333, stamps_without_packet: null, collisions: null });
  } finally {
    await assertNoLeftovers();
  }
});

/** A lab with a probe on rx and a generator on tx; fn gets both; everything is torn down. */
async function withProbe(opts: Partial<ProbeOptions>, fn: (probe: LatencyProbe, gen: TrafficGenerator) => Promise<void>): Promise<void> {
  await withLab(async (lab) => {
    let probe: LatencyProbe | undefined;
    let gen: TrafficGenerator | undefined;
    try {
      probe = LatencyProbe.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, ...opts });
      gen = openGenerator(lab);
      await fn(probe, gen);
    } finally {
      gen?.close();
      probe?.close();
    }
  });
}

test('prepend is stripped: callers see exactly the frames that were sent', async () => {
  // one lab per strategy, concurrently (re-binding one queue in one process waits for GC: the
  // closed socket's ring mappings keep it alive until their ArrayBuffers are collected)
  await Promise.all(
    (['prepend', 'map', 'meta'] as const).map((strategy) =>
      withProbe({ strategy }, async (probe, gen) => {
        const out = new Uint32Array(5);
        const seqs = new Set<number>();
        let bad = 0;
        probe.onFrames = (addrs, lens, n, bytes) => {
          for (let i = 0; i < n; i++) {
            if (lens[i] !== DEFAULT_FRAME_SIZE || !readPayload(bytes, addrs[i]!, lens[i]!, out) || out[0] !== gen.runId) bad++;
            else seqs.add(out[1]!);
          }
        };
        probe.start();
        const sent = await gen.send({ count: 500, rate: 0 });
        await waitForEnd(probe, { expected: () => sent, idleMs: 1000 });
        probe.drain();
        assert.equal(bad, 0, `${strategy}: frames that are not the sent ones`);
        assert.equal(seqs.size, 500, strategy);
        assert.equal(probe.stats().metaValid, 500);
      }),
    ),
  );
  await assertNoLeftovers();
});

test('map strategy: stamps whose packet was dropped are counted as stamps_without_packet', async () => {
  // a 64-entry RX ring nobody drains: 64 packets fit, the rest are stamped and then dropped
  await withProbe({ strategy: 'map', ringSize: 64 }, async (probe, gen) => {
    await gen.send({ count: 200, rate: 0 });
    const before = probe.stats();
    assert.equal(before.kernel.rx_ring_full + before.kernel.rx_dropped, 136);
    probe.drain();
    const s = probe.stats();
    assert.equal(s.received, 64);
    assert.equal(s.metaValid, 64);
    assert.deepEqual(s.map, { stored: 200, matched: 64, packets_without_stamp: 0, stamps_without_packet: 136, collisions: 0 });
  });
  await assertNoLeftovers();
});
