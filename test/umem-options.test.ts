/**
 * UMEM options checked against the kernel's rules (xdp_umem_reg) before anything is made: a bad
 * headroom, a frame size unaligned chunk mode would take but afxdp cannot, a wrong type, an
 * unknown option — each one line (what, why, what to do), no socket or mapping left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AfxdpError, openXsk, type XskOptions } from '../src/index.js';

const fds = (): number => fs.readdirSync('/proc/self/fd').length;

function refused(o: Record<string, unknown>, re: RegExp): void {
  const before = fds();
  assert.throws(() => openXsk({ iface: 'lo', rxRingSize: 64, ...o } as unknown as XskOptions), (e: unknown) => {
    assert.ok(e instanceof AfxdpError, String(e));
    assert.equal(e.code, 'EUSAGE', e.message);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n') && (e.hint ?? '').length > 0, `one line with a hint: ${e.message} (${e.hint})`);
    return true;
  });
  assert.equal(fds(), before, 'no socket or memfd left open');
}

test('UMEM headroom above what the kernel takes (frame - 256 - 320 - 128) is one line before setup, naming the limit', () => {
  refused({ headroom: 3393 }, /UMEM headroom 3393 is too large for 4096-byte frames: the kernel takes at most 3392/);
  refused({ frameSize: 2048, headroom: 1345 }, /at most 1344/);
  refused({ headroom: -1 }, /not a whole number of bytes/);
  refused({ headroom: 1.5 }, /not a whole number of bytes/);
});

test('unaligned chunk mode: a frame size the kernel would take unaligned but afxdp cannot is one line that says why; a non-boolean is refused', () => {
  refused({ unaligned: true, frameSize: 3000 }, /frame size 3000 is not supported: the kernel takes it in unaligned chunk mode, but afxdp finds a frame from an address by its power-of-two size/);
  refused({ frameSize: 3000 }, /frame size 3000 is not supported$/);
  refused({ unaligned: 'yes' }, /unaligned must be a boolean/);
});

test('openXsk: unknown options and a negative initialFill are refused', () => {
  refused({ headRoom: 64 }, /openXsk: unknown option "headRoom"/);
  refused({ initialFill: -1 }, /initialFill must be a whole number from 0/);
});
