/**
 * The public API over the one receive engine: every strategy, both poll modes and several queues
 * through open(), with per-packet queue, strategy and latency; unknown options are errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, runLatency, AfxdpError } from '../src/index.js';
import type { Lab } from '../src/entry/lab.js';
import { LatencyReceiver } from '../src/entry/receiver.js';
import { runTool } from '../src/sys/exec.js';
import { withNetns } from '../src/sys/netns.js';
import { XskSocket } from '../src/xsk/socket.js';
import { native } from '../src/native.js';
import { withLab, openGenerator, xdpOn } from './lib/lab.js';

/** One generator per TX queue: veth delivers on the RX queue numbered like the TX queue. */
function sendOnEveryQueue(lab: Lab, queues: number, perQueue: number): { done: Promise<number[]>; close(): void } {
  const gens = Array.from({ length: queues }, (_, q) =>
    openGenerator(lab, { queue: q }),
  );
  return { done: Promise.all(gens.map((g) => g.send({ count: perQueue, rate: 10_000 }))), close: () => gens.forEach((g) => g.close()) };
}

for (const [strategy, poll] of [['prepend', 'busy'], ['map', 'event'], ['auto', 'busy']] as const) {
  test(`open({ strategy: '${strategy}', poll: '${poll}', queues: [0, 1] }) receives every packet with its queue, strategy and latency`, async () => {
    await withLab(async (lab) => {
      const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, strategy, poll, queues: [0, 1] });
      const perQueue = 500;
      const traffic = sendOnEveryQueue(lab, 2, perQueue);
      try {
        assert.equal(sock.poll, poll);
        assert.deepEqual(sock.queues, [0, 1]);
        assert.equal(sock.strategy, strategy);
        const byQueue = [0, 0];
        const byStrategy = new Map<string, number>();
        let n = 0;
        for await (const batch of sock) {
          for (let i = 0; i < batch.length; i++) {
            const p = batch.packet(i);
            byQueue[p.queue]!++;
            byStrategy.set(p.strategy, (byStrategy.get(p.strategy) ?? 0) + 1);
            assert.equal(p.length, 64, 'the frame as sent (a prepended stamp is stripped)');
            assert.deepEqual([...p.buffer.subarray(p.offset + 26, p.offset + 30)], [...lab.tx.ipBytes]);
            assert.ok(p.latencyNs > 0 && p.latencyNs < 10e9, `latency ${p.latencyNs}`);
            assert.equal(batch.latencyOf(i), p.latencyNs);
          }
          n += batch.length;
          if (n >= 2 * perQueue) break;
        }
        await traffic.done;
        assert.deepEqual(byQueue, [perQueue, perQueue]);
        assert.deepEqual([...byStrategy], [[strategy === 'auto' ? 'meta' : strategy, 2 * perQueue]]);
        const s = sock.stats();
        assert.equal(s.received, 2 * perQueue);
        assert.equal(s.metaValid, 2 * perQueue);
        assert.equal(sock.latency().count, 2 * perQueue);
        const rep = sock.report({ sent: 2 * perQueue });
        assert.equal(rep.poll, poll);
        assert.deepEqual(rep.per_queue!.map((q) => q.received), [perQueue, perQueue]);
        // resetLatency starts a new interval (over every queue): nothing recorded since; the whole run stays
        sock.resetLatency();
        assert.equal(sock.latency({ since: 'reset' }).count, 0);
        assert.equal(sock.latency().count, 2 * perQueue);
      } finally {
        traffic.close();
        sock.close();
      }
    }, { queues: 2 });
  });
}

test('onBatch() in busy mode: the callback runs on the main thread for every batch; offBatch() stops it', async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, poll: 'busy' });
    const traffic = sendOnEveryQueue(lab, 1, 400);
    try {
      let n = 0;
      await new Promise<void>((resolve) => {
        sock.onBatch((b) => {
          n += b.length;
          if (n >= 400) resolve();
        });
      });
      sock.offBatch();
      await traffic.done;
      assert.equal(n, 400);
      assert.equal(sock.stats().received, 400);
    } finally {
      traffic.close();
      sock.close();
    }
  }, { queues: 1 });
});

