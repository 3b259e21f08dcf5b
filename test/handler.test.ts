/**
 * Handler mode against the real kernel: user code in each queue's receive worker sees the batches
 * over the UMEM and forwards packets in place (an l2fwd: swap the Ethernet addresses, transmit
 * from the same frame) or sends new frames. The sender gets every frame back, addresses swapped,
 * payload intact — on one queue, on two, and with jumbo frames; the counters add up exactly; a
 * handler that throws, a module that does not exist or has no default export are one-line errors
 * that leave no program attached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { open, AfxdpError, type AfxdpSocket } from '../src/index.js';
import type { Lab } from '../src/entry/lab.js';
import { LatencyReceiver } from '../src/entry/receiver.js';
import { writeUdpFrame, setSeq, setRunId, readPayload, PAYLOAD_OFFSET, PAYLOAD_LEN } from '../src/wire/frame.js';
import { ROOT } from './lib/cli.js';
import { withLab, xdpOn } from './lib/lab.js';
import { SEND_FRAMES } from './lib/foreign.js';
import { waitFor } from './lib/wait.js';

const HANDLERS = path.join(ROOT, 'test', 'fixtures', 'handlers');
const L2FWD = path.join(HANDLERS, 'l2fwd.mjs');
const RUN_ID = 0x5eed;

/** Frame `seq` of `size` bytes from the lab's tx end to its rx end; the bytes after the payload are a pattern of seq. */
function frameOf(lab: Lab, seq: number, size: number, srcPort = 40000): Uint8Array {
  const f = new Uint8Array(size);
  writeUdpFrame(f, 0, size, { srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, srcPort, dstPort: 9 });
  setRunId(f, 0, RUN_ID);
  setSeq(f, 0, seq);
  for (let k = PAYLOAD_OFFSET + PAYLOAD_LEN; k < size; k++) f[k] = (seq + k) & 0xff;
  return f;
}

/**
 * Receives on the tx end until `count` distinct frames came back (or 15 s passed): each must be
 * the frame sent (`expected(seq)`) with its Ethernet addresses swapped. Returns seqs per tx queue.
 */
async function collectEchoes(lab: Lab, sender: AfxdpSocket, count: number, expected: (seq: number, srcPort: number) => Uint8Array): Promise<{ seen: Set<number>; byQueue: number[] }> {
  const seen = new Set<number>();
  const byQueue = [0, 0];
  const buf = new Uint8Array(9216);
  const pl = new Uint32Array(4);
  for await (const batch of sender.batches({ signal: AbortSignal.timeout(15_000) })) {
    for (let i = 0; i < batch.length; i++) {
      const p = batch.packet(i);
      const n = p.copyTo(buf);
      const got = buf.subarray(0, n);
      assert.ok(readPayload(got, 0, n, pl), 'an afxdp frame came back');
      assert.equal(pl[0], RUN_ID);
      const seq = pl[1]!;
      assert.ok(!seen.has(seq), `frame ${seq} came back once`);
      seen.add(seq);
      byQueue[p.queue]!++;
      const want = expected(seq, (got[34]! << 8) | got[35]!);
      assert.equal(n, want.length, `frame ${seq}: length`);
      assert.deepEqual([...got.subarray(0, 6)], [...lab.tx.macBytes], `frame ${seq}: destination is the sender now`);
      assert.deepEqual([...got.subarray(6, 12)], [...lab.rx.macBytes], `frame ${seq}: source is the forwarder now`);
      assert.ok(Buffer.from(got.subarray(12)).equals(Buffer.from(want.subarray(12))), `frame ${seq}: everything after the addresses is intact`);
    }
    if (seen.size >= count) break;
  }
  return { seen, byQueue };
}

/**
 * Sends frames through the event-mode sender socket, retrying while its ring is full, and lets
 * the sender's own receive loop (on this thread) take the echoes every 64 frames, so its fill
 * ring never runs dry.
 */
async function sendAll(sender: AfxdpSocket, frames: Uint8Array[]): Promise<void> {
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if ((i & 63) === 63) {
      sender.flush();
      await new Promise((r) => setImmediate(r));
    }
    while (!sender.send(f)) {
      sender.flush();
      await new Promise((r) => setImmediate(r));
    }
  }
  sender.flush();
}

function checkCounters(sock: AfxdpSocket, n: number, forwarded: number): void {
  const s = sock.stats();
  const h = s.handler!;
  assert.ok(h !== null, 'handler stats');
  assert.equal(s.received, n, 'received');
  assert.equal(h.handled, s.received, 'handled = received');
  assert.equal(h.forwarded, forwarded, 'forwarded');
  assert.equal(s.forwarded, forwarded);
  assert.equal(h.forwarded + h.dropped, s.received, 'forwarded + dropped = received');
  assert.equal(sock.latency().count, n, 'the latency of every packet the handler saw');
}

