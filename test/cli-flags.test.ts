/**
 * The `latency` and `gen` flags the other tests do not reach, each shown by its effect on a real
 * lab, checked with the kernel's UDP stack, tshark and strace where they can tell: --port really
 * filters (the other port's datagrams still reach a kernel socket), --clock tai stamps and reads
 * TAI, --batch bounds the batches, --no-hints reads none, --bind is obeyed, the outputs of a
 * latency run, --no-live; gen's addresses, port, queue and TX batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Lab } from '../src/entry/lab.js';
import type { Report } from '../src/report/report.js';
import { runCli, assertOneLineError, assertNoLeftovers } from './lib/cli.js';
import { withLab, inside, sendFrames, xdpOn } from './lib/lab.js';
import { waitFor } from './lib/wait.js';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-flags-'));
}

/** Runs a node script in the rx namespace of `lab` (its own process, like a user's program). */
function nodeIn(lab: Lab, script: string): { stdout: () => string; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const [cmd, ...pre] = inside(lab);
  const child = spawn(cmd!, [...pre, process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { stdout: () => stdout, done };
}

/**
 * A kernel UDP socket in the rx namespace bound to `ip:port`: prints "ready" once bound, then
 * exits after `n` datagrams, printing their source addresses as JSON.
 */
async function kernelSocket(lab: Lab, ip: string, port: number, n: number): Promise<{ sources: Promise<string[]> }> {
  const script = `
    import dgram from 'node:dgram';
    const s = dgram.createSocket('udp4');
    const from = [];
    s.on('message', (_m, r) => { from.push(r.address); if (from.length === ${n}) { s.close(); process.stdout.write(JSON.stringify(from) + '\\n'); } });
    s.bind(${port}, '${ip}', () => process.stdout.write('ready\\n'));`;
  const run = nodeIn(lab, script);
  await Promise.race([
    waitFor(() => run.stdout().startsWith('ready'), { what: `a kernel UDP socket on ${ip}:${port}` }),
    run.done.then((r) => assert.fail(`the UDP socket script ended: ${r.stderr}`)),
  ]);
  // wrapped: an async function's returned promise would be awaited by the caller's `await`
  const sources = run.done.then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.split('\n')[1]!) as string[];
  });
  return { sources };
}

