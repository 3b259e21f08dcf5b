/**
 * The public API (src/index.ts) against the real kernel: receive in both forms, send, custom
 * programs, and misuse — every wrong call is a typed AfxdpError, never a crash or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { open, loadProgram, AfxdpError, AfxdpSocket, Batch, INCLUDE_DIR, type AfxdpErrorCode } from '../src/index.js';
import { Lab } from '../src/entry/lab.js';
import { REPORT_SCHEMA } from '../src/entry/report.js';
import { ROOT } from './lib/cli.js';
import { withLab, openGenerator, xdpOn } from './lib/lab.js';
import { waitFor, waitForValue } from './lib/wait.js';

const FILTER_OBJ = path.join(ROOT, 'build', 'examples', 'xdp-filter.bpf.o');
const SEED_OBJ = path.join(ROOT, 'build', 'test-bpf', 'seed.bpf.o');

function throwsCode(fn: () => unknown, code: AfxdpErrorCode, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AfxdpError, `an AfxdpError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** XDP attached to the lab's rx interface, by asking the kernel (ip -j link in the namespace). */
async function xdpAttached(lab: Lab): Promise<boolean> {
  return (await xdpOn(lab)).includes(lab.rx.ifname);
}

test('open() + for await: batches carry bytes, metadata and latency; stats and report add up; close detaches', async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: `/proc/${lab.rx.netns.pid}/ns/net` });
    assert.ok(sock instanceof AfxdpSocket);
    assert.equal(sock.programName, 'afxdp_stamp');
    assert.ok(await xdpAttached(lab));
    const gen = openGenerator(lab);
    const sending = gen.send({ count: 300, rate: 20_000 });
    let n = 0;
    let views = 0;
    let firstView: unknown = null;
    for await (const batch of sock) {
      assert.ok(batch instanceof Batch);
      for (let i = 0; i < batch.length; i++) {
        const p = batch.packet(i);
        firstView ??= p;
        if (p === firstView) views++;
        assert.equal(p.length, 64);
        assert.equal(batch.lengthOf(i), 64);
        assert.equal(batch.offsetOf(i), p.offset);
        // the generator's frame: IPv4 UDP from 198.18.0.1 to port 9
        assert.deepEqual([...p.buffer.subarray(p.offset + 26, p.offset + 30)], [...lab.tx.ipBytes]);
        assert.deepEqual([...p.bytes().subarray(36, 38)], [0, 9]);
        assert.ok(p.hasMeta);
        assert.equal(p.queue, 0);
        assert.ok(p.latencyNs > 0 && p.latencyNs < 10e9, `latency ${p.latencyNs}`);
        assert.equal(batch.latencyOf(i), p.latencyNs);
        assert.ok(p.xdpTimestampNs > 0 && p.xdpTimestampNs <= batch.receivedAtNs);
        assert.ok(Number.isNaN(p.hwTimestampNs), 'veth has no HW timestamps');
      }
      n += batch.length;
      if (n >= 300) break;
    }
    await sending;
    gen.close();
    assert.equal(n, 300);
    assert.equal(views, 300, 'packet(i) hands out one reused view object');
    const s = sock.stats();
    assert.equal(s.received, 300);
    assert.equal(s.metaValid, 300);
    assert.equal(s.program?.redirected, 300);
    assert.equal(s.kernel.rx_dropped, 0);
    const rep = sock.report({ sent: 300 });
    assert.equal(rep.schema, REPORT_SCHEMA);
    assert.equal(rep.packets.received, 300);
    assert.equal(rep.latency_ns.xdp_to_user.count, 300);
    assert.equal(sock.latency().count, 300);
    sock.close();
    sock.close(); // idempotent
    assert.ok(!(await xdpAttached(lab)), 'close() detached the program');
    assert.equal(sock.stats().received, 300, 'the last counters stay readable after close');
  });
});

test('onBatch() callback form and `await using` (Symbol.asyncDispose) closing at scope end', async () => {
  await withLab(async (lab) => {
    assert.equal(typeof Symbol.asyncDispose, 'symbol');
    let outer: AfxdpSocket | undefined;
    {
      await using sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, batchSize: 16 });
      outer = sock;
      let got = 0;
      let maxBatch = 0;
      const all = new Promise<void>((resolve) => {
        sock.onBatch((b) => {
          got += b.length;
          maxBatch = Math.max(maxBatch, b.length);
          if (got >= 200) resolve();
        });
      });
      throwsCode(() => sock.onBatch(() => {}), 'ESTATE', /already has a onBatch|already has an? onBatch/);
      const gen = openGenerator(lab);
      await gen.send({ count: 200, rate: 0 });
      gen.close();
      await all;
      assert.equal(got, 200);
      assert.ok(maxBatch <= 16);
    }
    assert.ok(outer.closed, 'await using closed the socket');
    assert.ok(!(await xdpAttached(lab)));
  });
});

