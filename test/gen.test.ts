/**
 * `afxdp gen` and the CLI side of receive modes / multi-queue, end to end through the real binary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, inside, openGenerator } from './lib/lab.js';
import { LatencyReceiver } from '../src/rx/receiver.js';
import { waitForEnd } from '../src/run/session.js';
import { TrafficGenerator } from '../src/lab/generator.js';
import { runCli, assertOneLineError, assertNoLeftovers } from './lib/cli.js';

test('afxdp gen sends exactly --count frames, and all of them arrive', async () => {
  await withLab(async (lab) => {
    const rx = await LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, ringSize: 4096 });
    try {
      rx.start();
      const r = await runCli(['gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--count', '7777', '--rate', '10000', '--size', '128', '--json'], {
        wrap: inside(lab, 'tx'),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const out = JSON.parse(r.stdout) as { sent: number; size: number; bind: string; queue: number; tx_invalid_descs: number; pps: number };
      assert.equal(out.sent, 7777);
      assert.equal(out.size, 128);
      assert.equal(out.bind, 'copy');
      assert.equal(out.queue, 0);
      assert.equal(out.tx_invalid_descs, 0);
      assert.ok(out.pps > 0);
      await waitForEnd(rx, { expected: () => 7777, idleMs: 2000 });
      await rx.close();
      assert.equal(rx.stats().received, 7777);
      assert.equal(rx.stats().metaValid, 7777);
    } finally {
      await rx.close();
    }
  });
  await assertNoLeftovers();
});

test('afxdp demo --poll busy --queues 2 receives everything on both queues', async () => {
  const r = await runCli(['demo', '--packets', '6000', '--rate', '6000', '--poll', 'busy', '--queues', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /busy poll, 2 queues/);
  assert.match(r.stdout, /sent 6,000 +received 6,000 +meta valid 6,000 \/ invalid 0/);
  await assertNoLeftovers();
});

test('afxdp demo --tx-worker --poll worker --queues 2: the senders run in workers and every packet is accounted for', async () => {
  const r = await runCli(['demo', '--json', '--packets', '6000', '--rate', '6000', '--tx-worker', '--poll', 'worker', '--queues', '2']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { poll: string; packets: { sent: number; received: number; meta_valid: number; kernel: { rx_dropped: number; rx_ring_full: number } } };
  assert.equal(rep.poll, 'worker');
  assert.equal(rep.packets.sent, 6000);
  // a starved receiver shows as kernel drops now (the sender no longer waits for it): exact either way
  assert.equal(rep.packets.received + rep.packets.kernel.rx_dropped + rep.packets.kernel.rx_ring_full, 6000);
  assert.equal(rep.packets.meta_valid, rep.packets.received);
  await assertNoLeftovers();
});

test('gen, latency and demo reject bad flags with one line and exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['gen', '--iface', 'eth0', '--dst-mac', 'nope'], /not a MAC address/],
    [['gen', '--iface', 'eth0'], /--dst-mac/],
    [['gen', '--iface', 'eth0', '--dst-mac', '02:00:00:00:00:01', '--size', '20'], /--size/],
    [['latency', '--iface', 'lo', '--poll', 'sideways'], /--poll must be one of event, worker, busy/],
    [['latency', '--iface', 'lo', '--queue', '1', '--queues', '2'], /--queue and --queues cannot be combined/],
    [['demo', '--queues', '65'], /--queues/],
    [['demo', '--ping', '--tx-worker'], /--tx-worker does not apply/],
  ];
  for (const [args, pattern] of cases) assertOneLineError(await runCli(args), 2, pattern);
});

test('gen on a missing interface fails with one line and exit 1', async () => {
  assertOneLineError(await runCli(['gen', '--iface', 'afxdp-none0', '--dst-mac', '02:00:00:00:00:01', '--src-mac', '02:00:00:00:00:02', '--count', '1']), 1, /afxdp-none0 not found/);
  assertOneLineError(await runCli(['gen', '--iface', 'afxdp-none0', '--dst-mac', '02:00:00:00:00:01', '--count', '1']), 1, /afxdp-none0 not found/);
});

test('afxdp latency --poll busy --queues all measures every queue of a foreign interface', async () => {
  await withLab(async (lab) => {
    const gens: TrafficGenerator[] = [];
    try {
      let sending: Promise<number[]> | undefined;
      const r = await runCli(['latency', '--iface', lab.rx.ifname, '--poll', 'busy', '--queues', 'all', '--packets', '4000', '--json'], {
        wrap: inside(lab),
        onStderr: (chunk) => {
          // attached and spinning: send 2000 frames on each TX queue (veth: same RX queue number)
          if (sending || !/measuring on/.test(chunk)) return;
          for (const q of [0, 1]) {
            gens.push(openGenerator(lab, { queue: q }));
          }
          sending = Promise.all(gens.map((g) => g.send({ count: 2000, rate: 4000 })));
        },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /queues 0,1 \(XDP native, AF_XDP copy, busy poll/);
      assert.deepEqual(await sending, [2000, 2000]);
      const rep = JSON.parse(r.stdout) as { poll: string; queues: number[]; packets: { sent: null; received: number; meta_valid: number }; latency_ns: { xdp_to_user: { count: number } } };
      assert.equal(rep.poll, 'busy');
      assert.deepEqual(rep.queues, [0, 1]);
      assert.equal(rep.packets.sent, null);
      assert.equal(rep.packets.received, 4000);
      assert.equal(rep.packets.meta_valid, 4000);
      assert.equal(rep.latency_ns.xdp_to_user.count, 4000);
    } finally {
      for (const g of gens) g.close();
    }
  }, { queues: 2 });
  await assertNoLeftovers();
});

test('Ctrl-C stops a busy-mode latency run: it reports, stops its workers and detaches', async () => {
  await withLab(async (lab) => {
    const r = await runCli(['latency', '--iface', lab.rx.ifname, '--poll', 'busy', '--json'], {
      wrap: inside(lab),
      onStderr: (chunk, child) => {
        if (/measuring on/.test(chunk)) child.kill('SIGINT');
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /SIGINT: stopping and reporting/);
    const rep = JSON.parse(r.stdout) as { poll: string; packets: { received: number } };
    assert.equal(rep.poll, 'busy');
    assert.equal(rep.packets.received, 0);
    // nothing left attached on the lab interface
    const { stdout } = await lab.rx.netns.exec('ip', ['-j', 'link', 'show', 'dev', lab.rx.ifname]);
    assert.equal((JSON.parse(stdout) as Array<{ xdp?: unknown }>)[0]!.xdp, undefined);
  });
  await assertNoLeftovers();
});
