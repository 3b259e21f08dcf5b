/**
 * The rehearsal: before the program is attached every engine runs its hot path on synthetic
 * packets over stand-in rings (so V8 has compiled it before traffic) and leaves no trace — no
 * packet, count, sample, frame or CSV row — in any mode. Functional only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { LatencyReceiver, type PollMode } from '../src/rx/receiver.js';
import type { Report } from '../src/report/report.js';
import { runCli, trackLab, assertNoLeftovers } from './lib/cli.js';
import { withLab } from './lib/lab.js';
import { XskSocket } from '../src/xsk/socket.js';
import { RxEngine, type EngineConfig } from '../src/rx/engine.js';
import { BucketWriter } from '../src/measure/recorder.js';
import { newCounts } from '../src/rx/counts.js';
import { withNetns } from '../src/sys/netns.js';
import { native } from '../src/native.js';
import { collectGarbage } from '../src/sys/gc.js';
import type { AfxdpError } from '../src/errors.js';
import { flushTx } from '../src/xsk/tx.js';

test('the rehearsal before attach leaves no packet, count or sample behind, in every mode', async () => {
  const lab = await Lab.create();
  trackLab(lab.id);
  try {
    for (const poll of ['event', 'worker', 'busy'] as PollMode[]) {
      const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll, senderRunId: 'any' });
      try {
        const s = rx.stats();
        assert.equal(s.received, 0, poll);
        assert.equal(s.metaValid + s.metaInvalid, 0, poll);
        assert.deepEqual(s.byStrategy, { meta: 0, prepend: 0, map: 0 }, poll);
        assert.equal(rx.summary().count, 0, poll);
        assert.equal(rx.summary('sender_to_xdp').count, 0, poll);
      } finally {
        rx.close();
      }
    }
  } finally {
    await lab.destroy();
  }
  await assertNoLeftovers();
});

test('the rehearsal runs the real receive path on stand-in rings and leaves the real rings, frames and counters as they were', async () => {
  await withLab(async (lab) => {
    const open = (trackFrames: boolean): XskSocket =>
      withNetns(lab.rx.netns.fd, () => XskSocket.create({ ifindex: native().ifNameToIndex(lab.rx.ifname), ifname: lab.rx.ifname, queue: 0, trackFrames }));
    const config: EngineConfig = { queue: 0, clockId: 1, clockFlag: 0, strategy: 'meta', cookie: 0x1234abcd, mapFd: -1, senderRunId: -1 };
    const sock = open(false);
    try {
      const engine = new RxEngine(sock, config, { xdpToUser: new BucketWriter(), senderToXdp: new BucketWriter(), hwToXdp: null }, newCounts(false));
      const realRx = sock.rx;
      const realFill = sock.fill;
      const filled = sock.fill.pending();
      const state = (): Uint8Array => new Uint8Array(engine.recorders.xdpToUser.stateBuffer).slice();
      const before = state();
      let turns = 0;
      let standIn = 0;
      let received = 0;
      const done = engine.rehearse(10_000, () => {
        turns++;
        if (sock.rx !== realRx && sock.fill !== realFill) standIn++;
        const n = engine.pollOnce();
        received += n;
        return n;
      });
      assert.equal(done, 10_000);
      assert.equal(received, 10_000, 'every synthetic packet came through receive() and went back through recycle()');
      assert.ok(turns > 10_000 / sock.batchSize && standIn === turns, `${turns} turns, ${standIn} on stand-in rings`);
      assert.equal(sock.rx, realRx);
      assert.equal(sock.fill, realFill);
      assert.equal(sock.rx!.ready(), 0, 'nothing was put on the real RX ring');
      assert.equal(sock.fill.pending(), filled, 'the real fill ring holds what it held');
      assert.ok(engine.counts.every((c) => c === 0), 'counters restored');
      assert.deepEqual(state(), before, 'the recorder holds what it held');
      const b = engine.batch;
      assert.ok([b.flags, b.xdpLo, b.hwLo, b.rxHash, b.vlanTci, b.xdpToUser].every((c) => c.every((v) => v === 0)), 'no synthetic stamp or hint left in the columns');
      assert.equal(sock.txAlloc() >= 0, true, 'the rehearsal frame went back to the free list');
    } finally {
      sock.close();
    }
    // with the frame tracker the rings are never swapped (it would see the rehearsal's frames)
    const tracked = open(true);
    try {
      const engine = new RxEngine(tracked, config, { xdpToUser: new BucketWriter(), senderToXdp: new BucketWriter(), hwToXdp: null }, newCounts(false));
      assert.throws(() => tracked.rehearse(() => 0), (e: AfxdpError) => e.code === 'ESTATE');
      assert.equal(engine.rehearse(1000), 1000);
      assert.equal(tracked.rx!.ready(), 0);
    } finally {
      tracked.close();
    }
  });
});

test('a socket with a TX ring rehearses forward(), the flush and reclaim() on stand-in TX and completion rings and leaves the real rings, the free list and the fill debt as they were', async () => {
  await withLab(async (lab) => {
    const sock = withNetns(lab.rx.netns.fd, () => XskSocket.create({ ifindex: native().ifNameToIndex(lab.rx.ifname), ifname: lab.rx.ifname, queue: 0, txRingSize: 2048 }));
    try {
      const realTx = sock.tx!;
      const realCompletion = sock.completion;
      const txProduced = realTx.producerIndex;
      const filled = sock.fill.pending();
      const free = [...sock.pool.free.frames.subarray(0, sock.pool.freeCount)].sort((a, b) => a - b);
      const kicks = sock.txKicks;
      const frame = sock.txAlloc(); // the engine's rehearsal takes one frame for its synthetic packets
      let forwarded = 0;
      let completed = 0;
      let received = 0;
      sock.rehearse((rx, fill) => {
        assert.ok(sock.tx !== realTx && sock.completion !== realCompletion, 'TX and completion are stand-ins');
        for (let round = 0; round < 300; round++) {
          let idx = rx.kernelProducerIndex;
          for (let i = 0; i < 8; i++, idx++) {
            const e = rx.entryWord(idx);
            rx.words.set([frame + 256, 0, 64, 0], e);
          }
          rx.produceAsKernel(8);
          const n = sock.receive();
          received += n;
          let now = 0;
          for (let i = 0; i < n; i += 2) if (sock.forward(i)) now++;
          forwarded += now;
          assert.equal(sock.pool.fillDebt, now, 'a forwarded frame is owed to the fill ring from forward() on');
          flushTx(sock);
          completed += sock.completeTxAsKernel();
          sock.reclaim();
          assert.equal(sock.pool.fillDebt, 0);
          assert.equal(fill.pending(), now, 'the completions went straight back to the fill ring, before the batch is recycled');
          sock.recycle(n);
          fill.consumeAllAsKernel();
        }
      });
      sock.txUnalloc(frame);
      assert.equal(received, 2400);
      assert.equal(forwarded, 1200);
      assert.equal(completed, forwarded, 'the stand-in kernel completed every forwarded frame');
      assert.equal(sock.tx, realTx);
      assert.equal(sock.completion, realCompletion);
      assert.equal(realTx.producerIndex, txProduced, 'nothing was put on the real TX ring');
      assert.equal(realTx.pending(), 0);
      assert.equal(realCompletion.ready(), 0);
      assert.equal(sock.fill.pending(), filled, 'the real fill ring holds what it held');
      assert.equal(sock.pool.fillDebt, 0);
      assert.equal(sock.txKicks, kicks, 'kick counts restored');
      assert.deepEqual([...sock.pool.free.frames.subarray(0, sock.pool.freeCount)].sort((a, b) => a - b), free, 'the free list holds the frames it held, each once');
      assert.throws(() => sock.completeTxAsKernel(), (e: AfxdpError) => e.code === 'ESTATE', 'only inside a rehearsal');
    } finally {
      sock.close();
    }
  });
});

test("the worker's batch channel rehearses with a private twin: the CSV holds exactly the packets sent, none of the rehearsal's", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-rehearse-'));
  try {
    const csv = path.join(dir, 'w.csv');
    const r = await runCli(['demo', '--json', '--packets', '3000', '--rate', '0', '--poll', 'worker', '--csv', csv]);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.packets.received, 3000);
    const rows = fs.readFileSync(csv, 'utf8').trim().split('\n').slice(1);
    assert.equal(rows.length, 3000);
    const seqs = new Set(rows.map((r) => Number(r.split(',')[0])));
    assert.ok(seqs.size === 3000 && [...seqs].every((s) => s >= 0 && s < 3000), 'each generator packet once, no synthetic row');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await assertNoLeftovers();
  }
});

test('collectGarbage() collects on this runtime without --expose-gc (what the rehearsal relies on)', async () => {
  let target: object | null = { big: new Float64Array(1 << 16) };
  const ref = new WeakRef(target);
  target = null;
  await new Promise((r) => setImmediate(r)); // a WeakRef keeps its target until the end of the job
  assert.equal(collectGarbage(), true);
  assert.equal(ref.deref(), undefined, 'the unreachable object was collected');
});
