/**
 * Every example under examples/ runs against a real lab (namespaces + veth), as a user would run
 * it: its own process, inside the receiving namespace (nsenter), real traffic from the other end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib/cli.js';
import { withLab, sendFrames } from './lib/lab.js';
import { waitFor } from './lib/wait.js';

const EXAMPLES = path.join(ROOT, 'dist', 'examples');

interface Run {
  child: ChildProcess;
  /** resolves with the first stderr text matching `pattern` */
  ready: Promise<string>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `node dist/examples/<name>.js args` inside the namespace of pid `nsPid`. */
function startExample(name: string, args: string[], nsPid: number, readyPattern: RegExp, timeoutMs = 60_000): Run {
  const child = spawn('nsenter', ['-t', String(nsPid), '-n', '--', process.execPath, path.join(EXAMPLES, `${name}.js`), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let onReady: (s: string) => void = () => {};
  const ready = new Promise<string>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    const m = readyPattern.exec(stderr);
    if (m) onReady(m[0]);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      onReady(`exited early: ${stderr}`);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, ready, done };
}

/** Runs a node script inside a namespace and returns its stdout. */
function nodeIn(nsPid: number, script: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['-t', String(nsPid), '-n', '--', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`script in netns failed (${code}): ${err}`));
    });
  });
}

test('examples/latency-probe: receives the lab traffic and prints the latency summary', async () => {
  await withLab(async (lab) => {
    const run = startExample('latency-probe', [lab.rx.ifname, '500'], lab.rx.netns.pid, /listening on \S+ \(XDP (native|generic), AF_XDP (copy|zerocopy)\)/);
    assert.match(await run.ready, /^listening/);
    assert.equal(await sendFrames(lab, 500), 500);
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^packet 1: 64 bytes, queue 0, \d+ ns$/m);
    assert.match(r.stdout, /^500 packets: p50 [1-9]\d* ns, p99 \d+ ns, max \d+ ns$/m);
  });
});

test('examples/udp-echo: a kernel UDP client in the other namespace gets every datagram back', async () => {
  await withLab(async (lab) => {
    const run = startExample('udp-echo', [lab.rx.ifname, '7'], lab.rx.netns.pid, /echoing UDP port 7 on \S+/);
    assert.match(await run.ready, /^echoing/);
    const client = `
      import dgram from 'node:dgram';
      const s = dgram.createSocket('udp4');
      const got = [];
      s.on('message', (m) => got.push(m.toString()));
      await new Promise((r) => s.bind(0, '${lab.tx.ip}', r));
      for (let i = 0; i < 20; i++) {
        const before = got.length;
        s.send('afxdp-echo-' + i, 7, '${lab.rx.ip}');
        for (let t = 0; t < 200 && got.length === before; t++) await new Promise((r) => setTimeout(r, 10));
      }
      s.close();
      process.stdout.write(JSON.stringify(got));`;
    const replies = JSON.parse(await nodeIn(lab.tx.netns.pid, client)) as string[];
    assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => `afxdp-echo-${i}`));
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /echoed 20 of 20 packets/);
  });
});

test('examples/xdp-filter: a custom program with the afxdp header delivers allowed ports, drops the rest in XDP', async () => {
  await withLab(async (lab) => {
    const run = startExample('xdp-filter', [lab.rx.ifname, '9', '100'], lab.rx.netns.pid, /filtering on \S+ \(XDP \w+, program xdp_filter\)/);
    assert.match(await run.ready, /^filtering/);
    assert.equal(await sendFrames(lab, 50, { dstPort: 10 }), 50); // not allowed: dropped by the program
    assert.equal(await sendFrames(lab, 100, { dstPort: 9 }), 100); // a second generator on the same queue: close() freed it
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { received: number; delivered: number; dropped: number; p50_ns: number };
    assert.equal(out.received, 100);
    assert.equal(out.delivered, 100);
    assert.equal(out.dropped, 50);
    assert.ok(out.p50_ns > 0, 'the custom program stamped the packets (latency measured)');
  });
});

