/**
 * Receive modes and multi-queue against the real kernel: a lab veth with N queues, the stamp
 * program, AF_XDP sockets per queue (event mode on the main thread, busy mode in workers), and
 * traffic spread over the queues by sending on each TX queue. Functional only: no timing asserts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lab } from '../src/lab/lab.js';
import { LatencyReceiver, type PollMode } from '../src/rx/receiver.js';
import { waitForEnd } from '../src/run/session.js';
import { receiverReport } from '../src/report/receiver-report.js';
import { AfxdpError } from '../src/errors.js';
import { withLab, openGenerator } from './lib/lab.js';

/** Sends `perQueue` packets on each of the lab's queues and waits until all are accounted for. */
async function sendAll(lab: Lab, rx: LatencyReceiver, perQueue: number, rate: number): Promise<number> {
  const gens = rx.queues.map((queue) => openGenerator(lab, { queue }));
  try {
    const sent = (await Promise.all(gens.map((g) => g.send({ count: perQueue, rate })))).reduce((a, b) => a + b, 0);
    await waitForEnd(rx, { expected: () => sent, idleMs: 2000 });
    return sent;
  } finally {
    for (const g of gens) g.close();
  }
}

for (const poll of ['event', 'worker', 'busy'] as PollMode[]) {
  test(`${poll} mode receives every packet, each with a valid stamp`, async () => {
    await withLab(async (lab) => {
      const rx = await LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll, ringSize: 4096, batchSize: 32 });
      try {
        rx.start();
        assert.equal(rx.poll, poll);
        assert.deepEqual(rx.queues, [0]);
        assert.equal(rx.bindMode, 'copy');
        const sent = await sendAll(lab, rx, 20_000, 10_000);
        assert.equal(sent, 20_000);
        await rx.close();
        const s = rx.stats();
        assert.equal(s.received, sent, `received (kernel: ${JSON.stringify(s.kernel)})`);
        assert.equal(s.metaValid, sent);
        assert.equal(s.metaInvalid, 0);
        assert.equal(s.kernel.rx_dropped, 0);
        assert.equal(s.program.redirected, sent);
        const sum = rx.summary();
        assert.equal(sum.count, sent);
        assert.ok(sum.min > 0 && sum.min <= sum.p50 && sum.p50 <= sum.max, JSON.stringify(sum));
        const report = receiverReport(rx, { sent, durationS: 2 });
        assert.equal(report.poll, poll);
        assert.deepEqual(report.queues, [0]);
        assert.equal(report.packets.received, sent);
        assert.equal(report.latency_ns.xdp_to_user.count, sent);
      } finally {
        await rx.close();
      }
    }, { queues: 1 });
  });
}

for (const [poll, queues] of [['event', 3], ['worker', 2], ['busy', 2]] as Array<[PollMode, number]>) {
  test(`${poll} mode on ${queues} queues receives each queue's traffic on that queue's socket`, async () => {
    await withLab(async (lab) => {
      const rx = await LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll, queues: 'all', ringSize: 4096 });
      try {
        rx.start();
        assert.deepEqual(rx.queues, Array.from({ length: queues }, (_, i) => i));
        const perQueue = 3000;
        const sent = await sendAll(lab, rx, perQueue, 5000);
        await rx.close();
        assert.deepEqual(rx.receivedPerQueue(), rx.queues.map(() => perQueue));
        const s = rx.stats();
        assert.equal(s.received, sent);
        assert.equal(s.metaValid, sent);
        assert.equal(rx.summary().count, sent);
        assert.equal(receiverReport(rx, { sent, durationS: 1 }).queues.length, queues);
      } finally {
        await rx.close();
      }
    }, { queues: queues });
  });
}

test('a queue the interface does not have is refused, and nothing is left attached', async () => {
  await withLab(async (lab) => {
    for (const poll of ['event', 'busy'] as PollMode[]) {
      assert.throws(() => LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll, queues: [0, 2] }),
        (e: unknown) => e instanceof AfxdpError && e.code === 'ENOQUEUE' && /has 2 RX queues; queue 2/.test(e.message),
      );
    }
    assert.throws(() => LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, queues: [1, 1] }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE');
    assert.throws(() => LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, batchSize: 0 }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE');
    // still free: a new receiver can attach
    const rx = await LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'busy', queues: [1] });
    await rx.close();
    await rx.close(); // idempotent
  }, { queues: 2 });
});

test('a busy-mode socket that cannot be created is reported from the worker as one error', async () => {
  await withLab(async (lab) => {
    // veth has no zero-copy: the worker's bind fails (options are checked before, on this thread)
    assert.throws(() => LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'busy', bind: 'zerocopy' }),
      (e: unknown) => e instanceof AfxdpError && e.code === 'ESYS' && /cannot bind an AF_XDP socket \(zerocopy\)/.test(e.message),
    );
    // a ring size that is not a power of two never reaches a worker
    assert.throws(() => LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'busy', ringSize: 1000 }),
      (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /^ringSize must be a power of two from 8 to 8192 \(e\.g\. 64, 512, 2048\), got 1000$/.test(e.message),
    );
  }, { queues: 1 });
});
