/**
 * Bring your own XDP program (`--program OBJ.o [--xskmap NAME]`): the example in
 * examples/own-program is compiled here the way a user would, then measured end to end; objects
 * afxdp cannot use are refused with one clear line and nothing left behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, assertNoLeftovers, assertOneLineError, trackLab, ROOT } from './lib/cli.js';
import { withLab, openGenerator, inside, sendFrames, xdpOn } from './lib/lab.js';
import { TrafficGenerator } from '../src/lab/generator.js';
import { LatencyProbe } from '../src/rx/probe.js';
import { waitForEnd } from '../src/run/session.js';
import { runDemo } from '../src/run/demo.js';
import { META_SIZE } from '../src/xdp/meta.js';
import type { Report } from '../src/report/report.js';

const EXAMPLE = path.join(ROOT, 'examples', 'own-program', 'udp_filter.bpf.c');
const FIXTURES = path.join(ROOT, 'build', 'test-bpf');
let dir = '';
let example = '';

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-example-'));
  example = path.join(dir, 'udp_filter.bpf.o');
  const clang = ['/usr/bin/clang-19', '/usr/bin/clang'].find((c) => fs.existsSync(c));
  assert.ok(clang, 'clang is installed by scripts/setup');
  const { stdout: triple } = await promisify(execFile)('cc', ['-dumpmachine']);
  // exactly the command the example's comment gives a user
  await promisify(execFile)(clang, ['-O2', '-g', '-target', 'bpf', `-I${path.join(ROOT, 'bpf', 'include')}`, `-I/usr/include/${triple.trim()}`, '-c', EXAMPLE, '-o', example]);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function demoJson(args: string[]): Promise<Report> {
  const r = await runCli(['demo', '--json', ...args]);
  assert.equal(r.code, 0, `afxdp demo ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

test('the example program, compiled as a user would, measures every packet (meta, and auto without meta)', async () => {
  try {
    // through the CLI once, and the other strategies in process, concurrently
    const [cli, ...rest] = await Promise.all([
      demoJson(['--packets', '1000', '--rate', '0', '--program', example, '--xskmap', 'my_sockets']),
      runDemo({ packets: 1000, rate: 0, program: example, strategy: 'auto', simulateNoMeta: true }),
      runDemo({ packets: 1000, rate: 0, program: example, strategy: 'map', mode: 'generic' }),
    ]);
    for (const [r, carrier] of [
      [cli, 'meta'],
      [rest[0], 'prepend'],
      [rest[1], 'map'],
    ] as const) {
      trackLab(/^afxdp-([a-z0-9]{6})r$/.exec(r!.iface)![1]!);
      assert.equal(r!.packets.received, 1000, carrier);
      assert.equal(r!.packets.meta_valid, 1000, carrier);
      assert.equal(r!.packets.by_strategy[carrier], 1000, carrier);
      assert.equal(r!.latency_ns.xdp_to_user.count, 1000);
    }
  } finally {
    await assertNoLeftovers();
  }
});

test("the example's own metadata fields sit in front of afxdp's struct, filled by its program", async () => {
  await withLab(async (lab) => {
    let probe: LatencyProbe | undefined;
    let gen: TrafficGenerator | undefined;
    try {
      probe = LatencyProbe.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, program: example, strategy: 'meta' });
      gen = openGenerator(lab);
      const seen: string[] = [];
      probe.onFrames = (addrs, _lens, n, bytes) => {
        for (let i = 0; i < n; i++) {
          const u = addrs[i]! - META_SIZE - 8; // struct afxdp_user_meta: src_ip, src_port, ttl, pad
          const dv = new DataView(bytes.buffer, bytes.byteOffset + u, 8);
          seen.push(`${bytes.subarray(u, u + 4).join('.')}:${dv.getUint16(4)} ttl ${dv.getUint8(6)}`);
        }
      };
      probe.start();
      const sent = await gen.send({ count: 100, rate: 10000 });
      await waitForEnd(probe, { expected: () => sent, idleMs: 1000 });
      probe.drain();
      assert.equal(probe.stats().metaValid, 100);
      assert.equal(seen.length, 100);
      assert.deepEqual(new Set(seen), new Set(['198.18.0.1:40000 ttl 64']));
    } finally {
      gen?.close();
      probe?.close();
    }
  });
});

test('latency --program --xskmap: the socket goes into the named XSKMAP of the own program; a wrong name is refused before attaching', async () => {
  await withLab(async (lab) => {
    const wrong = await runCli(['latency', '--iface', lab.rx.ifname, '--program', example, '--xskmap', 'nope', '--packets', '1'], { wrap: inside(lab) });
    assertOneLineError(wrong, 2, /has no map named nope \(its XSKMAPs: my_sockets\)/);
    assert.deepEqual(await xdpOn(lab), []);
    let sending: Promise<number> | undefined;
    const r = await runCli(['latency', '--iface', lab.rx.ifname, '--program', example, '--xskmap', 'my_sockets', '--packets', '300', '--json'], {
      wrap: inside(lab),
      onStderr: (chunk) => {
        if (!sending && /measuring on/.test(chunk)) sending = sendFrames(lab, 300);
      },
    });
    assert.equal(await sending, 300);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.packets.received, 300, 'redirected through my_sockets');
    assert.equal(rep.packets.meta_valid, 300);
  });
});

test('objects afxdp cannot use: one line, exit 2, nothing left behind', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--program', path.join(FIXTURES, 'no_xskmap.bpf.o')], /no_xskmap\.bpf\.o has no XSKMAP: afxdp has nowhere to register its AF_XDP socket \(declare a BPF_MAP_TYPE_XSKMAP/],
    [['--program', path.join(FIXTURES, 'big_meta.bpf.o')], /its metadata is 224 bytes \(struct afxdp_user_meta 176 \+ struct afxdp_meta 48\), more than the 216-byte limit the kernel allows/],
    [['--program', example, '--xskmap', 'nope'], /has no map named nope \(its XSKMAPs: my_sockets\)/],
    [['--xskmap', 'my_sockets'], /--xskmap needs --program/],
    [['--program', path.join(dir, 'missing.o')], /missing\.o: no such file/],
  ];
  try {
    const rs = await Promise.all(cases.map(([args]) => runCli(['demo', '--packets', '10', ...args])));
    cases.forEach(([, pattern], i) => assertOneLineError(rs[i]!, 2, pattern));
    // latency too (no lab: an interface of this namespace)
    const r = await runCli(['latency', '--iface', 'lo', '--program', path.join(FIXTURES, 'big_meta.bpf.o')]);
    assertOneLineError(r, 2, /216-byte limit/);
  } finally {
    await assertNoLeftovers();
  }
});

test('a profiler firing signals during the verifier does not fail the load (node --cpu-prof every 20 µs)', async () => {
  // The verifier returns EAGAIN when a signal is pending and libbpf retries only 5 times: with
  // SIGPROF every 20 µs every attempt failed ("the verifier rejected … processed 1 insns") until
  // the load held the thread's signals.
  const prof = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-prof-'));
  try {
    // --cpu-prof is not allowed in NODE_OPTIONS: a node that always profiles
    const node = path.join(prof, 'node');
    fs.writeFileSync(node, `#!/bin/sh\nexec ${process.execPath} --cpu-prof --cpu-prof-interval 20 --cpu-prof-dir=${prof} "$@"\n`, { mode: 0o755 });
    const r = await runCli(['demo', '--packets', '500', '--rate', '0', '--json'], { node });
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    trackLab(/^afxdp-([a-z0-9]{6})r$/.exec(rep.iface)![1]!);
    assert.equal(rep.packets.received, 500);
    assert.ok(fs.readdirSync(prof).some((f) => f.endsWith('.cpuprofile')), 'the profiler ran');
  } finally {
    fs.rmSync(prof, { recursive: true, force: true });
    await assertNoLeftovers();
  }
});
