/**
 * AF_XDP vs the kernel stack on the same traffic, through the real CLI on a lab: the
 * stamping program splits the flow, every packet is accounted on exactly one path, the stack's
 * share carries a valid XDP stamp (checked against the kernel's own RX time, SO_TIMESTAMPNS),
 * the files are the AF_XDP path's (tshark reads them), the overlay page draws every path in
 * Chromium, bad input is one line, and nothing is left attached, bound or running.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, assertNoLeftovers, assertOneLineError, trackLab, ROOT } from './lib/cli.js';
import { withLab, inside, sendFrames } from './lib/lab.js';
import { waitFor } from './lib/wait.js';
import { inChromium } from './lib/chromium.js';
import { pathDrops, type Report, type StackPath, type AfXdpPath } from '../src/report/report.js';
import { readUdpCounters } from '../src/rx/stack.js';
import { LatencyReceiver } from '../src/rx/receiver.js';
import { stackReceiversOf, stackRunPlan } from '../src/run/compare-stack.js';

const dropsOf = (p: AfXdpPath | StackPath): number => pathDrops(p);

/** No stack receiver of ours still running (they are children of the CLI, which has exited). */
function stackReceiversRunning(): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('build/bench/stack_rx') || cmd.includes('build/bench/rx_ref') || cmd.includes('stack-dgram.js')) {
        const ppid = /^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        if (ppid === '1') out.push(`${pid} ${cmd.replace(/\0/g, ' ')}`);
      }
    } catch {
      // gone while we looked
    }
  }
  return out;
}

