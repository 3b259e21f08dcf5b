/** The namespace holder's PDEATHSIG race guard: a holder whose parent is not the expected one exits at once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { holderArgs } from '../src/sys/netns.js';
import { waitFor } from './lib/wait.js';

function exitOf(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const c = spawn('setpriv', args, { stdio: 'ignore' });
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

test('a holder started for another parent (as after the parent died before prctl) exits at once instead of holding a namespace', async () => {
  // pid 1 is never our parent: exactly what the holder sees when Node died before PDEATHSIG was armed
  assert.deepEqual(await exitOf(holderArgs('afxdp-ns-racetest-rx', 1)), { code: 97, signal: null });
});

test('a holder for the right parent stays until its pipe closes (no signal needed: a dropped parent cannot send one)', async () => {
  const c = spawn('setpriv', holderArgs('afxdp-ns-racetest-ok', process.pid), { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((r) => c.on('exit', (code, sig) => r({ code, sig })));
  // past the parent check, the holder execs into `cat` renamed to its name
  await waitFor(() => {
    try {
      return readFileSync(`/proc/${c.pid}/cmdline`, 'latin1').startsWith('afxdp-ns-racetest-ok\0');
    } catch {
      return false;
    }
  }, { what: 'the holder to pass its parent check and exec', timeoutMs: 5_000 });
  assert.equal(c.exitCode, null, 'still holding');
  c.stdin!.end(); // what NetnsHolder.destroyNow does, and what the kernel does when we die
  assert.deepEqual(await exited, { code: 0, sig: null });
});
