/**
 * The broker (afxdp serve, docs/BROKER.md) on the real kernel: a process with an unprivileged uid
 * and no capability at all receives lab traffic through it (CLI and API, event and busy mode),
 * with exact accounting; refusals are one line and the broker keeps serving; a client's SIGKILL
 * frees the queue at once; the broker's SIGKILL leaves nothing attached and the client reports
 * what it measured and exits 1.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Broker } from '../src/entry/broker.js';
import type { Lab } from '../src/entry/lab.js';
import { LatencyReceiver } from '../src/entry/receiver.js';
import { runCli, assertNoLeftovers, assertOneLineError, ROOT, BIN, type CliResult } from './lib/cli.js';
import { runTool } from '../src/sys/exec.js';
import { withLab, inside, openGenerator, sendFrames, xdpOn } from './lib/lab.js';
import { waitFor } from './lib/wait.js';
import { native } from '../src/native.js';
import { sendMessage, receiveMessage, BROKER_PROTOCOL } from '../src/sys/broker-wire.js';

/** nobody:nogroup, no capability in any set, no supplementary group */
const NOBODY = 65534;
const asUser = (uid: number, gid = NOBODY): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'];

interface BrokerRun {
  child: ChildProcess;
  socket: string;
  done: Promise<CliResult>;
  /** the broker's log so far */
  log(): string;
}

let dir = '';
/** brokers still running when a test failed half-way */
const running = new Set<ChildProcess>();
afterEach(async () => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = '';
  await assertNoLeftovers();
});

/** A directory uid 65534 can reach (the broker's socket lives there); removed after the test. */
function socketDir(): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-broker-'));
  fs.chmodSync(dir, 0o755);
  // the client runs node on dist/ as uid 65534: everything on the way must be readable by others
  for (let p = ROOT; p !== '/'; p = path.dirname(p)) assert.ok((fs.statSync(p).mode & 0o005) === 0o005, `${p} must be o+rx for the unprivileged client`);
  return dir;
}

/** `afxdp serve` (`argv`: the command and extra flags) in the lab's rx namespace, allowing uid 65534 (group nogroup may connect). */
async function startBroker(lab: Lab, argv: string[] = ['serve']): Promise<BrokerRun> {
  const socket = path.join(dir || socketDir(), 'broker.sock');
  let child: ChildProcess | undefined;
  let log = '';
  const done = runCli([...argv, '--socket', socket, '--allow-uid', String(NOBODY), '--group', String(NOBODY), '--iface', lab.rx.ifname], {
    wrap: inside(lab),
    timeoutMs: 120_000,
    onSpawn: (c) => {
      child = c;
      running.add(c);
    },
    onStderr: (chunk) => (log += chunk),
  });
  void done.then(() => running.delete(child!));
  await waitFor(() => /broker listening/.test(log), { what: 'the broker to listen', timeoutMs: 20_000, detail: () => log });
  return { child: child!, socket, done, log: () => log };
}

async function stopBroker(b: BrokerRun): Promise<CliResult> {
  b.child.kill('SIGTERM');
  const r = await b.done;
  assert.equal(r.code, 0, `the broker ends cleanly on SIGTERM: ${r.stderr}`);
  assert.ok(!fs.existsSync(b.socket), 'the broker removes its socket file');
  return r;
}

/** The capability sets and uid of a running process, from /proc. */
function credsOf(pid: number): { uid: string; capEff: string; capPrm: string; capBnd: string } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const f = (k: string): string => new RegExp(`^${k}:\\s+(\\S+)`, 'm').exec(s)![1]!;
  return { uid: f('Uid'), capEff: f('CapEff'), capPrm: f('CapPrm'), capBnd: f('CapBnd') };
}

