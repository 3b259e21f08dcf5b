/** Bad input and environment faults at the CLI: one line on stderr, the right exit code, nothing attached. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, assertOneLineError, ROOT } from './lib/cli.js';
import { runTool } from '../src/sys/exec.js';

test('check: missing file, directory, not ELF, another machine, a corrupt BPF ELF: one line each', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-bad-'));
  try {
    const fake = path.join(dir, 'fake.bpf.o');
    // a valid ELF header for EM_BPF followed by garbage: libbpf must refuse it, afxdp must not crash
    const hdr = Buffer.from('7f454c46020101000000000000000000' + '0100f700', 'hex');
    fs.writeFileSync(fake, Buffer.concat([hdr, Buffer.alloc(300, 0xa5)]));
    const [missing, directory, notElf, other, corrupt] = await Promise.all([
      runCli(['check', path.join(dir, 'missing.o')]),
      runCli(['check', dir]),
      runCli(['check', '/etc/passwd']),
      runCli(['check', process.execPath]),
      runCli(['check', fake]),
    ]);
    assertOneLineError(missing, 2, /missing\.o: no such file/);
    assertOneLineError(directory, 2, /is a directory, not a BPF object/);
    assertOneLineError(notElf, 1, /is not a BPF object: not an ELF file/);
    assertOneLineError(other, 1, /an ELF file for another machine \(e_machine \d+\), not EM_BPF/);
    assertOneLineError(corrupt, 1, /cannot open BPF object/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('check: a program the verifier rejects exits 1 with its complaint (the seed question\'s program)', async () => {
  const r = await runCli(['check', path.join(ROOT, 'build', 'test-bpf', 'seed.bpf.o')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAIL\s+xdp_sock_prog .*invalid bpf_context access off=8 size=4/);
});

test('latency: a missing interface or queue fails in one line and attaches nothing', async () => {
  const [noIface, noQueue, badName, none] = await Promise.all([
    runCli(['latency', '--iface', 'afxdp-nope0']),
    runCli(['latency', '--iface', 'lo', '--queue', '9', '--duration', '0.1']),
    runCli(['latency', '--iface', 'bad/name']),
    runCli(['latency']),
  ]);
  assertOneLineError(noIface, 1, /interface afxdp-nope0 not found/);
  assertOneLineError(noQueue, 1, /lo queue 9/);
  assertOneLineError(badName, 2, /interface name/);
  assertOneLineError(none, 2, /--iface/);
  const { stdout } = await runTool('ip', ['-j', 'link', 'show', 'lo']);
  assert.equal((JSON.parse(stdout) as Array<{ xdp?: unknown }>)[0]?.xdp, undefined, 'nothing left on lo');
});
