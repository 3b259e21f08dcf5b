/**
 * Reproducible prebuilt binaries: two `make prebuilds` from clean copies of the checkout in two
 * different directories give byte-identical files (scripts/reproducible --quick, which links the
 * static libraries setup built once), a tarball made from such a build passes the published-tarball
 * check, and one changed byte in a tarball fails it, naming the file. The static-deps lock file is
 * well-formed: every source file is pinned by size and SHA-256, and the shipped notices name exactly
 * the pinned versions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/cli.js';

let tmp = '';

function run(cmd: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** a tarball laid out as `npm pack` lays it out, holding the checkout's own prebuilds/ */
function tarball(name: string, change?: (dir: string) => void): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'package'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'prebuilds'), path.join(dir, 'package', 'prebuilds'), { recursive: true });
  change?.(path.join(dir, 'package'));
  const file = path.join(tmp, `${name}.tgz`);
  const t = run('tar', ['-czf', file, '-C', dir, 'package']);
  assert.equal(t.code, 0, t.stderr);
  return file;
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-repro-test-'));
  const pre = run('make', ['-s', 'prebuilds']);
  assert.equal(pre.code, 0, `make prebuilds failed (run scripts/setup):\n${pre.stderr}`);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('two clean builds in different directories, and a tarball of this checkout\'s build, are byte-identical', () => {
  const good = tarball('good');
  const r = run(path.join(ROOT, 'scripts', 'reproducible'), ['--quick', '--against', good]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  for (const l of lines) {
    const m = /: (\d+) files, every one identical$/.exec(l);
    assert.ok(m, l);
    // both addons, five BPF objects, the notices of both architectures
    assert.ok(Number(m[1]) >= 13, l);
  }
});

test('a tarball with one changed byte fails the check, naming that file and no other', () => {
  const bad = tarball('bad', (pkg) => fs.appendFileSync(path.join(pkg, 'prebuilds', 'linux-x64', 'node.napi.glibc.node'), 'x'));
  const r = run(path.join(ROOT, 'scripts', 'reproducible'), ['--quick', '--against', bad]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const differs = r.stdout.split('\n').filter((l) => l.includes('differs'));
  assert.deepEqual(differs, ['reproducible: linux-x64/node.napi.glibc.node differs between build 1 and bad.tgz']);
});

test('an unknown option is a usage error', () => {
  const r = run(path.join(ROOT, 'scripts', 'reproducible'), ['--quik']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^reproducible: unknown option '--quik' \(see scripts\/reproducible --help\)\n$/);
});

test('every source of the static libraries is pinned, and the shipped notices name those versions', () => {
  const lock = fs.readFileSync(path.join(ROOT, 'scripts', 'static-deps.lock'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const packages = new Map<string, string>();
  const files = new Map<string, number>();
  for (const l of lock) {
    const f = l.split(/\s+/);
    if (f[0] === 'package') {
      assert.equal(f.length, 6, l);
      assert.match(f[2]!, /^(\d+:)?[0-9][\w.+~-]*$/, `${l}: an exact Debian version`);
      packages.set(f[1]!, f[2]!);
    } else {
      assert.equal(f[0], 'file', l);
      assert.equal(f.length, 5, l);
      assert.ok(packages.has(f[1]!), `${l}: its package line comes first`);
      assert.match(f[3]!, /^\d+$/, `${l}: size`);
      assert.match(f[4]!, /^[0-9a-f]{64}$/, `${l}: SHA-256`);
      files.set(f[1]!, (files.get(f[1]!) ?? 0) + 1);
    }
  }
  assert.deepEqual([...packages.keys()].sort(), ['elfutils', 'libbpf', 'zlib']);
  for (const p of packages.keys()) assert.ok((files.get(p) ?? 0) >= 3, `${p}: .dsc, upstream tarball and Debian tarball`);
  for (const arch of ['x64', 'arm64']) {
    const dir = path.join(ROOT, 'prebuilds', `linux-${arch}`, 'THIRD-PARTY');
    const versions = fs.readFileSync(path.join(dir, 'VERSIONS'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(versions.map((l) => l.split(' ').slice(0, 2).join(' ')).sort(), [...packages].map(([p, v]) => `${p} ${v}`).sort());
    for (const l of versions) assert.ok(fs.statSync(path.join(dir, l.split(' ')[3]!)).size > 500, `${l}: its license text ships`);
  }
});
