/**
 * --cpu and --rt: the receiving thread pinned and SCHED_FIFO still receives everything; a CPU the
 * machine does not have is a usage error; --rt without CAP_SYS_NICE is one line before anything
 * is built. --cpu-dma-latency and --busy-poll take effect as the kernel sees them (/proc,
 * getsockopt). Functional only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { readdirSync, readlinkSync } from 'node:fs';
import type { Report } from '../src/report/report.js';
import { runCli, assertOneLineError, assertNoLeftovers } from './lib/cli.js';
import { waitFor } from './lib/wait.js';
import { withLab, inside, sendFrames } from './lib/lab.js';

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

/** Whether a running process holds /dev/cpu_dma_latency open (null: it has exited). */
function holdsDmaLatency(pid: number): boolean | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === '/dev/cpu_dma_latency';
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return null; // exited
  }
}

test('--cpu-dma-latency and --busy-poll take effect (kernel view) and every packet is received', async () => {
  for (const poll of ['worker', 'busy']) {
    let pid = 0;
    const run = runCli(['demo', '--json', '--packets', '6000', '--rate', '3000', '--poll', poll, '--cpu-dma-latency', '--busy-poll', '50', '--batch', '32'], {
      onSpawn: (c) => (pid = c.pid!),
    });
    // while it runs: the kernel's view of the process (not our report)
    await waitFor(() => holdsDmaLatency(pid) === true, { what: `afxdp demo --poll ${poll} to hold /dev/cpu_dma_latency open`, timeoutMs: 30_000 });
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.packets.received, 6000);
    assert.equal(rep.packets.meta_valid, 6000);
    const t = rep.tuning!;
    assert.equal(t.cpu_dma_latency, true);
    // getsockopt's answer: what the kernel holds for the socket
    assert.deepEqual({ ...t.busy_poll!, polls: 0 }, { usecs: 50, prefer: true, budget: 32, polls: 0 });
    assert.ok(t.busy_poll!.polls > 0, 'an idle ring is busy-polled');
  }
  await assertNoLeftovers();
});

test('a run without the knobs reports them off; --busy-poll needs a worker mode and a number', async () => {
  const r = await runCli(['demo', '--json', '--packets', '200', '--rate', '2000']);
  assert.equal(r.code, 0, r.stderr);
  const { sched, ...knobs } = (JSON.parse(r.stdout) as Report).tuning!;
  assert.deepEqual(knobs, { cpu: null, rt: false, cpu_dma_latency: false, busy_poll: null });
  assert.equal(sched!.policy, 'receiver-first', 'receiver first is the default');
  assertOneLineError(await runCli(['demo', '--poll', 'event', '--busy-poll', '50']), 2, /busy polling needs poll mode worker or busy.*--poll worker/);
  assertOneLineError(await runCli(['demo', '--poll', 'busy', '--busy-poll', '20000']), 2, /--busy-poll must be a whole number from 0 to 10000/);
  await assertNoLeftovers();
});

test('latency --poll busy --busy-poll --cpu-dma-latency on a lab interface: every packet, knobs reported', async () => {
  await withLab(async (lab) => {
    let sending: Promise<number> | undefined;
    const r = await runCli(['latency', '--iface', lab.rx.ifname, '--poll', 'busy', '--busy-poll', '20', '--cpu-dma-latency', '--packets', '500', '--json'], {
      wrap: inside(lab),
      onStderr: (chunk) => {
        if (!sending && /measuring on/.test(chunk)) sending = sendFrames(lab, 500);
      },
    });
    assert.equal(await sending, 500);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.packets.received, 500);
    assert.equal(rep.packets.meta_valid, 500);
    assert.equal(rep.tuning!.cpu_dma_latency, true);
    assert.equal(rep.tuning!.busy_poll!.usecs, 20);
  });
  await assertNoLeftovers();
});
