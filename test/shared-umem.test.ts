/**
 * Shared UMEM against the real kernel: two sockets on one UMEM, each on its own veth pair, the
 * two-port forwarder of examples/two-port-fwd.ts between them — every frame sent into one pair
 * leaves by the other, from the frame it was received into (no copy), payload intact. Two
 * sockets on two queues of one interface share a UMEM too; a socket sharing a queue uses the
 * first socket's fill and completion rings. Bad combinations are one-line errors before setup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { AfxdpError, openXsk, type XskSocket } from '../src/index.js';
import { TwoPortForwarder } from '../examples/two-port-fwd.js';
import { withLab } from './lib/lab.js';
import { waitFor } from './lib/wait.js';
import { sendFrames, drain, xskOn, redirectOn } from './lib/xsk.js';

const FRAMES = 6000;

for (const mode of ['native', 'generic'] as const) {
  test(`shared UMEM: a two-port forwarder between two veth pairs moves every frame without a copy, payload intact (${mode} XDP)`, () => twoPortForwarder(mode));
}

async function twoPortForwarder(mode: 'native' | 'generic'): Promise<void> {
  await withLab((lab1) =>
    withLab(async (lab2) => {
      // lab1: sender (tx) → port A (rx); lab2: port B (rx) → receiver (tx)
      const cleanup: Array<{ close(): void }> = [];
      try {
        const a = xskOn(lab1.rx, { rxRingSize: 2048, txRingSize: 2048 });
        cleanup.unshift(a);
        const b = xskOn(lab2.rx, { rxRingSize: 2048, txRingSize: 2048, shareUmem: a });
        cleanup.unshift(b);
        assert.equal(b.umem, a.umem, 'one UMEM');
        assert.equal(b.bindMode, a.bindMode);
        const sender = xskOn(lab1.tx, { rxRingSize: 0, txRingSize: 2048 });
        cleanup.push(sender);
        const receiver = xskOn(lab2.tx, { rxRingSize: 2048, frameCount: 8192 });
        cleanup.push(receiver);
        for (const [side, s] of [[lab1.rx, a], [lab2.rx, b], [lab2.tx, receiver]] as const) cleanup.push(redirectOn(side, [s as XskSocket], mode));

        // frames leaving port B: to the receiver's address, from port B's
        const hdrB = new Uint8Array(12);
        hdrB.set(lab2.tx.macBytes, 0);
        hdrB.set(lab2.rx.macBytes, 6);

        // one frame by hand: the descriptor port B sends is the address port A received into
        assert.equal(sendFrames(sender, 0, 1, 60, lab1.rx.macBytes, lab1.tx.macBytes), 1);
        let got = 0;
        await waitFor(() => (got = a.receive()) === 1, { what: 'port A to receive the first frame' });
        const rxAddr = a.rxAddr[0]!;
        assert.ok(a.forward(0, b));
        const tx = b.tx!;
        assert.equal(tx.words[tx.entryWord(tx.producerIndex)], rxAddr, 'port B transmits from the frame port A received into');
        a.umem.bytes.set(hdrB, rxAddr);
        a.recycle(got);
        b.txFlush();

        const seen = new Uint8Array(FRAMES);
        let arrived = 0;
        let foreign = 0;
        const collect = (seq: number, addr: number): void => {
          const bytes = receiver.umem.bytes;
          const macsOk = hdrB.every((v, k) => bytes[addr + k] === v);
          if (seq < 0 || seq >= FRAMES || !macsOk || seen[seq] !== 0) foreign++;
          else {
            seen[seq] = 1;
            arrived++;
          }
        };
        const fwd = new TwoPortForwarder([a, b], [null, hdrB]);
        let sent = 1;
        const sizes = [60, 1000, 1514];
        const deadline = Date.now() + 20_000;
        while (arrived < FRAMES && Date.now() < deadline) {
          // a few frames at a time: the forwarder keeps up, no ring overflows
          if (sent < FRAMES && sent - arrived < 256) sent += sendFrames(sender, sent, Math.min(64, FRAMES - sent), sizes[sent % 3]!, lab1.rx.macBytes, lab1.tx.macBytes);
          // copy mode sends at most a kick's worth: kick again while frames wait on the ring
          if (sender.tx!.pending() > 0) sender.txFlush();
          fwd.pump();
          drain(receiver, collect);
          await yieldLoop();
        }
        assert.equal(foreign, 0, 'every frame arrives once, its payload and rewritten header intact');
        assert.equal(arrived, FRAMES, `all ${FRAMES} frames arrive (sent ${sent}, forwarded ${fwd.forwarded[0]}, dropped ${fwd.dropped[0]}, port A ${JSON.stringify(a.statistics())} fill ${a.fill.pending()} debt ${a.pool.fillDebt} free ${a.pool.freeCount}, sender ${JSON.stringify(sender.statistics())} pending ${sender.tx!.pending()}; B pending ${b.tx!.pending()} kick ${b.txFlush()} ${JSON.stringify(b.statistics())} completion ${b.completion.ready()}; receiver ${JSON.stringify(receiver.statistics())} arrived ${arrived} foreign ${foreign})`);
        assert.equal(fwd.dropped[0], 0);
        assert.equal(b.statistics().tx_invalid_descs, 0);
        // every frame is back: the UMEM's frames are all on a fill ring or free again
        await waitFor(() => {
          fwd.pump();
          return a.pool.fillDebt === 0;
        }, { what: 'port A to have every forwarded frame back on its fill ring' });
        assert.equal(receiver.statistics().rx_dropped, 0);
      } finally {
        for (const c of cleanup) c.close();
      }
    }),
  );
}

test('shared UMEM: sockets on two queues of one interface share a UMEM; one on the same queue shares its fill and completion rings', async () => {
  await withLab(async (lab) => {
    const a = xskOn(lab.rx, { queue: 0, rxRingSize: 512, txRingSize: 512 });
    try {
      const b = xskOn(lab.rx, { queue: 1, rxRingSize: 512, shareUmem: a });
      const c = xskOn(lab.rx, { queue: 0, txRingSize: 512, shareUmem: a });
      try {
        assert.equal(b.umem, a.umem);
        assert.notEqual(b.fill, a.fill, 'another queue: its own fill ring');
        assert.equal(c.fill, a.fill, 'the same queue: the first socket\'s fill ring');
        assert.equal(c.completion, a.completion);
        // the frames a and b put on their fill rings came from one free list
        assert.equal(a.pool.free, b.pool.free);
        assert.equal(a.framesInUse(), a.fill.pending() + b.fill.pending());
      } finally {
        c.close();
        b.close();
      }
    } finally {
      a.close();
    }
  }, { queues: 2 });
});

test('shared UMEM: options that belong to the first socket, and forwarding between sockets on different UMEMs, are one-line errors', async () => {
  await withLab(async (lab) => {
    const a = xskOn(lab.rx, { rxRingSize: 512, txRingSize: 512 });
    const other = xskOn(lab.tx, { rxRingSize: 512, txRingSize: 512 });
    try {
      for (const [k, v] of [['frameSize', 2048], ['bind', 'copy'], ['needWakeup', false], ['headroom', 64], ['sg', true]] as const) {
        assert.throws(() => openXsk({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, queue: 0, shareUmem: a, [k]: v }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && e.message.includes(`${k} cannot be set on a socket that shares the UMEM`) && !e.message.includes('\n'));
      }
      assert.throws(() => openXsk({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, shareUmem: {} as XskSocket }), /shareUmem must be an XskSocket/);
      assert.throws(() => a.forward(0, other), (e: unknown) => e instanceof AfxdpError && /does not share the UMEM/.test(e.message));
    } finally {
      other.close();
      a.close();
    }
  });
});