/** `afxdp latency --broker` as nobody with no capabilities; sends `packets` once it says it measures. */
async function brokeredRun(lab: Lab, b: BrokerRun, args: string[], packets: number, queue = 0): Promise<{ r: CliResult; sent: number; creds: ReturnType<typeof credsOf> | null }> {
  let sending: Promise<number> | undefined;
  let creds: ReturnType<typeof credsOf> | null = null;
  let child: ChildProcess | undefined;
  const r = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--packets', String(packets), '--json', ...args], {
    wrap: asUser(NOBODY),
    onSpawn: (c) => (child = c),
    onStderr: (chunk) => {
      if (!sending && /measuring on/.test(chunk)) {
        creds = credsOf(child!.pid!);
        const gen = openGenerator(lab, { queue });
        sending = gen.send({ count: packets, rate: 20_000 }).finally(() => gen.close());
      }
    },
  });
  assert.ok(sending, `the client never said it measures: ${r.stderr}`);
  return { r, sent: await sending, creds };
}

describe('afxdp serve: the broker', () => {
  for (const poll of ['event', 'busy'] as const) {
    test(`${poll} mode: uid 65534 without capabilities receives every packet with valid metadata`, async () => {
      await withLab(async (lab) => {
        const b = await startBroker(lab);
        const packets = 3000;
        const { r, sent, creds } = await brokeredRun(lab, b, ['--poll', poll], packets);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.stderr.includes(`; through the broker at ${b.socket}) until 3000 packets`), r.stderr);
        assert.equal(sent, packets);
        assert.deepEqual(creds, { uid: String(NOBODY), capEff: '0000000000000000', capPrm: '0000000000000000', capBnd: '0000000000000000' }, 'the client ran as nobody with empty capability sets');
        const doc = JSON.parse(r.stdout) as { poll: string; packets: { received: number; meta_valid: number; meta_invalid: number }; per_queue: Array<{ program: { redirected: number } }>; latency_ns: { xdp_to_user: { count: number; p50: number } } };
        assert.equal(doc.poll, poll);
        assert.equal(doc.packets.received, packets);
        assert.equal(doc.packets.meta_valid, packets);
        assert.equal(doc.packets.meta_invalid, 0);
        assert.equal(doc.latency_ns.xdp_to_user.count, packets);
        assert.ok(doc.latency_ns.xdp_to_user.p50 > 0 && doc.latency_ns.xdp_to_user.p50 < 1e9);
        // the program's counters, read by the client through the map fd the broker passed
        assert.equal(doc.per_queue[0]?.program.redirected, packets);
        // the client went: the broker detached at once
        await waitFor(async () => (await xdpOn(lab)).length === 0, { what: 'the broker to detach after the client ended', timeoutMs: 5_000 });
        assert.match(b.log(), new RegExp(`client pid \\d+ uid ${NOBODY} closed the connection: ${lab.rx.ifname} queue 0 released, program detached`));
        await stopBroker(b);
      });
    });
  }

  test('strategies map and prepend (driver without metadata simulated) and --csv, through the broker, as nobody', async () => {
    await withLab(async (lab) => {
      const b = await startBroker(lab);
      // nobody writes its output into a directory of its own: the file is nobody's
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      fs.chownSync(out, NOBODY, NOBODY);
      for (const strategy of ['map', 'prepend'] as const) {
        const csv = path.join(out, `${strategy}.csv`);
        // --debug-frames: every frame in exactly one place at every batch, from the broker's fill on
        const packets = 1000;
        const { r, sent } = await brokeredRun(lab, b, ['--strategy', strategy, '--simulate-no-meta', '--csv', csv, '--debug-frames'], packets);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(sent, packets);
        const doc = JSON.parse(r.stdout) as { strategy: string; packets: { received: number; meta_valid: number; by_strategy: Record<string, number> } };
        assert.equal(doc.strategy, strategy);
        assert.deepEqual({ received: doc.packets.received, valid: doc.packets.meta_valid, via: doc.packets.by_strategy[strategy] }, { received: packets, valid: packets, via: packets });
        assert.equal(fs.statSync(csv).uid, NOBODY);
        assert.equal(fs.readFileSync(csv, 'utf8').trim().split('\n').length, packets + 1, 'a header and one row per packet');
      }
      await stopBroker(b);
    });
  });

  test('API: open({ iface, queue, broker }) in a process without capabilities', async () => {
    await withLab(async (lab) => {
      const b = await startBroker(lab);
      const packets = 1000;
      const script = `
        import { open } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))};
        const s = open({ iface: ${JSON.stringify(lab.rx.ifname)}, queue: 0, broker: ${JSON.stringify(b.socket)}, poll: 'worker' });
        process.stderr.write('open\\n');
        let n = 0, valid = 0;
        s.onBatch((batch) => {
          for (let i = 0; i < batch.length; i++) { n++; if (batch.packet(i).hasMeta && batch.latencyOf(i) > 0) valid++; }
          if (n >= ${packets}) { const st = s.stats(); s.close(); console.log(JSON.stringify({ n, valid, program: st.program })); }
        });`;
      // a file, not node -e: a worker started while an eval'd module's main thread waits does not start
      const client = path.join(dir, 'client.mjs');
      fs.writeFileSync(client, script, { mode: 0o644 });
      let sending: Promise<number> | undefined;
      const r = await new Promise<CliResult>((resolve, reject) => {
        const [cmd, ...args] = [...asUser(NOBODY), process.execPath, client];
        const c = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        running.add(c);
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (!sending && /open/.test(stderr)) sending = sendFrames(lab, packets);
        });
        c.on('error', reject);
        c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sending, packets);
      const out = JSON.parse(r.stdout) as { n: number; valid: number; program: { redirected: number } };
      assert.deepEqual({ n: out.n, valid: out.valid, redirected: out.program.redirected }, { n: packets, valid: packets, redirected: packets });
      await stopBroker(b);
    });
  });

  test('refusals are one line and the broker keeps serving: uid not allowed, queue held, SIGKILL of the holder frees it at once', async () => {
    await withLab(async (lab) => {
      const b = await startBroker(lab);
      // uid 65533 can reach the socket (group nogroup) but is not on the allow list
      const denied = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '1'], { wrap: asUser(65533) });
      assertOneLineError(denied, 1, /^afxdp: broker .*: uid 65533 is not allowed to open queues on this broker \(ask its admin to add --allow-uid 65533/);
      // a client holds queue 0 ...
      let holder: ChildProcess | undefined;
      let holderErr = '';
      const holding = runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '60'], {
        wrap: asUser(NOBODY),
        onSpawn: (c) => (holder = c),
        onStderr: (chunk) => (holderErr += chunk),
      });
      await waitFor(() => /measuring on/.test(holderErr), { what: 'the first client to measure', timeoutMs: 20_000, detail: () => holderErr });
      assert.deepEqual(await xdpOn(lab), [lab.rx.ifname]);
      // ... so a second one is refused
      const busy = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '1'], { wrap: asUser(NOBODY) });
      assertOneLineError(busy, 1, /queue 0 of .* is held by another client \(pid \d+, uid 65534\)/);
      // SIGKILL: the broker sees the connection close and detaches
      holder!.kill('SIGKILL');
      assert.equal((await holding).signal, 'SIGKILL');
      await waitFor(async () => (await xdpOn(lab)).length === 0, { what: 'the broker to detach after the SIGKILL', timeoutMs: 5_000 });
      // and the next client takes the queue at once
      const { r, sent } = await brokeredRun(lab, b, [], 500);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { packets: { received: number } }).packets.received, sent);
      await stopBroker(b);
    });
  });

  test('--allow-gid admits by primary group; --mode 0600 keeps the group out; a mode open to others is a usage error', async () => {
    await withLab(async (lab) => {
      // uid 65533 is not on the allow list, its primary group 65534 is
      const b = await startBroker(lab, ['serve', '--allow-gid', String(NOBODY)]);
      const ok = await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '0.3', '--json'], { wrap: asUser(65533) });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(b.log(), /client pid \d+ uid 65533: queue 0 of /);
      await stopBroker(b);
      const closed = await startBroker(lab, ['serve', '--mode', '0600']);
      assert.equal((fs.statSync(closed.socket).mode & 0o777).toString(8), '600');
      assertOneLineError(await runCli(['latency', '--iface', lab.rx.ifname, '--broker', closed.socket, '--duration', '0.3'], { wrap: asUser(NOBODY) }), 1, /permission denied on the broker socket/);
      // a second broker on a live socket, or on a path that is not a socket: one line, nothing removed
      assertOneLineError(await runCli(['serve', '--socket', closed.socket], { wrap: inside(lab) }), 1, /a broker is already listening on .*broker\.sock \(stop it first/);
      await stopBroker(closed);
      const file = path.join(dir, 'not-a-socket');
      fs.writeFileSync(file, 'keep');
      assertOneLineError(await runCli(['serve', '--socket', file]), 2, /not-a-socket exists and is not a socket/);
      assert.equal(fs.readFileSync(file, 'utf8'), 'keep');
      assertOneLineError(await runCli(['serve', '--socket', path.join(dir, 'x.sock'), '--mode', '0666']), 2, /--mode must not give "other" users access/);
    });
  });

  test('two clients share the interface on different queues: the program stays until the last goes; other program options are refused', async () => {
    await withLab(async (lab) => {
      const b = await startBroker(lab);
      let holder: ChildProcess | undefined;
      let holderErr = '';
      const holding = runCli(['latency', '--iface', lab.rx.ifname, '--queue', '0', '--broker', b.socket, '--duration', '60'], {
        wrap: asUser(NOBODY),
        onSpawn: (c) => (holder = c),
        onStderr: (chunk) => (holderErr += chunk),
      });
      await waitFor(() => /measuring on/.test(holderErr), { what: 'the first client to measure', timeoutMs: 20_000, detail: () => holderErr });
      // another client, queue 1: joins the attached program and gets exactly its own traffic
      const packets = 800;
      const { r, sent } = await brokeredRun(lab, b, ['--queue', '1'], packets, 1);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { queues: number[]; packets: { received: number; meta_valid: number }; per_queue: Array<{ program: { redirected: number } }> };
      assert.deepEqual({ queues: doc.queues, received: doc.packets.received, valid: doc.packets.meta_valid, redirected: doc.per_queue[0]!.program.redirected }, { queues: [1], received: sent, valid: sent, redirected: sent });
      assert.match(b.log(), /queue 1 released, the program stays for the other clients/);
      assert.deepEqual(await xdpOn(lab), [lab.rx.ifname], 'still attached for the first client');
      // queue 1 again: its counters start from zero (exact accounting for the next client too)
      const again = await brokeredRun(lab, b, ['--queue', '1'], 300, 1);
      assert.equal((JSON.parse(again.r.stdout) as typeof doc).per_queue[0]!.program.redirected, 300);
      // a program with other options cannot share the interface
      const other = await runCli(['latency', '--iface', lab.rx.ifname, '--queue', '1', '--broker', b.socket, '--strategy', 'map', '--duration', '1'], { wrap: asUser(NOBODY) });
      assertOneLineError(other, 1, /is in use by other clients whose program differs \(strategy "auto"\): one program per interface/);
      holder!.kill('SIGKILL');
      await holding;
      await waitFor(async () => (await xdpOn(lab)).length === 0, { what: 'the broker to detach after the last client', timeoutMs: 5_000 });
      await stopBroker(b);
    }, { queues: 2 });
  });

  test('SIGKILL of the broker: nothing stays attached; the client reports what it measured and exits 1', async () => {
    await withLab(async (lab) => {
      const b = await startBroker(lab);
      let err = '';
      let sent: Promise<number> | undefined;
      const client = runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '60', '--json'], {
        wrap: asUser(NOBODY),
        onStderr: (chunk) => {
          err += chunk;
          if (!sent && /measuring on/.test(chunk)) sent = sendFrames(lab, 200);
        },
      });
      await waitFor(() => sent !== undefined, { what: 'the client to measure', timeoutMs: 20_000, detail: () => err });
      const n = await sent!;
      b.child.kill('SIGKILL');
      assert.equal((await b.done).signal, 'SIGKILL');
      const r = await client;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^afxdp: the broker at .* went away while measuring \(stopped, crashed or restarted\): its program is detached \(the report covers/m);
      assert.equal((JSON.parse(r.stdout) as { packets: { received: number } }).packets.received, n, 'the report has what arrived before');
      assert.deepEqual(await xdpOn(lab), [], 'the kernel released the broker\'s link');
      const { stdout } = await lab.rx.netns.exec('bpftool', ['-j', 'net', 'show', 'dev', lab.rx.ifname]);
      assert.deepEqual((JSON.parse(stdout) as Array<{ xdp: unknown[] }>)[0]?.xdp ?? [], [], 'bpftool net shows no XDP program');
    });
  });

  test('one-line errors: no broker, permission denied on the socket, unknown protocol version', async () => {
    await withLab(async (lab) => {
      const missing = path.join(socketDir(), 'none.sock');
      assertOneLineError(await runCli(['latency', '--iface', 'eth0', '--broker', missing, '--duration', '1'], { wrap: asUser(NOBODY) }), 1, /no afxdp broker is running at .*none\.sock \(no such socket\) \(start one as root: afxdp serve --socket/);
      const b = await startBroker(lab);
      // gid 65533: not the socket's group, so the file mode keeps it out before the broker sees it
      assertOneLineError(await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--duration', '1'], { wrap: asUser(NOBODY, 65533) }), 1, /permission denied on the broker socket .* \(its mode is 0660/);
      assert.equal((fs.statSync(b.socket).mode & 0o777).toString(8), '660');
      assert.equal(fs.statSync(b.socket).gid, NOBODY);
      // a client of another protocol version gets one line back, and the broker goes on
      const fd = native().unixConnect(b.socket);
      try {
        assert.ok(sendMessage(fd, { version: BROKER_PROTOCOL + 98, op: 'open', ifname: lab.rx.ifname, queues: [0], options: {} }));
        const got = receiveMessage(fd, 10_000);
        assert.ok(got !== null && got !== 'closed');
        assert.deepEqual(got.msg, {
          version: BROKER_PROTOCOL,
          ok: false,
          error: { code: 'EBROKER', message: `the client speaks afxdp broker protocol version ${BROKER_PROTOCOL + 98}, this broker speaks ${BROKER_PROTOCOL}`, hint: 'run the same afxdp version for the broker (afxdp serve) and its clients' },
        });
      } finally {
        native().close(fd);
      }
      // garbage, an unknown request, an option a client may not ask for: an answer each, and the broker goes on
      const ask = (raw: Uint8Array | object): unknown => {
        const c = native().unixConnect(b.socket);
        try {
          if (raw instanceof Uint8Array) assert.equal(native().sendFds(c, raw, new Int32Array(0)), 0);
          else assert.ok(sendMessage(c, raw));
          const got = receiveMessage(c, 10_000);
          assert.ok(got !== null && got !== 'closed', 'an answer');
          return (got.msg as { error: { message: string } }).error.message;
        } finally {
          native().close(c);
        }
      };
      assert.equal(ask(new TextEncoder().encode('not json {')), 'the request is not an afxdp broker message: not JSON');
      assert.equal(ask({ version: BROKER_PROTOCOL, op: 'detach', ifname: lab.rx.ifname }), 'unknown request "detach"');
      assert.equal(ask({ version: BROKER_PROTOCOL, op: 'open', ifname: lab.rx.ifname, queues: [0], options: { program: '/tmp/evil.o' } }), 'option "program" cannot be asked of the broker');
      assert.match(String(ask({ version: BROKER_PROTOCOL, op: 'open', ifname: lab.rx.ifname, queues: [0], options: { ringSize: 1000 } })), /^options\.ringSize must be a power of two from 8 to 8192 \(e\.g\. 64, 512, 2048\), got 1000$/);
      assert.deepEqual(await xdpOn(lab), [], 'nothing half-attached after a refused setup');
      // an option the broker does not take from clients
      assertOneLineError(await runCli(['latency', '--iface', lab.rx.ifname, '--broker', b.socket, '--force', '--duration', '1'], { wrap: asUser(NOBODY) }), 2, /force cannot be used with a broker/);
      const { r } = await brokeredRun(lab, b, [], 100);
      assert.equal(r.code, 0, r.stderr);
      await stopBroker(b);
    });
  });

  test('examples/afxdp-broker.service passes systemd-analyze verify, and its ExecStart parses', async () => {
    const unit = fs.readFileSync(path.join(ROOT, 'examples', 'afxdp-broker.service'), 'utf8');
    const exec = /^ExecStart=\/usr\/bin\/afxdp (.*)$/m.exec(unit);
    assert.ok(exec, 'ExecStart runs /usr/bin/afxdp');
    const copy = path.join(socketDir(), 'afxdp-broker.service');
    fs.writeFileSync(copy, unit.replace('/usr/bin/afxdp', BIN));
    // rejects (with the tool's output) on a non-zero exit
    const v = await runTool('systemd-analyze', ['verify', copy], { timeoutMs: 30_000 });
    assert.equal(v.stderr.trim(), '');
    // the same flags, checked by afxdp's own parser (--help after them: parse, print help, exit 0)
    const r = await runCli([...exec[1]!.replace('--group afxdp', '--group 0').split(' '), '--help']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('LatencyReceiver.openForClient() + handover(): the broker half alone, attached until close()', async () => {
    await withLab(async (lab) => {
      const rx = LatencyReceiver.openForClient({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, ringSize: 512 });
      try {
        const { grant, fds } = rx.handover();
        assert.deepEqual(grant.queues, [0]);
        assert.deepEqual(grant.sockets, [{ queue: 0, filled: 512, bindMode: 'copy' }], 'the fill ring is full before bind');
        assert.equal(grant.frameCount, 4096);
        assert.ok(grant.hasCounters && grant.mapInUse, 'strategy auto: counters and stamps maps');
        assert.equal(fds.length, 4, 'xsk, umem memfd, counters, stamps');
        assert.match(fs.readlinkSync(`/proc/self/fd/${fds[1]}`), /^\/memfd:afxdp-umem/);
        assert.deepEqual(await xdpOn(lab), [lab.rx.ifname], 'attached for the client');
      } finally {
        rx.close();
      }
      assert.deepEqual(await xdpOn(lab), [], 'close() detaches');
      // a second client's queue joins the first one's program; the program goes with the first receiver's close()
      const owner = LatencyReceiver.openForClient({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, queues: [0] });
      try {
        const joiner = LatencyReceiver.openForClient({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, queues: [1], bind: 'copy' }, owner);
        assert.equal(joiner.handover().grant.cookie, owner.handover().grant.cookie, 'one program');
        owner.releaseSockets();
        joiner.close();
        assert.deepEqual(await xdpOn(lab), [lab.rx.ifname], 'the owner keeps the program after giving its sockets back');
      } finally {
        owner.close();
      }
      assert.deepEqual(await xdpOn(lab), []);
      const local = LatencyReceiver.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd });
      try {
        assert.throws(() => local.handover(), /handover\(\) is for a receiver opened with openForClient\(\)/);
      } finally {
        local.close();
      }
    }, { queues: 2 });
  });

  test('Broker in this process (netnsFd): held lists the client while it measures, close() removes the socket', async () => {
    await withLab(async (lab) => {
      const socket = path.join(socketDir(), 'api.sock');
      const lines: string[] = [];
      const broker = Broker.listen({ socket, netnsFd: lab.rx.netns.fd, allowUids: [NOBODY], group: NOBODY, log: (l) => lines.push(l) });
      try {
        assert.equal(broker.path, socket);
        let err = '';
        let child: ChildProcess | undefined;
        const client = runCli(['latency', '--iface', lab.rx.ifname, '--broker', socket, '--duration', '30'], { wrap: asUser(NOBODY), onSpawn: (c) => (child = c), onStderr: (c) => (err += c) });
        await waitFor(() => /measuring on/.test(err), { what: 'the client to measure', timeoutMs: 20_000, detail: () => err });
        assert.deepEqual(broker.held, [{ pid: child!.pid, uid: NOBODY, ifname: lab.rx.ifname, queues: [0] }]);
        child!.kill('SIGTERM');
        assert.equal((await client).code, 0);
        await waitFor(() => broker.held.length === 0, { what: 'the hold to end', timeoutMs: 5_000 });
        assert.match(lines.join('\n'), /released, program detached/);
      } finally {
        broker.close();
      }
      assert.ok(!fs.existsSync(socket));
      assert.throws(() => Broker.listen({ socket: path.join(dir, 'x.sock'), allowUids: [-1] }), /allowUids: -1 is not a uid\/gid/);
    });
  });
});
