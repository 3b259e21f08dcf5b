/**
 * Device-bound hardware hints (RX hash, VLAN tag, RX timestamp via the XDP metadata kfuncs)
 * against the real kernel: veth has an RX hash, reports the VLAN tag the sender's stack put out
 * of band, and has no HW timestamp. Generic mode and drivers that refuse the kfuncs fall back to
 * the program without them, or fail in one clear line when hints were required.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, assertNoLeftovers, assertOneLineError } from './lib/cli.js';
import { Lab } from '../src/lab/lab.js';
import { withLab } from './lib/lab.js';
import { LatencyProbe } from '../src/rx/probe.js';
import { waitForEnd } from '../src/run/session.js';
import { F_VLAN, F_RX_HASH, F_HW_TS } from '../src/xdp/meta.js';
import type { Report } from '../src/report/report.js';

async function demoJson(args: string[]): Promise<Report> {
  const r = await runCli(['demo', '--json', ...args]);
  assert.equal(r.code, 0, `afxdp demo ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

test('native veth: every packet carries an RX hash, none a HW timestamp (hw_to_xdp null), on every strategy', async () => {
  try {
    const runs = [[], ['--hints', '--strategy', 'map'], ['--strategy', 'auto', '--simulate-no-meta', '--clock', 'tai']];
    const rs = await Promise.all(runs.map((args) => demoJson(['--packets', '1000', '--rate', '0', '--mode', 'native', ...args])));
    rs.forEach((r, i) => {
      const args = runs[i]!.join(' ');
      assert.equal(r.packets.meta_valid, 1000, args);
      assert.deepEqual(r.hints, { rx_timestamp: 0, rx_hash: 1000, vlan: 0 }, args);
      assert.equal(r.hints_off, null);
      assert.equal(r.latency_ns.hw_to_xdp, null);
    });
  } finally {
    await assertNoLeftovers();
  }
});

test("VLAN hint: the tag the sender's stack put out of band arrives with every packet", async () => {
  await withLab(async (lab) => {
    let probe: LatencyProbe | undefined;
    try {
      probe = LatencyProbe.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, hints: true });
      assert.equal(probe.hints, true);
      probe.start();
      const sent = await lab.sendUdpViaStack(200);
      await waitForEnd(probe, { expected: () => sent, idleMs: 1000 });
      probe.drain();
      const s = probe.stats();
      assert.equal(s.received, 200);
      assert.equal(s.metaValid, 200);
      assert.deepEqual(s.hints, { rx_timestamp: 0, rx_hash: 200, vlan: 200 });
      const m = probe.lastStamp;
      assert.equal(m.flags & (F_VLAN | F_RX_HASH | F_HW_TS), F_VLAN | F_RX_HASH);
      assert.equal(m.vlanTci & 0xfff, 42);
      assert.equal(m.vlanProto, 0x0081, 'ETH_P_8021Q in network byte order, as the kfunc returns it');
    } finally {
      probe?.close();
    }
  }, { vlan: 42 });
});

test('generic mode: hints are off and the report says why; --hints there is one usage line', async () => {
  try {
    const [r, bad, off] = await Promise.all([
      demoJson(['--packets', '500', '--rate', '0', '--mode', 'generic']),
      runCli(['demo', '--packets', '10', '--mode', 'generic', '--hints']),
      demoJson(['--packets', '500', '--rate', '0', '--no-hints']),
    ]);
    assert.equal(r.packets.meta_valid, 500);
    assert.equal(r.hints, null);
    assert.match(r.hints_off!, /generic XDP mode: hints are read by device-bound kfuncs, which the kernel attaches in native mode only/);
    assertOneLineError(bad, 2, /--hints needs native XDP mode/);
    assert.doesNotMatch(bad.stderr, /processed \d+ insns|R\d+/, 'not a verifier dump');
    assert.equal(off.hints, null);
    assert.equal(off.hints_off, 'turned off (--no-hints)');
    assert.equal(off.packets.meta_valid, 500);
  } finally {
    await assertNoLeftovers();
  }
});

test('an interface that refuses the hint kfuncs: auto falls back to the program without them; --hints fails in one line', async () => {
  // lo in a private namespace has no native XDP: the device-bound program cannot load for it
  const wrap = ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];
  const [r, bad] = await Promise.all([
    runCli(['latency', '--iface', 'lo', '--duration', '0.2', '--json'], { wrap }),
    runCli(['latency', '--iface', 'lo', '--duration', '0.2', '--hints'], { wrap }),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(rep.mode, 'generic');
  assert.equal(rep.hints, null);
  assert.match(rep.hints_off!, /^the kernel or driver refused them: cannot load stamp_hints\.bpf\.o: program afxdp_stamp_prog: Operation not supported/);
  assertOneLineError(bad, 1, /hardware hints are not available on lo/);
});

test('the lab refuses a VLAN id outside 1..4094 before building anything', async () => {
  for (const vlan of [0, 4095, 1.5]) {
    await assert.rejects(Lab.create({ vlan }), (e: unknown) => (e as { code?: string }).code === 'EUSAGE' && /invalid VLAN id/.test((e as Error).message));
  }
});