describe('afxdp demo --compare-stack', () => {
  afterEach(async () => {
    await assertNoLeftovers();
    assert.deepEqual(stackReceiversRunning(), [], 'no orphaned stack receiver');
  });

  test('the 2×2 (AF_XDP vs stack × C vs Node): every packet on exactly one path of its run, the stack share stamped, AF_XDP files, overlay page', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-test-stack-'));
    const f = (n: string): string => path.join(dir, n);
    try {
      const sent = 2000;
      const r = await runCli(['demo', '--compare-stack', '--packets', String(sent), '--rate', '20000', '--json', '--csv', f('s.csv'), '--pcap', f('s.pcapng'), '--html', f('s.html')], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as Report;
      // the top-level figures are the AF_XDP receiver's of the first run, as in any report
      assert.equal(doc.packets.sent, sent);
      const p = doc.paths!;
      assert.ok(p, 'the report has paths');
      assert.equal(p.af_xdp.packets.received, doc.packets.received);
      assert.deepEqual(p.af_xdp.latency_ns.xdp_to_user, doc.latency_ns.xdp_to_user);
      assert.ok(p.af_xdp.cpu_ns_per_packet !== null && p.af_xdp.cpu_ns_per_packet > 0, 'event mode: the receiving thread\'s CPU per packet');
      assert.equal(p.af_xdp.receiver, 'node');
      // the runs pair by language: afxdp with Node's dgram, the C AF_XDP receiver (rx_ref) with C recvmmsg
      assert.deepEqual(p.node_dgram!.run.af_xdp, p.af_xdp);
      assert.ok(p.c_af_xdp, 'paths.c_af_xdp');
      assert.equal(p.c_af_xdp!.receiver, 'c');
      assert.deepEqual(p.c_recvmmsg!.run.af_xdp, p.c_af_xdp);
      assert.equal(p.c_af_xdp!.packets.meta_valid, p.c_af_xdp!.packets.received, 'rx_ref decodes the stamp of every frame');
      assert.equal(p.c_af_xdp!.latency_ns.xdp_to_user.count, p.c_af_xdp!.packets.received);
      assert.ok(p.c_af_xdp!.cpu_ns_per_packet !== null && p.c_af_xdp!.cpu_ns_per_packet > 0);
      // the 2×2 read two ways, each pair with its figures
      const e = p.effects!;
      assert.ok(e, 'paths.effects');
      const pairs = [[e.af_xdp_saves.c, 'c_recvmmsg', 'c_af_xdp'], [e.af_xdp_saves.node, 'node_dgram', 'af_xdp'], [e.node_costs.af_xdp, 'c_af_xdp', 'af_xdp'], [e.node_costs.stack, 'c_recvmmsg', 'node_dgram']] as const;
      for (const [x, baseline, compared] of pairs) {
        assert.equal(x?.baseline, baseline);
        assert.equal(x?.compared, compared);
        const at = (n: 'af_xdp' | 'c_af_xdp' | 'node_dgram' | 'c_recvmmsg'): AfXdpPath | StackPath => (n === 'af_xdp' ? p.af_xdp : p[n]!);
        const b = at(baseline);
        const c = at(compared);
        assert.deepEqual(x!.p50_ns, { baseline: b.latency_ns.xdp_to_user.p50, compared: c.latency_ns.xdp_to_user.p50, delta: c.latency_ns.xdp_to_user.p50 - b.latency_ns.xdp_to_user.p50, ratio: Math.round((c.latency_ns.xdp_to_user.p50 / b.latency_ns.xdp_to_user.p50) * 1000) / 1000 });
        assert.equal(x!.cpu_ns_per_packet.delta, c.cpu_ns_per_packet! - b.cpu_ns_per_packet!);
      }
      for (const [name, receiver] of [['node_dgram', 'node'], ['c_recvmmsg', 'c']] as const) {
        const s = p[name]!;
        assert.ok(s, `paths.${name}`);
        assert.equal(s.receiver, receiver);
        const run = s.run;
        assert.equal(run.sent, sent);
        // the accounting equation over the two paths of this run: sender vs socket vs UDP receiver
        assert.equal(run.af_xdp.packets.received + dropsOf(run.af_xdp) + s.packets.received + dropsOf(s), sent, `${name}: sent == af_xdp + stack, received or dropped`);
        // the program's own split agrees with both receivers
        assert.equal(run.program.matched, sent);
        assert.equal(run.program.to_stack + run.program.to_socket, sent);
        assert.equal(run.program.to_stack, s.packets.received + dropsOf(s), `${name}: what the program passed up is read or counted dropped`);
        assert.equal(run.program.to_socket, run.af_xdp.packets.received + dropsOf(run.af_xdp));
        assert.equal(s.packets.drops.lost, 0);
        assert.ok(run.program.to_stack > sent * 0.3 && run.program.to_stack < sent * 0.7, `about every other packet to the stack: ${run.program.to_stack}`);
        // every stack-path packet carries a valid stamp, written in place by XDP
        assert.equal(run.program.stamped_in_place, run.program.to_stack);
        assert.equal(s.packets.meta_valid, s.packets.received);
        assert.equal(s.packets.meta_invalid, 0);
        assert.equal(s.packets.foreign, 0);
        assert.equal(s.packets.udp_namespace.in_errors - s.packets.udp_namespace.rcvbuf_errors, 0, 'no UDP checksum error: the zeroed checksum is accepted');
        assert.equal(s.packets.udp_namespace.rcvbuf_errors, s.packets.drops.socket, 'the socket\'s drops are the namespace\'s receive-buffer errors (one socket)');
        const l = s.latency_ns.xdp_to_user;
        assert.equal(l.count, s.packets.meta_valid, 'one sample per stamped datagram');
        assert.ok(l.min > 0 && l.max < 10e9, `${name}: XDP → user in (0, 10 s): ${l.min}..${l.max}`);
        assert.ok(s.cpu_ns_per_packet !== null && s.cpu_ns_per_packet > 0);
      }
      // the C receiver's cross-check: the kernel's own RX time lies between the XDP stamp and user space
      const c = p.c_recvmmsg!;
      assert.equal(c.latency_ns.xdp_to_kernel_rx?.count, c.packets.received);
      assert.equal(c.latency_ns.kernel_rx_to_user?.count, c.packets.received);
      assert.ok(c.latency_ns.xdp_to_kernel_rx!.p50 < c.latency_ns.xdp_to_user.p50, 'XDP → kernel RX is shorter than XDP → user');
      assert.ok(c.latency_ns.xdp_to_kernel_rx!.p50 < 1e6, `XDP → SO_TIMESTAMPNS p50 under 1 ms: ${c.latency_ns.xdp_to_kernel_rx!.p50}`);
      assert.match(c.kernel_rx_clock ?? '', /SO_TIMESTAMPNS/);
      assert.equal(p.node_dgram!.latency_ns.kernel_rx_to_user, null, 'dgram has no kernel RX time');

      // the files are the first run's AF_XDP path: tshark counts its frames, the CSV its rows
      const rows = fs.readFileSync(f('s.csv'), 'utf8').trimEnd().split('\n').slice(1);
      assert.equal(rows.length, p.af_xdp.packets.received);
      const ts = spawnSync('tshark', ['-r', f('s.pcapng'), '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, ts.stderr);
      const lens = ts.stdout.trim().split('\n');
      assert.equal(lens.length, p.af_xdp.packets.received);
      assert.ok(lens.every((x) => x === '70'), 'the comparison sends 70-byte frames (room for the in-place stamp)');

      // the overlay page: the run comparison page with one series per path
      assert.equal(doc.outputs?.html?.path, f('s.html'));
      const [page] = await inChromium([f('s.html')], 'body[data-charts="1"]', async (pg, _file, errors) => ({
        errors,
        labels: await pg.evaluate(() => (window as unknown as { afxdpCharts: Array<{ series: Array<{ label: string }> }> }).afxdpCharts[0]!.series.slice(1).map((s) => s.label)),
        effects: await pg.evaluate(() => [...document.querySelectorAll('tr[data-effect]')].map((tr) => [tr.getAttribute('data-effect'), tr.querySelectorAll('td').length])),
        headings: await pg.evaluate(() => [...document.querySelectorAll('h2')].map((h) => h.textContent)),
      }));
      assert.deepEqual(page!.errors, []);
      assert.deepEqual(page!.labels, ['af_xdp', 'c_af_xdp', 'node_dgram', 'c_recvmmsg']);
      // "what AF_XDP saves" and "what Node costs" apart, a row per pair with its 12 figures
      assert.ok(page!.headings.includes('What AF_XDP saves') && page!.headings.includes('What Node costs'), String(page!.headings));
      assert.deepEqual(page!.effects, [['af_xdp_saves.c', 12], ['af_xdp_saves.node', 12], ['node_costs.af_xdp', 12], ['node_costs.stack', 12]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('human output: a section per path', async () => {
    const r = await runCli(['demo', '--compare-stack', '--stack-receiver', 'c', '--stack-every', '4', '--stack-rcvbuf', '262144', '--packets', '400']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /AF_XDP vs the kernel stack/);
    assert.match(r.stdout, /^c recvmmsg +\S+ /m);
    assert.doesNotMatch(r.stdout, /node dgram/);
    assert.match(r.stderr, /c_recvmmsg receives every 4th packet/);
    assert.match(r.stderr, /^afxdp: c_recvmmsg: received \d+ of \d+, drops \d+, xdp → user p50 /m);
  });

  test('bad input is one line, before anything is built', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['demo', '--stack-every', '3'], 2, /--stack-every applies only to the kernel-stack comparison/],
      [['demo', '--compare-stack', '--stack-every', '1'], 2, /--stack-every/],
      [['demo', '--compare-stack', '--stack-receiver', 'go'], 2, /--stack-receiver/],
      [['demo', '--compare-stack', '--clock', 'tai'], 2, /CLOCK_MONOTONIC/],
      [['compare', '--iface', 'lo', '--port', '0'], 2, /--port/],
      [['compare', '--iface', 'lo', '--port', '70000'], 2, /--port/],
      [['compare', '--iface', 'lo', '--port', '9'], 2, /needs an end/],
      [['compare', '--iface', 'afxdp-nope0', '--port', '9', '--packets', '10'], 1, /afxdp-nope0 not found/],
    ];
    const results = await Promise.all(cases.map(([argv]) => runCli(argv)));
    results.forEach((r, i) => assertOneLineError(r, cases[i]![1], cases[i]![2]));
  });

  test('compare: a port another socket holds is one line, and nothing is attached', async () => {
    const held = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => held.bind(0, '0.0.0.0', resolve));
    try {
      const port = held.address().port;
      assertOneLineError(await runCli(['compare', '--iface', 'lo', '--port', String(port), '--duration', '1']), 1, new RegExp(`UDP port ${port}.*(EADDRINUSE|in use)`));
    } finally {
      held.close();
    }
  });
});

test('LatencyReceiver stackEvery: the split in the program\'s counters; a frame too short for the stamp passes unstamped', async () => {
  await withLab(async (lab) => {
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, stackEvery: 4, hints: false });
    try {
      rx.start();
      assert.equal(await sendFrames(lab, 400, { size: 70 }), 400);
      assert.equal(await sendFrames(lab, 40, { size: 64 }), 40);
      await waitFor(() => (rx.stats().program?.matched ?? 0) === 440, { what: 'the program to see 440 frames' });
      const split = rx.stackSplit()!;
      assert.ok(split.to_stack > 440 / 8 && split.to_stack < 440 / 2, `about every 4th to the stack: ${split.to_stack}`);
      assert.equal(split.stamped + split.unstamped, split.to_stack);
      assert.ok(split.unstamped > 0 && split.unstamped <= 40, `64-byte frames have no room for the stamp: ${split.unstamped} unstamped`);
      await waitFor(() => rx.received === 440 - split.to_stack, { what: 'the socket to get the rest' });
    } finally {
      rx.close();
    }
    assert.throws(() => LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, stackEvery: 1 }), /stack share/);
  });
});

