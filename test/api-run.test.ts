/**
 * The library's measuring faces over the one engine: runLatency (`afxdp latency` as a call),
 * LatencyReceiver with a PacketSink, receiverReport, and the capability check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLatency, STRATEGY_NAMES } from '../src/index.js';
import type { Lab } from '../src/entry/lab.js';
import { requireCaps, PROBE_NEEDS, LAB_NEEDS } from '../src/entry/privileges.js';
import { LatencyReceiver, ReceiveQueue, receiverReport, waitForEnd, type PacketBatch } from '../src/entry/receiver.js';
import { withLab, openGenerator } from './lib/lab.js';

/** The shared lab (with its leftover check) and a generator from its tx end. */
function withSendingLab(fn: (lab: Lab, send: (count: number) => Promise<number>) => Promise<void>): Promise<void> {
  return withLab(async (lab) => {
    const gen = openGenerator(lab);
    try {
      await fn(lab, (count) => gen.send({ count, rate: 20_000 }));
    } finally {
      gen.close();
    }
  });
}

test('runLatency: the pipeline on an interface of another namespace stops at `packets` and writes its outputs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-run-'));
  try {
    await withSendingLab(async (lab, send) => {
      let opened = false;
      const running = runLatency({
        iface: lab.rx.ifname,
        netns: lab.rx.netns.fd,
        poll: 'busy',
        strategy: 'prepend',
        senderRunId: 'any',
        packets: 700,
        outputs: { csv: path.join(dir, 'run.csv') },
        onOpen: (rx) => {
          opened = true;
          assert.equal(rx.poll, 'busy');
        },
      });
      // the receiver is attached once onOpen ran; send then
      while (!opened) await new Promise((r) => setImmediate(r));
      await send(700);
      const { report, error } = await running;
      assert.equal(error, null);
      assert.equal(report.packets.sent, null, 'latency does not send');
      assert.equal(report.packets.received, 700);
      assert.equal(report.packets.by_strategy.prepend, 700);
      assert.equal(report.latency_ns.sender_to_xdp?.count, 700);
      assert.equal(report.outputs?.csv?.records, 700);
      assert.equal(fs.readFileSync(path.join(dir, 'run.csv'), 'utf8').trim().split('\n').length, 701);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('LatencyReceiver + PacketSink: every batch reaches the sink on the main thread; receiverReport has per_queue', async () => {
  await withSendingLab(async (lab, send) => {
    for (const poll of ['event', 'busy'] as const) {
      const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll, deliver: poll === 'busy' });
      try {
        assert.ok(rx.perQueue[0] instanceof ReceiveQueue);
        let rows = 0;
        let stamped = 0;
        rx.addSink({
          onBatch: (b: PacketBatch) => {
            rows += b.n;
            for (let i = 0; i < b.n; i++) if (b.flags[i] !== 0 && b.xdpToUser[i]! > 0) stamped++;
          },
        });
        rx.start();
        await send(400);
        await waitForEnd(rx, { packets: 400, durationS: 30 });
        rx.close();
        assert.equal(rows, 400, poll);
        assert.equal(stamped, 400, poll);
        const rep = receiverReport(rx, { sent: 400, durationS: 1 });
        assert.equal(rep.per_queue![0]!.received, 400);
        assert.equal(rep.per_queue![0]!.program.redirected, 400);
      } finally {
        rx.close();
      }
    }
  });
});

test('requireCaps: as root the measuring and the lab capability sets are there; STRATEGY_NAMES lists the strategies', () => {
  requireCaps('test', PROBE_NEEDS, { umemBytes: 1 << 20 });
  requireCaps('test', LAB_NEEDS);
  assert.deepEqual(STRATEGY_NAMES, ['auto', 'meta', 'prepend', 'map']);
});
