/**
 * `npm run bench:strategies` works (a tiny run: the real one is not part of the suite, and no
 * timing is asserted): every strategy program loads and runs under BPF_PROG_TEST_RUN, the user
 * space decoders accept their stamps, and the memory figures come from the kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { ROOT } from './lib/cli.js';

test('bench:strategies runs end to end in a tiny configuration', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'dist', 'bench', 'strategies.js'), '--repeat', '2000', '--rounds', '1', '--no-e2e', '--json'], {
    timeout: 60_000,
  });
  const r = JSON.parse(stdout) as {
    repeat: number;
    xdp: Array<{ name: string; ns: number }>;
    user: Array<{ name: string; ns_per_packet: number }>;
    memory: Array<{ what: string; bytes: number }>;
    e2e: unknown[];
  };
  assert.equal(r.repeat, 2000);
  assert.deepEqual(
    r.xdp.map((x) => x.name),
    ['plain redirect', 'clock only', 'meta', 'prepend', 'map (fresh key)', 'map (key waiting)', 'auto', 'auto, no meta'],
  );
  for (const x of r.xdp) assert.ok(Number.isFinite(x.ns) && x.ns >= 0, x.name);
  assert.deepEqual(
    r.user.map((x) => x.name),
    ['meta', 'prepend', 'map: key', 'map: take'],
  );
  const perEntry = r.memory.find((m) => m.what === 'map: per entry')!;
  // at least key + value; the kernel adds its element header
  assert.ok(perEntry.bytes >= 8 + 48, `map entry ${perEntry.bytes} B`);
  assert.deepEqual(r.e2e, []);
});
