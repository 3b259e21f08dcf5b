/**
 * `afxdp demo --ping` against the real kernel: requests leave the tx namespace through an AF_XDP
 * TX ring with TX metadata (completion timestamps), bpf/reflect.bpf.c sends them back with
 * XDP_TX, and the same AF_XDP socket receives the replies. Exact accounting at a modest rate:
 * every request gets a reply and a completion timestamp. No timing assertions beyond sanity.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli, assertNoLeftovers, assertOneLineError, trackLab, ROOT } from './lib/cli.js';
import { runDemo } from '../src/run/demo.js';
import { XskSocket } from '../src/xsk/socket.js';
import { AfxdpError } from '../src/errors.js';
import type { Report } from '../src/report/report.js';

function assertExactPing(r: Report, sent: number): void {
  assert.equal(r.packets.sent, sent);
  assert.ok(r.ping, 'the report has the ping counts');
  assert.equal(r.ping.sent, sent);
  assert.equal(r.ping.replies, sent, 'every request got its reply');
  assert.equal(r.ping.completions, sent, 'every request completed');
  assert.equal(r.ping.completions_with_timestamp, sent, 'every completion carried a kernel TX timestamp');
  assert.match(r.ping.tx_timestamp_source, /^software \(copy mode\)/);
  const rtt = r.latency_ns.rtt;
  const txc = r.latency_ns.tx_completion;
  assert.ok(rtt && txc, 'rtt and tx_completion are measured');
  assert.equal(rtt.count, sent);
  assert.equal(txc.count, sent);
  assert.ok(rtt.p50 > 0 && rtt.p50 < 1e9, `rtt p50 ${rtt.p50} ns is in (0, 1 s)`);
  assert.ok(txc.min > 0, `tx_completion min ${txc.min} ns > 0`);
  // the reply is stamped in XDP after the request left, and read in user space after that
  assert.equal(r.latency_ns.xdp_to_user.count, sent);
  assert.ok(rtt.min >= r.latency_ns.xdp_to_user.min, 'a round trip is never shorter than its own xdp → user part');
}

describe('afxdp demo --ping', () => {
  after(async () => {
    await assertNoLeftovers();
  });

  test('native mode, CLI --json: every request is reflected, completed and stamped', async () => {
    const r = await runCli(['demo', '--ping', '--json', '--mode', 'native', '--packets', '2000', '--rate', '2000']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.mode, 'native');
    assert.match(rep.iface, /^afxdp-[a-z0-9]{6}t$/, 'replies are received on the tx side');
    assertExactPing(rep, 2000);
    // fields are only added: the one-way segments keep their place
    assert.deepEqual(Object.keys(rep.latency_ns), ['xdp_to_user', 'sender_to_xdp', 'hw_to_xdp', 'rtt', 'tx_completion']);
    await assertNoLeftovers();
  });

  test('human table has both round-trip rows and says where the TX stamps come from', async () => {
    const r = await runCli(['demo', '--ping', '--packets', '300', '--rate', '2000']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^round trip +300 /m);
    assert.match(r.stdout, /^tx complete +300 /m);
    assert.match(r.stdout, /ping: requests 300, replies 300, completions 300 \(300 stamped\)/);
    assert.match(r.stdout, /tx stamps: software \(copy mode\)/);
    for (const l of r.stdout.split('\n')) assert.ok(l.length <= 80, `line fits 80 columns: ${l}`);
    await assertNoLeftovers();
  });

  test('library, generic mode: runDemo({ ping }) gives the same exact accounting', async () => {
    const rep = await runDemo({ ping: true, mode: 'generic', packets: 500, rate: 2000 });
    trackLab(/^afxdp-([a-z0-9]{6})t$/.exec(rep.iface)![1]!);
    assert.equal(rep.mode, 'generic');
    assertExactPing(rep, 500);
    await assertNoLeftovers();
  });

  test('--ping with what it cannot do: one line, exit 2, nothing built', async () => {
    const prog = path.join(ROOT, 'build', 'examples', 'xdp-filter.bpf.o');
    assertOneLineError(await runCli(['demo', '--ping', '--program', prog]), 2, /--ping cannot use --program/);
    assertOneLineError(await runCli(['demo', '--ping', '--clock', 'tai']), 2, /--ping measures the round trip in CLOCK_MONOTONIC/);
    await assertNoLeftovers();
  });

  test('a TX metadata length the kernel would refuse is refused up front', () => {
    for (const len of [12, 256, -8]) {
      assert.throws(
        () => XskSocket.create({ ifindex: 1, queue: 0, rxRingSize: 0, txRingSize: 64, txMetadataLen: len }),
        (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /TX metadata length/.test(e.message),
      );
    }
  });
});
