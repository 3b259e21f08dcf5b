/** The UMEM frame-ownership tracker: it must catch the bugs it exists for. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameTracker, FRAME_APP, FRAME_FREE, FRAME_KERNEL, FRAME_TX } from '../src/xsk/frames.js';
import { AfxdpError } from '../src/errors.js';

const isBroken = (re: RegExp) => (e: unknown): boolean => e instanceof AfxdpError && e.code === 'ESTATE' && re.test(e.message);

test('moves follow the life of a frame and the totals always add up', () => {
  const t = new FrameTracker(64, 12);
  for (let i = 0; i < 32; i++) t.move(i * 4096, FRAME_FREE, FRAME_KERNEL, 'refill');
  t.check({ freeTop: 32, fillPending: 32, rxReady: 0, txPending: 0, completionReady: 0 });
  t.move(5 * 4096 + 256, FRAME_KERNEL, FRAME_APP, 'RX ring'); // data address inside the frame
  t.move(5 * 4096 + 256, FRAME_APP, FRAME_KERNEL, 'recycle');
  t.move(40 * 4096, FRAME_FREE, FRAME_APP, 'txAlloc');
  t.move(40 * 4096, FRAME_APP, FRAME_TX, 'txPush');
  t.check({ freeTop: 31, fillPending: 20, rxReady: 5, txPending: 1, completionReady: 0 });
  t.move(40 * 4096, FRAME_TX, FRAME_FREE, 'completion');
  assert.deepEqual(t.snapshot(), { free: 32, kernel: 32, app: 0, tx: 0 });
  assert.equal(t.checks, 2);
});

test('a double recycle, a frame handed out twice, a foreign address and ring totals that do not fit are caught', () => {
  const t = new FrameTracker(64, 12);
  t.move(0, FRAME_FREE, FRAME_KERNEL, 'refill');
  t.move(0, FRAME_KERNEL, FRAME_APP, 'RX ring');
  t.move(0, FRAME_APP, FRAME_KERNEL, 'recycle');
  assert.throws(() => t.move(0, FRAME_APP, FRAME_KERNEL, 'recycle'), isBroken(/recycle: frame 0 \(address 0\) is kernel \(fill\/RX\), expected application/));
  assert.throws(() => t.move(7 * 4096, FRAME_KERNEL, FRAME_APP, 'RX ring'), isBroken(/frame 7 .* is free, expected kernel/));
  assert.throws(() => t.move(64 * 4096, FRAME_KERNEL, FRAME_APP, 'RX ring'), isBroken(/outside the UMEM/));
  assert.throws(() => t.move(-1, FRAME_KERNEL, FRAME_APP, 'RX ring'), isBroken(/outside the UMEM/));
  assert.throws(() => t.check({ freeTop: 63, fillPending: 0, rxReady: 2, txPending: 0, completionReady: 0 }), isBroken(/the RX ring holds 2 frames, more than the 1 given to the kernel/));
  // the fill ring may look fuller than what the kernel holds: it publishes its consumption lazily
  t.check({ freeTop: 63, fillPending: 2, rxReady: 0, txPending: 0, completionReady: 0 });
  assert.throws(() => t.check({ freeTop: 60, fillPending: 0, rxReady: 0, txPending: 0, completionReady: 0 }), isBroken(/63 frames marked free but the free list holds 60/));
  assert.throws(() => t.check({ freeTop: 63, fillPending: 0, rxReady: 0, txPending: 1, completionReady: 0 }), isBroken(/TX ring/));
});
