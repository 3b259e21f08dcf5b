/**
 * Least privilege (docs/SECURITY.md), against the real kernel: a sudo-style run (SUDO_UID set)
 * drops root after setup in every thread and writes its files as that user; a link planted at an
 * output path reaches only what the user can; --user root keeps root; cleanup is complete on
 * success, SIGTERM and SIGKILL although the dropped process can no longer signal its root
 * children; and `afxdp latency` on an interface afxdp did not make takes only afxdp's frames.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli, assertNoLeftovers, assertOneLineError, type CliResult } from './lib/cli.js';
import { withLab, inside, openGenerator, waitForRunTraffic } from './lib/lab.js';
import { waitFor } from './lib/wait.js';
import { runTool } from '../src/sys/exec.js';
import { threadCreds, type ThreadCreds } from '../src/sys/privileges.js';
import { udpSockets, udpFlowsFinding } from '../src/doctor/least-privilege.js';
import type { Report } from '../src/index.js';
import { resolveRunAs } from '../src/entry/privileges.js';
import { describeMatch } from '../src/entry/receiver.js';
import { PAYLOAD_MAGIC } from '../src/wire/frame.js';
import { ROOT } from './lib/cli.js';

const NOBODY = 65534;
/** what sudo puts into the environment of the command it runs */
const SUDO = { SUDO_UID: String(NOBODY), SUDO_GID: String(NOBODY), SUDO_USER: 'nobody' };

afterEach(assertNoLeftovers);

/** A fresh directory the unprivileged user owns (not sticky: no protected_symlinks help). */
function userDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-priv-'));
  fs.chownSync(d, NOBODY, NOBODY);
  fs.chmodSync(d, 0o755);
  return d;
}

/** Runs the CLI; once its stderr so far matches `ready`, calls act with the child's pid (once). */
async function runUntil(args: string[], ready: RegExp, act: (pid: number, kill: (s: NodeJS.Signals) => void) => Promise<void>, env?: Record<string, string>): Promise<CliResult> {
  let acting: Promise<void> | undefined;
  let err = '';
  const r = await runCli(args, {
    env,
    timeoutMs: 90_000,
    onStderr: (chunk, child) => {
      err += chunk;
      if (acting === undefined && ready.test(err)) acting = act(child.pid!, (s) => child.kill(s));
    },
  });
  assert.ok(acting, `never reached ${ready}: ${r.stderr}`);
  await acting;
  return r;
}

