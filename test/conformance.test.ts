/**
 * The kernel's AF_XDP scenarios (tools/testing/selftests/bpf/test_xsk.[ch], formerly
 * xskxceiver.c), ported to afxdp's public socket API (openXsk) on a veth pair in copy mode, each
 * in native and generic XDP. Test names carry the kernel's scenario names; each expects what the
 * kernel's validation expects (packets in order with their payload, the XDP_STATISTICS counters).
 * docs/AF_XDP-CONFORMANCE.md lists every scenario and where it is (or why it is not) here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { loadProgram, type XskSocket, type KernelStats } from '../src/index.js';
import type { Lab } from '../src/entry/lab.js';
import type { XskOptions } from '../src/api/xsk.js';
import path from 'node:path';
import { ROOT } from './lib/cli.js';
import { withLab } from './lib/lab.js';
import { waitFor } from './lib/wait.js';
import { sendFrames, drain, xskOn, redirectOn, writeFrame } from './lib/xsk.js';

/** the kernel test's MIN_PKT_SIZE and packet counts (DEFAULT_PKT_CNT, DEFAULT_UMEM_BUFFERS) */
const MIN_PKT_SIZE = 64;
const DEFAULT_PKT_CNT = 4096;
const DEFAULT_UMEM_BUFFERS = DEFAULT_PKT_CNT / 4;
const MODES = ['native', 'generic'] as const;
type Mode = (typeof MODES)[number];

interface Pair {
  lab: Lab;
  tx: XskSocket;
  rx: XskSocket;
}

/** A sender on the lab's tx end and a receiver (options `rxOpts`) on its rx end behind XSK_REDIRECT_PROGRAM in `mode`. */
async function withPair(mode: Mode, rxOpts: Omit<XskOptions, 'iface' | 'netns'>, fn: (p: Pair) => Promise<void>, txOpts: Omit<XskOptions, 'iface' | 'netns'> = {}, program?: string): Promise<void> {
  await withLab(async (lab) => {
    const tx = xskOn(lab.tx, { rxRingSize: 0, txRingSize: 2048, ...txOpts });
    const rx = xskOn(lab.rx, { rxRingSize: 2048, ...rxOpts });
    const prog = redirectOn(lab.rx, [rx], mode, program);
    try {
      assert.equal(rx.bindMode, 'copy', 'veth has no zero-copy');
      await fn({ lab, tx, rx });
    } finally {
      prog.close();
      rx.close();
      tx.close();
    }
  });
}

/**
 * Sends `lens.length` frames (frame k of lens[k] bytes; seq k) and receives until `expect` frames
 * arrived or nothing more comes; returns the sequence numbers in arrival order and the receive
 * addresses. `receive: false` leaves the RX ring alone (nothing is taken).
 */
async function traffic(p: Pair, lens: number[], expect: number, o: { receive?: boolean } = {}): Promise<{ seqs: number[]; addrs: number[]; got: number[] }> {
  const seqs: number[] = [];
  const addrs: number[] = [];
  const got: number[] = [];
  let sent = 0;
  const deadline = Date.now() + 15_000;
  let idleSince = 0;
  while (Date.now() < deadline) {
    // at most ~256 frames in flight: scaled by how many of those sent are expected to arrive
    if (sent < lens.length && (o.receive === false || (sent * expect) / lens.length - seqs.length < 256)) {
      // frames of one length per call: sendFrames queues a run of equal frames
      sent += sendFrames(p.tx, sent, 1, lens[sent]!, p.lab.rx.macBytes, p.lab.tx.macBytes);
    } else if (p.tx.tx!.pending() > 0) p.tx.txFlush();
    p.tx.reclaim();
    if (o.receive !== false) {
      drain(p.rx, (seq, addr, len) => {
        seqs.push(seq);
        addrs.push(addr);
        got.push(len);
      });
    }
    if (sent === lens.length && p.tx.tx!.pending() === 0) {
      if (seqs.length >= expect && o.receive !== false) break;
      // everything is out: wait a little for the last frames, then stop
      idleSince ||= Date.now();
      if (Date.now() - idleSince > 300) break;
    }
    await yieldLoop();
  }
  return { seqs, addrs, got };
}

