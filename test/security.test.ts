/** Security rules that a test can hold the code to: no shell strings, safe output files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/cli.js';
import { writeFileSafe } from '../src/sys/safe-file.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('external commands run with argument arrays only: no exec/execSync (shell strings), no shell: true, in src/', () => {
  const offenders: string[] = [];
  for (const f of sources(path.join(ROOT, 'src'))) {
    const text = fs.readFileSync(f, 'utf8');
    // the shell-string APIs of child_process, imported or called
    if (/import\s*\{[^}]*\b(exec|execSync)\b[^}]*\}\s*from\s*'node:child_process'/.test(text)) offenders.push(`${f}: imports exec/execSync`);
    if (/child_process['"]?\)?\.(exec|execSync)\(/.test(text)) offenders.push(`${f}: calls exec/execSync`);
    if (/shell\s*:\s*true/.test(text)) offenders.push(`${f}: shell: true`);
  }
  assert.deepEqual(offenders, []);
});

test('writeFileSafe: 0644 whatever the umask, 0600 on request, replaces a planted symlink instead of following it, atomic', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-safe-'));
  const old = process.umask(0);
  try {
    const f = path.join(dir, 'report.json');
    writeFileSafe(f, '{"a":1}');
    assert.equal(fs.statSync(f).mode & 0o777, 0o644);
    writeFileSafe(f, 'secret', { mode: 0o600 });
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(f, 'utf8'), 'secret');
    writeFileSafe(f, 'x', { mode: 0o666 });
    assert.equal(fs.statSync(f).mode & 0o022, 0, 'never group/world-writable');
    // a symlink planted at the target (e.g. to /etc/passwd) must not be followed
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'untouched');
    const link = path.join(dir, 'out.json');
    fs.symlinkSync(victim, link);
    writeFileSafe(link, 'report');
    assert.equal(fs.readFileSync(victim, 'utf8'), 'untouched');
    assert.equal(fs.lstatSync(link).isFile(), true);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
    assert.throws(() => writeFileSafe(dir, 'x'), /is not a regular file/);
  } finally {
    process.umask(old);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