/** A TCP port below 1024 that is free on 127.0.0.1 right now. */
async function freePrivilegedPort(): Promise<number> {
  for (let port = 900; port < 1024; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 900..1023');
}

function assertDropped(threads: ThreadCreds[], uid: number): void {
  assert.ok(threads.length >= 3, `the main thread, workers and Node's own threads: ${threads.length}`);
  for (const t of threads) {
    assert.deepEqual(t.uid, [uid, uid, uid, uid], `thread ${t.tid}: real, effective, saved, fs uid`);
    assert.deepEqual(t.gid, [uid, uid, uid, uid], `thread ${t.tid}: gids`);
    assert.equal(t.capPrm, 0n, `thread ${t.tid}: CapPrm`);
    assert.equal(t.capEff, 0n, `thread ${t.tid}: CapEff`);
    assert.equal(t.capAmb, 0n, `thread ${t.tid}: CapAmb`);
  }
}

test('sudo-style demo: drops to SUDO_UID after setup; CSV and HTML belong to that user; nothing left', async () => {
  const dir = userDir();
  try {
    const csv = path.join(dir, 'out.csv');
    const html = path.join(dir, 'run.html');
    // the metrics port is bound before the drop, as root: a port below 1024 still works
    const port = await freePrivilegedPort();
    // the map strategy in a worker: the stamps are map lookups through a map fd, with no capability
    const r = await runCli(['demo', '--packets', '2000', '--rate', '20000', '--strategy', 'map', '--poll', 'worker', '--csv', csv, '--html', html, '--prometheus', `127.0.0.1:${port}`, '--no-live'], { env: SUDO, timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`metrics on http://127\\.0\\.0\\.1:${port}/metrics`));
    assert.match(r.stderr, /privileges: drops to nobody \(uid 65534, gid 65534; from SUDO_UID\) after setup/);
    for (const f of [csv, html]) {
      const st = fs.statSync(f);
      assert.equal(st.uid, NOBODY, `${f} belongs to the user`);
      assert.equal(st.gid, NOBODY, `${f} has the user's group`);
    }
    assert.equal(fs.readFileSync(csv, 'utf8').trimEnd().split('\n').length, 2001, 'a header and a row per packet');
    assert.match(r.stdout, /received 2,000\s+meta valid 2,000 \/ invalid 0/);
    assert.match(r.stdout, /via meta 0 \/ prepend 0 \/ map 2,000/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sudo-style demo, busy receiver and sending worker: every thread has the user\'s ids and no capabilities; SIGTERM still cleans up', async () => {
  let threads: ThreadCreds[] = [];
  const r = await runUntil(['demo', '--packets', '100000000', '--rate', '20000', '--poll', 'busy', '--tx-worker', '--no-live'], /sending \d+ packets/, async (pid, kill) => {
    await waitForRunTraffic(pid, 500);
    threads = threadCreds(pid);
    kill('SIGTERM');
  }, SUDO);
  assert.equal(r.code, 0, r.stderr);
  assertDropped(threads, NOBODY);
  assert.match(r.stdout, /packets\s+sent [\d,]+\s+received/, 'the report of what was measured');
});

test('sudo-style demo killed with SIGKILL: the lab goes although the process could not signal its root holders', async () => {
  const r = await runUntil(['demo', '--packets', '100000000', '--rate', '20000', '--no-live'], /sending \d+ packets/, async (pid, kill) => {
    await waitForRunTraffic(pid, 200);
    kill('SIGKILL');
  }, SUDO);
  assert.equal(r.signal, 'SIGKILL');
  // afterEach: no holder, namespace, link or XDP program of this lab is left
});

test('a link planted at the output path to a root-owned file: one line, the file untouched, nothing left', async () => {
  const dir = userDir();
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-root-'));
  try {
    const secret = path.join(rootDir, 'secret');
    fs.writeFileSync(secret, 'root only\n', { mode: 0o644 });
    const link = path.join(dir, 'out.csv');
    fs.symlinkSync(secret, link);
    fs.lchownSync(link, NOBODY, NOBODY); // planted by the user
    const r = await runCli(['demo', '--packets', '100', '--csv', link], { env: SUDO });
    assertOneLineError(r, 1, /cannot write --csv .*out\.csv: permission denied/);
    assert.equal(fs.readFileSync(secret, 'utf8'), 'root only\n');
    assert.equal(fs.statSync(secret).uid, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(rootDir, { recursive: true, force: true });
  }
});

test('--user root keeps root (even under sudo); --user NAME needs a user that exists', async () => {
  let threads: ThreadCreds[] = [];
  const r = await runUntil(['demo', '--packets', '100000000', '--rate', '20000', '--user', 'root', '--no-live'], /sending \d+ packets/, async (pid, kill) => {
    threads = threadCreds(pid);
    kill('SIGINT');
  }, SUDO);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /privileges:/);
  assert.deepEqual(threads[0]!.uid, [0, 0, 0, 0]);
  assert.notEqual(threads[0]!.capEff, 0n);
  assertOneLineError(await runCli(['demo', '--user', 'afxdp-no-such-user']), 2, /user "afxdp-no-such-user" does not exist/);
  assertOneLineError(await runCli(['latency', '--iface', 'lo', '--user', '-x']), 2);
  assertOneLineError(await runCli(['demo'], { env: { SUDO_UID: 'alice' } }), 2, /SUDO_UID="alice" is not a numeric id/);
  // the library's answer for each case
  assert.deepEqual(resolveRunAs({ env: {} }).mode, 'root');
  assert.deepEqual(resolveRunAs({ env: { SUDO_UID: '0' } }).mode, 'root');
  assert.deepEqual(resolveRunAs({ env: SUDO }).drop, { uid: NOBODY, gid: NOBODY, name: 'nobody' });
  assert.deepEqual(resolveRunAs({ user: String(NOBODY), env: {} }).drop, { uid: NOBODY, gid: NOBODY, name: 'nobody' });
  assert.equal(resolveRunAs({ user: 'root', env: SUDO }).drop, null);
  // a process that is not root has nothing to switch, and cannot become someone else
  const mod = JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'src', 'entry', 'privileges.js')).href);
  const code = `import(${mod}).then((m) => { const own = m.resolveRunAs({ env: {} }); let other; try { m.resolveRunAs({ user: 'root', env: {} }); } catch (e) { other = { code: e.code, message: e.message }; } console.log(JSON.stringify({ mode: own.mode, other })); });`;
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let o = '';
    c.stdout.on('data', (d: Buffer) => (o += d.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(o));
  });
  const seen = JSON.parse(out) as { mode: string; other: { code: string; message: string } };
  assert.equal(seen.mode, 'user');
  assert.equal(seen.other.code, 'EPERM');
  assert.match(seen.other.message, /runs as uid 65534, not root, and cannot become another user/);
});

