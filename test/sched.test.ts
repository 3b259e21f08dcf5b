/**
 * Receiver first (--sched, ReceiverOptions.sched): while a run receives, every other thread of the
 * process is lowered — helpers SCHED_IDLE, the main thread SCHED_BATCH — and close() puts them
 * back. The report's per-thread policies are compared with the kernel's own view
 * (/proc/PID/task/TID/sched). Functional only: no timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { LatencyReceiver, SCHED_CHOICES } from '../src/entry/receiver.js';
import type { Report } from '../src/report/report.js';
import { ROOT, runCli, assertNoLeftovers } from './lib/cli.js';
import { waitFor } from './lib/wait.js';
import { withLab, sendFrames } from './lib/lab.js';

const NAMES: Record<number, string> = { 0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE' };

/** The kernel's view: tid → policy name, for every thread of `pid`. */
function kernelPolicies(pid: number | 'self'): Map<number, string> {
  const m = new Map<number, string>();
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const p = /^policy\s*:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/task/${t}/sched`, 'utf8'));
      if (p) m.set(Number(t), NAMES[Number(p[1])] ?? `policy ${p[1]}`);
    } catch {
      // the thread ended meanwhile
    }
  }
  return m;
}

test('worker mode: the report\'s policy of each thread is the kernel\'s; threads started later are lowered too; close() restores them all', async () => {
  const before = kernelPolicies('self');
  assert.ok([...before.values()].every((p) => p === 'SCHED_OTHER'), 'the test starts with ordinary threads');
  await withLab(async (lab) => {
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'worker' });
    let late: Worker | undefined;
    try {
      rx.start();
      assert.equal(await sendFrames(lab, 300), 300);
      await waitFor(() => rx.received === 300, { what: '300 packets received', timeoutMs: 10_000 });
      const sched = rx.tuning().sched!;
      const kernel = kernelPolicies('self');
      assert.equal(sched.policy, 'receiver-first');
      assert.equal(sched.skipped, null, 'root has CAP_SYS_NICE');
      for (const th of sched.threads) if (kernel.has(th.tid)) assert.equal(th.policy, kernel.get(th.tid), `thread ${th.name} (${th.tid}, ${th.role})`);
      const receiving = sched.threads.filter((t) => t.role === 'receiving');
      assert.equal(receiving.length, 1, 'one receiving worker');
      assert.equal(receiving[0]!.policy, 'SCHED_OTHER');
      assert.equal(sched.threads.find((t) => t.role === 'main')!.policy, 'SCHED_BATCH');
      const helpers = sched.threads.filter((t) => t.role === 'helper');
      assert.ok(helpers.length > 0 && helpers.every((t) => t.policy === 'SCHED_IDLE'), JSON.stringify(helpers));
      // a thread started now (from the SCHED_BATCH main thread) ends up SCHED_IDLE as well
      late = new Worker('setInterval(() => {}, 1000)', { eval: true });
      await new Promise((resolve) => late!.once('online', resolve));
      const known = new Set(sched.threads.map((t) => t.tid));
      await waitFor(() => {
        const now = kernelPolicies('self');
        const fresh = [...now].filter(([tid]) => !known.has(tid));
        return fresh.length > 0 && fresh.every(([, p]) => p === 'SCHED_IDLE');
      }, { what: 'threads started during the run to be SCHED_IDLE', timeoutMs: 10_000 });
    } finally {
      rx.close();
    }
    const after = kernelPolicies('self');
    for (const [tid, p] of after) assert.equal(p, 'SCHED_OTHER', `thread ${tid} after close()`);
    await late?.terminate();
    // the report keeps how the threads ran
    assert.equal(rx.tuning().sched!.threads.filter((t) => t.role === 'receiving').length, 1);
  });
  await assertNoLeftovers();
});

test('event mode with --rt: the main thread receives SCHED_FIFO, the helpers are lowered; close() gives the main thread its policy and CPUs back', async () => {
  const cpus = fs.readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)![1];
  await withLab(async (lab) => {
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'event', rt: true, cpu: 0 });
    try {
      rx.start();
      const sched = rx.tuning().sched!;
      const kernel = kernelPolicies('self');
      const main = sched.threads.find((t) => t.tid === process.pid)!;
      assert.equal(main.role, 'receiving');
      assert.equal(main.policy, 'SCHED_FIFO');
      assert.equal(kernel.get(process.pid), 'SCHED_FIFO');
      for (const th of sched.threads) if (kernel.has(th.tid)) assert.equal(th.policy, kernel.get(th.tid), `thread ${th.name} (${th.tid})`);
      assert.ok(sched.threads.filter((t) => t.role === 'helper').every((t) => t.policy === 'SCHED_IDLE'));
      assert.equal(await sendFrames(lab, 100), 100);
      await waitFor(() => rx.received === 100, { what: '100 packets received', timeoutMs: 10_000 });
    } finally {
      rx.close();
    }
    for (const [tid, p] of kernelPolicies('self')) assert.equal(p, 'SCHED_OTHER', `thread ${tid} after close()`);
    assert.equal(fs.readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)![1], cpus, 'CPUs restored');
  });
  await assertNoLeftovers();
});

test('--sched off leaves every thread as it is; an unknown policy is a usage error', async () => {
  assert.deepEqual(SCHED_CHOICES, ['receiver-first', 'off']);
  await withLab(async (lab) => {
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'worker', sched: 'off' });
    try {
      rx.start();
      assert.equal(rx.tuning().sched, null);
      assert.ok([...kernelPolicies('self').values()].every((p) => p === 'SCHED_OTHER'));
    } finally {
      rx.close();
    }
  });
  const r = await runCli(['latency', '--iface', 'lo', '--sched', 'first']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--sched/);
  // the CLI's --sched off: the report says nothing was arranged
  const d = await runCli(['demo', '--json', '--packets', '200', '--rate', '2000', '--sched', 'off']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal((JSON.parse(d.stdout) as Report).tuning!.sched, null);
  await assertNoLeftovers();
});

test('a CLI run: the policies its report lists are what /proc/PID/task/*/sched showed during the run', async () => {
  let pid = 0;
  const seen = new Map<number, string>();
  const run = runCli(['demo', '--json', '--packets', '4000', '--rate', '1000'], { onSpawn: (c) => (pid = c.pid!) });
  await waitFor(() => {
    try {
      const k = kernelPolicies(pid);
      if (![...k.values()].includes('SCHED_IDLE')) return false;
      for (const [t, p] of k) seen.set(t, p);
      return true;
    } catch {
      return false;
    }
  }, { what: 'the demo to lower its helper threads', timeoutMs: 30_000 });
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  const sched = (JSON.parse(r.stdout) as Report).tuning!.sched!;
  assert.equal(sched.policy, 'receiver-first');
  let compared = 0;
  for (const th of sched.threads) {
    if (!seen.has(th.tid)) continue;
    assert.equal(th.policy, seen.get(th.tid), `thread ${th.name} (${th.tid}, ${th.role})`);
    compared++;
  }
  assert.ok(compared >= 3, `compared ${compared} threads`);
  assert.deepEqual([...new Set(sched.threads.filter((t) => t.role === 'receiving').map((t) => t.policy))], ['SCHED_OTHER']);
  await assertNoLeftovers();
});

test('without CAP_SYS_NICE: the CLI run works and says in one line what it skipped', async () => {
  const r = await runCli(['demo', '--json', '--packets', '500', '--rate', '2000'], { wrap: ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', '--'] });
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(rep.packets.received, 500);
  const sched = rep.tuning!.sched!;
  assert.match(sched.skipped!, /^no CAP_SYS_NICE: helper threads stay SCHED_IDLE until the process ends/);
  assert.ok(!sched.skipped!.includes('\n'));
  await assertNoLeftovers();
});

test('without CAP_SYS_NICE, the library lowers helpers only as far as it can undo (SCHED_BATCH) and close() restores every thread', async () => {
  await withLab(async (lab) => {
    // a child without CAP_SYS_NICE opens a receiver in the lab's namespace, reports, closes, reports
    const script = `
      import fs from 'node:fs';
      import { LatencyReceiver } from ${JSON.stringify(`${ROOT}/dist/src/entry/receiver.js`)};
      const pol = () => fs.readdirSync('/proc/self/task').map((t) => /^policy\\s*:\\s*(\\d+)/m.exec(fs.readFileSync('/proc/self/task/' + t + '/sched', 'utf8'))?.[1]);
      const rx = LatencyReceiver.open({ ifname: ${JSON.stringify(lab.rx.ifname)}, poll: 'worker' });
      rx.start();
      const during = rx.tuning().sched;
      rx.close();
      process.stdout.write(JSON.stringify({ during, after: pol() }));
      process.exit(0);`;
    // a file, not -e: a worker inherits --input-type and would not load its own module
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-sched-')), 'child.mjs');
    fs.writeFileSync(file, script);
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn('setpriv', ['--inh-caps=-sys_nice', '--bounding-set=-sys_nice', '--', 'nsenter', '-t', String(lab.rx.netns.pid), '-n', '--', process.execPath, file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      let e = '';
      c.stdout.on('data', (d: Buffer) => (o += d.toString()));
      c.stderr.on('data', (d: Buffer) => (e += d.toString()));
      c.once('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`child exited ${code}: ${e}`))));
    }).finally(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
    const { during, after } = JSON.parse(out) as { during: NonNullable<NonNullable<Report['tuning']>['sched']>; after: string[] };
    assert.match(during.skipped!, /^no CAP_SYS_NICE: helper threads SCHED_BATCH, not SCHED_IDLE/);
    const helpers = during.threads.filter((t) => t.role === 'helper');
    assert.ok(helpers.length > 0 && helpers.every((t) => t.policy === 'SCHED_BATCH'), JSON.stringify(helpers));
    assert.ok(after.every((p) => p === '0'), `after close(): ${after.join(',')}`);
  });
  await assertNoLeftovers();
});

test('doctor says what receiver first does here, and what CAP_SYS_NICE would add', async () => {
  type Doc = { findings: Array<{ id: string; status: string; text?: string; message?: string; fix?: string | null }> };
  const with_ = JSON.parse((await runCli(['doctor', '--json'])).stdout) as Doc;
  const ok = with_.findings.find((f) => f.id === 'cpu.sched')!;
  assert.equal(ok.status, 'ok');
  const r = await runCli(['doctor', '--json'], { wrap: ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', '--'] });
  const f = (JSON.parse(r.stdout) as Doc).findings.find((x) => x.id === 'cpu.sched')!;
  assert.equal(f.status, 'warn');
  assert.match(JSON.stringify(f), /without CAP_SYS_NICE.*SCHED_IDLE cannot be undone/);
  assert.match(JSON.stringify(f), /cap_sys_nice/);
});

test('demo --tx-worker: the sender\'s thread works for the run, so it is lowered to SCHED_BATCH, not SCHED_IDLE', async () => {
  let pid = 0;
  const run = runCli(['demo', '--json', '--packets', '10000', '--rate', '2000', '--tx-worker'], { onSpawn: (c) => (pid = c.pid!) });
  // while it sends: the main thread and the sender's thread SCHED_BATCH, the helpers SCHED_IDLE. A
  // helper born from the main thread is SCHED_BATCH too until the next rescan (1 s): only a thread
  // that stays SCHED_BATCH for longer is the sender
  let first: { at: number; tids: Set<number> } | null = null;
  await waitFor(() => {
    let k: Map<number, string>;
    try {
      k = kernelPolicies(pid);
    } catch {
      return false;
    }
    const batch = [...k].filter(([t, p]) => t !== pid && p === 'SCHED_BATCH').map(([t]) => t);
    if (first === null) {
      if (k.get(pid) === 'SCHED_BATCH' && batch.length > 0 && [...k.values()].includes('SCHED_IDLE')) first = { at: Date.now(), tids: new Set(batch) };
      return false;
    }
    return Date.now() - first.at > 2_500 && batch.some((t) => first!.tids.has(t));
  }, { what: 'a sender thread that stays SCHED_BATCH beside the main thread', timeoutMs: 30_000 });
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as Report).packets.received, 10000);
  await assertNoLeftovers();
});
