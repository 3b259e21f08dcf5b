/**
 * openXsk's socket surface beyond the kernel's scenarios: ring sizes up to what the kernel takes
 * (checked through the one bounds table), need_wakeup on and off, the zero-copy answer of
 * XDP_OPTIONS and every XDP_STATISTICS field. A refused option is one EUSAGE line and leaves
 * nothing behind: the queue binds again at once, no program is attached (withLab checks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { AfxdpError, type XskSocket, type Ring, type Umem } from '../src/index.js';
import { XSK_RING_SIZE_MAX } from '../src/rx/bounds.js';
import { withLab } from './lib/lab.js';
import { sendFrames, drain, xskOn, redirectOn } from './lib/xsk.js';

function refused(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AfxdpError, String(e));
    assert.equal(e.code, 'EUSAGE');
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n') && !(e.hint ?? '').includes('\n'), 'one line');
    return true;
  });
}

test('openXsk refuses ring sizes the kernel would refuse, or that are past its limit, in one line each, and the queue stays free', () =>
  withLab(async (lab) => {
    refused(() => xskOn(lab.rx, { rxRingSize: 3 }), /options\.rxRingSize must be 0 or a power of two from 1 to 1073741824 .*got 3/);
    refused(() => xskOn(lab.rx, { rxRingSize: 2 ** 31 }), /options\.rxRingSize must be .* got 2147483648/);
    refused(() => xskOn(lab.rx, { txRingSize: -8 }), /options\.txRingSize/);
    refused(() => xskOn(lab.rx, { fillRingSize: 0 }), /options\.fillRingSize must be a power of two from 1/);
    refused(() => xskOn(lab.rx, { completionRingSize: 1.5 }), /options\.completionRingSize/);
    refused(() => xskOn(lab.rx, { rxRingSize: '2048' as unknown as number }), /got the string "2048"/);
    refused(() => xskOn(lab.rx, { batchSize: 0 }), /options\.batchSize/);
    refused(() => xskOn(lab.rx, { initialFill: -1 }), /options\.initialFill/);
    try {
      xskOn(lab.rx, { rxRingSize: 2 ** 31 });
    } catch (e) {
      assert.match((e as AfxdpError).hint ?? '', /2\^30/, 'the hint names the kernel limit');
    }
    // nothing was made: the queue binds at once
    xskOn(lab.rx, {}).close();
  }));

test('openXsk takes ring sizes well past the receiver default (64 Ki entries) and a 1-entry TX ring, as the kernel does', () =>
  withLab(async (lab) => {
    assert.ok(XSK_RING_SIZE_MAX === 2 ** 30);
    const big = xskOn(lab.rx, { rxRingSize: 65536, fillRingSize: 65536, frameCount: 65536, frameSize: 2048 });
    try {
      // the exported Ring and Umem types are the socket's rings and UMEM
      const rx: Ring = big.rx!;
      const umem: Umem = big.umem;
      assert.equal(rx.size, 65536);
      assert.equal(big.fill.size, 65536);
      assert.equal(umem.frameSize, 2048);
      assert.equal(umem.frameCount, 65536);
    } finally {
      big.close();
    }
    const tiny = xskOn(lab.tx, { rxRingSize: 0, txRingSize: 1, completionRingSize: 1 });
    tiny.close();
  }));

test('needWakeup: a flag, and not with shareUmem (the first socket decides); refused in one line with nothing left bound', () =>
  withLab(async (lab) => {
    refused(() => xskOn(lab.rx, { needWakeup: 'yes' as unknown as boolean }), /options\.needWakeup must be one of true, false/);
    const a = xskOn(lab.rx, { needWakeup: false });
    try {
      refused(() => xskOn(lab.rx, { needWakeup: true, shareUmem: a }), /needWakeup cannot be set on a socket that shares the UMEM/);
      const b = xskOn(lab.rx, { shareUmem: a });
      assert.equal(b.needWakeup, false, "a sharing socket has the first socket's need_wakeup");
      b.close();
    } finally {
      a.close();
    }
    xskOn(lab.rx, {}).close();
  }));

for (const needWakeup of [true, false]) {
  test(`needWakeup ${needWakeup}: packets flow both ways; zeroCopy is the kernel's XDP_OPTIONS answer (false on veth); statistics() has every XDP_STATISTICS field`, () =>
    withLab(async (lab) => {
      const tx: XskSocket = xskOn(lab.tx, { rxRingSize: 0, txRingSize: 2048, needWakeup });
      const rx: XskSocket = xskOn(lab.rx, { needWakeup });
      const prog = redirectOn(lab.rx, [rx]);
      try {
        assert.equal(tx.needWakeup, needWakeup);
        // txFlush() kicks when the TX ring asks: in copy mode the kernel sets the flag at bind and never clears it
        if (needWakeup) assert.equal(tx.tx!.needsWakeup(), true, 'copy mode: the TX ring asks for a kick from bind on');
        assert.equal(rx.zeroCopy, false);
        assert.equal(rx.zeroCopy, rx.bindMode === 'zerocopy');
        const n = 1024;
        const seqs: number[] = [];
        let sent = 0;
        const deadline = Date.now() + 10_000;
        while (seqs.length < n && Date.now() < deadline) {
          if (sent < n && sent - seqs.length < 256) sent += sendFrames(tx, sent, 32, 64, lab.rx.macBytes, lab.tx.macBytes);
          else if (tx.tx!.pending() > 0) tx.txFlush();
          tx.reclaim();
          drain(rx, (seq) => seqs.push(seq));
          await yieldLoop();
        }
        assert.deepEqual(seqs, Array.from({ length: n }, (_, k) => k));
        assert.ok(tx.txKicks > 0, 'the frames went out on kicks');
        const keys = ['rx_dropped', 'rx_invalid_descs', 'tx_invalid_descs', 'rx_ring_full', 'rx_fill_ring_empty_descs', 'tx_ring_empty_descs'];
        assert.deepEqual(Object.keys(rx.statistics()), keys);
        assert.deepEqual(Object.keys(tx.statistics()), keys);
        assert.equal(rx.statistics().rx_dropped, 0);
      } finally {
        prog.close();
        rx.close();
        tx.close();
      }
    }));
}
