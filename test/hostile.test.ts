/**
 * Hostile frames on an interface afxdp did not create, from a sender it does not control
 * (python3 AF_PACKET on a veth pair the test builds itself): every frame counted, exactly; no
 * crash; no garbage turned into a latency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './lib/cli.js';
import { writeUdpFrame } from '../src/wire/frame.js';
import { ForeignPair, macBytes, leakedBy, xdp } from './lib/foreign.js';
import { hostileFrames, udpMatch } from './lib/hostile.js';
import type { Report } from '../src/report/report.js';

const RANDOM_FRAMES = 1000;

/** Starts `afxdp latency` in the pair's rx namespace, sends once it is measuring, returns the result. */
async function measure(pair: ForeignPair, args: string[], frames: Uint8Array[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  let sending: Promise<number> | undefined;
  const r = await runCli(['latency', '--iface', pair.rxIf, '--json', ...args], {
    wrap: pair.wrap('rx'),
    timeoutMs: 60_000,
    onStderr: (chunk) => {
      if (!sending && /measuring on/.test(chunk)) sending = pair.send(frames);
    },
  });
  assert.ok(sending, `afxdp latency never started measuring: ${r.stderr}`);
  assert.equal(await sending, frames.length, 'the sender sent every frame');
  assert.equal(r.code, 0, `exit status (stderr: ${r.stderr})`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

function assertSaneLatency(rep: Report, count: number): void {
  const l = rep.latency_ns.xdp_to_user;
  assert.equal(l.count, count, 'one latency per stamped frame, none from garbage');
  // percentiles are HdrHistogram bucket values (3 significant digits): they may exceed max by < 1 %
  assert.ok(l.min <= l.p50 && l.p50 <= l.p99 && l.p99 <= l.max * 1.01, `ordered percentiles: ${JSON.stringify(l)}`);
  // a stamp read from packet bytes would be anything up to 2^64 ns; real ones are within the run
  assert.ok(l.max <= (rep.duration_s + 1) * 1e9, `max latency ${l.max} ns within the run of ${rep.duration_s} s`);
}

test(`hostile frames, --all: every one of ${RANDOM_FRAMES}+ crafted and random frames is received, stamped and counted once`, async () => {
  const pair = await ForeignPair.create();
  try {
    const frames = hostileFrames(macBytes(pair.rxMac), macBytes(pair.txMac), { random: RANDOM_FRAMES, seed: 0xafd8 }).map((f) => f.bytes);
    const n = frames.length;
    // --duration is only a safety net: --packets ends the run when every frame has arrived
    const { report: rep } = await measure(pair, ['--all', '--debug-frames', '--packets', String(n), '--duration', '30'], frames);
    const p = rep.packets;
    assert.equal(p.received, n, 'received');
    assert.equal(p.meta_valid, n, 'every frame carries valid metadata');
    assert.equal(p.meta_invalid, 0);
    assert.deepEqual(xdp(rep), { seen: n, matched: n, redirected: n }, 'program counters');
    assert.equal(p.received + p.kernel.rx_dropped + p.kernel.rx_ring_full + p.kernel.rx_invalid_descs, n, 'exact accounting');
    assertSaneLatency(rep, n);
    assert.equal((await pair.link('rx'))?.xdp, undefined, 'no XDP program left on the interface');
  } finally {
    await pair.destroy();
  }
  assert.ok(pair.gone());
  assert.deepEqual(await leakedBy([]), []);
});

test('hostile frames, --match udp: exactly the frames the filter matches are measured, the rest reach the stack', async () => {
  const pair = await ForeignPair.create();
  try {
    const all = hostileFrames(macBytes(pair.rxMac), macBytes(pair.txMac), { random: 300, seed: 0x1dea });
    const frames = all.map((f) => f.bytes);
    // a trailing matching frame marks the end: --packets stops after it, when all were seen
    frames.push(all.find((f) => f.name === 'IPv4 UDP, good')!.bytes);
    const want = frames.filter((f) => udpMatch(f)).length;
    assert.ok(want > 5 && want < frames.length, `a mix of matching (${want}) and other frames`);
    const { report: rep } = await measure(pair, ['--match', 'udp', '--packets', String(want), '--duration', '30'], frames);
    const p = rep.packets;
    assert.equal(xdp(rep).seen, frames.length, 'the program saw every frame');
    assert.equal(xdp(rep).matched, want, 'matched exactly the UDP frames');
    assert.equal(xdp(rep).redirected, want);
    assert.equal(p.received, want);
    assert.equal(p.meta_valid, want);
    assertSaneLatency(rep, want);
  } finally {
    await pair.destroy();
  }
  assert.deepEqual(await leakedBy([]), []);
});

test('jumbo frames (MTU 9000) from a foreign sender: native XDP (xdp.frags), frames larger than a UMEM frame arrive whole as multi-buffer packets, exact accounting', async () => {
  const pair = await ForeignPair.create({ mtu: 9000 });
  try {
    const dst = macBytes(pair.rxMac);
    const src = macBytes(pair.txMac);
    const sizes = [100, 1514, 3000, 3800, 4096, 8000, 9014];
    const frames = sizes.map((n) => {
      const f = new Uint8Array(n);
      writeUdpFrame(f, 0, Math.min(n, 9000), { srcMac: src, dstMac: dst, srcIp: Uint8Array.of(198, 18, 9, 1), dstIp: Uint8Array.of(198, 18, 9, 2), srcPort: 40000, dstPort: 9 });
      return f;
    });
    // afxdp's program takes multi-buffer packets, so the veth accepts it in native mode at this MTU
    const { report: rep } = await measureUntilAccounted(pair, ['--all', '--mode', 'native', '--duration', '30'], [...frames, frames[0]!], sizes.length + 1);
    const p = rep.packets;
    assert.equal(rep.mode, 'native');
    assert.equal(xdp(rep).seen, sizes.length + 1);
    assert.equal(p.received, sizes.length + 1, `every frame received whole: ${JSON.stringify(p)}`);
    assert.equal(p.kernel.rx_dropped + p.kernel.rx_invalid_descs, 0);
    assert.equal(p.meta_valid, p.received);
    // 4096-byte frames hold 3840 bytes: 4096, 8000 and 9014 came in several buffers
    assert.deepEqual([rep.multi_buffer?.sg, rep.multi_buffer?.packets], [true, 3]);
    assert.deepEqual(p.by_size, { '0-128': 2, '129-512': 0, '513-1518': 1, '1519-4096': 3, '4097-9018': 2, '9019+': 0 });
    assertSaneLatency(rep, p.received);
  } finally {
    await pair.destroy();
  }
  assert.deepEqual(await leakedBy([]), []);
});

/** Like measure(), but stops on SIGINT once the program has counted `n` frames (some may be dropped, so --packets cannot be used). */
async function measureUntilAccounted(pair: ForeignPair, args: string[], frames: Uint8Array[], n: number): Promise<{ report: Report }> {
  let sending: Promise<number> | undefined;
  const r = await runCli(['latency', '--iface', pair.rxIf, '--json', ...args], {
    wrap: pair.wrap('rx'),
    timeoutMs: 60_000,
    onStderr: (chunk, child) => {
      if (!sending && /measuring on/.test(chunk)) {
        // stop once the program redirected all n: each is then in the ring (drained at the stop)
        // or counted as dropped by the kernel
        sending = pair.send(frames).then(async (k) => {
          await pair.waitForRedirected(n);
          child.kill('SIGINT');
          return k;
        });
      }
    },
  });
  assert.ok(sending, r.stderr);
  assert.equal(await sending, n);
  assert.equal(r.code, 0, r.stderr);
  return { report: JSON.parse(r.stdout) as Report };
}