test('--csv /dev/stdout after the drop writes to the stdout it has (a pipe root made, which the user could not reopen)', async () => {
  const r = await runCli(['demo', '--packets', '300', '--csv', '/dev/stdout', '--json'], { env: SUDO });
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /^\d+,/.test(l));
  assert.equal(rows.length, 300);
});

/**
 * A kernel UDP socket on `port` in the lab's rx namespace; count() is what it read so far,
 * arrived() what reached it: read, or dropped by the socket itself when its receive buffer was
 * full (a slow reader on a loaded machine), from the `drops` column of /proc/net/udp.
 */
async function kernelSocket(nsPid: number, port: number): Promise<{ count: () => number; arrived: () => Promise<number>; close: () => void }> {
  const script = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',()=>{n++;process.stdout.write(n+'\\n')});s.bind(${port},()=>process.stdout.write('ready\\n'));process.stdin.on('end',()=>process.exit(0));process.stdin.resume();`;
  const child = spawn('nsenter', ['-t', String(nsPid), '-n', '--', process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('ready'), { what: 'the kernel UDP socket to listen', timeoutMs: 10_000 });
  const count = (): number => Number(out.trimEnd().split('\n').filter((l) => /^\d+$/.test(l)).pop() ?? 0);
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const arrived = async (): Promise<number> => {
    const n = count();
    const { stdout } = await runTool('nsenter', ['-t', String(nsPid), '-n', '--', 'cat', '/proc/net/udp']);
    const line = stdout.split('\n').find((l) => new RegExp(`^\\s*\\d+: [0-9A-F]{8}:${hexPort} `).test(l));
    return n + Number(line?.trim().split(/\s+/).pop() ?? 0);
  };
  return { count, arrived, close: () => child.stdin.end() };
}

test('latency on an interface it did not create takes only afxdp\'s frames: another UDP flow keeps reaching its kernel socket; --match udp takes it', async () => {
  // the payload marker the program matches is the one the generator writes
  assert.match(fs.readFileSync(path.join(ROOT, 'bpf', 'stack_split.h'), 'utf8'), new RegExp(`#define AFXDP_PAYLOAD_MAGIC 0x${PAYLOAD_MAGIC.toString(16)}u?\\b`));
  assert.equal(describeMatch({ match: 'afxdp', udpPort: 9 }), 'afxdp test frames (UDP to port 9 with its payload marker)');
  const OTHER = 4242;
  const FLOW = 500;
  const GEN = 1000;
  await withLab(async (lab) => {
    const sock = await kernelSocket(lab.rx.netns.pid, OTHER);
    try {
      const measure = async (extra: string[], packets: number): Promise<Report> => {
        let sending: Promise<unknown> | undefined;
        const r = await runCli(['latency', '--iface', lab.rx.ifname, '--packets', String(packets), '--duration', '30', '--json', ...extra], {
          wrap: inside(lab),
          timeoutMs: 60_000,
          onStderr: (chunk) => {
            if (sending === undefined && /measuring on/.test(chunk)) {
              sending = (async () => {
                await lab.sendUdpViaStack(FLOW, OTHER); // the host's own UDP flow, through the kernel stacks
                const gen = openGenerator(lab);
                try {
                  await gen.send({ count: GEN, rate: 20000 });
                } finally {
                  gen.close();
                }
              })();
            }
          },
        });
        assert.ok(sending, r.stderr);
        await sending;
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as Report;
      };

      // the doctor sees the socket a wide match would starve (and says the default leaves it alone)
      const doc = await runCli(['doctor', '--iface', lab.rx.ifname, '--json'], { wrap: inside(lab) });
      const flows = (JSON.parse(doc.stdout) as { findings: Array<{ id: string; status: string; value: unknown; detail: string }> }).findings.find((f) => f.id === `iface.${lab.rx.ifname}.udp_flows`)!;
      assert.equal(flows.status, 'warn', flows.detail);
      assert.deepEqual(flows.value, [OTHER]);

      const def = await measure([], GEN);
      assert.deepEqual(def.taken, { match: 'afxdp', udp_port: 9, text: 'afxdp test frames (UDP to port 9 with its payload marker)' });
      assert.equal(def.packets.received, GEN, 'every generator packet measured');
      assert.equal(def.packets.meta_valid, GEN);
      let arrived = 0;
      await waitFor(async () => (arrived = await sock.arrived()) >= FLOW, { what: `${FLOW} datagrams at the kernel socket`, timeoutMs: 10_000, detail: () => String(arrived) });
      assert.equal(arrived, FLOW);

      const before = await sock.arrived();
      const wide = await measure(['--match', 'udp'], FLOW + GEN);
      assert.deepEqual(wide.taken, { match: 'udp', udp_port: 0, text: 'every UDP datagram to any port' });
      assert.equal(wide.packets.received, FLOW + GEN, 'the other flow was taken too');
      assert.equal(await sock.arrived(), before, 'and never reached its socket');
    } finally {
      sock.close();
    }
  });
});

test('latency match flags: --port widens to any UDP to that port, contradictions are usage errors', async () => {
  assertOneLineError(await runCli(['latency', '--iface', 'lo', '--all', '--match', 'udp']), 2, /--all and --match udp contradict each other/);
  assertOneLineError(await runCli(['latency', '--iface', 'lo', '--all', '--port', '53']), 2, /--port does not apply with --all/);
  assertOneLineError(await runCli(['latency', '--iface', 'lo', '--match', 'some']), 2, /--match/);
  await withLab(async (lab) => {
    const r = await runCli(['latency', '--iface', lab.rx.ifname, '--port', '4242', '--duration', '0.2', '--json'], { wrap: inside(lab) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as Report).taken, { match: 'udp', udp_port: 4242, text: 'every UDP datagram to port 4242' });
    assert.match(r.stderr, /measuring on .*taking every UDP datagram to port 4242\)/);
    // the live view (plain lines off a terminal) says it once, before its first line of numbers
    const live = await runCli(['latency', '--iface', lab.rx.ifname, '--duration', '1.6'], { wrap: inside(lab) });
    assert.equal(live.code, 0, live.stderr);
    const lines = live.stderr.split('\n');
    const at = lines.indexOf('afxdp: taking afxdp test frames (UDP to port 9 with its payload marker)');
    assert.ok(at >= 0 && /pps/.test(lines[at + 1] ?? ''), live.stderr);
    assert.equal(lines.filter((l) => l.startsWith('afxdp: taking')).length, 1);
  });
});

