/**
 * The one option check (rx/bounds.ts) and the broker's limits: hostile numbers are refused before
 * any allocation by open(), the CLI and the broker alike; every field of a broker request is
 * checked on the broker (types, ranges, unknown and duplicate keys); a uid's connections, queues
 * and UMEM are bounded, idle connections are closed, and one uid at its connection limit does not
 * keep another from being served. Jumbo frames and busy polling through the broker.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, AfxdpError, type Report } from '../src/index.js';
import { Broker, DEFAULT_LIMITS } from '../src/entry/broker.js';
import { checkOption, checkQueues, LatencyReceiver, RING_SIZE_MAX, FRAME_COUNT_MAX } from '../src/entry/receiver.js';
import { checkRequest, checkEnvelope } from '../src/run/broker-limits.js';
import { repeatedKey, sendMessage, receiveMessage, requestQueues, BROKER_PROTOCOL } from '../src/sys/broker-wire.js';
import { native } from '../src/native.js';
import { runCli, assertOneLineError, assertNoLeftovers, ROOT, type CliResult } from './lib/cli.js';
import { withLab, openGenerator, xdpOn } from './lib/lab.js';
import { startServe, asUser, NOBODY, type ServeRun } from './lib/broker-soak.js';
import { waitFor } from './lib/wait.js';

const usage = (re: RegExp) => (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && re.test(e.message) && !e.message.includes('\n');

describe('the one option check', () => {
  test('open() refuses a ring of 2^30 entries, 2^31 frames and a TX ring of 2^20 before anything is allocated', () => {
    const rss = process.memoryUsage().rss;
    // 'lo' exists, so nothing but the check can stop these; the checks run before the interface lookup
    assert.throws(() => open({ iface: 'lo', ringSize: 2 ** 30 }), usage(/^open: options\.ringSize must be a power of two from 8 to 8192, got 1073741824$/));
    assert.throws(() => open({ iface: 'lo', frameCount: 2 ** 31 }), usage(/^open: options\.frameCount must be a whole number from 64 to 16384, got 2147483648$/));
    assert.throws(() => open({ iface: 'lo', tx: 2 ** 20 }), usage(/^open: options\.tx must be 0 or a power of two from 8 to 8192, got 1048576$/));
    assert.throws(() => open({ iface: 'lo', ringSize: '2048' as never }), usage(/ringSize must be .*, got the string "2048"$/));
    assert.throws(() => open({ iface: 'lo', queues: Array.from({ length: 1000 }, (_, i) => i) }), usage(/^open: options\.queues must be 'all' or a list of 1 to 64 queue ids, got 1000 entries$/));
    // the receiver's own options (the run pipeline, LatencyProbe) go through the same check
    assert.throws(() => LatencyReceiver.open({ ifname: 'lo', ringSize: 2 ** 30 }), usage(/^ringSize must be a power of two from 8 to 8192, got 1073741824$/));
    assert.throws(() => LatencyReceiver.open({ ifname: 'lo', frameCount: 2 ** 31 }), usage(/^frameCount must be a whole number from 64 to 16384/));
    assert.ok(process.memoryUsage().rss < rss + 64 * 1024 * 1024, 'nothing large was mapped');
  });

  test('afxdp latency with hostile numbers: one usage line, exit 2, before anything is opened', async () => {
    assertOneLineError(await runCli(['latency', '--iface', 'lo', '--ring-size', '1073741824']), 2, /--ring-size must be a power of two from 8 to 8192, got 1073741824/);
    assertOneLineError(await runCli(['latency', '--iface', 'lo', '--ring-size', '-0']), 2, /--ring-size must be a power of two from 8 to 8192, got the string "-0"/);
    assertOneLineError(await runCli(['latency', '--iface', 'lo', '--ring-size', '1000']), 2, /--ring-size must be a power of two from 8 to 8192 \(e\.g\. 64, 512, 2048\), got 1000/);
    assertOneLineError(await runCli(['serve', '--socket', '/nonexistent/x.sock', '--max-ring-size', '16384']), 2, /--max-ring-size must be a power of two from 8 to 8192, got 16384/);
  });

  test('checkOption: type, range, power of two, choice, -0; checkQueues: duplicates and length', () => {
    assert.equal(checkOption('ringSize', 2048), 2048);
    assert.equal(checkOption('txRingSize', 0), 0);
    for (const bad of ['2048', 2048.5, -2048, -0, Infinity, NaN, null, [2048], { v: 2048 }, true, 2 ** 53 + 2]) assert.throws(() => checkOption('ringSize', bad), usage(/^ringSize must be a power of two from 8 to 8192, got /));
    assert.throws(() => checkOption('ringSize', 4096, { max: 1024, raise: "the broker's --max-ring-size" }), usage(/^ringSize 4096 is above the limit of 1024$/));
    assert.throws(() => checkOption('strategy', 'tail'), usage(/^strategy must be one of auto, meta, prepend, map, got the string "tail"$/));
    assert.throws(() => checkOption('hints', 'true'), usage(/^hints must be one of true, false, auto, got the string "true"$/));
    assert.throws(() => checkOption('frameSize', '4096'), usage(/got the string "4096"/));
    assert.throws(() => checkOption('txMetadataLen', 12), usage(/^txMetadataLen must be a multiple of 8/));
    assert.throws(() => checkQueues([0, 0]), usage(/lists a queue twice/));
    assert.throws(() => checkQueues([64]), usage(/^queues\[0\] must be a whole number from 0 to 63, got 64$/));
    assert.throws(() => checkQueues('some'), usage(/got the string "some"/));
    assert.throws(() => checkOption('ringSize', 'x'.repeat(60_000)), (e: unknown) => e instanceof AfxdpError && e.message.length < 120, 'a long value is cut in the message');
  });

  test('a broker request: every field checked, unknown and duplicate keys, __proto__, nesting, strings for numbers', () => {
    const base = { version: BROKER_PROTOCOL, op: 'open', ifname: 'eth0', queues: [0], options: { ringSize: 2048 } };
    const check = (r: unknown): unknown => checkRequest(checkEnvelope(r), DEFAULT_LIMITS);
    assert.deepEqual(check(base), { ifname: 'eth0', queues: [0], options: { ringSize: 2048 } });
    assert.throws(() => check({ ...base, options: { ringSize: '2048' } }), usage(/^options\.ringSize must be a power of two from 8 to 8192, got the string "2048"$/));
    assert.throws(() => check({ ...base, options: { ringSize: 1073741824 } }), usage(/^options\.ringSize 1073741824 is above the limit of 8192$/));
    assert.throws(() => check({ ...base, options: { frameCount: 2 ** 31 } }), usage(/^options\.frameCount 2147483648 is above the limit of 16384$/));
    assert.throws(() => check(JSON.parse('{"version":1,"op":"open","ifname":"eth0","options":{"__proto__":{"ringSize":8}}}')), usage(/^option "__proto__" cannot be asked of the broker$/));
    assert.throws(() => check({ ...base, extra: 1 }), usage(/^the request has an unknown field "extra"$/));
    assert.throws(() => check({ ...base, options: { ringSize: { $gt: 1 } } }), usage(/got an object$/));
    assert.throws(() => check({ ...base, options: [1] }), usage(/^options must be an object, got an array$/));
    assert.throws(() => check({ ...base, ifname: 'x'.repeat(5000) }), usage(/^ifname must be an interface name .*…"$/));
    assert.throws(() => check({ ...base, queues: Array.from({ length: 1000 }, (_, i) => i) }), usage(/got 1000 entries$/));
    assert.throws(() => check({ ...base, op: undefined }), usage(/^the request has no op field$/));
    assert.throws(() => check({ ...base, version: 'x'.repeat(1000) }), (e: unknown) => e instanceof AfxdpError && e.code === 'EBROKER' && e.message.length < 120);
    assert.equal(repeatedKey('{"a":1,"b":{"a":2},"c":[{"a":1,"a":2}]}'), 'a');
    assert.equal(repeatedKey('{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}],"d":"\\"a\\":"}'), null);
    assert.equal(repeatedKey('{"options":{"ringSize":8,"ringSize":8192}}'), 'ringSize');
  });
});

let dir = '';
const brokers = new Set<ServeRun>();
afterEach(async () => {
  for (const b of brokers) b.child.kill('SIGKILL');
  brokers.clear();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = '';
  await assertNoLeftovers();
});

async function serve(lab: Parameters<typeof startServe>[0], flags: string[], as: string[] = []): Promise<ServeRun> {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-broker-limits-'));
    fs.chmodSync(dir, 0o755);
  }
  const b = await startServe(lab, dir, flags, as);
  brokers.add(b);
  return b;
}

async function stop(b: ServeRun): Promise<CliResult> {
  b.child.kill('SIGTERM');
  const r = await b.done;
  brokers.delete(b);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

/** Sends a request on a connection of its own; the answer's error (or 'granted') and how long it took. */
function ask(socket: string, req: object): { answer: string; ms: number } {
  const c = native().unixConnect(socket);
  try {
    const t0 = performance.now();
    assert.ok(sendMessage(c, req));
    const got = receiveMessage(c, 5000);
    const ms = performance.now() - t0;
    assert.ok(got !== null && got !== 'closed', 'an answer');
    for (const f of got.fds) native().close(f);
    const a = got.msg as { ok: boolean; error?: { message: string; hint?: string } };
    return { answer: a.ok ? 'granted' : `${a.error!.message} (${a.error!.hint ?? ''})`, ms };
  } finally {
    native().close(c);
  }
}