for (const poll of ['worker', 'busy'] as const) {
  test(`handler l2fwd (poll ${poll}, copy mode, 1 queue), sender's send() in poll ${poll} too: every frame comes back with swapped addresses and an intact payload; counters exact`, async () => {
    await withLab(async (lab) => {
      const fwd = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, handler: L2FWD, poll, bind: 'copy' });
      // the sender's worker owns its socket: send() hands the frames to it
      const sender = open({ iface: lab.tx.ifname, netns: lab.tx.netns.fd, tx: true, poll, bind: 'copy' });
      try {
        assert.equal(fwd.poll, poll);
        assert.equal(sender.poll, poll);
        assert.equal(fwd.bind, 'copy');
        const n = 2000;
        const frames = Array.from({ length: n }, (_, s) => frameOf(lab, s, 128));
        const echoes = collectEchoes(lab, sender, n, (s) => frames[s]!);
        await sendAll(sender, frames);
        const { seen } = await echoes;
        assert.equal(seen.size, n, 'every frame came back');
        checkCounters(fwd, n, n);
        const h = fwd.stats().handler!;
        assert.equal(h.counters[0], n, 'the handler counted every packet in ctx.counters[0]');
        assert.ok(h.counters[1]! >= 1 && h.counters[1]! <= n, 'and its batches in ctx.counters[1]');
        assert.equal(h.sent, 0);
        assert.equal(sender.stats().sent, n, 'the sender sent every frame from its worker');
        assert.equal(fwd.error, null);
        assert.equal(fwd.stats().kernel.tx_invalid_descs, 0);
        // the handler owns the packets: the main thread's ways of receiving are refused
        assert.throws(() => fwd.receive(), (e: unknown) => e instanceof AfxdpError && e.code === 'ESTATE' && /handler/.test(e.message));
      } finally {
        sender.close();
        fwd.close();
      }
    });
  });
}

test('handler l2fwd on 2 queues: each queue forwards on its own socket; every frame comes back once', async () => {
  await withLab(
    async (lab) => {
      const fwd = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, handler: L2FWD, queues: [0, 1], bind: 'copy' });
      const sender = open({ iface: lab.tx.ifname, netns: lab.tx.netns.fd, queues: [0, 1], bind: 'copy' });
      try {
        // a kernel sender (AF_PACKET) spreads flows over the TX queues by hash; veth delivers on the RX queue of the same number
        const n = 1024;
        const frames = Array.from({ length: n }, (_, s) => frameOf(lab, s, 96, 30000 + (s % 64)));
        const echoes = collectEchoes(lab, sender, n, (s) => frames[s]!);
        const input = frames.map((f) => Buffer.from(f).toString('hex')).join('\n') + '\n';
        const r = await lab.tx.netns.exec('python3', [SEND_FRAMES, lab.tx.ifname], { input });
        assert.equal(Number(r.stdout.trim()), n);
        const { seen, byQueue } = await echoes;
        assert.equal(seen.size, n);
        const perQueue = fwd.report().per_queue!.map((q) => q.received);
        assert.equal(perQueue.length, 2);
        assert.ok(perQueue[0]! > 0 && perQueue[1]! > 0, `both queues forwarded (${perQueue.join(', ')})`);
        assert.deepEqual(byQueue, perQueue, 'a frame forwarded by queue q comes back on queue q');
        assert.deepEqual(fwd.stats().handler!.counters.slice(2, 4), perQueue, 'ctx.queue: each worker counted its own queue');
        checkCounters(fwd, n, n);
      } finally {
        sender.close();
        fwd.close();
      }
    },
    { queues: 2 },
  );
});

test('handler l2fwd with jumbo frames (MTU 9000, multi-buffer): 9000-byte frames come back whole', async () => {
  await withLab(
    async (lab) => {
      const fwd = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, handler: pathToFileURL(L2FWD), bind: 'copy' });
      const sender = open({ iface: lab.tx.ifname, netns: lab.tx.netns.fd, tx: true, bind: 'copy' });
      try {
        const n = 300;
        const frames = Array.from({ length: n }, (_, s) => frameOf(lab, s, s % 2 === 0 ? 9000 : 1500));
        const echoes = collectEchoes(lab, sender, n, (s) => frames[s]!);
        await sendAll(sender, frames);
        const { seen } = await echoes;
        assert.equal(seen.size, n);
        checkCounters(fwd, n, n);
        assert.equal(fwd.stats().kernel.tx_invalid_descs, 0);
      } finally {
        sender.close();
        fwd.close();
      }
    },
    { mtu: 9000 },
  );
});

test('handler ctx.send (poll busy): a new frame per packet comes back; the received frames are recycled (dropped = received)', async () => {
  await withLab(async (lab) => {
    const fwd = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, handler: path.join(HANDLERS, 'echo-copy.mjs'), poll: 'busy', bind: 'copy' });
    const sender = open({ iface: lab.tx.ifname, netns: lab.tx.netns.fd, tx: true, bind: 'copy' });
    try {
      const n = 3000; // more than the UMEM's frames: the sent copies' frames come back through the completion ring
      const frames = Array.from({ length: n }, (_, s) => frameOf(lab, s, 64));
      const echoes = collectEchoes(lab, sender, n, (s) => frames[s]!);
      await sendAll(sender, frames);
      const { seen } = await echoes;
      assert.equal(seen.size, n);
      checkCounters(fwd, n, 0);
      const s = fwd.stats();
      assert.equal(s.handler!.sent, n);
      assert.equal(s.sent, n);
      assert.equal(s.handler!.dropped, n);
    } finally {
      sender.close();
      fwd.close();
    }
  });
});