test('doctor: which user a run continues as; UDP sockets from /proc/net/udp and udp6', async () => {
  const privileges = async (env?: Record<string, string>): Promise<{ status: string; detail: string }> =>
    (JSON.parse((await runCli(['doctor', '--json'], { env })).stdout) as { findings: Array<{ id: string; status: string; detail: string }> }).findings.find((f) => f.id === 'run.privileges')!;
  const sudo = await privileges(SUDO);
  assert.equal(sudo.status, 'ok');
  assert.match(sudo.detail, /drops to nobody \(uid 65534/);
  const root = await privileges();
  assert.equal(root.status, 'warn');
  assert.match(root.detail, /stays root \(no SUDO_UID and no --user/);
  // the parser against what the kernel prints: IPv4 127.0.0.53:53, 0.0.0.0:68; IPv6 [::]:123 and [fe80::1]:5353
  const files: Record<string, string> = {
    '/proc/net/udp': '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
      '  1: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 1 2 0000000000000000 0\n' +
      '  2: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2 0000000000000000 0\n',
    '/proc/net/udp6': '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n' +
      '  3: 00000000000000000000000000000000:007B 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0000000000000000 0\n' +
      '  4: 000080FE000000000000000001000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4 2 0000000000000000 0\n',
  };
  assert.deepEqual(udpSockets((f) => files[f]!), [
    { addr: '127.0.0.53', port: 53 },
    { addr: '0.0.0.0', port: 68 },
    { addr: '0:0:0:0:0:0:0:0', port: 123 },
    { addr: 'fe80:0:0:0:0:0:0:1', port: 5353 },
  ]);
  // on lo (127.0.0.1, ::1): the wildcard sockets; 127.0.0.53 is no address of lo's (a limit: the doctor compares addresses, not routes)
  const lo = udpFlowsFinding('lo', udpSockets((f) => files[f]!));
  assert.equal(lo.status, 'warn');
  assert.deepEqual(lo.value, [68, 123]);
  assert.equal(udpFlowsFinding('lo', []).status, 'ok');
});
