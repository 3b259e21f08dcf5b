/**
 * The parts of the public API that test/api.test.ts does not reach, each shown by its effect on a
 * real lab: offBatch() stops the callback, resetLatency() starts a new interval, the metadata in
 * front of each packet (read again with MetaReader and the ABI constants), Packet's hints against
 * the flows that were sent, the TAI clock, a batch's receive time, a program's maps, checkProgram,
 * a syscall error's errno, and the receive engine's own faces (LatencyProbe, LatencyReceiver,
 * PacketBatch sinks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { open, loadProgram, checkProgram, AfxdpError, AfxdpSocket, Batch, Packet, XdpProgram, MetaReader, META_MAGIC, META_MAGIC_MASK, META_VERSION, META_SIZE, AFXDP_F_XDP_TS, AFXDP_F_CLOCK_TAI, AFXDP_F_HW_TS, AFXDP_F_RX_HASH, AFXDP_F_VLAN, AFXDP_F_QUEUE, AFXDP_F_VIA_PREPEND, AFXDP_F_VIA_MAP } from '../src/index.js';
import { LatencyProbe, LatencyReceiver, ReceiveQueue, receiverReport, waitForEnd } from '../src/entry/receiver.js';
import type { NetnsHolder } from '../src/entry/lab.js';
import { ROOT } from './lib/cli.js';
import { withLab, sendFrames, xdpOn } from './lib/lab.js';
import { waitFor } from './lib/wait.js';

const FILTER_OBJ = path.join(ROOT, 'build', 'examples', 'xdp-filter.bpf.o');
const SEED_OBJ = path.join(ROOT, 'build', 'test-bpf', 'seed.bpf.o');
/** XDP_RSS_L4 of enum xdp_rss_hash_type (include/net/xdp.h): the hash covers the L4 ports */
const XDP_RSS_L4 = 1 << 3;

/** Receives until `n` packets went through `each` (called per packet, batch still live). */
async function take(sock: AfxdpSocket, n: number, each: (p: Packet, b: Batch, i: number) => void = () => {}): Promise<void> {
  let got = 0;
  await waitFor(() => {
    const b = sock.receive();
    if (b !== null) {
      for (let i = 0; i < b.length; i++) each(b.packet(i), b, i);
      got += b.length;
      b.release();
    }
    return got >= n;
  }, { what: `${n} packets on ${sock.iface}`, detail: () => `${got} received` });
  assert.equal(got, n);
}

test('offBatch(): the callback stops; later packets wait in the ring for receive()', async () => {
  await withLab(async (lab) => {
    // LabSide.netns (the exported NetnsHolder type): the namespace's holder process and its fd
    const ns: NetnsHolder = lab.rx.netns;
    assert.ok(ns.pid > 0 && ns.fd >= 0, `netns ${ns.name}: pid ${ns.pid}, fd ${ns.fd}`);
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
    try {
      let got = 0;
      const all = new Promise<void>((resolve) => sock.onBatch((b) => ((got += b.length) >= 100 ? resolve() : undefined)));
      assert.equal(await sendFrames(lab, 100, { rate: 0 }), 100);
      await all;
      sock.offBatch();
      assert.equal(await sendFrames(lab, 50, { rate: 0 }), 50);
      await take(sock, 50);
      assert.equal(got, 100, 'the callback saw none of the later 50');
      sock.offBatch(); // without a callback: nothing to stop
    } finally {
      sock.close();
    }
  });
});

