/**
 * The receiver's one consume API on a real lab (two namespaces, a veth with 2 queues, the stamp
 * program, AF_XDP sockets): take() a batch, release() it, wait() until one may be ready, watch()
 * to be called, the queues taking turns — in event mode (the engines on this thread) and worker
 * mode (batches handed over by the workers). AfxdpSocket, LatencyProbe, ping and the run's sinks
 * all consume through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lab } from '../src/lab/lab.js';
import { LatencyReceiver, type PollMode } from '../src/rx/receiver.js';
import type { PacketBatch } from '../src/rx/batch.js';
import { AfxdpError } from '../src/errors.js';
import { withLab, openGenerator } from './lib/lab.js';
import { waitFor } from './lib/wait.js';

const PER_QUEUE = 32;
const BATCH = 8;

/** Sends `count` packets on each of `queues` (sequence numbers 0..count-1 per queue). */
async function sendOn(lab: Lab, queues: number[], count: number): Promise<void> {
  const gens = queues.map((queue) => openGenerator(lab, { queue }));
  try {
    const sent = await Promise.all(gens.map((g) => g.send({ count, rate: 10_000 })));
    assert.deepEqual(sent, queues.map(() => count));
  } finally {
    for (const g of gens) g.close();
  }
}

/** Everything of `total` packets is where take() finds it: in the sockets' RX rings (event) or the workers' channels. */
function arrived(rx: LatencyReceiver, poll: PollMode, total: number): Promise<void> {
  const ready = (): number => (poll === 'event' ? rx.queues.reduce((a, _q, i) => a + rx.socketOf(i).rx!.kernelProducerIndex, 0) : rx.received);
  return waitFor(() => ready() >= total, { what: `${total} packets ready to take`, detail: () => `${ready()} ready` });
}

for (const poll of ['event', 'worker'] as PollMode[]) {
  test(`${poll} mode: take, release and wait over 2 queues, the queues taking turns, every packet once`, async () => {
    await withLab(async (lab) => {
      const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll, queues: 'all', batchSize: BATCH, ringSize: 512, deliver: poll !== 'event', senderRunId: 'any' });
      try {
        assert.deepEqual(rx.queues, [0, 1]);
        // nothing yet: take() says so at once, and wait() returns at its timeout
        assert.equal(rx.take(), null);
        await rx.wait(30);
        assert.equal(rx.take(), null);

        // wait() returns when a batch arrives; take() then has it
        const woke = rx.wait(10_000);
        await sendOn(lab, [1], BATCH);
        await woke;
        let first: PacketBatch | null = null;
        await waitFor(async () => (first = rx.take()) !== null || (await rx.wait(1000), false), { what: 'the first batch' });
        const b0 = first!;
        assert.equal(b0.queue, 1);
        let got = b0.n;
        // one batch out at a time
        assert.throws(() => rx.take(), (e: unknown) => e instanceof AfxdpError && e.code === 'ESTATE' && /not released/.test(e.message));
        rx.release();
        rx.release(); // nothing out: a no-op
        // a worker hands over what it found each time: the rest of the batch may come in pieces
        await waitFor(async () => {
          for (let b = rx.take(); b !== null; b = rx.take()) {
            assert.equal(b.queue, 1);
            got += b.n;
            rx.release();
          }
          return got >= BATCH || (await rx.wait(1000), false);
        }, { what: `${BATCH} packets on queue 1`, detail: () => `${got}` });
        assert.equal(got, BATCH);
        assert.equal(rx.take(), null, 'released, and nothing else arrived');

        // both queues full: the queues take turns until one runs dry, and every packet comes once
        await sendOn(lab, [0, 1], PER_QUEUE);
        await arrived(rx, poll, BATCH + 2 * PER_QUEUE);
        const order: number[] = [];
        const seqs: Array<Set<number>> = [new Set(), new Set()];
        for (let b = rx.take(); b !== null; b = rx.take()) {
          order.push(b.queue);
          for (let i = 0; i < b.n; i++) {
            const s = b.seq[i]!;
            assert.ok(!seqs[b.queue]!.has(s), `queue ${b.queue}: sequence ${s} came twice`);
            seqs[b.queue]!.add(s);
          }
          rx.release();
        }
        assert.deepEqual(seqs.map((s) => s.size), [PER_QUEUE, PER_QUEUE], `per queue, in order ${order.join(',')}`);
        // the queue after the last one that gave a batch goes first: queue 1 gave the last, so 0
        assert.equal(order[0], 0, order.join(','));
        for (let k = 0; k + 1 < order.length; k++) {
          if (order[k] === order[k + 1]) assert.ok(order.slice(k).every((q) => q === order[k]), `a queue went twice while the other had batches: ${order.join(',')}`);
        }
        assert.ok(order.length >= 2 * (PER_QUEUE / BATCH), `batches of at most ${BATCH}: ${order.join(',')}`);

        // onceReady(): wait() as a one-shot callback, called once a batch may be ready; cancelWait()
        // calls a pending one now
        let readyCalls = 0;
        rx.onceReady(() => readyCalls++);
        assert.equal(readyCalls, 0, 'nothing is ready: not called yet');
        await sendOn(lab, [0], BATCH);
        await waitFor(() => readyCalls === 1, { what: 'the onceReady callback', detail: () => `${readyCalls} calls` });
        let again = 0;
        await waitFor(async () => {
          for (let b = rx.take(); b !== null; b = rx.take()) {
            again += b.n;
            rx.release();
          }
          return again >= BATCH || (await rx.wait(1000), false);
        }, { what: `${BATCH} packets after onceReady`, detail: () => `${again}` });
        assert.equal(again, BATCH);
        let cancelled = 0;
        rx.onceReady(() => cancelled++);
        rx.cancelWait();
        await waitFor(() => cancelled === 1, { what: 'the callback cancelWait() calls', detail: () => `${cancelled} calls` });
        rx.cancelWait(); // nothing pending: a no-op
        assert.equal(readyCalls + cancelled, 2, 'each callback once');

        // watch(): called as batches arrive, until unwatch()
        let watched = 0;
        rx.watch(() => {
          for (let b = rx.take(); b !== null; b = rx.take()) {
            watched += b.n;
            rx.release();
          }
        });
        assert.throws(() => rx.watch(() => {}), (e: unknown) => e instanceof AfxdpError && e.code === 'ESTATE');
        await sendOn(lab, [0], 20);
        await waitFor(() => watched === 20, { what: '20 packets through watch()', detail: () => `${watched}` });
        rx.unwatch();

        const s = rx.stats();
        assert.equal(s.received, BATCH + 2 * PER_QUEUE + BATCH + 20);
        assert.equal(s.metaValid, s.received);
        assert.equal(s.kernel.rx_dropped + s.kernel.rx_ring_full, 0);
        rx.close();
        // closed: take() says so, wait() returns at once
        assert.throws(() => rx.take(), (e: unknown) => e instanceof AfxdpError && e.code === 'ECLOSED');
        await rx.wait();
      } finally {
        rx.close();
      }
    }, { queues: 2 });
  });
}

test('a worker-mode receiver opened without deliver keeps its batches in the workers: take() says how to get them', async () => {
  await withLab(async (lab) => {
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'worker' });
    try {
      assert.throws(() => rx.take(), (e: unknown) => e instanceof AfxdpError && e.code === 'ESTATE' && /without `deliver`/.test(e.message) && /deliver: true/.test(e.hint ?? ''));
      assert.throws(() => rx.watch(() => {}), (e: unknown) => e instanceof AfxdpError && e.code === 'ESTATE');
    } finally {
      rx.close();
    }
  }, { queues: 1 });
});
