/** The command line when its reader goes away early (`afxdp … | head`): exit 0, no stack trace. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN } from './lib/cli.js';

test('help piped into head -1: the first line, exit 0, nothing on stderr', () => {
  for (const cmd of ['demo', 'latency', 'report', 'gen']) {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" ${cmd} --help | head -1`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: afxdp ${cmd} \\[options\\][^\\n]*\\n$`));
    assert.equal(r.stderr, '', `${cmd}: nothing on stderr`);
  }
});
