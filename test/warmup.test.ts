/**
 * --warmup leaves the first part of a run out of the latency figures while the report says exactly
 * what it excluded (excluded + reported = all valid stamps). Functional only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyReceiver } from '../src/rx/receiver.js';
import type { Report } from '../src/report/report.js';
import { runCli, assertOneLineError, assertNoLeftovers } from './lib/cli.js';
import { withLab, openGenerator } from './lib/lab.js';
import { waitForEnd } from '../src/run/session.js';

test('LatencyReceiver.excludeWarmup(): what was recorded leaves the histograms, counted; what follows is reported', async () => {
  await withLab(async (lab) => {
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'worker' });
    const gen = openGenerator(lab);
    try {
      rx.start();
      assert.equal(await gen.send({ count: 1500, rate: 10_000 }), 1500);
      await waitForEnd(rx, { expected: () => 1500, idleMs: 2000 });
      const cut = rx.excludeWarmup();
      assert.equal(cut.packets, 1500);
      assert.deepEqual(cut.samples, { xdp_to_user: 1500 });
      assert.equal(rx.summary().count, 0);
      assert.equal(await gen.send({ count: 700, rate: 10_000 }), 700);
      await waitForEnd(rx, { expected: () => 2200, idleMs: 2000 });
      rx.close();
      assert.equal(rx.stats().received, 2200);
      assert.equal(rx.summary().count, 700);
    } finally {
      gen.close();
      rx.close();
    }
  });
});

function demo(args: string[]): Promise<Report> {
  return runCli(['demo', '--json', ...args]).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Report;
  });
}

/** excluded + reported = every valid stamp, for each measured segment */
function assertAccounted(rep: Report): void {
  const w = rep.warmup!;
  assert.equal(rep.packets.received, rep.packets.sent);
  assert.equal(rep.packets.meta_valid, rep.packets.received);
  assert.equal(rep.latency_ns.xdp_to_user.count + w.excluded_samples.xdp_to_user!, rep.packets.meta_valid);
  assert.equal(rep.latency_ns.sender_to_xdp!.count + w.excluded_samples.sender_to_xdp!, rep.packets.meta_valid);
  assert.ok(w.excluded_packets <= rep.packets.received);
}

test('--warmup N (packets) excludes at least the first N packets and reports what it excluded (worker mode)', async () => {
  const rep = await demo(['--packets', '6000', '--rate', '6000', '--poll', 'worker', '--warmup', '2000']);
  assert.equal(rep.poll, 'worker');
  const w = rep.warmup!;
  assert.equal(w.packets, 2000);
  assert.equal(w.seconds, null);
  assert.equal(w.completed, true);
  assert.ok(w.excluded_packets >= 2000 && w.excluded_packets < 6000, JSON.stringify(w));
  assert.ok(w.excluded_samples.xdp_to_user! >= 2000, JSON.stringify(w));
  assertAccounted(rep);
  assert.ok(rep.latency_ns.xdp_to_user.count > 0);
  await assertNoLeftovers();
});

test('--warmup 300ms excludes the first 0.3 s (event mode), and a run that ends inside its warm-up says so', async () => {
  const rep = await demo(['--packets', '5000', '--rate', '5000', '--warmup', '300ms']);
  const w = rep.warmup!;
  assert.equal(w.seconds, 0.3);
  assert.equal(w.completed, true);
  assert.ok(w.at_s >= 0.3, JSON.stringify(w));
  assertAccounted(rep);

  const all = await demo(['--packets', '1000', '--rate', '5000', '--warmup', '100000']);
  assert.equal(all.warmup!.completed, false);
  assert.equal(all.warmup!.excluded_packets, 1000);
  assert.equal(all.latency_ns.xdp_to_user.count, 0);
  assertAccounted(all);
  // the text report names the exclusion
  const r = await runCli(['demo', '--packets', '1000', '--rate', '5000', '--warmup', '100']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /warm-up 100 packets: first [\d,]+ packets, [\d,]+ samples excluded/);
  await assertNoLeftovers();
});

test('--warmup rejects what is neither a time nor a packet count, and --ping refuses it, with one line', async () => {
  for (const v of ['5x', '0', '-1s', '2h', '1.5']) assertOneLineError(await runCli(['latency', '--iface', 'lo', '--warmup', v]), 2, /--warmup/);
  assertOneLineError(await runCli(['demo', '--ping', '--warmup', '1s']), 2, /--ping cannot use --warmup/);
});
