/**
 * Jumbo frames end to end on a lab with MTU 9000: XDP multi-buffer (afxdp's xdp.frags program)
 * and AF_XDP scatter-gather (XDP_USE_SG). Every packet larger than a UMEM frame arrives as a chain
 * of frames and is received, stamped and measured as one packet; the frames of every chain go
 * back to the kernel (--debug-frames checks it at every batch); tshark reads the whole frames
 * from the pcapng; the public API receives and sends a 9000-byte packet; doctor says the veth
 * takes multi-buffer packets; the error paths are one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { open, AfxdpError, type Report } from '../src/index.js';
import { runDemo } from '../src/entry/lab.js';
import { LatencyReceiver, type PacketBatch } from '../src/entry/receiver.js';
import { runCli, assertOneLineError, assertNoLeftovers, ROOT } from './lib/cli.js';
import { withLab, openGenerator, inside } from './lib/lab.js';
import { waitFor } from './lib/wait.js';

const N = 300;

/** Every packet sent arrived with a valid stamp, as multi-buffer packets where they were larger than a frame. */
function checkJumbo(r: Report, strategy: string, sizes: 'jumbo' | 'mixed'): void {
  const p = r.packets;
  assert.equal(p.sent, N);
  assert.equal(p.received, N, `received (kernel ${JSON.stringify(p.kernel)})`);
  assert.equal(p.meta_valid, N);
  assert.equal(p.kernel.rx_dropped, 0);
  assert.equal(p.by_strategy[strategy as 'meta' | 'prepend' | 'map'], N, JSON.stringify(p.by_strategy));
  assert.equal(r.latency_ns.xdp_to_user.count, N);
  assert.equal(r.latency_ns.sender_to_xdp?.count, N, 'the payload is read from the first buffer of each chain');
  const mb = r.multi_buffer!;
  assert.equal(mb.sg, true);
  assert.equal(mb.mtu, 9000);
  assert.equal(mb.program_frags, true);
  assert.equal(mb.chains_dropped, 0);
  const classes = Object.values(p.by_size!).reduce((a, b) => a + b, 0);
  assert.equal(classes, N, 'every packet in one size class');
  if (sizes === 'jumbo') {
    assert.equal(p.by_size!['4097-9018'], N);
    assert.equal(mb.packets, N, 'every 9000-byte packet arrived in several buffers');
  } else {
    // 64..9000 in 16 steps (64, 660, 1256, …): some in one frame, some in several
    for (const c of ['0-128', '513-1518', '1519-4096', '4097-9018']) assert.ok(p.by_size![c]! > 0, `class ${c}: ${JSON.stringify(p.by_size)}`);
    assert.ok(mb.packets > 0 && mb.packets < N, `multi-buffer packets ${mb.packets}`);
  }
  if (strategy === 'map') assert.equal(p.map?.packets_without_stamp, 0, 'the map key covers the whole length');
}

for (const mode of ['native', 'generic'] as const) {
  for (const strategy of ['meta', 'prepend', 'map'] as const) {
    test(`mixed sizes 64…9000, ${mode} mode, --strategy ${strategy}: every packet whole, stamped, frames accounted`, async () => {
      const r = await runDemo({ packets: N, rate: 20_000, size: { min: 64, max: 9000 }, mode, strategy, trackFrames: true, frameSize: strategy === 'map' ? 2048 : undefined });
      assert.equal(r.mode, mode);
      checkJumbo(r, strategy, 'mixed');
      if (strategy === 'map') assert.equal(r.multi_buffer!.frame_size, 2048);
    });
  }
}