/** The stack receivers the CLI process `cli` started (its children). */
function stackChildren(cli: number): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const ppid = /^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (ppid === String(cli) && (cmd.includes('stack_rx') || cmd.includes('stack-dgram.js'))) out.push(Number(pid));
    } catch {
      // gone while we looked
    }
  }
  return out;
}

test('SIGKILL mid-run: the stack receiver dies with the CLI (node and c), nothing left', async () => {
  for (const receiver of ['node', 'c']) {
    let children: number[] = [];
    let killed = false;
    const r = await runCli(['demo', '--compare-stack', '--stack-receiver', receiver, '--packets', '100000000', '--rate', '5000', '--no-live'], {
      timeoutMs: 60_000,
      onStderr: (_chunk, child) => {
        if (killed || !/sending 100000000 packets/.test(_chunk)) return;
        killed = true;
        children = stackChildren(child.pid!);
        child.kill('SIGKILL');
      },
    });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.equal(children.length, 1, `one ${receiver} stack receiver was running`);
    await waitFor(() => children.every((pid) => !fs.existsSync(`/proc/${pid}`)), { what: `the ${receiver} stack receiver to die with the CLI`, timeoutMs: 5_000 });
    await assertNoLeftovers();
  }
});

describe('afxdp compare --iface --port', () => {
  afterEach(async () => {
    await assertNoLeftovers();
    assert.deepEqual(stackReceiversRunning(), [], 'no orphaned stack receiver');
  });

  test('live traffic on an interface: both paths measured; an interface without the flow is one line', async () => {
    await withLab(async (lab) => {
      let attached = false;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-test-stack-'));
      const html = path.join(dir, 'c.html');
      const run = runCli(['compare', '--iface', lab.rx.ifname, '--port', '9000', '--queue', '0', '--mode', 'native', '--bind', 'copy', '--poll', 'event', '--batch', '32', '--ring-size', '1024',
        '--stack-receiver', 'c', '--stack-every', '2', '--stack-rcvbuf', '262144', '--duration', '2', '--html', html, '--json'], {
        wrap: inside(lab),
        timeoutMs: 60_000,
        onStderr: (chunk) => (attached ||= /UDP port 9000/.test(chunk)),
      });
      await waitFor(() => attached, { what: 'afxdp compare to attach' });
      const before = readUdpCounters(lab.rx.netns.fd);
      // 300 afxdp frames with room for the stamp, and 20 to another port the split leaves alone
      assert.equal(await sendFrames(lab, 300, { dstPort: 9000, size: 70 }), 300);
      assert.equal(await sendFrames(lab, 20, { dstPort: 9001, size: 70 }), 20);
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as Report;
      assert.equal(doc.packets.sent, null, 'the traffic came from elsewhere');
      const c = doc.paths!.c_recvmmsg!;
      assert.equal(c.run.program.matched, 300);
      assert.equal(doc.paths!.af_xdp.packets.received + dropsOf(doc.paths!.af_xdp) + c.packets.received + dropsOf(c), 300);
      assert.equal(c.packets.meta_valid, c.packets.received);
      assert.ok(c.packets.received > 0 && doc.paths!.af_xdp.packets.received > 0);
      // the other port's datagrams reached the kernel with no socket: NoPorts saw them
      assert.ok(readUdpCounters(lab.rx.netns.fd).no_ports - before.no_ports >= 20);
      assert.ok(c.packets.udp_namespace.no_ports >= 20, 'seen in the namespace counters, not counted as drops of the path');
      assert.equal(doc.mode, 'native');
      assert.equal(doc.bind, 'copy');
      assert.match(fs.readFileSync(html, 'utf8'), /afxdp comparison: af_xdp vs c_recvmmsg/);
      fs.rmSync(dir, { recursive: true, force: true });

      // the same interface, no flow to the port: one line after the run
      const none = await runCli(['compare', '--iface', lab.rx.ifname, '--port', '9000', '--stack-receiver', 'node', '--duration', '0.5', '--force'], { wrap: inside(lab) });
      assert.equal(none.code, 2, none.stderr);
      const last = none.stderr.trimEnd().split('\n').at(-1)!;
      assert.match(last, /^afxdp: no UDP traffic to port 9000 reached afxdp-\w+ during the run/);
      assert.doesNotMatch(none.stderr, /\n\s+at /);
    });
  });
});