describe('the broker\'s limits', () => {
  test('afxdp serve\'s limit flags parse into the limits; bad values are one usage line; Broker.listen checks its limits', async () => {
    const socket = path.join(os.tmpdir(), 'afxdp-never.sock');
    const flags = ['--max-ring-size', '4096', '--max-frame-count', '8192', '--max-connections', '64', '--max-connections-per-uid', '8', '--max-queues-per-uid', '4', '--max-umem-per-uid', '256', '--max-umem', '512', '--max-ring-entries-per-uid', '65536', '--request-timeout', '2.5'];
    const ok = await runCli(['serve', '--socket', socket, ...flags, '--help']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /--max-connections-per-uid <n>\s+connections open at once per uid \(default: 16\)/);
    for (const [flag, value, re] of [
      ['--max-ring-size', '1000', /--max-ring-size must be a power of two from 8 to 8192 \(e\.g\. 64, 512, 2048\), got 1000/],
      ['--max-frame-count', '99999', /--max-frame-count must be a whole number from 64 to 16384, got 99999/],
      ['--max-connections', '0', /--max-connections must be a whole number from 1/],
      ['--max-connections-per-uid', '-1', /--max-connections-per-uid must be a whole number/],
      ['--max-queues-per-uid', 'x', /--max-queues-per-uid must be a whole number/],
      ['--max-umem-per-uid', '1e9', /--max-umem-per-uid must be a whole number/],
      ['--max-umem', '0', /--max-umem must be a whole number/],
      ['--max-ring-entries-per-uid', '', /--max-ring-entries-per-uid must be a whole number/],
      ['--request-timeout', '100', /--request-timeout must be a number from 0.1 to 60/],
    ] as const) {
      assertOneLineError(await runCli(['serve', '--socket', socket, flag, value]), 2, re);
    }
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-broker-api-'));
    try {
      const broker = Broker.listen({ socket: path.join(dir2, 'b.sock'), limits: { connectionsPerUid: 4 } });
      try {
        assert.deepEqual(broker.limits, { ...DEFAULT_LIMITS, connectionsPerUid: 4 });
        assert.equal(broker.limits.ringSize, RING_SIZE_MAX);
        assert.equal(broker.limits.frameCount, FRAME_COUNT_MAX);
      } finally {
        broker.close();
      }
      assert.throws(() => Broker.listen({ socket: path.join(dir2, 'c.sock'), limits: { ringSize: 1 << 20 } }), usage(/^--max-ring-size must be a power of two from 8 to 8192, got 1048576$/));
      assert.throws(() => Broker.listen({ socket: path.join(dir2, 'c.sock'), limits: { connections: 0 } }), usage(/^broker limit connections \(--max-connections\) must be a whole number ≥ 1, got 0$/));
    } finally {
      fs.rmSync(dir2, { recursive: true, force: true });
    }
  });

  test('hostile numbers over the wire are refused in under a second, nothing is allocated, the broker stays responsive', async () => {
    await withLab(async (lab) => {
      const b = await serve(lab, ['--max-ring-size', '1024']);
      const req = (options: object): object => ({ version: BROKER_PROTOCOL, op: 'open', ifname: lab.rx.ifname, queues: [0], options });
      const cases: Array<[object, RegExp]> = [
        [req({ ringSize: 1073741824 }), /^options\.ringSize 1073741824 is above the limit of 1024 \(ask for 1024 or less, or have the broker's --max-ring-size raised \(up to 8192\)\)$/],
        [req({ ringSize: 65536 }), /^options\.ringSize 65536 is above the limit of 1024/],
        [req({ txRingSize: 1048576 }), /^options\.txRingSize 1048576 is above the limit of 1024/],
        [req({ ringSize: '2048' }), /^options\.ringSize must be a power of two from 8 to 1024, got the string "2048"/],
        [req({ frameCount: 2 ** 31 }), /^options\.frameCount 2147483648 is above the limit of 16384 \(ask for 16384 or less \(the broker's --max-frame-count cannot go higher\)\)$/],
        [{ version: BROKER_PROTOCOL, op: 'open', ifname: lab.rx.ifname, queues: Array.from({ length: 1000 }, (_, i) => i) }, /^queues must be 'all' or a list of 1 to 64 queue ids, got 1000 entries/],
      ];
      // a duplicate key: JSON.parse would keep the last one silently
      const c = native().unixConnect(b.socket);
      try {
        const text = `{"version":${BROKER_PROTOCOL},"op":"open","ifname":"${lab.rx.ifname}","options":{"ringSize":8,"ringSize":8192}}`;
        assert.equal(native().sendFds(c, new TextEncoder().encode(text), new Int32Array(0)), 0);
        const got = receiveMessage(c, 5000);
        assert.ok(got !== null && got !== 'closed');
        assert.deepEqual((got.msg as { error: unknown }).error, { code: 'EUSAGE', message: 'the request has the key "ringSize" twice in one object', hint: 'send each field once' });
      } finally {
        native().close(c);
      }
      for (const [r, re] of cases) {
        const { answer, ms } = ask(b.socket, r);
        assert.match(answer, re);
        assert.ok(ms < 1000, `answered in ${ms} ms`);
      }
      assert.deepEqual(await xdpOn(lab), [], 'nothing attached for a refused request');
      // the long queue list made no long log line
      assert.ok(b.log().split('\n').every((l) => l.length <= 310), 'log lines are bounded');
      const ok = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '0.3', '--json', '--ring-size', '1024'], { wrap: asUser(NOBODY) });
      assert.equal(ok.code, 0, ok.stderr);
      await stop(b);
    });
  });

  test('one uid at its connection limit: its next connection is refused naming the flag, another uid is served; idle connections are closed at the deadline', async () => {
    await withLab(async (lab) => {
      const b = await serve(lab, ['--max-connections-per-uid', '4', '--request-timeout', '1']);
      // this process (uid 0) holds 4 idle connections, its limit
      const idle = Array.from({ length: 4 }, () => native().unixConnect(b.socket));
      const t0 = performance.now();
      try {
        await waitFor(() => /listening/.test(b.log()), { what: 'the log' });
        // a 5th: refused at once with one line naming the limit
        assert.throws(() => requestQueues(b.socket, { ifname: lab.rx.ifname, queues: [0], options: {} }), (e: unknown) => e instanceof AfxdpError && /^broker .*: uid 0 has 4 connections open to the broker, its limit per uid$/.test(e.message) && /--max-connections-per-uid/.test(e.hint ?? ''));
        // another uid is served meanwhile
        const other = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '0.3', '--json'], { wrap: asUser(NOBODY) });
        assert.equal(other.code, 0, other.stderr);
        // the idle ones get one line and are closed within the deadline (+ the sweep's period)
        for (const c of idle) {
          const got = receiveMessage(c, 5000);
          assert.ok(got !== null && got !== 'closed');
          assert.match((got.msg as { error: { message: string } }).error.message, /^no request within 1 s of connecting$/);
          assert.equal(receiveMessage(c, 2000), 'closed');
        }
        assert.ok(performance.now() - t0 > 1000);
        // a fresh idle connection: closed between the deadline and the deadline plus the sweep's period
        const late = native().unixConnect(b.socket);
        try {
          const t1 = performance.now();
          const got = receiveMessage(late, 5000);
          const waited = performance.now() - t1;
          assert.ok(got !== null && got !== 'closed');
          assert.ok(waited >= 950 && waited < 1800, `closed after ${waited} ms`);
        } finally {
          native().close(late);
        }
      } finally {
        for (const c of idle) native().close(c);
      }
      await stop(b);
    });
  });

  test('out of fds: the broker pauses accepting instead of spinning, and serves again once fds are free', async () => {
    await withLab(async (lab) => {
      // 64 fds: Node takes ~25; the connections below take the rest
      const b = await serve(lab, ['--max-connections', '1000', '--max-connections-per-uid', '1000'], ['prlimit', '--nofile=64:64', '--']);
      const conns: number[] = [];
      try {
        for (let i = 0; i < 80; i++) conns.push(native().unixConnect(b.socket));
        await waitFor(() => /accept failed: errno 24/.test(b.log()), { what: 'the broker to run out of fds', timeoutMs: 5_000, detail: () => b.log() });
        // paused, it tries again every 200 ms: a few failed accepts per second, not thousands
        const l0 = b.logged();
        await new Promise((r) => setTimeout(r, 1000));
        const lines = (b.logged() - l0) / 'afxdp: accept failed: errno 24\n'.length;
        assert.ok(lines <= 10, `${lines} failed accepts logged in 1 s while out of fds`);
      } finally {
        for (const c of conns) native().close(c);
      }
      const ok = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '0.3', '--json'], { wrap: asUser(NOBODY) });
      assert.equal(ok.code, 0, ok.stderr);
      await stop(b);
    });
  });

  test('queues and UMEM per uid: a request over the limit is refused naming it and the flag; a held queue counts until it is given back', async () => {
    await withLab(async (lab) => {
      const b = await serve(lab, ['--max-queues-per-uid', '1', '--max-umem-per-uid', '24']);
      const held = requestQueues(b.socket, { ifname: lab.rx.ifname, queues: [0], options: { ringSize: 64, frameCount: 1024 } });
      try {
        assert.throws(() => requestQueues(b.socket, { ifname: lab.rx.ifname, queues: [1], options: { ringSize: 64, frameCount: 1024 } }),
          (e: unknown) => e instanceof AfxdpError && e.code === 'EBUSY' && /uid 0 holds 1 queue: 1 more would make 2, over the limit of 1$/.test(e.message) && /--max-queues-per-uid/.test(e.hint ?? ''));
      } finally {
        for (const f of held.fds) native().close(f);
        native().close(held.conn);
      }
      // given back: the next request counts from zero; but 8192 frames × 4 KiB = 32 MiB is over 24 MiB
      await waitFor(async () => {
        try {
          const again = requestQueues(b.socket, { ifname: lab.rx.ifname, queues: [1], options: { ringSize: 64, frameCount: 1024 } });
          for (const f of again.fds) native().close(f);
          native().close(again.conn);
          return true;
        } catch (e) {
          if (/held by another client|holds 1 queue/.test((e as Error).message)) return false;
          throw e;
        }
      }, { what: 'the queue limit to count the hold given back', timeoutMs: 5_000 });
      assert.throws(() => requestQueues(b.socket, { ifname: lab.rx.ifname, queues: [0], options: { frameCount: 8192 } }),
        (e: unknown) => e instanceof AfxdpError && /uid 0 holds 0 MiB of UMEM: 32 MiB more would make 32 MiB, over the limit of 24 MiB$/.test(e.message) && /--max-umem-per-uid/.test(e.hint ?? ''));
      await stop(b);
    }, { queues: 2 });
  });
});