const inOrder = (n: number, from = 0, step = 1): number[] => Array.from({ length: n }, (_, k) => from + k * step);
const zeroStats: KernelStats = { rx_dropped: 0, rx_invalid_descs: 0, tx_invalid_descs: 0, rx_ring_full: 0, rx_fill_ring_empty_descs: 0, tx_ring_empty_descs: 0 };
/** the counters a clean run leaves at 0 (tx_ring_empty_descs counts kicks on an empty TX ring: not a fault) */
function assertClean(s: KernelStats): void {
  assert.deepEqual({ ...s, tx_ring_empty_descs: 0 }, zeroStats);
}

for (const mode of MODES) {
  const sfx = `(${mode} XDP, copy)`;

  test(`SEND_RECEIVE ${sfx}: ${DEFAULT_PKT_CNT} packets of ${MIN_PKT_SIZE} bytes arrive in order, payload intact`, () =>
    withPair(mode, {}, async (p) => {
      const { seqs } = await traffic(p, new Array(DEFAULT_PKT_CNT).fill(MIN_PKT_SIZE), DEFAULT_PKT_CNT);
      assert.deepEqual(seqs, inOrder(DEFAULT_PKT_CNT));
      assertClean(p.rx.statistics());
      assertClean(p.tx.statistics());
    }));

  test(`SEND_RECEIVE_2K_FRAME ${sfx}: the same with 2048-byte UMEM frames on both sides`, () =>
    withPair(mode, { frameSize: 2048 }, async (p) => {
      const { seqs, addrs } = await traffic(p, new Array(DEFAULT_PKT_CNT).fill(MIN_PKT_SIZE), DEFAULT_PKT_CNT);
      assert.deepEqual(seqs, inOrder(DEFAULT_PKT_CNT));
      assert.ok(addrs.every((a) => a % 2048 === 256), 'every packet at XDP_PACKET_HEADROOM in its 2K frame');
      assertClean(p.rx.statistics());
    }, { frameSize: 2048 }));

  test(`SEND_RECEIVE_SINGLE_PKT ${sfx}: one packet`, () =>
    withPair(mode, {}, async (p) => {
      const { seqs } = await traffic(p, [MIN_PKT_SIZE], 1);
      assert.deepEqual(seqs, [0]);
    }));

  test(`UMEM_HEADROOM ${sfx}: with a UMEM headroom of 128 every packet starts at frame + 256 + 128`, () =>
    withPair(mode, { headroom: 128 }, async (p) => {
      const { seqs, addrs } = await traffic(p, new Array(DEFAULT_PKT_CNT).fill(MIN_PKT_SIZE), DEFAULT_PKT_CNT);
      assert.deepEqual(seqs, inOrder(DEFAULT_PKT_CNT));
      assert.deepEqual([...new Set(addrs.map((a) => a % p.rx.umem.frameSize))], [256 + 128]);
    }));

  test(`STAT_TX_INVALID ${sfx}: half the descriptors longer than a frame: tx_invalid_descs counts exactly those, the rest arrive`, () =>
    withPair(mode, {}, async (p) => {
      const n = 256;
      // XSK_UMEM__INVALID_FRAME_SIZE: one byte more than the frame
      const lens = inOrder(n).map((k) => (k % 2 === 1 ? p.tx.umem.frameSize + 1 : MIN_PKT_SIZE));
      const { seqs } = await traffic(p, lens, n / 2);
      assert.deepEqual(seqs, inOrder(n / 2, 0, 2));
      await waitFor(() => p.tx.statistics().tx_invalid_descs === n / 2, { what: `tx_invalid_descs = ${n / 2}`, detail: () => JSON.stringify(p.tx.statistics()) });
    }));

  test(`STAT_RX_DROPPED ${sfx}: the largest headroom the kernel takes (448 bytes left per frame): rx_dropped counts the larger half, the rest arrive`, () =>
    withPair(mode, { headroom: 4096 - 704 }, async (p) => {
      const n = 256;
      const lens = inOrder(n).map((k) => (k % 2 === 1 ? 1000 : MIN_PKT_SIZE));
      const { seqs } = await traffic(p, lens, n / 2);
      assert.deepEqual(seqs, inOrder(n / 2, 0, 2));
      assert.equal(p.rx.statistics().rx_dropped, n / 2);
    }));

  test(`STAT_RX_FULL ${sfx}: an RX ring of ${DEFAULT_UMEM_BUFFERS} never read: rx_ring_full counts what did not fit`, () =>
    withPair(mode, { rxRingSize: DEFAULT_UMEM_BUFFERS, fillRingSize: 2048 }, async (p) => {
      const n = DEFAULT_UMEM_BUFFERS + DEFAULT_UMEM_BUFFERS / 2;
      await traffic(p, new Array(n).fill(MIN_PKT_SIZE), 0, { receive: false });
      await waitFor(() => p.rx.statistics().rx_ring_full > 0, { what: 'rx_ring_full > 0', detail: () => JSON.stringify(p.rx.statistics()) });
      const s = p.rx.statistics();
      assert.equal(p.rx.rx!.ready(), DEFAULT_UMEM_BUFFERS, 'the RX ring is full');
      assert.equal(s.rx_ring_full, n - DEFAULT_UMEM_BUFFERS);
    }));

  test(`STAT_FILL_EMPTY ${sfx}: no frames on the fill ring: rx_fill_ring_empty_descs counts, nothing arrives`, () =>
    withPair(mode, { initialFill: 0 }, async (p) => {
      const n = 64;
      const { seqs } = await traffic(p, new Array(n).fill(MIN_PKT_SIZE), 0);
      assert.deepEqual(seqs, []);
      await waitFor(() => p.rx.statistics().rx_fill_ring_empty_descs > 0, { what: 'rx_fill_ring_empty_descs > 0', detail: () => JSON.stringify(p.rx.statistics()) });
    }));

  test(`XDP_PROG_CLEANUP ${sfx}: a closed socket leaves the XSKMAP; a second socket on the queue receives the next run`, () =>
    withLab(async (lab) => {
      const tx = xskOn(lab.tx, { rxRingSize: 0, txRingSize: 2048 });
      let rx = xskOn(lab.rx, { rxRingSize: 2048 });
      const prog = redirectOn(lab.rx, [rx], mode);
      try {
        const first = await traffic({ lab, tx, rx }, new Array(256).fill(MIN_PKT_SIZE), 256);
        assert.deepEqual(first.seqs, inOrder(256));
        rx.close();
        rx = xskOn(lab.rx, { rxRingSize: 2048 });
        prog.register(rx);
        const second = await traffic({ lab, tx, rx }, new Array(256).fill(MIN_PKT_SIZE), 256);
        assert.deepEqual(second.seqs, inOrder(256));
      } finally {
        prog.close();
        rx.close();
        tx.close();
      }
    }));
}

