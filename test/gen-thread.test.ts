/**
 * The generator's blocking loop (TrafficGenerator.sendSync) and its worker (GeneratorThread, what
 * `afxdp gen` and `demo --tx-worker` send with): exact counts, every frame arrives, early stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, openGenerator, inside } from './lib/lab.js';
import { assertNoLeftovers, runCli } from './lib/cli.js';
import { LatencyReceiver } from '../src/rx/receiver.js';
import { waitForEnd } from '../src/run/session.js';
import { GeneratorThread } from '../src/entry/lab.js';
import { AfxdpError } from '../src/errors.js';

test('rehearse sends nothing; sendSync sends exactly count frames, paced and at full speed, and every one arrives stamped', async () => {
  await withLab(async (lab) => {
    // the RX ring holds both runs: this thread is blocked while sendSync runs
    const rx = await LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, ringSize: 8192 });
    const gen = openGenerator(lab);
    try {
      rx.start();
      // the rehearsal runs the loop on frames that never leave: nothing sent, every frame back
      gen.rehearse(5000);
      assert.equal(gen.sent, 0);
      assert.equal(gen.socket.framesInUse(), 0);
      assert.equal(gen.sendSync({ count: 3000, rate: 30_000 }), 3000);
      assert.equal(gen.sendSync({ count: 3000, rate: 0 }), 3000);
      assert.equal(gen.sent, 6000);
      assert.equal(gen.socket.framesInUse(), 0); // every frame completed and reclaimed
      await waitForEnd(rx, { expected: () => 6000, idleMs: 2000 });
      await rx.close();
      assert.equal(rx.stats().received, 6000); // not one frame more: the rehearsal sent none
      assert.equal(rx.stats().metaValid, 6000);
      assert.equal(gen.socket.statistics().tx_invalid_descs, 0);
      // a stop cell already set: nothing is sent
      const stop = new Int32Array(new SharedArrayBuffer(4));
      Atomics.store(stop, 0, 1);
      assert.equal(gen.sendSync({ count: 100, rate: 0, stop }), 0);
      assert.throws(() => gen.sendSync({ count: -1, rate: 0 }), (e: AfxdpError) => e.code === 'EUSAGE' && /packet count -1/.test(e.message));
    } finally {
      gen.close();
      await rx.close();
    }
  });
  await assertNoLeftovers();
});

test('GeneratorThread: sends from its worker, reports count and time; stop() ends a run early with exact accounting', async () => {
  await withLab(async (lab) => {
    const opts = { ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes };
    const rx = await LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, ringSize: 4096 });
    try {
      rx.start();
      const g = new GeneratorThread(opts, { count: 5000, rate: 50_000 });
      try {
        await g.ready;
        assert.equal(g.bindMode, 'copy');
        assert.equal(g.sg, false);
        assert.equal(g.sent, 0); // nothing before start()
        g.start();
        const r = await g.result;
        assert.equal(r.sent, 5000);
        assert.equal(await g.done, 5000);
        assert.equal(g.sent, 5000);
        assert.equal(r.txInvalidDescs, 0);
        assert.ok(r.seconds > 0 && r.seconds < 10, `seconds ${r.seconds}`);
      } finally {
        g.close();
      }
      await waitForEnd(rx, { expected: () => 5000, idleMs: 2000 });
      assert.equal(rx.stats().received, 5000);
    } finally {
      await rx.close();
    }

    // stop(): a run that would not end on its own reports what it sent
    const g = new GeneratorThread(opts, { count: Number.MAX_SAFE_INTEGER, rate: 20_000 });
    try {
      await g.ready;
      g.start();
      while (g.sent < 1000) await new Promise((r) => setTimeout(r, 5));
      g.stop();
      const r = await g.result;
      assert.ok(r.sent >= 1000 && r.sent < Number.MAX_SAFE_INTEGER, `sent ${r.sent}`);
      assert.equal(g.sent, r.sent);
    } finally {
      g.close();
    }

    // a failure in the worker rejects ready and result with the AfxdpError
    const bad = new GeneratorThread({ ...opts, ifname: 'afxdp-none0' }, { count: 1, rate: 0 });
    try {
      await assert.rejects(bad.ready, (e: AfxdpError) => e.code === 'ENOIFACE' && /afxdp-none0 not found/.test(e.message));
      await assert.rejects(bad.result, (e: AfxdpError) => e.code === 'ENOIFACE');
    } finally {
      bad.close();
    }
  });
  await assertNoLeftovers();
});

test('afxdp gen without --count sends until Ctrl-C, then reports what it sent (exit 0)', async () => {
  await withLab(async (lab) => {
    const r = await runCli(['gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--rate', '20000'], {
      wrap: inside(lab, 'tx'),
      onStderr: (chunk, child) => {
        // the note comes once the worker's socket is open; the stop reaches the worker through shared memory
        if (/sending until Ctrl-C/.test(chunk)) child.kill('SIGINT');
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /AF_XDP copy\) at 20000 pps/);
    const m = /^sent (\d+) packets in ([\d.]+) s/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) >= 0 && Number(m[1]) < Number.MAX_SAFE_INTEGER, r.stdout);
  });
  await assertNoLeftovers();
});