test('send(): frames from an AF_XDP socket reach the peer namespace', async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, tx: 512 });
    try {
      // a broadcast frame of an unused EtherType: the peer counts it in its RX packets
      const frame = new Uint8Array(60);
      frame.fill(0xff, 0, 6);
      frame.set(lab.rx.macBytes, 6);
      frame[12] = 0x88;
      frame[13] = 0xb5; // IEEE local experimental
      const before = await rxPackets(lab);
      let sent = 0;
      for (let i = 0; i < 10; i++) if (sock.send(frame)) sent++;
      sock.flush();
      assert.equal(sent, 10);
      assert.equal(sock.stats().sent, 10);
      let after = before;
      await waitFor(async () => (after = await rxPackets(lab)) - before >= 10, { what: 'the peer to count the 10 frames', detail: () => `${after - before} so far` });
      assert.equal(after - before, 10);
      throwsCode(() => sock.send(frame, 0, 4096 * 2), 'EUSAGE');
      throwsCode(() => sock.send(frame, 70), 'EUSAGE');
    } finally {
      sock.close();
    }
  });
});

/** A batch iterator owns the socket: onBatch() is refused while one runs (the public sign of it). */
function iterating(sock: AfxdpSocket): boolean {
  try {
    sock.onBatch(() => {});
  } catch (e) {
    if (e instanceof AfxdpError && e.code === 'ESTATE' && /batch iterator/.test(e.message)) return true;
    throw e;
  }
  sock.offBatch();
  return false;
}

async function rxPackets(lab: Lab): Promise<number> {
  const { stdout } = await lab.tx.netns.exec('ip', ['-j', '-s', 'link', 'show', 'dev', lab.tx.ifname]);
  return (JSON.parse(stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0]!.stats64.rx.packets;
}

test('custom program: loadProgram + open({ program }), map access, attach() without a socket, verifier errors', async () => {
  await withLab(async (lab) => {
    const prog = loadProgram(FILTER_OBJ);
    try {
      assert.equal(prog.name, 'xdp_filter');
      assert.equal(prog.xskMap, 'xsks');
      prog.update('allowed_ports', new Uint8Array(new Uint32Array([9]).buffer), new Uint8Array(new Uint32Array([1]).buffer));
      const v = new Uint8Array(4);
      assert.equal(prog.lookup('allowed_ports', new Uint8Array(new Uint32Array([9]).buffer), v), true);
      assert.equal(prog.lookup('allowed_ports', new Uint8Array(new Uint32Array([10]).buffer), v), false);
      throwsCode(() => prog.mapFd('nope'), 'EBPF', /no map named nope/);
      throwsCode(() => prog.update('allowed_ports', 'x' as unknown as Uint8Array, v), 'EUSAGE');

      const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, program: prog });
      assert.equal(sock.programName, 'xdp_filter');
      const gen = openGenerator(lab);
      await gen.send({ count: 50, rate: 0 });
      gen.close();
      let n = 0;
      await waitFor(() => {
        const b = sock.receive();
        if (b !== null) {
          n += b.length;
          assert.ok(b.packet(0).latencyNs > 0, 'stamped by afxdp_stamp_meta() in the custom program');
          b.release();
        }
        return n >= 50;
      }, { what: 'the 50 frames through the custom program', detail: () => `${n} received` });
      assert.equal(n, 50);
      assert.equal(sock.stats().program, null);
      sock.close();
      assert.ok(!(await xdpAttached(lab)));
      assert.equal(prog.closed, false, 'a program passed in stays the caller\'s');

      // attach() alone: a filter with no socket; close() detaches what it attached
      const a = prog.attach(lab.rx.ifname, { netns: lab.rx.netns.fd, mode: 'generic' });
      assert.equal(a.mode, 'generic');
      assert.ok(await xdpAttached(lab));
      throwsCode(() => prog.attach(lab.rx.ifname, { netns: lab.rx.netns.fd }), 'EBUSY');
    } finally {
      prog.close();
    }
    assert.ok(!(await xdpAttached(lab)), 'program.close() detached its attachment');
    throwsCode(() => prog.attach(lab.rx.ifname), 'ECLOSED');
    throwsCode(() => prog.mapFd('xsks'), 'ECLOSED');

    // a program the verifier rejects: EVERIFIER with the log in detail
    assert.throws(() => loadProgram(SEED_OBJ), (e: unknown) => e instanceof AfxdpError && e.code === 'EVERIFIER' && /invalid bpf_context access/.test(e.message + (e.detail ?? '')));
    throwsCode(() => loadProgram('/nonexistent.o'), 'EUSAGE');
    throwsCode(() => loadProgram(path.join(ROOT, 'package.json')), 'EBPF', /not a BPF object/);
    // a path given to open() is loaded and owned (and closed) by the socket
    const owned = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, program: FILTER_OBJ });
    assert.equal(owned.programName, 'xdp_filter');
    owned.close();
    assert.ok(!(await xdpAttached(lab)));
  });
});