async function scrapeIn(lab: Lab, url: string): Promise<string> {
  const r = await nodeIn(lab, `process.stdout.write(await (await fetch('${url}')).text())`).done;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('latency --port --clock tai --bind copy --batch 4 --no-hints, with --csv --pcap --html --prometheus: each flag has its effect', async () => {
  await withLab(async (lab) => {
    const dir = tmpdir();
    const f = (n: string): string => path.join(dir, n);
    try {
      // port 10 is not measured: its datagrams still reach the kernel's socket
      const other = await kernelSocket(lab, lab.rx.ip, 10, 50);
      let metrics = '';
      let measuring = false;
      const run = runCli(
        ['latency', '--iface', lab.rx.ifname, '--port', '9', '--clock', 'tai', '--bind', 'copy', '--batch', '4', '--no-hints', '--packets', '100', '--json',
          '--csv', f('l.csv'), '--pcap', f('l.pcapng'), '--html', f('l.html'), '--prometheus', '127.0.0.1:0'],
        {
          wrap: inside(lab),
          onStderr: (chunk) => {
            metrics ||= /metrics on (http:\/\/\S+)/.exec(chunk)?.[1] ?? '';
            measuring ||= /measuring on/.test(chunk);
          },
        },
      );
      await waitFor(() => measuring && metrics !== '', { what: 'latency to attach and serve /metrics' });
      assert.equal(await sendFrames(lab, 50, { dstPort: 10, rate: 0 }), 50);
      assert.deepEqual(new Set(await other.sources), new Set([lab.tx.ip]), 'the 50 datagrams to port 10 reached the kernel socket');
      // bursts, so that the receive loop finds more than 4 packets ready at once
      assert.equal(await sendFrames(lab, 99, { dstPort: 9, rate: 0 }), 99);
      let body = '';
      await waitFor(async () => /^afxdp_packets_received_total\{[^}]*\} 99$/m.test((body = await scrapeIn(lab, metrics))), {
        what: '/metrics during the run to count 99 packets',
        detail: () => body.split('\n').find((l) => l.startsWith('afxdp_packets_received_total')) ?? 'no counter',
      });
      assert.equal(await sendFrames(lab, 1, { dstPort: 9 }), 1);
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(r.stdout) as Report;
      assert.equal(rep.packets.received, 100);
      assert.equal(rep.packets.meta_valid, 100);
      assert.equal(rep.latency_ns.xdp_to_user.count, 100, 'TAI stamps read against TAI: every packet a sample');
      assert.equal(rep.clock, 'tai');
      assert.equal(rep.bind, 'copy');
      assert.deepEqual(rep.per_queue?.[0]?.program && { seen: rep.per_queue[0].program.seen, matched: rep.per_queue[0].program.matched }, { seen: 150, matched: 100 });
      assert.equal(rep.hints, null, '--no-hints: no hint read');
      assert.match(rep.hints_off ?? '', /--no-hints/);
      // CSV: one row per packet; packets of one receive batch share the batch's user time: ≤ 4
      const rows = fs.readFileSync(f('l.csv'), 'utf8').trimEnd().split('\n').slice(1).map((l) => l.split(','));
      assert.equal(rows.length, 100);
      const perBatch = new Map<string, number>();
      for (const row of rows) perBatch.set(row[4]!, (perBatch.get(row[4]!) ?? 0) + 1);
      assert.ok(Math.max(...perBatch.values()) <= 4, `batches of at most 4: ${[...perBatch.values()].join(' ')}`);
      // pcapng: tshark reads the 100 frames, all to port 9
      const ts = spawnSync('tshark', ['-r', f('l.pcapng'), '-T', 'fields', '-e', 'udp.dstport'], { encoding: 'utf8' });
      assert.equal(ts.status, 0, ts.stderr);
      assert.deepEqual(ts.stdout.trim().split('\n'), new Array<string>(100).fill('9'));
      const html = fs.readFileSync(f('l.html'), 'utf8');
      assert.match(html, /^<!doctype html>/i);
      assert.ok(html.includes(lab.rx.ifname), 'the report names the interface');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('demo --batch 4: receive batches of at most 4 packets (the CSV rows of one batch share its user time)', async () => {
  const dir = tmpdir();
  try {
    const csv = path.join(dir, 'd.csv');
    const r = await runCli(['demo', '--packets', '2000', '--rate', '0', '--batch', '4', '--json', '--csv', csv]);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.packets.received, 2000);
    const perBatch = new Map<string, number>();
    for (const row of fs.readFileSync(csv, 'utf8').trimEnd().split('\n').slice(1)) {
      const user = row.split(',')[4]!;
      perBatch.set(user, (perBatch.get(user) ?? 0) + 1);
    }
    assert.equal([...perBatch.values()].reduce((a, b) => a + b, 0), 2000);
    assert.ok(Math.max(...perBatch.values()) <= 4, `batches of at most 4: max ${Math.max(...perBatch.values())}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeftovers();
});

test('latency --bind zerocopy on veth: exit 1, one line, nothing attached', async () => {
  await withLab(async (lab) => {
    const r = await runCli(['latency', '--iface', lab.rx.ifname, '--bind', 'zerocopy', '--duration', '1'], { wrap: inside(lab) });
    assertOneLineError(r, 1, /zero-?copy/i);
    assert.deepEqual(await xdpOn(lab), []);
  });
});

test('latency --strategy auto --simulate-no-meta: every packet falls back to prepend and is measured', async () => {
  await withLab(async (lab) => {
    let sending: Promise<number> | undefined;
    const r = await runCli(['latency', '--iface', lab.rx.ifname, '--strategy', 'auto', '--simulate-no-meta', '--packets', '200', '--json'], {
      wrap: inside(lab),
      onStderr: (chunk) => {
        if (!sending && /measuring on/.test(chunk)) sending = sendFrames(lab, 200);
      },
    });
    assert.equal(await sending, 200);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.packets.received, 200);
    assert.equal(rep.packets.meta_valid, 200);
    assert.equal(rep.packets.by_strategy.meta, 0);
    assert.equal(rep.packets.by_strategy.prepend, 200);
  });
});

test('latency --no-live: no live lines on stderr, where a plain run prints one a second', async () => {
  await withLab(async (lab) => {
    const LIVE = /^afxdp: \d+\.\d s {2}[\d,]+ pps {2}received /m;
    const runWith = async (extra: string[]): Promise<string> => {
      let sending: Promise<number> | undefined;
      const r = await runCli(['latency', '--iface', lab.rx.ifname, '--duration', '2.5', ...extra], {
        wrap: inside(lab),
        onStderr: (chunk) => {
          if (!sending && /measuring on/.test(chunk)) sending = sendFrames(lab, 20_000, { rate: 10_000 });
        },
      });
      assert.equal(await sending, 20_000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /received/);
      return r.stderr;
    };
    assert.match(await runWith([]), LIVE);
    assert.doesNotMatch(await runWith(['--no-live']), LIVE);
  });
});

test('gen --src-ip --dst-ip --port: the kernel of the receiving end gets the datagrams from and to those addresses', async () => {
  await withLab(async (lab) => {
    // a second address on the receiving end, so that only datagrams sent to it reach the socket
    await lab.rx.netns.exec('ip', ['addr', 'add', '198.18.0.9/32', 'dev', lab.rx.ifname]);
    const got = await kernelSocket(lab, '198.18.0.9', 7778, 40);
    const r = await runCli(['gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--src-ip', '198.18.0.7', '--dst-ip', '198.18.0.9', '--port', '7778', '--count', '40', '--rate', '2000', '--json'], { wrap: inside(lab, 'tx') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { sent: number }).sent, 40);
    assert.deepEqual(await got.sources, new Array<string>(40).fill('198.18.0.7'));
  });
});

test('gen --queue 1: the frames arrive on RX queue 1 of the peer (veth), where latency --queue 1 measures them', async () => {
  await withLab(async (lab) => {
    let sent: Promise<{ code: number | null; stdout: string; stderr: string }> | undefined;
    const r = await runCli(['latency', '--iface', lab.rx.ifname, '--queue', '1', '--packets', '300', '--json'], {
      wrap: inside(lab),
      onStderr: (chunk) => {
        if (!sent && /measuring on/.test(chunk)) sent = runCli(['gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--queue', '1', '--count', '300', '--rate', '10000', '--json'], { wrap: inside(lab, 'tx') });
      },
    });
    const g = await sent!;
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(JSON.parse(g.stdout).queue, 1);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.deepEqual(rep.queues, [1]);
    assert.equal(rep.packets.received, 300);
    assert.equal(rep.per_queue?.[0]?.program.seen, 300, 'seen by the program on queue 1');
  }, { queues: 2 });
});

test('gen --batch: descriptors per sendto, counted by strace', async () => {
  await withLab(async (lab) => {
    const dir = tmpdir();
    const sendtos = async (batch: string): Promise<number> => {
      const log = path.join(dir, `strace-${batch}`);
      const r = await runCli(['gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--batch', batch, '--count', '256', '--rate', '0', '--json'], {
        wrap: [...inside(lab, 'tx'), 'strace', '-f', '-qq', '-e', 'trace=sendto', '-e', 'signal=none', '-o', log],
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { sent: number }).sent, 256);
      return fs.readFileSync(log, 'utf8').split('\n').filter((l) => /sendto\(/.test(l)).length;
    };
    const one = await sendtos('1');
    const many = await sendtos('32');
    assert.ok(one >= 256, `--batch 1: one kick per frame (${one} sendto calls)`);
    assert.ok(many <= 256 / 4, `--batch 32: a kick per batch (${many} sendto calls)`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