test("resetLatency() starts an interval: latency({ since: 'reset' }) covers it, latency() and report() keep the whole run", async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
    try {
      assert.equal(await sendFrames(lab, 100), 100);
      await take(sock, 100);
      assert.equal(sock.latency().count, 100);
      assert.deepEqual(sock.latency({ since: 'reset' }), sock.latency(), 'before any reset the interval is the whole run');
      sock.resetLatency();
      assert.equal(sock.latency({ since: 'reset' }).count, 0);
      assert.equal(sock.latency().count, 100, 'the whole run is kept');
      assert.equal(await sendFrames(lab, 30), 30);
      await take(sock, 30);
      const l = sock.latency({ since: 'reset' });
      assert.equal(l.count, 30);
      assert.ok(l.min > 0 && l.min <= l.p50 && l.p50 <= l.max && l.min <= l.mean && l.mean <= l.max, JSON.stringify(l));
      const all = sock.latency({ since: 'open' });
      assert.equal(all.count, 130);
      assert.ok(all.min <= l.min && all.max >= l.max);
      assert.equal(sock.report().latency_ns.xdp_to_user.count, 130, 'the report covers the whole run');
      assert.equal(sock.stats().received, 130, 'the packet counters are not reset');
      sock.resetLatency();
      assert.equal(sock.latency({ since: 'reset' }).count, 0, 'a second reset starts a new interval');
      assert.throws(() => sock.latency({ sinse: 'reset' } as never), /^AfxdpError: latency: unknown option "sinse" \(did you mean "since"\?\)$/);
      assert.throws(() => sock.latency({ since: 'start' } as never), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE');
    } finally {
      sock.close();
    }
  });
});

test('metadata: MetaReader and the ABI constants decode what Packet shows; hints follow the flows sent', async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
    try {
      assert.equal(sock.mode, 'native', 'veth: native XDP, where the RX-hash hint works');
      let reader: MetaReader | undefined;
      const hashByPort = new Map<number, Set<number>>();
      let before = 0;
      const check = (p: Packet, b: Batch, i: number): void => {
        assert.equal(p.index, i);
        assert.equal(b.released, false);
        // the batch's receive time: one clock read, the two halves and the number agree
        assert.equal(b.receivedAtNs, b.receivedAtHi * 2 ** 32 + b.receivedAtLo);
        assert.ok(b.receivedAtNs >= before);
        before = b.receivedAtNs;
        // the struct in front of the packet, read again from the UMEM with MetaReader
        const u = p.buffer;
        reader ??= new MetaReader({ bytes: u, words: new Uint32Array(u.buffer, u.byteOffset, u.byteLength >>> 2), frameShift: 12 });
        assert.ok(reader.read(p.offset));
        const magic = new DataView(u.buffer, u.byteOffset + p.offset - 4, 4).getUint32(0, true);
        assert.equal((magic & META_MAGIC_MASK) >>> 0, META_MAGIC);
        assert.equal(magic & 0xff, META_VERSION);
        assert.equal(reader.version, META_VERSION);
        assert.equal(reader.len, META_SIZE);
        assert.equal(reader.flags, p.flags);
        assert.equal(p.flags & (AFXDP_F_XDP_TS | AFXDP_F_QUEUE | AFXDP_F_RX_HASH), AFXDP_F_XDP_TS | AFXDP_F_QUEUE | AFXDP_F_RX_HASH);
        assert.equal(p.flags & (AFXDP_F_CLOCK_TAI | AFXDP_F_HW_TS | AFXDP_F_VLAN | AFXDP_F_VIA_PREPEND | AFXDP_F_VIA_MAP), 0, 'monotonic, no NIC stamp, no tag, carried in metadata');
        assert.equal(reader.rxQueue, p.queue);
        assert.equal(reader.xdpTsLo, p.xdpTsLo);
        assert.equal(reader.xdpTsHi, p.xdpTsHi);
        assert.ok(p.hasRxHash);
        assert.equal(reader.rxHash, p.rxHash);
        assert.equal(reader.rxHashType, p.rxHashType);
        assert.equal(p.hasVlan, false);
        assert.ok(p.rxHashType & XDP_RSS_L4, `an L4 hash (type ${p.rxHashType})`);
        const dstPort = new DataView(u.buffer, u.byteOffset + p.offset + 36, 2).getUint16(0);
        const set = hashByPort.get(dstPort) ?? new Set<number>();
        set.add(p.rxHash);
        hashByPort.set(dstPort, set);
      };
      // three UDP flows through the sender's kernel stack (which hashes the flow; AF_XDP
      // transmits carry no L4 hash): the RSS hash is a function of the flow
      for (const port of [9, 10, 11]) assert.equal(await lab.sendUdpViaStack(5, port), 5);
      await take(sock, 15, check);
      assert.deepEqual([...hashByPort.keys()].sort(), [10, 11, 9]);
      for (const [port, hashes] of hashByPort) assert.equal(hashes.size, 1, `one hash for the flow to port ${port}`);
      assert.equal(new Set([...hashByPort.values()].map((s) => [...s][0])).size, 3, 'three flows, three hashes');
    } finally {
      sock.close();
    }
  });
});

