/**
 * The lab against the real kernel (root required): namespaces, veth, addresses, cleanup on
 * destroy and on SIGKILL of the owner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { AfxdpError } from '../src/errors.js';
import { ADDON_PATH, native } from '../src/native.js';
import { runTool } from '../src/sys/exec.js';
import { Lab } from '../src/lab/lab.js';
import { withNetns } from '../src/sys/netns.js';
import { withLab } from './lib/lab.js';
import { waitFor } from './lib/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LAB_MODULE = path.resolve(here, '..', 'src', 'lab', 'lab.js');
const noAddon = fs.existsSync(ADDON_PATH) ? false : `native addon not built (${ADDON_PATH})`;

/** Exited for good: no /proc entry, or a zombie (it has already dropped its namespaces). */
function processGone(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

async function assertNoLeftovers(id: string, pids: number[] = []): Promise<void> {
  const left = await Lab.leftovers(id);
  assert.deepEqual(left, { holders: [], links: [], netns: [], taps: [] }, `leftovers of lab ${id}`);
  for (const pid of pids) assert.ok(processGone(pid), `holder ${pid} still alive`);
}

interface IpLink {
  ifname: string;
  operstate: string;
  address: string;
  num_tx_queues?: number;
  num_rx_queues?: number;
  stats64?: { rx: { packets: number }; tx: { packets: number } };
}

async function linkIn(lab: Lab, side: 'rx' | 'tx', extra: string[] = []): Promise<IpLink> {
  const s = lab[side];
  const { stdout } = await s.netns.exec('ip', ['-j', ...extra, 'link', 'show', 'dev', s.ifname]);
  const [link] = JSON.parse(stdout) as IpLink[];
  assert.ok(link, `${s.ifname} missing in ${s.netns.name}`);
  return link;
}

test('a lab has two UP veth ends in their own namespaces, addressed and with static neighbours', async () => {
  await withLab(async (lab) => {
    assert.match(lab.id, /^[a-z0-9]{6}$/);
    assert.equal(lab.queues, 1);
    assert.equal(lab.rx.ifname, `afxdp-${lab.id}r`);
    assert.equal(lab.tx.ifname, `afxdp-${lab.id}t`);
    assert.notEqual(lab.rx.netns.pid, lab.tx.netns.pid);
    assert.ok(lab.rx.netns.fd >= 0 && lab.tx.netns.fd >= 0);
    assert.notEqual(fs.readlinkSync(`/proc/${lab.rx.netns.pid}/ns/net`), fs.readlinkSync('/proc/self/ns/net'));
    assert.notEqual(fs.readlinkSync(`/proc/${lab.rx.netns.pid}/ns/net`), fs.readlinkSync(`/proc/${lab.tx.netns.pid}/ns/net`));
    // The holder is findable by name (what the doctor and `pgrep -f afxdp-ns-` rely on).
    assert.ok(fs.readFileSync(`/proc/${lab.rx.netns.pid}/cmdline`, 'latin1').startsWith(`afxdp-ns-${lab.id}-rx`));

    for (const side of ['rx', 'tx'] as const) {
      const link = await linkIn(lab, side);
      assert.equal(link.operstate, 'UP');
      assert.equal(link.address, lab[side].mac);
      assert.match(lab[side].mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.deepEqual([...lab[side].macBytes], lab[side].mac.split(':').map((h) => parseInt(h, 16)));
    }
    assert.notEqual(lab.rx.mac, lab.tx.mac);
    assert.equal(lab.rx.ip, '198.18.0.2');
    assert.deepEqual([...lab.rx.ipBytes], [198, 18, 0, 2]);
    assert.deepEqual([...lab.tx.ipBytes], [198, 18, 0, 1]);

    // Not in the root namespace.
    assert.deepEqual((await Lab.leftovers(lab.id)).links, []);
    await assert.rejects(runTool('ip', ['link', 'show', 'dev', lab.rx.ifname]), { code: 'ETOOL' });

    // IPv4 only: the rx end has 198.18.0.2/24 and no IPv6 address at all.
    const { stdout } = await lab.rx.netns.exec('ip', ['-j', 'addr', 'show', 'dev', lab.rx.ifname]);
    const [addr] = JSON.parse(stdout) as { addr_info: { family: string; local: string; prefixlen: number }[] }[];
    assert.deepEqual(
      addr!.addr_info.map((a) => [a.family, a.local, a.prefixlen]),
      [['inet', '198.18.0.2', 24]],
    );

    // Static neighbours both ways, so nothing ARPs.
    for (const [self, peer] of [[lab.rx, lab.tx], [lab.tx, lab.rx]] as const) {
      const out = await self.netns.exec('ip', ['-j', 'neigh', 'show', 'dev', self.ifname]);
      const neigh = JSON.parse(out.stdout) as { dst: string; lladdr: string; state: string[] }[];
      assert.deepEqual(neigh.map((n) => [n.dst, n.lladdr, n.state]), [[peer.ip, peer.mac, ['PERMANENT']]]);
    }
  });
});

test('the wire stays silent until a test sends something', async () => {
  await withLab(async (lab) => {
    // IPv6 off and static neighbours: no RS, MLD, DAD or ARP frames may appear on their own.
    // An observation window, not a wait: absence has no condition to wait on (RS/DAD would come
    // within a second of the link going up).
    await sleep(1500);
    const rx = await linkIn(lab, 'rx', ['-s']);
    const tx = await linkIn(lab, 'tx', ['-s']);
    assert.equal(rx.stats64!.rx.packets + rx.stats64!.tx.packets, 0, 'frames on rx end');
    assert.equal(tx.stats64!.rx.packets + tx.stats64!.tx.packets, 0, 'frames on tx end');
  });
});

test('queues sets the queue count of both veth ends', async () => {
  await withLab(
    async (lab) => {
      assert.equal(lab.queues, 4);
      for (const side of ['rx', 'tx'] as const) {
        const link = await linkIn(lab, side, ['-d']);
        assert.equal(link.num_rx_queues, 4);
        assert.equal(link.num_tx_queues, 4);
      }
    },
    { queues: 4 },
  );
});

test('two labs at once do not collide', async () => {
  const [a, b] = await Promise.all([Lab.create(), Lab.create()]);
  try {
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.rx.ifname, b.rx.ifname);
    assert.notEqual(a.tx.ifname, b.tx.ifname);
    assert.notEqual(a.rx.netns.name, b.rx.netns.name);
    assert.equal((await linkIn(a, 'rx')).operstate, 'UP');
    assert.equal((await linkIn(b, 'rx')).operstate, 'UP');
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
  await assertNoLeftovers(a.id);
  await assertNoLeftovers(b.id);
});

test('destroy removes holders, namespaces and links, and is idempotent', async () => {
  const lab = await Lab.create();
  const pids = [lab.rx.netns.pid, lab.tx.netns.pid];
  assert.deepEqual((await Lab.leftovers(lab.id)).holders.sort(), [...pids].sort());
  await Promise.all([lab.destroy(), lab.destroy()]);
  await lab.destroy();
  await assertNoLeftovers(lab.id, pids);
  assert.equal(lab.rx.netns.fd, -1);
  await assert.rejects(lab.rx.netns.exec('ip', ['link']), { code: 'ECLOSED' });
});

test('SIGKILL of the owning process takes the whole lab with it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-lab-test-'));
  const script = path.join(dir, 'owner.mjs');
  fs.writeFileSync(
    script,
    [
      `import { Lab } from ${JSON.stringify(pathToFileURL(LAB_MODULE).href)};`,
      'const lab = await Lab.create();',
      'console.log(JSON.stringify({ id: lab.id, pids: [lab.rx.netns.pid, lab.tx.netns.pid] }));',
      'setInterval(() => {}, 1 << 30);',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let info: { id: string; pids: number[] } | undefined;
  const giveUp = new AbortController();
  try {
    const lines = createInterface({ input: child.stdout! });
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      exited.then(() => {
        throw new Error('owner exited before creating its lab');
      }),
      sleep(15_000, undefined, { signal: giveUp.signal }).then(() => {
        throw new Error('owner did not report its lab within 15 s');
      }),
    ]).finally(() => giveUp.abort());
    info = JSON.parse(first) as { id: string; pids: number[] };
    assert.equal(info.pids.length, 2);
    const nets = info.pids.map((p) => fs.readlinkSync(`/proc/${p}/ns/net`));
    assert.ok(info.pids.every((p) => !processGone(p)));
    assert.ok((await Lab.leftovers(info.id)).holders.length === 2);

    child.kill('SIGKILL');
    await exited;
    const pids = info.pids;
    await waitFor(() => pids.every(processGone), { what: `holders ${pids} to die with their owner`, timeoutMs: 5_000 });
    await assertNoLeftovers(info.id);
    // No process is left in either namespace: nothing holds them, so the kernel frees them and the veth.
    // (polled: teardown is asynchronous; a namespace inode number can also be reused at once by
    // another afxdp run on the same machine, which is why this waits instead of asserting once;
    // 30 s: 10 s timed out once at load 10, four suites running)
    const held = async (): Promise<string[]> => {
      const { stdout } = await runTool('lsns', ['-t', 'net', '-n', '-o', 'NS']);
      const live = new Set(stdout.split('\n').map((l) => l.trim()));
      return nets.filter((net) => live.has(net.replace(/^net:\[(\d+)\]$/, '$1')));
    };
    let still: string[] = [];
    await waitFor(async () => (still = await held()).length === 0, { what: 'the kernel to free both namespaces', timeoutMs: 30_000, detail: () => `${still.join(', ')} still held` });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('withNetns runs code inside the namespace and always switches back', { skip: noAddon }, async () => {
  await withLab((lab) => {
    const addon = native();
    const before = fs.readlinkSync('/proc/thread-self/ns/net');
    assert.equal(addon.ifNameToIndex(lab.rx.ifname), 0);
    const inside = withNetns(lab.rx.netns.fd, () => addon.ifNameToIndex(lab.rx.ifname));
    assert.ok(inside > 0);
    assert.equal(fs.readlinkSync('/proc/thread-self/ns/net'), before);
    assert.equal(addon.ifNameToIndex(lab.rx.ifname), 0);
    assert.equal(withNetns(undefined, () => addon.ifNameToIndex(lab.rx.ifname)), 0);

    // Nested: tx inside rx, then back to rx, then back home.
    withNetns(lab.rx.netns.fd, () => {
      assert.equal(withNetns(lab.tx.netns.fd, () => addon.ifNameToIndex(lab.tx.ifname)) > 0, true);
      assert.ok(addon.ifNameToIndex(lab.rx.ifname) > 0);
    });
    assert.equal(fs.readlinkSync('/proc/thread-self/ns/net'), before);

    assert.throws(
      () =>
        withNetns(lab.rx.netns.fd, () => {
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(fs.readlinkSync('/proc/thread-self/ns/net'), before);

    assert.throws(
      () => withNetns(lab.rx.netns.fd, async () => 1),
      (e: unknown) => e instanceof AfxdpError && e.code === 'ESTATE',
    );
    assert.equal(fs.readlinkSync('/proc/thread-self/ns/net'), before);
    assert.equal(addon.ifNameToIndex(lab.rx.ifname), 0);
  });
});

/** Our own children whose cmdline marks them as holders. */
async function ourHolders(): Promise<number[]> {
  return (await Lab.leftovers()).holders.filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/status`, 'utf8').includes(`PPid:\t${process.pid}\n`);
    } catch {
      return false;
    }
  });
}

test('a lab that fails half-way removes what it made and says why', async () => {
  // A PATH with every tool but `ip`: the holders start and the sysctls run, then `ip link add` fails.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-lab-path-'));
  for (const tool of ['setpriv', 'unshare', 'nsenter', 'bash', 'cat', 'sysctl']) {
    const real = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
    assert.ok(real, `${tool} not installed`);
    fs.symlinkSync(real, path.join(dir, tool));
  }
  const savedPath = process.env.PATH;
  process.env.PATH = dir;
  let error: unknown;
  try {
    await Lab.create();
  } catch (e) {
    error = e;
  } finally {
    process.env.PATH = savedPath;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(error instanceof AfxdpError, `expected an AfxdpError, got ${error}`);
  assert.equal(error.code, 'ELAB');
  assert.match(error.message, /^cannot build the lab: `ip` not found in PATH/);
  assert.match(error.hint ?? '', /scripts\/setup/);
  assert.deepEqual(await ourHolders(), []);
});

test('without root the lab refuses with EPERM', async () => {
  const code = `import(${JSON.stringify(pathToFileURL(LAB_MODULE).href)}).then((m) => m.Lab.create())
    .then(() => console.log('created'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })));`;
  const { stdout } = await runTool('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '-e', code]);
  const e = JSON.parse(stdout) as { code: string; message: string; hint: string };
  assert.equal(e.code, 'EPERM');
  assert.match(e.message, /CAP_SYS_ADMIN/);
  assert.match(e.hint, /root/);
});

test('bad queue counts are usage errors', async () => {
  for (const queues of [0, 65, 1.5, Number.NaN]) {
    await assert.rejects(Lab.create({ queues }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE');
  }
  // Nothing was started for them.
  assert.deepEqual(await ourHolders(), []);
});