describe('through the broker: jumbo frames and busy polling', () => {
  test('MTU 9000: a brokered client without capabilities receives 9000-byte packets whole (multi-buffer sockets the broker bound)', async () => {
    await withLab(async (lab) => {
      const b = await serve(lab, []);
      const n = 200;
      let sending: Promise<number> | undefined;
      const r = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--packets', String(n), '--json', '--mode', 'native'], {
        wrap: asUser(NOBODY),
        onStderr: (chunk) => {
          if (!sending && /measuring on/.test(chunk)) {
            const gen = openGenerator(lab, { size: 9000 });
            sending = gen.send({ count: n, rate: 10_000 }).finally(() => gen.close());
          }
        },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sending, n);
      const rep = JSON.parse(r.stdout) as Report;
      assert.equal(rep.packets.received, n, JSON.stringify(rep.packets));
      assert.equal(rep.packets.meta_valid, n);
      assert.equal(rep.packets.kernel.rx_dropped, 0);
      assert.deepEqual([rep.multi_buffer?.sg, rep.multi_buffer?.packets, rep.multi_buffer?.mtu], [true, n, 9000]);
      assert.match(b.log(), /multi-buffer\)/);
      await stop(b);
    }, { mtu: 9000 });
  });

  test('--busy-poll through the broker: the broker sets SO_BUSY_POLL (CAP_NET_ADMIN) for a client that has no capability; the report shows it', async () => {
    await withLab(async (lab) => {
      const b = await serve(lab, []);
      const n = 300;
      let sending: Promise<number> | undefined;
      const r = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--packets', String(n), '--json', '--poll', 'worker', '--busy-poll', '50'], {
        wrap: asUser(NOBODY),
        onStderr: (chunk) => {
          if (!sending && /measuring on/.test(chunk)) {
            const gen = openGenerator(lab);
            sending = gen.send({ count: n, rate: 20_000 }).finally(() => gen.close());
          }
        },
      });
      assert.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(r.stdout) as Report;
      assert.equal(rep.packets.received, await sending);
      assert.deepEqual({ usecs: rep.tuning?.busy_poll?.usecs, prefer: rep.tuning?.busy_poll?.prefer }, { usecs: 50, prefer: true });
      assert.match(b.log(), /busy poll 50 µs/);
      // over the bound: one line from the broker's check
      assert.match(ask(b.socket, { version: BROKER_PROTOCOL, op: 'open', ifname: lab.rx.ifname, queues: [0], options: { busyPoll: 1e9 } }).answer, /^options\.busyPoll must be a whole number from 0 to 10000, got 1000000000/);
      await stop(b);
    });
  });

  test('the broker runs as a user of its own with only the unit\'s ambient capabilities (examples/afxdp-broker.service: User=, AmbientCapabilities=)', async () => {
    await withLab(async (lab) => {
      const unit = fs.readFileSync(path.join(ROOT, 'examples', 'afxdp-broker.service'), 'utf8');
      const caps = /^AmbientCapabilities=(.+)$/m.exec(unit)![1]!.trim().split(/\s+/).map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
      assert.equal(/^CapabilityBoundingSet=(.+)$/m.exec(unit)![1]!.trim(), /^AmbientCapabilities=(.+)$/m.exec(unit)![1]!.trim(), 'the bounding set is exactly what the broker is given');
      // uid 65533 in group nogroup: the socket's group is its own, so no CAP_CHOWN is needed
      const as = ['setpriv', '--reuid=65533', `--regid=${NOBODY}`, '--clear-groups', `--inh-caps=-all,${caps}`, `--ambient-caps=-all,${caps}`, `--bounding-set=-all,${caps}`, '--'];
      // its runtime directory is its own (RuntimeDirectory= with User=)
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-broker-user-'));
      fs.chmodSync(dir, 0o755);
      fs.chownSync(dir, 65533, NOBODY);
      const b = await serve(lab, [], as);
      const status = fs.readFileSync(`/proc/${b.child.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+65533\s/m);
      const ok = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '0.3', '--json'], { wrap: asUser(NOBODY) });
      assert.equal(ok.code, 0, `${ok.stderr}\n${b.log()}`);
      await stop(b);
    });
  });
});