test('frame accounting under a forwarding handler: the frame tracker checks every frame\'s owner at every batch, over more frames than the fill ring holds', async () => {
  await withLab(async (lab) => {
    // the receiver under open({ handler }), with the debug frame tracker on (src/xsk/frames.ts)
    const host = pathToFileURL(path.join(ROOT, 'dist', 'src', 'api', 'handler-host.js')).href;
    const rx = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, poll: 'worker', bind: 'copy', trackFrames: true, handler: { host, module: pathToFileURL(L2FWD).href } });
    const sender = open({ iface: lab.tx.ifname, netns: lab.tx.netns.fd, tx: true, bind: 'copy' });
    try {
      const n = 5000; // the fill ring holds 2048: forwarded frames must come back to it through completions
      const frames = Array.from({ length: n }, (_, s) => frameOf(lab, s, 64));
      const echoes = collectEchoes(lab, sender, n, (s) => frames[s]!);
      await sendAll(sender, frames);
      assert.equal((await echoes).seen.size, n);
      assert.equal(rx.error, null, 'no frame accounting error in the worker');
      const h = rx.stats().handler!;
      assert.deepEqual([h.handled, h.forwarded, h.dropped], [n, n, 0]);
    } finally {
      sender.close();
      rx.close();
    }
    assert.equal(rx.error, null);
  });
});

test('a handler that throws: one EHANDLER line naming the module; receiving on that queue ends, close() leaves nothing', async () => {
  await withLab(async (lab) => {
    const module = path.join(HANDLERS, 'throws.mjs');
    const fwd = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, handler: module });
    const sender = open({ iface: lab.tx.ifname, netns: lab.tx.netns.fd, tx: true, bind: 'copy' });
    try {
      const failed = new Promise<AfxdpError>((resolve) => fwd.onError(resolve));
      await sendAll(sender, Array.from({ length: 10 }, (_, s) => frameOf(lab, s, 64)));
      const e = await failed;
      assert.equal(e.code, 'EHANDLER');
      assert.ok(e.message.includes(pathToFileURL(module).href), e.message);
      assert.match(e.message, /threw on queue 0: the handler failed on purpose$/);
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.equal(fwd.error, e);
      const h = fwd.stats().handler!;
      assert.equal(h.handled, h.forwarded + h.dropped);
    } finally {
      sender.close();
      fwd.close();
    }
    assert.deepEqual(await xdpOn(lab), []);
  });
});

test('a handler module that does not exist, cannot load or has no default export: one line at open(), nothing attached', async () => {
  await withLab(async (lab) => {
    const base = { iface: lab.rx.ifname, netns: lab.rx.netns.fd };
    const cases: Array<[string | URL, string, RegExp]> = [
      [path.join(HANDLERS, 'missing.mjs'), 'EUSAGE', /handler module .*missing\.mjs does not exist/],
      ['relative/handler.mjs', 'EUSAGE', /must be a URL or an absolute path/],
      [path.join(HANDLERS, 'no-default.mjs'), 'EHANDLER', /no-default\.mjs has no default export function/],
      [path.join(ROOT, 'test', 'fixtures', 'send_frames.py'), 'EHANDLER', /send_frames\.py could not be loaded/],
    ];
    for (const [handler, code, message] of cases) {
      assert.throws(
        () => open({ ...base, handler }),
        (e: unknown) => {
          assert.ok(e instanceof AfxdpError, String(e));
          assert.equal(e.code, code, e.message);
          assert.match(e.message, message);
          assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
          return true;
        },
      );
      assert.deepEqual(await xdpOn(lab), [], 'nothing attached');
    }
    assert.throws(() => open({ ...base, handler: L2FWD, poll: 'event' }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /worker or busy/.test(e.message));
    // the queue is free again: a good handler opens right after
    const ok = open({ ...base, handler: L2FWD });
    ok.close();
    await waitFor(async () => (await xdpOn(lab)).length === 0, { what: 'the program to be detached' });
  });
});

test("the rehearsal runs the handler host's path, never the user's handler: its counters start at 0", async () => {
  await withLab(async (lab) => {
    // open() returns once each worker has rehearsed its receive path on synthetic packets
    const fwd = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, handler: L2FWD });
    try {
      const h = fwd.stats().handler!;
      assert.equal(h.handled, 0, 'no synthetic packet counted');
      assert.ok(h.counters.every((c) => c === 0), `the user's handler saw no synthetic packet: ${h.counters.join(',')}`);
      assert.equal(fwd.latency().count, 0);
      assert.equal(fwd.error, null);
    } finally {
      fwd.close();
    }
  });
});