for (const mode of MODES) {
  const sfx = `(${mode} XDP, copy)`;

  test(`SEND_RECEIVE_UNALIGNED, without huge pages ${sfx}: unaligned chunk mode on both sides; packets sent from odd offsets inside frames arrive in order, payload intact`, () =>
    withPair(mode, { unaligned: true }, async (p) => {
      // half the packets sent from an odd offset inside a frame (the kernel test straddles 4K pages: that needs huge pages)
      const n = 512;
      const seqs: number[] = [];
      let sent = 0;
      const deadline = Date.now() + 10_000;
      while (seqs.length < n && Date.now() < deadline) {
        if (sent < n && sent - seqs.length < 256) {
          const a = p.tx.txAlloc();
          if (a >= 0 && p.tx.txFree(1) === 1) {
            const at = sent % 2 === 1 ? a + 1001 : a;
            writeFrame(p.tx.umem.bytes, at, MIN_PKT_SIZE, p.lab.rx.macBytes, p.lab.tx.macBytes, sent);
            p.tx.txPush(at, MIN_PKT_SIZE);
            sent++;
          } else if (a >= 0) p.tx.txUnalloc(a);
        }
        p.tx.txFlush();
        p.tx.reclaim();
        drain(p.rx, (seq) => seqs.push(seq));
        await yieldLoop();
      }
      assert.deepEqual(seqs, inOrder(n));
      assertClean(p.rx.statistics());
      assert.equal(p.tx.statistics().tx_invalid_descs, 0);
    }, { unaligned: true }));
}

/**
 * Descriptors of the kernel's ALIGNED_INV_DESC table that a veth in copy mode judges by the
 * descriptor alone: [offset from a frame's start, length, valid]. Only the valid ones arrive;
 * tx_invalid_descs counts the rest.
 */
function invalidDescTable(frameSize: number, umemSize: number): Array<{ addr: number | 'end'; len: number; valid: boolean }> {
  return [
    { addr: 0, len: MIN_PKT_SIZE, valid: true },
    { addr: 'end', len: MIN_PKT_SIZE, valid: false }, // past the end of the UMEM
    { addr: umemSize - frameSize, len: MIN_PKT_SIZE, valid: true }, // the last frame
    { addr: frameSize - MIN_PKT_SIZE / 2, len: MIN_PKT_SIZE, valid: false }, // straddles two chunks
    { addr: frameSize - MIN_PKT_SIZE, len: MIN_PKT_SIZE, valid: true }, // ends exactly at the chunk's end
    { addr: 0, len: frameSize + 1, valid: false }, // longer than a chunk
  ];
}