test('misuse: use after close, double release, stale views, wrong argument types — typed errors, no crash', async () => {
  // argument checks need no lab and no privileges
  throwsCode(() => open(undefined as never), 'EUSAGE', /options must be an object/);
  throwsCode(() => open({ iface: 5 } as never), 'EUSAGE', /iface must be a non-empty string, got number 5/);
  throwsCode(() => open({ iface: 'lo', queue: -1 }), 'EUSAGE', /queue/);
  throwsCode(() => open({ iface: 'lo', queue: 1.5 }), 'EUSAGE', /queue/);
  throwsCode(() => open({ iface: 'lo', mode: 'fast' as never }), 'EUSAGE', /mode must be one of auto, native, generic/);
  throwsCode(() => open({ iface: 'lo', tx: 'yes' as never }), 'EUSAGE', /tx must be a boolean or a ring size/);
  throwsCode(() => open({ iface: 'lo', program: 42 as never }), 'EUSAGE', /program must be an XdpProgram/);
  throwsCode(() => open({ iface: 'lo', ringSize: 1000 }), 'EUSAGE', /power of two/);
  throwsCode(() => open({ iface: 'afxdp-nonexistent0' }), 'ENOIFACE');
  throwsCode(() => open({ iface: 'lo', netns: '/nonexistent/ns' }), 'ESYS', /cannot open network namespace/);
  throwsCode(() => loadProgram(7 as never), 'EUSAGE');

  await withLab(async (lab) => {
    throwsCode(() => open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, queue: 3 }), 'ENOQUEUE');
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
    throwsCode(() => sock.send(new Uint8Array(60)), 'ESTATE', /no TX ring/);
    throwsCode(() => sock.onBatch('x' as never), 'EUSAGE');
    const gen = openGenerator(lab);
    await gen.send({ count: 10, rate: 0 });
    gen.close();
    const b = await waitForValue(() => sock.receive(), { what: 'a batch of the 10 frames' });
    const p = b.packet(0);
    throwsCode(() => sock.receive(), 'ESTATE', /previous batch is not released/);
    throwsCode(() => b.packet(b.length), 'EUSAGE', /out of range/);
    throwsCode(() => b.packet('0' as never), 'EUSAGE');
    throwsCode(() => b.packet(Number.NaN), 'EUSAGE');
    const iter = sock.batches();
    // a second consumer while the first batch is out: the iterator's receive refuses
    await assert.rejects(iter.next(), (e: unknown) => e instanceof AfxdpError && e.code === 'ESTATE');
    b.release();
    throwsCode(() => b.release(), 'ESTATE', /already released/);
    throwsCode(() => b.packet(0), 'ESTATE', /released/);
    throwsCode(() => b.offsetOf(0), 'ESTATE');
    throwsCode(() => p.bytes(), 'ESTATE', /released/);

    // close while an iterator waits: the loop ends, no hang
    const waiting = (async () => {
      let k = 0;
      for await (const batch of sock) k += batch.length;
      return k;
    })();
    await waitFor(() => iterating(sock), { what: 'the iterator to wait for packets' });
    sock.close();
    assert.equal(await waiting, 0);
    throwsCode(() => sock.receive(), 'ECLOSED');
    throwsCode(() => sock.send(new Uint8Array(60)), 'ECLOSED');
    throwsCode(() => sock.onBatch(() => {}), 'ECLOSED');
    throwsCode(() => sock.flush(), 'ECLOSED');
    await assert.rejects(sock.batches().next(), (e: unknown) => e instanceof AfxdpError && e.code === 'ECLOSED');
    assert.equal(sock.stats().received, 10);
    assert.ok(!(await xdpAttached(lab)));

    // an aborted signal ends an iterator cleanly
    const s2 = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
    const ac = new AbortController();
    const loop = (async () => {
      for await (const _ of s2.batches({ signal: ac.signal })) assert.fail('no traffic was sent');
    })();
    await waitFor(() => iterating(s2), { what: 'the second iterator to wait for packets' });
    ac.abort();
    await loop;
    s2.close();
  });
  assert.ok(INCLUDE_DIR.endsWith(path.join('bpf', 'include')));
});

test('docs/API.md documents every export of every public entry (src/index.ts, src/entry/*.ts)', async () => {
  const fs = await import('node:fs');
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'API.md'), 'utf8');
  const entries = ['index.ts', ...fs.readdirSync(path.join(ROOT, 'src', 'entry')).map((f) => `entry/${f}`)].filter((f) => f.endsWith('.ts'));
  assert.ok(entries.length >= 6, entries.join(' '));
  const names = new Set<string>();
  for (const entry of entries) {
    const text = fs.readFileSync(path.join(ROOT, 'src', entry), 'utf8');
    const own = new Set<string>();
    for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
      for (const part of m[1]!.split(',')) {
        const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim();
        if (name) own.add(name);
      }
    }
    for (const m of text.matchAll(/export\s+(?:const|function|class)\s+(\w+)/g)) own.add(m[1]!);
    const runtime = (await import(`../src/${entry.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
    for (const k of Object.keys(runtime)) assert.ok(own.has(k), `runtime export ${k} is listed in src/${entry}`);
    for (const n of own) names.add(n);
  }
  assert.ok(names.size > 100, `found the exports (${names.size})`);
  const missing = [...names].filter((n) => !new RegExp(`\\b${n}\\b`).test(doc));
  assert.deepEqual(missing, [], 'exports missing from docs/API.md');
});