test('bench:stack --quick writes its results file: every path at every rate, medians as numbers', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-bench-stack-'));
  const out = path.join(dir, 'stack.json');
  try {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'bench', 'stack.js'), '--quick', '--out', out], { encoding: 'utf8', timeout: 170_000 });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as { schema: string; meta: { quick: boolean }; rates: Array<{ rate_pps: number; paths: Record<string, Record<string, number | null>> }> };
    assert.equal(doc.schema, 'afxdp.bench-stack/1');
    assert.equal(doc.meta.quick, true);
    assert.deepEqual(doc.rates.map((x) => x.rate_pps), [1000, 0]);
    for (const rate of doc.rates) {
      for (const p of ['af_xdp', 'c_af_xdp', 'node_dgram', 'c_recvmmsg']) {
        for (const k of ['p50', 'p99', 'p999', 'cpu_ns_per_packet', 'received', 'drops']) assert.equal(typeof rate.paths[p]?.[k], 'number', `${rate.rate_pps} ${p}.${k}`);
      }
    }
    // the markdown table on stdout: a row per rate and path
    assert.equal(r.stdout.trim().split('\n').length, 2 + 2 * 4);
    const id = /^bench:stack: lab ([a-z0-9]{6});/m.exec(r.stderr)?.[1];
    assert.ok(id, r.stderr);
    trackLab(id!);
    await assertNoLeftovers();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no --stack-receiver: both where the C receiver is built, Node\'s alone where it is not (an npm install)', () => {
  assert.deepEqual(stackReceiversOf(undefined, true), ['node', 'c']);
  assert.deepEqual(stackReceiversOf(undefined, false), ['node']);
  // asked for explicitly, c stays c (without the binary: the one-line error when it starts)
  assert.deepEqual(stackReceiversOf('c', false), ['c']);
  assert.deepEqual(stackReceiversOf('both', false), ['node', 'c']);
  assert.throws(() => stackReceiversOf('java' as never, true), /stack receiver "java" is not node, c or both/);
});