for (const mode of MODES) {
  const sfx = `(${mode} XDP, copy)`;

  for (const frameSize of [4096, 2048]) {
    const name = frameSize === 4096 ? 'ALIGNED_INV_DESC' : 'ALIGNED_INV_DESC_2K_FRAME_SIZE';
    test(`${name} ${sfx}: descriptors past the UMEM, across a chunk or longer than one are skipped and counted in tx_invalid_descs; the valid ones arrive in order`, () =>
      withPair(mode, {}, async (p) => {
        const table = invalidDescTable(frameSize, p.tx.umem.frameCount * frameSize);
        const rounds = 16;
        const bytes = p.tx.umem.bytes;
        let expected = 0;
        let invalid = 0;
        for (let r = 0; r < rounds; r++) {
          for (const d of table) {
            const addr = d.addr === 'end' ? p.tx.umem.frameCount * frameSize : d.addr;
            // the valid ones carry the next sequence number; the invalid ones a frame nobody should see
            if (d.valid) writeFrame(bytes, addr, d.len, p.lab.rx.macBytes, p.lab.tx.macBytes, expected++);
            else invalid++;
            p.tx.txPush(addr, d.len);
          }
          p.tx.txFlush();
          while (p.tx.tx!.pending() > 0) p.tx.txFlush();
          // each round's valid frames reuse the same addresses: wait until they are received
          const seqs: number[] = [];
          await waitFor(() => {
            drain(p.rx, (seq) => seqs.push(seq));
            return seqs.length >= table.filter((d) => d.valid).length;
          }, { what: `round ${r}'s valid frames`, detail: () => JSON.stringify({ seqs, stats: p.tx.statistics() }) });
          assert.deepEqual(seqs, inOrder(seqs.length, expected - seqs.length));
        }
        assert.equal(p.tx.statistics().tx_invalid_descs, invalid);
      }, { frameSize, frameCount: 64 }).then(() => undefined));
  }

  test(`BIDIRECTIONAL ${sfx}: both ends send and receive at once; each gets the other's packets in order`, () =>
    withLab(async (lab) => {
      const ends = [lab.tx, lab.rx].map((side) => xskOn(side, { rxRingSize: 2048, txRingSize: 2048 }));
      const progs = [lab.tx, lab.rx].map((side, k) => redirectOn(side, [ends[k]!], mode));
      try {
        const n = 2048;
        const got: number[][] = [[], []];
        const sent = [0, 0];
        const deadline = Date.now() + 15_000;
        while ((got[0]!.length < n || got[1]!.length < n) && Date.now() < deadline) {
          for (let k = 0; k < 2; k++) {
            const me = ends[k]!;
            const peer = k === 0 ? lab.rx : lab.tx;
            const self = k === 0 ? lab.tx : lab.rx;
            if (sent[k]! < n && sent[k]! - got[1 - k]!.length < 256) sent[k]! += sendFrames(me, sent[k]!, Math.min(32, n - sent[k]!), MIN_PKT_SIZE, peer.macBytes, self.macBytes);
            else if (me.tx!.pending() > 0) me.txFlush();
            me.reclaim();
            drain(me, (seq) => got[k]!.push(seq));
          }
          await yieldLoop();
        }
        assert.deepEqual(got[0], inOrder(n));
        assert.deepEqual(got[1], inOrder(n));
      } finally {
        for (const p of progs) p.close();
        for (const e of ends) e.close();
      }
    }));
}

const FIXTURES = path.join(ROOT, 'build', 'test-bpf');

