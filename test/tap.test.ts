/**
 * The tap lab against the real kernel: a tun/tap device in the lab's namespace, fed by afxdp's
 * generator writing frames to its fd, received through XDP (native on tap) and an AF_XDP socket.
 * Every frame is accounted for and carries metadata; tap has no RX-metadata kfuncs, so hints give
 * no hash. Nothing is left after destroy, SIGTERM or SIGKILL of the run holding the lab, and a
 * wrong driver name is one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, runLatency, AfxdpError } from '../src/index.js';
import { Lab, checkLabDriver, LAB_DRIVERS } from '../src/entry/lab.js';
import { runCli, assertOneLineError, trackLab } from './lib/cli.js';
import { withLab, openGenerator, labOfRun, waitForRunTraffic, assertLabGone } from './lib/lab.js';
import { waitFor } from './lib/wait.js';
import { runTool } from '../src/sys/exec.js';
import { openTap } from '../src/lab/tap.js';

const N = 1500;

test('tap lab: one namespace, the tap in it, the writer as its neighbour; gone after destroy', async () => {
  await withLab(
    async (lab) => {
      assert.equal(lab.driver, 'tap');
      assert.equal(lab.rx.ifname, `afxdp-${lab.id}r`);
      assert.equal(lab.tx.netns, lab.rx.netns, 'the writer sends from inside the rx namespace');
      const { stdout } = await lab.rx.netns.exec('ip', ['-d', '-j', 'link', 'show', 'dev', lab.rx.ifname]);
      const link = (JSON.parse(stdout) as Array<{ linkinfo?: { info_kind?: string; info_data?: { type?: string } } }>)[0]!;
      assert.equal(link.linkinfo?.info_kind, 'tun');
      assert.equal(link.linkinfo?.info_data?.type, 'tap');
      assert.deepEqual((await Lab.leftovers(lab.id)).taps, [lab.rx.ifname], 'a held tap is found by its fd');
      // the native tun call's failure is one line: here the name is held (by this lab)
      assert.throws(() => openTap(lab.rx.netns.fd, lab.rx.ifname, 1), (e: unknown) => e instanceof AfxdpError && e.code === 'ELAB' && e.errno === 16 && e.message === `cannot make the tap ${lab.rx.ifname}: the name is taken` && /already holds/.test(e.hint ?? ''));
      const neigh = await lab.rx.netns.exec('ip', ['-j', 'neigh', 'show', 'dev', lab.rx.ifname]);
      assert.deepEqual((JSON.parse(neigh.stdout) as Array<{ dst: string; lladdr: string }>).map((n) => [n.dst, n.lladdr]), [[lab.tx.ip, lab.tx.mac]]);
      // not in the root namespace, not even for a moment later
      assert.equal((await runTool('ip', ['-j', 'link', 'show'])).stdout.includes(lab.rx.ifname), false);
    },
    { driver: 'tap' },
  );
});

test(`tap lab: open() receives all ${N} frames written to the tap, each with metadata, in native XDP`, async () => {
  await withLab(
    async (lab) => {
      const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
      try {
        assert.equal(sock.mode, 'native', 'tap has native XDP');
        const gen = openGenerator(lab);
        const sending = gen.send({ count: N, rate: 20_000 });
        let n = 0;
        for await (const batch of sock) {
          for (let i = 0; i < batch.length; i++) {
            const p = batch.packet(i);
            assert.ok(p.hasMeta, `packet ${n + i} has metadata`);
            assert.deepEqual([...p.buffer.subarray(p.offset + 26, p.offset + 30)], [...lab.tx.ipBytes]);
          }
          n += batch.length;
          if (n >= N) break;
        }
        assert.equal(await sending, N);
        gen.close();
        const s = sock.stats();
        assert.equal(s.received, N);
        assert.equal(s.metaValid, N);
        assert.equal(s.program?.redirected, N);
        assert.deepEqual(s.byStrategy, { meta: N, prepend: 0, map: 0 }, 'tap keeps XDP metadata');
      } finally {
        await sock.close();
      }
    },
    { driver: 'tap' },
  );
});

test('tap lab, 2 queues: runLatency() receives every frame on the queue of the fd it was written to', async () => {
  await withLab(
    async (lab) => {
      const gens = [0, 1].map((queue) => openGenerator(lab, { queue }));
      try {
        const run = runLatency({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, queues: [0, 1], packets: 2 * N, hints: true });
        // the receiver attaches before it counts: send once its program is on the tap
        await waitFor(async () => (await lab.rx.netns.exec('ip', ['-j', 'link', 'show', 'dev', lab.rx.ifname])).stdout.includes('"xdp"'), { what: 'XDP on the tap', timeoutMs: 15_000 });
        await Promise.all(gens.map((g) => g.send({ count: N, rate: 20_000 })));
        const { report: r } = await run;
        assert.equal(r.packets.received, 2 * N);
        assert.equal(r.packets.meta_valid, 2 * N);
        assert.deepEqual(r.per_queue?.map((q) => q.received), [N, N]);
        assert.equal(r.strategy, 'meta');
        // hints on, and the tap offers no RX-metadata kfunc: no hash, no timestamp, no VLAN
        assert.deepEqual(r.hints, { rx_timestamp: 0, rx_hash: 0, vlan: 0 });
      } finally {
        for (const g of gens) g.close();
      }
    },
    { driver: 'tap', queues: 2 },
  );
});

test('a wrong driver is one line with the nearest name, before anything is built', async () => {
  assert.deepEqual(LAB_DRIVERS, ['veth', 'tap']);
  assert.equal(checkLabDriver(undefined), 'veth');
  assert.throws(() => checkLabDriver('tapp'), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && e.message === 'unknown lab driver "tapp" (did you mean "tap"?)' && e.hint === 'the drivers are veth, tap');
  await assert.rejects(Lab.create({ driver: 'vth' as never }), /unknown lab driver "vth" \(did you mean "veth"\?\)/);
  await assert.rejects(Lab.create({ driver: 'tap', vlan: 5 }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /needs the veth lab/.test(e.message));
  const rs = await Promise.all([runCli(['demo', '--driver', 'tapp']), runCli(['demo', '--driver', 'tap', '--ping']), runCli(['demo', '--driver', 'tap', '--size', '9000'])]);
  assertOneLineError(rs[0]!, 2, /unknown lab driver "tapp" \(did you mean "tap"\?\)/);
  assertOneLineError(rs[1]!, 2, /--ping needs the veth lab/);
  assertOneLineError(rs[2]!, 2, /--size 9000 needs the veth lab: a tap takes one frame per write/);
});

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`afxdp demo --driver tap: ${signal} while receiving leaves no tap, namespace or holder`, async () => {
    let lab: ReturnType<typeof labOfRun> = null;
    let nsInode: string | undefined;
    const r = await runCli(['demo', '--driver', 'tap', '--packets', '100000000', '--rate', '2000'], {
      timeoutMs: 60_000,
      onStderr: (chunk, child) => {
        if (lab !== null || !/sending \d+ packets/.test(chunk)) return;
        lab = labOfRun(child.pid!);
        if (lab === null) return;
        trackLab(lab.id);
        nsInode = fs.readlinkSync(`/proc/${lab.rxPid}/ns/net`);
        void waitForRunTraffic(child.pid!, 200).then(async () => {
          assert.deepEqual((await Lab.leftovers(lab!.id)).taps, [lab!.rxIf]);
          child.kill(signal);
        });
      },
    });
    assert.ok(lab !== null, `the run built a tap lab (stderr: ${r.stderr})`);
    if (signal === 'SIGKILL') assert.equal(r.signal, 'SIGKILL');
    const id = (lab as { id: string }).id;
    await assertLabGone(id);
    // the namespace itself is freed (the tap's fd kept it alive while open)
    const inode = nsInode!.replace(/^net:\[(\d+)\]$/, '$1');
    await waitFor(async () => !(await runTool('lsns', ['-t', 'net', '-n', '-o', 'NS'])).stdout.split('\n').some((l) => l.trim() === inode), { what: `namespace ${nsInode} to be freed`, timeoutMs: 30_000 });
  });
}