test('open(): an option the API does not know is an error that names it and the nearest known one', async () => {
  await withLab(async (lab) => {
    const base = { iface: lab.rx.ifname, netns: lab.rx.netns.fd };
    const refused = (o: object, message: RegExp) => assert.throws(() => open({ ...base, ...o } as never), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && message.test(e.message) && /^the options are iface, queue,/.test(e.hint!));
    refused({ stratgy: 'prepend' }, /^open: unknown option "stratgy" \(did you mean "strategy"\?\)$/);
    refused({ batchsize: 8 }, /^open: unknown option "batchsize" \(did you mean "batchSize"\?\)$/);
    // runLatency()'s spelling of the same option
    refused({ netnsFd: 3 }, /^open: unknown option "netnsFd" \(did you mean "netns"\?\)$/);
    refused({ ifname: 'x' }, /^open: unknown option "ifname" \(did you mean "iface"\?\)$/);
    refused({ frobnicate: 1 }, /^open: unknown option "frobnicate"$/);
    // and the other way round
    assert.throws(() => LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, netns: 'x' } as never), /receiver options: unknown option "netns" \(did you mean "netnsFd"\?\)/);
    assert.throws(() => open({ ...base, poll: 'spin' } as never), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /poll must be one of event, worker, busy/.test(e.message));
    assert.throws(() => open({ ...base, strategy: 'magic' } as never), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /strategy must be one of/.test(e.message));
    assert.throws(() => open({ ...base, queue: 0, queues: [0] }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE');
    assert.throws(() => open({ ...base, queues: [] }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE');
    // nothing was left attached by the refused calls: a socket opens
    const sock = open({ ...base, queues: 'all' });
    assert.deepEqual(sock.queues, [0]);
    sock.close();
  }, { queues: 1 });
});

test("errors speak the face's names: open() and runLatency() say queue / outputs.html where the CLI says --queue / --html", async () => {
  await withLab(async (lab) => {
    const base = { iface: lab.rx.ifname, netns: lab.rx.netns.fd };
    assert.throws(() => open({ ...base, queue: 5 }), (e: unknown) => e instanceof AfxdpError && e.code === 'ENOQUEUE' && /queue 5 does not exist/.test(e.message) && e.hint === 'use queue: 0' && !/--/.test(e.oneLine()));
    await assert.rejects(runLatency({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, queues: [5], packets: 1 }), (e: unknown) => e instanceof AfxdpError && e.code === 'ENOQUEUE' && e.hint === 'use queues 0' && !/--/.test(e.oneLine()));
    await assert.rejects(runLatency({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, packets: 1, outputs: { html: '/nonexistent-afxdp/r.html' } }), (e: unknown) => e instanceof AfxdpError && e.message === 'cannot write outputs.html /nonexistent-afxdp/r.html: its directory does not exist');
    // the command's own spelling on request (the afxdp command asks for it)
    await assert.rejects(runLatency({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, queues: [5], packets: 1, spelling: 'cli' }), (e: unknown) => e instanceof AfxdpError && e.hint === 'use --queue 0');
    assert.deepEqual(await xdpOn(lab), [], 'nothing attached by the refused calls');
  }, { queues: 1 });
});

test('a queue another AF_XDP socket holds: open() is one EBUSY line (bind auto tries zero-copy first: not a mode problem), nothing left attached', async () => {
  await withLab(async (lab) => {
    const holder = withNetns(lab.rx.netns.fd, () => XskSocket.create({ ifindex: native().ifNameToIndex(lab.rx.ifname), ifname: lab.rx.ifname, queue: 0, bind: 'copy' }));
    try {
      assert.throws(() => open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd }), (e: unknown) => e instanceof AfxdpError && e.code === 'EBUSY' && e.errno === 16 && e.message === `${lab.rx.ifname} queue 0 is in use by another AF_XDP socket` && /close that socket/.test(e.hint!));
      assert.deepEqual(await xdpOn(lab), [], 'the program was detached again');
    } finally {
      holder.close();
    }
    // freed at close(): the queue opens now
    open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd }).close();
  }, { queues: 1 });
});

test("open({ netns: NAME }): a bare `ip netns` name is /run/netns/NAME; an absent one is one clear line", async () => {
  await withLab(async (lab) => {
    const name = `${lab.id}-face`;
    assert.throws(() => open({ iface: lab.rx.ifname, netns: name }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && e.message === `network namespace "${name}" does not exist (no /run/netns/${name})` && /ip netns list/.test(e.hint!));
    // pin the lab's rx namespace under a name, as `ip netns add` would
    await runTool('ip', ['netns', 'attach', name, String(lab.rx.netns.pid)]);
    try {
      const sock = open({ iface: lab.rx.ifname, netns: name });
      try {
        assert.equal(sock.iface, lab.rx.ifname);
      } finally {
        sock.close();
      }
    } finally {
      await runTool('ip', ['netns', 'delete', name]);
    }
  });
});
