/**
 * --cpu and --rt: the receiving thread pinned and SCHED_FIFO still receives everything; a CPU the
 * machine does not have is a usage error; --rt without CAP_SYS_NICE is one line before anything
 * is built. Functional only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import type { Report } from '../src/report/report.js';
import { runCli, assertOneLineError, assertNoLeftovers } from './lib/cli.js';

test('demo --poll worker --cpu 0 --rt and --poll event --cpu 0 receive every packet', async () => {
  for (const poll of ['worker', 'event']) {
    const r = await runCli(['demo', '--json', '--packets', '3000', '--rate', '3000', '--poll', poll, '--cpu', '0', '--rt']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.poll, poll);
    assert.equal(rep.packets.received, 3000);
    assert.equal(rep.packets.meta_valid, 3000);
  }
  await assertNoLeftovers();
});

test('--cpu out of range is a usage error, for one queue and for several', async () => {
  const n = os.cpus().length;
  assertOneLineError(await runCli(['demo', '--cpu', String(n)]), 2, new RegExp(`CPU ${n} is out of range: this machine has ${n} CPU`));
  assertOneLineError(await runCli(['demo', '--poll', 'worker', '--queues', String(n + 1), '--cpu', '0']), 2, /--cpu 0 with \d+ queues needs CPUs/);
  assertOneLineError(await runCli(['latency', '--iface', 'lo', '--cpu', 'x']), 2, /--cpu must be a whole number/);
  await assertNoLeftovers();
});

test('--rt without CAP_SYS_NICE is a one-line error naming the capability', async () => {
  const r = await runCli(['latency', '--iface', 'lo', '--rt'], { wrap: ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', '--'] });
  assertOneLineError(r, 1, /CAP_SYS_NICE \(--rt \(SCHED_FIFO\)\)/);
});
