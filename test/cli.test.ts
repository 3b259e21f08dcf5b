/**
 * The walking skeleton end to end, through the real CLI: real namespaces, veth, XDP programs and
 * AF_XDP sockets. Every test also proves nothing was left behind.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCli, assertNoLeftovers, assertOneLineError, NODE24, ROOT, type CliResult } from './lib/cli.js';
import { withLab, inside, openGenerator } from './lib/lab.js';
import { TrafficGenerator } from '../src/lab/generator.js';
import type { Report } from '../src/report/report.js';
import path from 'node:path';

function parseReport(r: CliResult): Report {
  assert.equal(r.code, 0, `exit 0 expected, stderr:\n${r.stderr}`);
  const doc = JSON.parse(r.stdout) as Report;
  assert.equal(doc.schema, 'afxdp.report/1');
  return doc;
}

function assertHealthyRun(doc: Report, sent: number): void {
  assert.equal(doc.packets.sent, sent);
  assert.equal(doc.packets.received, sent, 'received == sent');
  assert.equal(doc.packets.meta_valid, sent, 'every packet carried valid metadata');
  assert.equal(doc.packets.meta_invalid, 0);
  const l = doc.latency_ns.xdp_to_user;
  assert.equal(l.count, doc.packets.received, 'one latency sample per packet');
  assert.ok(l.min >= 0, `min ${l.min} >= 0`);
  assert.ok(l.p50 > 0 && l.p50 < 1e9, `p50 ${l.p50} in (0, 1 s)`);
  assert.ok(l.max >= l.p99 && l.p99 >= l.p50 && l.p50 >= l.min, 'percentiles ordered');
}

describe('afxdp demo', () => {
  afterEach(assertNoLeftovers);

  for (const mode of ['native', 'generic'] as const) {
    test(`${mode} mode: every packet received with metadata and a latency`, async () => {
      const doc = parseReport(await runCli(['demo', '--packets', '3000', '--rate', '20000', '--mode', mode, '--json']));
      assert.equal(doc.mode, mode);
      assert.equal(doc.bind, 'copy', 'veth binds in copy mode');
      assert.equal(doc.strategy, 'meta');
      assert.equal(doc.poll, 'worker');
      assert.equal(doc.clock, 'monotonic');
      assertHealthyRun(doc, 3000);
      // the generator's TX time is in every payload (same host, same clock): sender → XDP is measured
      assert.equal(doc.latency_ns.sender_to_xdp?.count, 3000);
      assert.equal(doc.latency_ns.hw_to_xdp, null, 'veth has no HW RX stamps');
    });
  }

  test('human output: notes on stderr, a percentile table on stdout', async () => {
    const r = await runCli(['demo', '--packets', '500']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /xdp → user/);
    assert.match(r.stdout, /received 500/);
    assert.match(r.stderr, /^afxdp: lab [a-z0-9]{6}: afxdp-[a-z0-9]{6}t → afxdp-[a-z0-9]{6}r/m);
  });

  test('runs under Node 24 LTS with the same addon build', { skip: !existsSync(NODE24) && 'tools/node24 not installed (run scripts/setup)' }, async () => {
    const doc = parseReport(await runCli(['demo', '--packets', '1000', '--json'], { node: NODE24 }));
    assertHealthyRun(doc, 1000);
  });
});

describe('afxdp latency', () => {
  afterEach(assertNoLeftovers);

  test('measures traffic from another sender on an interface it did not create', async () => {
    await withLab(async (lab) => {
      const packets = 2000;
      let gen: TrafficGenerator | undefined;
      let sending: Promise<number> | undefined;
      const r = await runCli(['latency', '--iface', lab.rx.ifname, '--packets', String(packets), '--json'], {
        wrap: inside(lab),
        onStderr: (chunk) => {
          // start sending only once the probe says it is attached
          if (!sending && /measuring on/.test(chunk)) {
            gen = openGenerator(lab);
            sending = gen.send({ count: packets, rate: 20000 });
          }
        },
      });
      assert.ok(sending, `the probe never said it was ready: ${r.stderr}`);
      assert.equal(await sending, packets);
      gen!.close();
      const doc = parseReport(r);
      assert.equal(doc.iface, lab.rx.ifname);
      assert.deepEqual(doc.queues, [0]);
      assert.equal(doc.packets.sent, null, 'latency did not send');
      assert.equal(doc.packets.received, packets);
      assert.equal(doc.packets.meta_valid, packets);
      assert.equal(doc.latency_ns.xdp_to_user.count, packets);
      assert.ok(doc.latency_ns.xdp_to_user.p50 > 0 && doc.latency_ns.xdp_to_user.p50 < 1e9);
    });
  });

  test('--duration ends a run without traffic: zero packets, zero samples', async () => {
    await withLab(async (lab) => {
      const doc = parseReport(await runCli(['latency', '--iface', lab.rx.ifname, '--duration', '0.3', '--json'], { wrap: inside(lab) }));
      assert.equal(doc.packets.received, 0);
      assert.equal(doc.latency_ns.xdp_to_user.count, 0);
      assert.ok(doc.duration_s >= 0.3);
    });
  });

  test('unknown interface: exit 1, one line', async () => {
    assertOneLineError(await runCli(['latency', '--iface', 'afxdp-nope0', '--packets', '1']), 1, /interface afxdp-nope0 not found/);
  });

  test('queue beyond the device: exit 1, names the queues it has', async () => {
    await withLab(async (lab) => {
      const r = await runCli(['latency', '--iface', lab.rx.ifname, '--queue', '5', '--packets', '1'], { wrap: inside(lab) });
      assertOneLineError(r, 1, /has 1 RX queue; queue 5 does not exist \(use --queue 0\)/);
    });
  });
});

describe('afxdp check', () => {
  const fixtures = path.join(ROOT, 'build', 'test-bpf');

  test("the seed question's program is rejected with the verifier's message, explained", async () => {
    const r = await runCli(['check', path.join(fixtures, 'seed.bpf.o')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /FAIL\s+xdp_sock_prog .*invalid bpf_context access off=8 size=4/);
    assert.match(r.stdout, /unknown section name: checked as XDP/);
    assert.match(r.stdout, /class: ctx-write/);
    assert.match(r.stdout, /ctx->data_meta \(offset 8 of struct xdp_md\)/);
    assert.match(r.stdout, /bpf_xdp_adjust_meta/);
  });

  test('--verbose adds the raw verifier log with the failing store', async () => {
    const r = await runCli(['check', '--verbose', path.join(fixtures, 'seed.bpf.o')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /8: \(63\) \*\(u32 \*\)\(r6 \+8\) = r0/, 'the failing store is in the log');
    assert.match(r.stdout, /processed \d+ insns/);
  });

  test('the corrected program loads', async () => {
    const r = await runCli(['check', path.join(fixtures, 'seed_fixed.bpf.o')]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /ok\s+xdp_sock_prog .*accepted by the verifier/);
  });

  test('--verbose shows the verifier log of an accepted program too', async () => {
    const r = await runCli(['check', '--verbose', path.join(fixtures, 'seed_fixed.bpf.o')]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /call bpf_xdp_adjust_meta#54/);
    assert.match(r.stdout, /processed \d+ insns/);
  });

  test('--json gives the verdicts and the log', async () => {
    const r = await runCli(['check', '--json', path.join(fixtures, 'seed.bpf.o')]);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as { programs: Array<{ program: string; ok: boolean; message: string; log: string }> };
    assert.equal(doc.programs.length, 1);
    assert.equal(doc.programs[0]!.ok, false);
    assert.equal(doc.programs[0]!.message, 'invalid bpf_context access off=8 size=4');
  });

  test('our own stamping program loads', async () => {
    const r = await runCli(['check', path.join(ROOT, 'build', 'bpf', 'stamp.bpf.o')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test('a file that is not ELF: exit 1, one line', async () => {
    assertOneLineError(await runCli(['check', '/etc/hostname']), 1, /is not a BPF object: not an ELF file/);
  });

  test('an ELF file for another machine: exit 1, one line', async () => {
    assertOneLineError(await runCli(['check', process.execPath]), 1, /not a BPF object: an ELF file .*not EM_BPF/);
  });

  test('a missing file: exit 2, one line', async () => {
    assertOneLineError(await runCli(['check', '/nonexistent/prog.o']), 2, /no such file/);
  });
});

describe('usage errors: exit 2, one line naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['demo', '--packets', 'abc'], /--packets must be a whole number/],
    [['demo', '--packets', '0'], /--packets must be a whole number from 1/],
    [['demo', '--packets', '-5'], /--packets/],
    [['demo', '--rate', '1.5'], /--rate must be a whole number/],
    [['demo', '--mode', 'turbo'], /--mode must be one of auto, native, generic/],
    [['demo', '--bogus'], /unknown option '--bogus'/],
    [['latency'], /required option '--iface <name>' not specified/],
    [['latency', '--iface', 'x', '--queue', '-1'], /--queue/],
    [['latency', '--iface', 'x', '--duration', 'soon'], /--duration must be a number/],
    [['latency', '--iface', 'this-name-is-too-long'], /interface name has 1 to 15 characters/],
    [['check'], /missing required argument/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    test(args.join(' ') || '(none)', async () => {
      assertOneLineError(await runCli(args), 2, re);
    });
  }
});

describe('help and version', () => {
  for (const args of [['--help'], ['demo', '--help'], ['latency', '--help'], ['check', '--help'], ['report', '--help']]) {
    test(args.join(' '), async () => {
      const r = await runCli(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Usage: afxdp/);
      assert.equal(r.stderr, '');
    });
  }
  test('--version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