for (const mode of MODES) {
  const sfx = `(${mode} XDP, copy)`;

  test(`XDP_DROP_HALF ${sfx}: a program that drops every other frame: the socket gets exactly the even ones, in order`, () =>
    withPair(mode, {}, async (p) => {
      const n = 1024;
      const { seqs } = await traffic(p, new Array(n).fill(MIN_PKT_SIZE), n / 2);
      assert.deepEqual(seqs, inOrder(n / 2, 0, 2));
      assertClean(p.rx.statistics());
    }, {}, path.join(FIXTURES, 'xsk_drop_half.bpf.o')));

  test(`XDP_ADJUST_TAIL_SHRINK ${sfx}: a program that takes 4 bytes off each frame's tail: every packet arrives 4 bytes shorter, the rest intact`, () =>
    withPair(mode, {}, async (p) => {
      const n = 512;
      // traffic() checks the pattern over what arrived: the payload up to the new tail is intact
      const { seqs, got } = await traffic(p, new Array(n).fill(MIN_PKT_SIZE * 2), n);
      assert.deepEqual(seqs, inOrder(n));
      assert.deepEqual([...new Set(got)], [MIN_PKT_SIZE * 2 - 4]);
    }, {}, path.join(FIXTURES, 'xsk_shrink.bpf.o')));

  test(`TEARDOWN ${sfx}: ten rounds of open, traffic, close on the same queues; each round receives everything`, () =>
    withLab(async (lab) => {
      for (let round = 0; round < 10; round++) {
        const tx = xskOn(lab.tx, { rxRingSize: 0, txRingSize: 2048 });
        const rx = xskOn(lab.rx, { rxRingSize: 2048 });
        const prog = redirectOn(lab.rx, [rx], mode);
        try {
          const { seqs } = await traffic({ lab, tx, rx }, new Array(256).fill(MIN_PKT_SIZE), 256);
          assert.deepEqual(seqs, inOrder(256), `round ${round}`);
        } finally {
          prog.close();
          rx.close();
          tx.close();
        }
      }
    }));
}

for (const mode of MODES) {
  const sfx = `(${mode} XDP, copy)`;

  test(`XDP_SHARED_UMEM ${sfx}: two sockets on one queue share a UMEM (and its fill ring); a program splits the frames between them by destination MAC; each gets its half in order`, () =>
    withLab(async (lab) => {
      const tx = xskOn(lab.tx, { rxRingSize: 0, txRingSize: 2048 });
      const a = xskOn(lab.rx, { rxRingSize: 2048 });
      const c = xskOn(lab.rx, { rxRingSize: 2048, shareUmem: a });
      const prog = loadProgram(path.join(FIXTURES, 'xsk_by_mac.bpf.o'));
      try {
        assert.equal(c.fill, a.fill, 'one queue: one fill ring');
        prog.register(a, 0);
        prog.register(c, 1);
        prog.attach(lab.rx.ifname, { netns: lab.rx.netns.fd, mode });
        const dst = [0, 1].map((bit) => {
          const m = lab.rx.macBytes.slice();
          m[5] = (m[5]! & ~1) | bit;
          return m;
        });
        const n = 1024;
        const got: number[][] = [[], []];
        let sent = 0;
        const deadline = Date.now() + 15_000;
        while (got[0]!.length + got[1]!.length < n && Date.now() < deadline) {
          if (sent < n && sent - got[0]!.length - got[1]!.length < 256) sent += sendFrames(tx, sent, 1, MIN_PKT_SIZE, dst[sent % 2]!, lab.tx.macBytes);
          else if (tx.tx!.pending() > 0) tx.txFlush();
          tx.reclaim();
          drain(a, (seq) => got[0]!.push(seq));
          drain(c, (seq) => got[1]!.push(seq));
          await yieldLoop();
        }
        assert.deepEqual(got[0], inOrder(n / 2, 0, 2));
        assert.deepEqual(got[1], inOrder(n / 2, 1, 2));
        assertClean(a.statistics());
        assertClean(c.statistics());
      } finally {
        prog.close();
        c.close();
        a.close();
        tx.close();
      }
    }));
}

for (const mode of MODES) {
  const sfx = `(${mode} XDP, copy)`;

  test(`POLL_RX ${sfx}: receiving only when the socket polls readable (uv_poll on its fd): every packet arrives in order`, () =>
    withPair(mode, {}, async (p) => {
      const n = DEFAULT_PKT_CNT;
      const seqs: number[] = [];
      let wakes = 0;
      p.rx.onReadable(() => {
        wakes++;
        while (drain(p.rx, (seq) => seqs.push(seq)) > 0);
      });
      try {
        await traffic(p, new Array(n).fill(MIN_PKT_SIZE), n, { receive: false });
        await waitFor(() => seqs.length >= n, { what: `${n} packets through the readable callback`, detail: () => `${seqs.length}` });
        assert.deepEqual(seqs, inOrder(n));
        assert.ok(wakes > 0 && wakes <= n);
      } finally {
        p.rx.offReadable();
      }
    }));
}