test('afxdp demo --size 9000 --poll worker --debug-frames --pcap: tshark reads whole 9000-byte frames (through the worker channel); --snaplen cuts them; the table says multi-buffer', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-jumbo-'));
  const f = (n: string): string => path.join(dir, n);
  try {
    // worker mode: the chains are copied whole into the channel's slots for the outputs
    const r = await runCli(['demo', '--size', '9000', '--packets', String(N), '--poll', 'worker', '--debug-frames', '--pcap', f('j.pcapng'), '--csv', f('j.csv'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    checkJumbo(rep, 'meta', 'jumbo');
    const ts = spawnSync('tshark', ['-r', f('j.pcapng'), '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'udp.length', '-e', 'ip.len'], { encoding: 'utf8', maxBuffer: 16 << 20 });
    assert.equal(ts.status, 0, ts.stderr);
    const rows = ts.stdout.trim().split('\n');
    assert.equal(rows.length, N);
    assert.ok(rows.every((l) => l === '9000\t9000\t8966\t8986'), `frames ${[...new Set(rows)].join(' | ')}`);
    // the payload as sent: the 20-byte afxdp header ('AFXG' …), then zeros to the end of the frame
    const data = spawnSync('tshark', ['-r', f('j.pcapng'), '-T', 'fields', '-e', 'data.data'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const payloads = data.stdout.trim().split('\n');
    assert.equal(payloads.length, N);
    assert.ok(payloads.every((h) => h.length === 8958 * 2 && h.startsWith('41465847') && /^0+$/.test(h.slice(40))), 'every payload whole and as sent');
    const csv = fs.readFileSync(f('j.csv'), 'utf8').trim().split('\n').slice(1);
    assert.ok(csv.length === N && csv.every((l) => l.endsWith(',meta,9000')), csv[0]);
    const t = await runCli(['demo', '--size', '9000', '--packets', '50', '--frame-size', '2048', '--pcap', f('s.pcapng'), '--snaplen', '128', '--no-live']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /multi-buffer \(MTU 9000, 2048-byte frames\): 50 packets in several buffers/);
    assert.match(t.stdout, /by size 4097-9018 50/);
    const cut = spawnSync('tshark', ['-r', f('s.pcapng'), '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len'], { encoding: 'utf8' });
    assert.deepEqual([...new Set(cut.stdout.trim().split('\n'))], ['9000\t128']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await assertNoLeftovers();
  }
});

test('API: receives a 9000-byte packet in segments (views and copyTo agree) and sends one that arrives whole', async () => {
  await withLab(
    async (lab) => {
      const rx = open({ iface: lab.rx.ifname, netns: `/proc/${lab.rx.netns.pid}/ns/net`, tx: true });
      let back: ReturnType<typeof open> | null = null;
      try {
        const gen = openGenerator(lab, { size: 9000 });
        const sending = gen.send({ count: 20, rate: 5000 });
        const whole = new Uint8Array(9000);
        let n = 0;
        for await (const batch of rx) {
          for (let i = 0; i < batch.length; i++) {
            const p = batch.packet(i);
            assert.equal(p.length, 9000);
            assert.equal(batch.lengthOf(i), 9000);
            assert.equal(p.segmentCount, 3, '9000 bytes in 4096-byte frames (3840 bytes of room each)');
            assert.ok(p.hasMeta && p.latencyNs > 0);
            assert.equal(p.copyTo(whole), 9000);
            let at = 0;
            for (let k = 0; k < p.segmentCount; k++) {
              const s = p.segment(k);
              assert.deepEqual(s, whole.subarray(at, at + s.length), `segment ${k}`);
              at += s.length;
            }
            assert.equal(at, 9000);
            // IPv4 total length and the payload magic 'AFXG' in the first segment
            assert.equal((whole[16]! << 8) | whole[17]!, 8986);
            assert.equal(String.fromCharCode(...whole.subarray(42, 46)), 'AFXG');
            assert.throws(() => p.bytes(), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /3 buffers/.test(e.message));
            assert.equal(p.copyTo(new Uint8Array(100)), 100, 'a short buffer cuts the packet');
          }
          n += batch.length;
          if (n >= 20) break;
        }
        await sending;
        gen.close();
        assert.equal(n, 20);
        // a second socket on the other end (the generator's queue is free now) receives what the first sends
        back = open({ iface: lab.tx.ifname, netns: `/proc/${lab.tx.netns.pid}/ns/net`, match: 'all', mode: 'native' });
        const other = back;
        // send 9000 bytes from the rx end to the tx end: one chain out, one packet in
        const frame = Uint8Array.from(whole);
        frame.set(lab.tx.macBytes, 0);
        frame.set(lab.rx.macBytes, 6);
        frame[9000 - 1] = 0xab;
        assert.equal(rx.send(frame), true);
        let got: Uint8Array | null = null;
        const seen = new Uint8Array(9000);
        await waitFor(
          () => {
            const b = other.receive();
            if (b === null) return false;
            for (let i = 0; i < b.length && got === null; i++) {
              const p = b.packet(i);
              if (p.length === 9000 && p.copyTo(seen) === 9000) got = seen;
            }
            b.release();
            return got !== null;
          },
          { what: 'the 9000-byte packet sent through the API at the other end', timeoutMs: 5_000 },
        );
        assert.deepEqual(got, frame);
        assert.throws(() => rx.send(new Uint8Array(17 * 4096)), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /at most 16/.test(e.message));
      } finally {
        rx.close();
        back?.close();
      }
    },
    { mtu: 9000 },
  );
});

test('LatencyReceiver with 2048-byte frames: the chain columns list each 9000-byte packet as 6 buffers that add up to it', async () => {
  await withLab(
    async (lab) => {
      const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, frameSize: 2048, trackFrames: true });
      try {
        assert.deepEqual([rx.mtu, rx.frameSize, rx.sg, rx.programFrags, rx.fragsNote], [9000, 2048, true, true, null]);
        const chains: string[] = [];
        rx.addSink({
          onBatch: (b: PacketBatch) => {
            for (let i = 0; i < b.n; i++) {
              const s0 = b.seg0![i]!;
              let sum = 0;
              for (let k = 0; k < b.segs![i]!; k++) sum += b.segLen![s0 + k]!;
              // the first buffer is where the packet starts; every buffer in its own frame
              const frames = new Set(Array.from({ length: b.segs![i]! }, (_, k) => b.segAddr![s0 + k]! >>> 11));
              chains.push(`${b.len[i]} ${b.segs![i]} ${sum} ${b.segAddr![s0] === b.addr[i]} ${frames.size}`);
            }
          },
        });
        rx.start();
        const gen = openGenerator(lab, { size: 9000 });
        await gen.send({ count: 30, rate: 5000 });
        gen.close();
        await waitFor(() => (rx.drain(), rx.received === 30), { what: '30 packets' });
        assert.deepEqual([...new Set(chains)], ['9000 6 9000 true 6'], '1792 bytes of room per 2048-byte frame');
        assert.equal(chains.length, 30);
        assert.equal(rx.stats().multiBuffer, 30);
      } finally {
        rx.close();
      }
    },
    { mtu: 9000 },
  );
});

test('doctor --iface on a 9000-MTU veth shows XDP multi-buffer support; a socket without sg and a too-large frame are explained in one line', async () => {
  await withLab(
    async (lab) => {
      const j = await runCli(['doctor', '--iface', lab.rx.ifname, '--json'], { wrap: inside(lab) });
      assert.equal(j.code, 0, j.stderr);
      const doc = JSON.parse(j.stdout) as { findings: Array<{ id: string; status: string; value: { rx_sg: boolean; mtu: number; sg_needed: boolean } }> };
      const mb = doc.findings.find((x) => x.id === `iface.${lab.rx.ifname}.multi_buffer`);
      assert.ok(mb, 'a multi_buffer finding');
      assert.equal(mb.status, 'ok');
      assert.equal(mb.value.rx_sg, true);
      assert.equal(mb.value.mtu, 9000);
      assert.equal(mb.value.sg_needed, true);
      const t = await runCli(['doctor', '--iface', lab.rx.ifname], { wrap: inside(lab) });
      assert.match(t.stdout, /XDP multi-buffer.*supported \(rx-sg.*receives it as a chain/);

      // sg off on a jumbo interface: the kernel drops what does not fit a frame, the report says why
      const sock = open({ iface: lab.rx.ifname, netns: `/proc/${lab.rx.netns.pid}/ns/net`, sg: false });
      try {
        const gen = openGenerator(lab, { size: 9000 });
        await gen.send({ count: 10, rate: 5000 });
        gen.close();
        await waitFor(() => sock.stats().kernel.rx_dropped === 10, { what: '10 drops counted by the kernel', timeoutMs: 5_000 });
        const rep = sock.report({ sent: 10 });
        assert.equal(rep.multi_buffer?.sg, false);
        assert.equal(rep.packets.received, 0);
      } finally {
        sock.close();
      }
      // afxdp latency on the jumbo interface, fed by afxdp gen --size 9000, both with 2048-byte frames
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-jumbo-'));
      try {
        let measuring = false;
        const pcap = path.join(dir, 'l.pcapng');
        const run = runCli(['latency', '--iface', lab.rx.ifname, '--frame-size', '2048', '--packets', '40', '--pcap', pcap, '--snaplen', '200', '--json'], {
          wrap: inside(lab),
          onStderr: (chunk) => (measuring ||= /measuring on/.test(chunk)),
        });
        await waitFor(() => measuring, { what: 'afxdp latency to attach' });
        const gen = await runCli(['gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--count', '40', '--rate', '2000', '--size', '9000', '--frame-size', '2048', '--json'], { wrap: inside(lab, 'tx') });
        assert.equal(gen.code, 0, gen.stderr);
        const g = JSON.parse(gen.stdout) as { sent: number; sg: boolean; tx_invalid_descs: number };
        assert.deepEqual([g.sent, g.sg, g.tx_invalid_descs], [40, true, 0], 'one chain of 5 frames per packet, none refused');
        const r = await run;
        assert.equal(r.code, 0, r.stderr);
        const l = JSON.parse(r.stdout) as Report;
        assert.equal(l.packets.meta_valid, 40);
        assert.deepEqual([l.multi_buffer?.sg, l.multi_buffer?.frame_size, l.multi_buffer?.packets], [true, 2048, 40]);
        const cut = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len'], { encoding: 'utf8' });
        assert.deepEqual([...new Set(cut.stdout.trim().split('\n'))], ['9000\t200']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      // a frame the sending interface's MTU cannot carry: refused before anything is sent
      await lab.tx.netns.exec('ip', ['link', 'set', 'dev', lab.tx.ifname, 'mtu', '1500']);
      assertOneLineError(await runCli(['gen', '--iface', lab.tx.ifname, '--dst-mac', lab.rx.mac, '--count', '1', '--size', '9000'], { wrap: inside(lab, 'tx') }), 2, /frame size 9000 exceeds what the MTU 1500 of .* carries/);
    },
    { mtu: 9000 },
  );
  // a user program without xdp.frags cannot go native on a jumbo veth: one line that names the fix
  const filter = path.join(ROOT, 'build', 'examples', 'xdp-filter.bpf.o');
  assertOneLineError(await runCli(['demo', '--size', '9000', '--mode', 'native', '--program', filter, '--packets', '10']), 1, /MTU .* too large for native XDP .*SEC\("xdp\.frags"\)/);
  // in auto mode it runs in generic mode instead (the kernel linearizes the packet for it), and says why
  const half = await runCli(['demo', '--size', '9000', '--program', path.join(ROOT, 'build', 'test-bpf', 'half_stamp.bpf.o'), '--packets', '30', '--no-live']);
  assert.equal(half.code, 0, half.stderr);
  assert.match(half.stderr, /the program is not SEC\("xdp\.frags"\): at MTU 9000 native XDP refuses it, so it runs in generic mode/);
  assert.match(half.stdout, /mode generic/);
  assert.match(half.stdout, /received 30 +meta valid 10 \/ invalid 20/);
  assert.match(half.stdout, /multi-buffer \(MTU 9000, 4096-byte frames\): 30 packets in several buffers/);
  assertOneLineError(await runCli(['demo', '--size', '9001']), 2, /--size must be a frame size from 62 to 9000/);
  assertOneLineError(await runCli(['demo', '--frame-size', '3000']), 2, /--frame-size must be 2048 or 4096/);
  assertOneLineError(await runCli(['demo', '--size', '9000-64']), 2, /--size must be/);
});