test('the 2×2 plan: C recvmmsg pairs with the C AF_XDP receiver on a lab; a missing C receiver is one line and the paths there are run', () => {
  const all = { stack: true, afXdp: true };
  assert.deepEqual(stackRunPlan(undefined, { lab: true, have: all }), { runs: [{ stack: 'node', afXdp: 'node' }, { stack: 'c', afXdp: 'c' }], notes: [] });
  assert.deepEqual(stackRunPlan('both', { lab: true, have: all }).runs, [{ stack: 'node', afXdp: 'node' }, { stack: 'c', afXdp: 'c' }]);
  // one stack receiver asked for: it runs beside afxdp's receiver, whose run the report is
  assert.deepEqual(stackRunPlan('c', { lab: true, have: all }), { runs: [{ stack: 'c', afXdp: 'node' }], notes: [] });
  // a real interface (afxdp compare): no known count for the C receiver to stop at
  assert.deepEqual(stackRunPlan(undefined, { lab: false, have: all }), { runs: [{ stack: 'node', afXdp: 'node' }, { stack: 'c', afXdp: 'node' }], notes: [] });
  const oneLine = (notes: string[], re: RegExp): void => {
    assert.equal(notes.length, 1, String(notes));
    assert.doesNotMatch(notes[0]!, /\n/);
    assert.match(notes[0]!, re);
  };
  // rx_ref missing: the C recvmmsg run pairs with afxdp, said once
  const noRef = stackRunPlan(undefined, { lab: true, have: { stack: true, afXdp: false } });
  assert.deepEqual(noRef.runs, [{ stack: 'node', afXdp: 'node' }, { stack: 'c', afXdp: 'node' }]);
  oneLine(noRef.notes, /no C AF_XDP path: .*rx_ref is missing .*prebuilds.*make/);
  // both C receivers missing (a checkout without `make`): Node's paths only, said once
  const none = stackRunPlan(undefined, { lab: true, have: { stack: false, afXdp: false } });
  assert.deepEqual(none.runs, [{ stack: 'node', afXdp: 'node' }]);
  oneLine(none.notes, /only Node's paths .*stack_rx, rx_ref/);
  // two queues: rx_ref reads one
  const two = stackRunPlan(undefined, { lab: true, queues: 2, have: all });
  assert.deepEqual(two.runs, [{ stack: 'node', afXdp: 'node' }, { stack: 'c', afXdp: 'node' }]);
  oneLine(two.notes, /reads one queue/);
});
