/**
 * `npm run bench:api` at a small count: every way of receiving (onBatch and `for await` in event
 * and worker mode, a handler) and the C loop produce a result on a real lab after a warm-up, every
 * receiver exits, and the run leaves nothing behind. Functional only: the figures themselves are not judged here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, assertNoLeftovers } from './lib/cli.js';

test('bench:api: an unknown way for --only is a one-line error before any lab is made', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'bench', 'api-modes.js'), '--only', 'c,nosuch'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^bench:api: --only: unknown way 'nosuch'; usage: .*\n$/);
  assert.equal(r.stderr.split('\n').length, 2, 'one line');
});

test('bench:api at 2000 packets: every way of receiving and the C loop give a result', { timeout: 180_000 }, async () => {
  let out = '';
  let err = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'api-modes.js'), '2000', '10000', '1', '--warmup', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', resolve);
  });
  assert.equal(code, 0, err);
  for (const way of ['C poll()', 'onBatch, event', 'onBatch, worker', 'for await, event', 'for await, worker', 'handler, worker']) {
    assert.match(out, new RegExp(`^\\| ${way.replace(/[()]/g, '\\$&')} \\| \\d+`, 'm'), `a row for ${way}`);
  }
  await assertNoLeftovers();
});
