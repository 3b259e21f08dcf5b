/**
 * Fetching the pinned sources of the static libraries (scripts/static-deps --fetch), offline: local
 * file:// archives stand in for Debian's. A file one archive lacks is taken from the next; a file
 * nowhere to be had, or served with another SHA-256, is one line naming the file, the version and
 * what to do; a cached file is used without any archive, and a cached file that was altered is
 * fetched again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/cli.js';

let tmp = '';
let script = '';
let pooled = ''; // the pool directory of the "good" archive
const DSC = 'zlib_1.2.13.dfsg-1.dsc';

/** zlib's lines of the real lock file, beside a copy of the script (it reads the lock beside itself) */
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-static-deps-'));
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  script = path.join(bin, 'static-deps');
  fs.copyFileSync(path.join(ROOT, 'scripts', 'static-deps'), script);
  fs.chmodSync(script, 0o755);
  const lock = fs.readFileSync(path.join(ROOT, 'scripts', 'static-deps.lock'), 'utf8').split('\n');
  const zlib = lock.filter((l) => /^(package|file)\s+zlib\s/.test(l));
  assert.ok(zlib.length >= 3);
  fs.writeFileSync(path.join(bin, 'static-deps.lock'), zlib.join('\n') + '\n');
  // the good archive holds files with the pinned contents: the suite's own cache has them (setup fetched them)
  const cache = process.env.AFXDP_SOURCE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'afxdp', 'sources');
  pooled = path.join(tmp, 'good', 'pool', 'main', 'z', 'zlib');
  fs.mkdirSync(pooled, { recursive: true });
  fs.mkdirSync(path.join(tmp, 'empty'));
  for (const l of zlib.filter((x) => x.startsWith('file'))) {
    const name = l.split(/\s+/)[2]!;
    fs.copyFileSync(path.join(cache, name), path.join(pooled, name));
  }
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function fetch(cache: string, mirrors: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(script, ['--fetch'], {
    encoding: 'utf8', timeout: 60_000,
    env: { ...process.env, AFXDP_SOURCE_CACHE: path.join(tmp, cache), AFXDP_DEBIAN_MIRRORS: mirrors.map((m) => `file://${path.join(tmp, m)}`).join(' ') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a file one archive lacks is fetched from the next, verified, and copied into the cache', () => {
  const r = fetch('cache-a', ['empty', 'good']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^static-deps: 3 source files verified in /);
  const cached = path.join(tmp, 'cache-a', DSC);
  assert.ok(fs.lstatSync(cached).isFile(), 'a copy, not a link into the archive');
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'cache-a')).sort(), fs.readdirSync(pooled).sort(), 'nothing else is left in the cache');
});

test('with every file cached, no archive is needed; an altered cached file is fetched again', () => {
  assert.equal(fetch('cache-b', ['good']).code, 0);
  const offline = fetch('cache-b', ['nowhere']);
  assert.equal(offline.code, 0, offline.stderr);
  fs.appendFileSync(path.join(tmp, 'cache-b', DSC), 'tampered');
  assert.notEqual(fetch('cache-b', ['nowhere']).code, 0, 'the altered file is not taken');
  const again = fetch('cache-b', ['good']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(fs.readFileSync(path.join(tmp, 'cache-b', DSC)), fs.readFileSync(path.join(pooled, DSC)));
});

test('a file no archive has is one line: the file, the version, the places tried and what to do', () => {
  const r = fetch('cache-c', ['empty']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^static-deps: ${DSC.replace(/\./g, '\\.')} \\(zlib 1:1\\.2\\.13\\.dfsg-1\\) is not to be had: tried 2 places in 1 archives; File not found\\. Name an archive that serves it \\(AFXDP_DEBIAN_MIRRORS=URL\\), or put the file, SHA-256 [0-9a-f]{64}, in `));
  assert.ok(!fs.existsSync(path.join(tmp, 'cache-c', DSC)));
});

test('a file served with another SHA-256 is refused, named with the archive that served it, and never cached', () => {
  const bad = path.join(tmp, 'bad', 'pool', 'main', 'z', 'zlib');
  fs.mkdirSync(bad, { recursive: true });
  fs.writeFileSync(path.join(bad, DSC), 'not the pinned file\n');
  const r = fetch('cache-d', ['bad']);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^static-deps: zlib_1\.2\.13\.dfsg-1\.dsc \(zlib 1:1\.2\.13\.dfsg-1\) is not to be had: .*\/bad\/pool\/main\/z\/zlib\/zlib_1\.2\.13\.dfsg-1\.dsc does not have the SHA-256 scripts\/static-deps\.lock pins \([0-9a-f]{64}\)/);
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'cache-d')), []);
});