test('examples/prometheus-exporter: keeps serving /metrics with the packet count and latency, stops on SIGTERM', async () => {
  await withLab(async (lab) => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const run = startExample('prometheus-exporter', [lab.rx.ifname, String(port)], lab.rx.netns.pid, /serving http:\/\/127\.0\.0\.1:\d+\/metrics/);
    assert.match(await run.ready, /^serving/);
    const scrape = (): Promise<string> => nodeIn(lab.rx.netns.pid, `process.stdout.write(await (await fetch('http://127.0.0.1:${port}/metrics')).text())`);
    assert.match(await scrape(), /^afxdp_packets_received_total\{iface="[^"]+",queue="0"\} 0$/m);
    assert.equal(await sendFrames(lab, 300), 300);
    let body = '';
    await waitFor(async () => /^afxdp_packets_received_total\{[^}]*\} 300$/m.test((body = await scrape())), { what: '/metrics to count the 300 packets', detail: () => body.split('\n').find((l) => l.startsWith('afxdp_packets_received_total')) ?? 'no counter' });
    assert.match(body, /^afxdp_packets_received_total\{[^}]*\} 300$/m);
    assert.match(body, /^afxdp_xdp_to_user_latency_ns\{[^}]*quantile="0.5"\} [1-9]\d*$/m);
    assert.match(body, /^afxdp_kernel_rx_dropped_total\{[^}]*\} 0$/m);
    assert.match(body, /^process_cpu_seconds_total /m, 'default process metrics too');
    assert.equal(run.child.exitCode, null, 'still running after scrapes');
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
  });
});

test('examples/l2fwd-handler: the handler forwards every datagram back to the sender with the Ethernet addresses swapped', async () => {
  await withLab(async (lab) => {
    const run = startExample('l2fwd-handler', [lab.rx.ifname], lab.rx.netns.pid, /forwarding on \S+ queues 0 \(XDP \w+, AF_XDP \w+, poll worker\)/);
    assert.match(await run.ready, /^forwarding/);
    const rxPackets = async (): Promise<number> => {
      const { stdout } = await lab.tx.netns.exec('ip', ['-j', '-s', 'link', 'show', 'dev', lab.tx.ifname]);
      return (JSON.parse(stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0]!.stats64.rx.packets;
    };
    const before = await rxPackets();
    assert.equal(await sendFrames(lab, 200), 200);
    // each frame comes back to the tx end (its kernel then drops it: the IP addresses were not swapped)
    let after = before;
    await waitFor(async () => (after = await rxPackets()) - before >= 200, { what: 'the tx end to count the 200 forwarded frames', detail: () => `${after - before} so far` });
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /forwarded 200 of 200 packets \(handler saw 200\), XDP → handler p50 [1-9]\d* ns/);
  });
});

test('examples/two-port-fwd: frames sent into one veth pair leave by the other, forwarded on one shared UMEM', async () => {
  await withLab((lab1) =>
    withLab(async (lab2) => {
      // the forwarder's two ports in one namespace: lab2's rx end moves into lab1's rx namespace
      await lab2.rx.netns.exec('ip', ['link', 'set', 'dev', lab2.rx.ifname, 'netns', String(lab1.rx.netns.pid)]);
      await lab1.rx.netns.exec('ip', ['link', 'set', 'dev', lab2.rx.ifname, 'up']);
      const rxPackets = async (): Promise<number> => {
        const { stdout } = await lab2.tx.netns.exec('ip', ['-j', '-s', 'link', 'show', 'dev', lab2.tx.ifname]);
        return (JSON.parse(stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0]!.stats64.rx.packets;
      };
      const before = await rxPackets();
      const run = startExample('two-port-fwd', [lab1.rx.ifname, lab2.rx.ifname, lab1.tx.mac, lab2.tx.mac], lab1.rx.netns.pid, /forwarding \S+ <-> \S+ on one UMEM \(AF_XDP copy\)/);
      try {
        assert.match(await run.ready, /^forwarding/);
        assert.equal(await sendFrames(lab1, 300), 300);
        let after = before;
        await waitFor(async () => (after = await rxPackets()) - before >= 300, { what: 'the far end of the second pair to count the 300 forwarded frames', detail: () => `${after - before} so far` });
      } finally {
        run.child.kill('SIGTERM');
      }
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`forwarded 300 ${lab1.rx.ifname} -> ${lab2.rx.ifname}, 0 ${lab2.rx.ifname} -> ${lab1.rx.ifname}; dropped 0`));
    }),
  );
});