test("open({ clock: 'tai' }): stamps flagged CLOCK_TAI and read against TAI, every packet a sample", async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, clock: 'tai' });
    try {
      assert.equal(sock.clock, 'tai');
      assert.equal(await sendFrames(lab, 50), 50);
      await take(sock, 50, (p) => {
        assert.ok(p.flags & AFXDP_F_CLOCK_TAI);
        // in the other clock's domain the difference would be ~1.7e18 ns or negative: never a sample
        assert.ok(p.latencyNs > 0 && p.latencyNs < 10e9, `latency ${p.latencyNs}`);
      });
      assert.equal(sock.latency().count, 50);
      assert.equal(sock.report().clock, 'tai');
    } finally {
      sock.close();
    }
  });
});

test('XdpProgram: path and maps as the object declares them; checkProgram judges objects without attaching', async () => {
  const prog = loadProgram(FILTER_OBJ);
  try {
    assert.ok(prog instanceof XdpProgram);
    assert.equal(prog.path, FILTER_OBJ);
    // the maps examples/xdp-filter.bpf.c declares (besides those afxdp/meta.h brings);
    // types as in linux/bpf.h: HASH 1, PERCPU_ARRAY 6, XSKMAP 17
    const own = new Set(['allowed_ports', 'filter_stats', 'xsks']);
    const maps = prog.maps.filter((m) => own.has(m.name)).map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]).sort();
    assert.deepEqual(maps, [
      ['allowed_ports', 1, 4, 4, 64],
      ['filter_stats', 6, 4, 8, 2],
      ['xsks', 17, 4, 4, 64],
    ]);
  } finally {
    prog.close();
  }
  const good = checkProgram(FILTER_OBJ);
  assert.deepEqual(good.programs.map((p) => [p.program, p.ok]), [['xdp_filter', true]]);
  const bad = checkProgram(SEED_OBJ);
  assert.equal(bad.programs[0]!.ok, false);
  assert.match(bad.programs[0]!.message!, /invalid bpf_context access/);
});

test('a refused zero-copy bind is ESYS with errno EOPNOTSUPP, and leaves nothing attached', async () => {
  await withLab(async (lab) => {
    assert.throws(() => open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, bind: 'zerocopy' }), (e: unknown) => {
      assert.ok(e instanceof AfxdpError);
      assert.equal(e.code, 'ESYS', e.message);
      assert.equal(e.errno, 95, 'veth has no zero-copy AF_XDP: EOPNOTSUPP');
      return true;
    });
    assert.deepEqual(await xdpOn(lab), []);
  });
});

