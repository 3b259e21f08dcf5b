/** A short soak in CI (the long one is `npm run soak -- --minutes 60`, see docs/RELIABILITY.md). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib/cli.js';
import { leakedBy } from './lib/foreign.js';

interface Soak {
  schema: string;
  samples: Array<{ sent: number; received: number; dropped: number; unaccounted: number; app_frames: number; tx_frames_in_flight: number; rss_mib: number; heap_mib: number }>;
  unaccounted: number;
  leftover_frames: number;
  ok: boolean;
}

test('soak (10 s at 20 kpps, frame tracking on): no unaccounted packet, no leftover frame, nothing left behind', async () => {
  const child = spawn(process.execPath, ['--expose-gc', path.join(ROOT, 'dist', 'bench', 'soak.js'), '--seconds', '10', '--interval', '3', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0, err);
  const s = JSON.parse(out) as Soak;
  assert.equal(s.schema, 'afxdp.soak/1');
  assert.ok(s.samples.length >= 3, `a sample per interval: ${err}`);
  for (const x of s.samples) {
    assert.equal(x.unaccounted, 0, 'sent == received + drops at every sample');
    assert.equal(x.app_frames, 0, 'no frame held by the application after a drain');
    assert.equal(x.tx_frames_in_flight, 0, 'every TX frame came back');
    assert.ok(x.rss_mib > 0 && x.heap_mib > 0);
  }
  assert.ok(s.samples[s.samples.length - 1]!.sent > 0);
  assert.equal(s.ok, true);
  assert.match(err, /soak: ok: /);
  assert.deepEqual(await leakedBy([child.pid!]), []);
});