test('LatencyProbe faces one queue: its socket, batch and the recorders of every segment hold what arrived', async () => {
  await withLab(async (lab) => {
    const runId = 0x5eed1234;
    const probe = LatencyProbe.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, batchSize: 16, senderRunId: runId });
    try {
      assert.equal(probe.socket.bindMode, 'copy', 'veth binds in copy mode');
      probe.start();
      const sent = await sendFrames(lab, 200, { runId });
      await waitForEnd(probe, { expected: () => sent, idleMs: 2000 });
      probe.drain();
      assert.ok(probe.batch.n > 0 && probe.batch.n <= 16, `the last batch: ${probe.batch.n} packets`);
      assert.equal(probe.recorder.summary().count, 200);
      assert.equal(probe.senderRecorder?.summary().count, 200, 'the payload carried our run id: sender → xdp measured');
      assert.equal(probe.hwRecorder?.summary().count ?? 0, 0, 'veth: no NIC timestamps');
      const rep = receiverReport(probe, { sent, durationS: 1 });
      assert.equal(rep.packets.sent, 200);
      assert.equal(rep.packets.received, 200);
      assert.equal(rep.latency_ns.xdp_to_user.count, 200);
      assert.equal(rep.latency_ns.sender_to_xdp?.count, 200);
    } finally {
      probe.close();
    }
  });
});

test('LatencyReceiver, busy poll on 2 queues: batchSize bounds the delivered PacketBatch columns, perQueue counts each queue, checkAlive/onError notice a deleted interface', async () => {
  await withLab(async (lab) => {
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, queues: [0, 1], poll: 'busy', batchSize: 8, deliver: true });
    try {
      assert.equal(rx.batchSize, 8);
      let n = 0;
      let maxN = 0;
      const bad: string[] = [];
      rx.addSink({
        onBatch: (b) => {
          maxN = Math.max(maxN, b.n);
          for (let i = 0; i < b.n; i++, n++) {
            // each packet's UMEM address holds the generator's frame: payload magic "AFXG" at 42
            const at = b.addr[i]! + 42;
            if (String.fromCharCode(...b.bytes.subarray(at, at + 4)) !== 'AFXG') bad.push(`no frame at ${b.addr[i]}`);
            if (b.len[i] !== 64) bad.push(`length ${b.len[i]}`);
            if (b.hwLo[i] !== 0 || b.hwHi[i] !== 0) bad.push('a NIC timestamp on veth');
            if (!(b.xdpToUser[i]! > 0)) bad.push(`latency ${b.xdpToUser[i]}`);
          }
        },
      });
      rx.start();
      const sent = (await Promise.all([0, 1].map((queue) => sendFrames(lab, 300, { queue })))).reduce((a, b) => a + b, 0);
      await waitForEnd(rx, { expected: () => sent, idleMs: 2000 });
      await waitFor(() => n >= 600, { what: 'the 600 packets delivered to the sink', detail: () => `${n}` });
      assert.equal(n, 600);
      assert.deepEqual(bad.slice(0, 5), []);
      assert.ok(maxN <= 8, `batches of at most 8 (${maxN})`);
      assert.ok(rx.perQueue.every((q) => q instanceof ReceiveQueue));
      assert.deepEqual(rx.perQueue.map((q) => [q.queue, q.xdpToUser.summary().count]), [[0, 300], [1, 300]]);
      assert.equal(rx.checkAlive(), true);
      // the interface goes away under the receiver: checkAlive() notices, onError names it
      let failed: AfxdpError | undefined;
      rx.onError = (e) => (failed = e);
      await lab.tx.netns.exec('ip', ['link', 'del', lab.tx.ifname]);
      await waitFor(() => !rx.checkAlive(), { what: 'checkAlive() to notice the deleted interface' });
      assert.ok(failed instanceof AfxdpError);
      assert.match(failed.message, new RegExp(lab.rx.ifname));
      assert.equal(rx.stats().received, 600, 'the counts so far stay');
    } finally {
      rx.close();
    }
    // one worker per queue, each reporting its V8 heap when it started and when it stopped
    const heap = rx.workerHeap();
    assert.deepEqual(heap.map((h) => h.queue), [0, 1]);
    for (const h of heap) assert.ok(h.start > 0 && h.end > 0, JSON.stringify(h));
  }, { queues: 2 });
});
