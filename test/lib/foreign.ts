/**
 * A veth pair that afxdp did NOT create: the test builds it itself, with plain tools, in two
 * namespaces held by `setpriv --pdeathsig KILL unshare --net sleep infinity` children (so even a
 * crashed test leaves nothing). Frames are sent from the other end by a small python3 AF_PACKET
 * sender (test/fixtures/send_frames.py): a sender afxdp does not control.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';
import { waitFor } from './wait.js';
import { stampCounters, type StampCounters } from './xdp.js';

export const SEND_FRAMES = path.join(ROOT, 'test', 'fixtures', 'send_frames.py');

export function sh(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const c = execFile(cmd, args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
    c.stdin?.on('error', () => {});
    c.stdin?.end(input ?? '');
  });
}

async function holder(): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'unshare', '--net', '--', 'sleep', 'infinity'], { stdio: 'ignore' });
  child.unref();
  const own = fs.readlinkSync('/proc/self/ns/net');
  const inOwnNetns = (): boolean => {
    try {
      return child.pid !== undefined && fs.readlinkSync(`/proc/${child.pid}/ns/net`) !== own;
    } catch {
      return false; // not exec'd yet
    }
  };
  try {
    await waitFor(inOwnNetns, { what: 'the test namespace holder to enter its namespace', timeoutMs: 5_000, intervalMs: 10 });
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return { child, pid: child.pid! };
}

export class ForeignPair {
  readonly rxIf: string;
  readonly txIf: string;
  rxMac = '';
  txMac = '';
  private constructor(
    readonly rx: { child: ChildProcess; pid: number },
    readonly tx: { child: ChildProcess; pid: number },
    suffix: string,
  ) {
    this.rxIf = `fx${suffix}r`;
    this.txIf = `fx${suffix}t`;
  }

  static async create(opts: { mtu?: number } = {}): Promise<ForeignPair> {
    const [rx, tx] = await Promise.all([holder(), holder()]);
    const p = new ForeignPair(rx, tx, randomBytes(3).toString('hex'));
    try {
      // no IPv6: no router solicitations / MLD reports, so the only frames are the test's
      for (const h of [rx, tx]) {
        const r = await sh('nsenter', ['-t', String(h.pid), '-n', '--', 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
        if (r.code !== 0) throw new Error(`sysctl: ${r.stderr}`);
      }
      const add = await sh('ip', ['link', 'add', p.txIf, 'netns', String(tx.pid), 'type', 'veth', 'peer', 'name', p.rxIf, 'netns', String(rx.pid)]);
      if (add.code !== 0) throw new Error(`ip link add: ${add.stderr}`);
      for (const [pid, ifname] of [[rx.pid, p.rxIf], [tx.pid, p.txIf]] as const) {
        const mtu = opts.mtu ? ['mtu', String(opts.mtu)] : [];
        const r = await sh('nsenter', ['-t', String(pid), '-n', '--', 'ip', 'link', 'set', 'dev', ifname, ...mtu, 'up']);
        if (r.code !== 0) throw new Error(`ip link set up: ${r.stderr}`);
      }
      p.rxMac = await p.mac('rx');
      p.txMac = await p.mac('tx');
      await waitFor(async () => (await p.operstate('rx')) === 'UP' && (await p.operstate('tx')) === 'UP', { what: 'carrier on both ends of the test veth', timeoutMs: 5_000 });
      return p;
    } catch (e) {
      await p.destroy();
      throw e;
    }
  }

  pid(side: 'rx' | 'tx'): number {
    return this[side].pid;
  }

  /** prefix to run a command inside one namespace */
  wrap(side: 'rx' | 'tx'): string[] {
    return ['nsenter', '-t', String(this.pid(side)), '-n', '--'];
  }

  exec(side: 'rx' | 'tx', cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
    return sh('nsenter', ['-t', String(this.pid(side)), '-n', '--', cmd, ...args], input);
  }

  async link(side: 'rx' | 'tx'): Promise<{ operstate?: string; address?: string; xdp?: unknown } | undefined> {
    const r = await this.exec(side, 'ip', ['-j', 'link', 'show', 'dev', side === 'rx' ? this.rxIf : this.txIf]);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as Array<{ operstate?: string; address?: string; xdp?: unknown }>)[0];
  }

  private async mac(side: 'rx' | 'tx'): Promise<string> {
    return (await this.link(side))?.address ?? '';
  }

  private async operstate(side: 'rx' | 'tx'): Promise<string> {
    return (await this.link(side))?.operstate ?? '';
  }

  /** Sends raw frames (Uint8Arrays) from the tx end with AF_PACKET; resolves with how many went out. */
  async send(frames: Uint8Array[]): Promise<number> {
    const input = frames.map((f) => Buffer.from(f).toString('hex')).join('\n') + '\n';
    const r = await this.exec('tx', 'python3', [SEND_FRAMES, this.txIf], input);
    if (r.code !== 0) throw new Error(`send_frames.py failed: ${r.stderr}`);
    return Number(r.stdout.trim());
  }

  async destroy(): Promise<void> {
    for (const h of [this.rx, this.tx]) {
      if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL');
    }
    await waitFor(() => ![this.rx, this.tx].some((h) => alive(h.pid)), { what: 'the test namespace holders to exit', timeoutMs: 2_000, intervalMs: 10 }).catch(() => {});
  }

  /**
   * Waits until afxdp's XDP program on the rx end redirected `n` frames in all (read with
   * bpftool): in the ring or counted as dropped, so a stop now accounts for every one of them.
   */
  async waitForRedirected(n: number): Promise<void> {
    let last: StampCounters | null = null;
    await waitFor(async () => (last = await stampCounters((cmd, args) => this.exec('rx', cmd, args), this.rxIf)) !== null && last.redirected >= n, {
      what: `afxdp's program on ${this.rxIf} to redirect ${n} frames`,
      detail: () => JSON.stringify(last),
    });
  }

  gone(): boolean {
    return !alive(this.rx.pid) && !alive(this.tx.pid);
  }
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/**
 * Leftovers of the runs THIS test made, on a machine where other afxdp runs may be alive:
 * namespace holders whose parent is one of `pids` (a CLI child that should have taken them with
 * it) or PID 1 (orphans: a leak by definition), and any `afxdp-` link in the root namespace.
 * Polls briefly: holders killed by the kernel take a moment to be reaped.
 */
export async function leakedBy(pids: number[]): Promise<string[]> {
  const scan = (): string[] => {
    const out: string[] = [];
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'latin1');
        if (!cmd.startsWith('afxdp-ns-')) continue;
        const st = fs.readFileSync(`/proc/${e}/status`, 'utf8');
        if (/^State:\s+Z/m.test(st)) continue;
        const ppid = Number(/^PPid:\s+(\d+)/m.exec(st)?.[1]);
        if (ppid === 1 || pids.includes(ppid)) out.push(`holder ${e} (${cmd.split('\0')[0]}, parent ${ppid})`);
      } catch {
        // exited while we looked
      }
    }
    return out;
  };
  let left = scan();
  await waitFor(() => (left = scan()).length === 0, { what: 'no process of these runs left', timeoutMs: 5_000 }).catch(() => {});
  const links = await sh('ip', ['-j', 'link', 'show']);
  for (const l of JSON.parse(links.stdout || '[]') as Array<{ ifname: string; xdp?: unknown }>) {
    if (l.ifname.startsWith('afxdp-')) left.push(`link ${l.ifname}`);
    if (l.xdp !== undefined) left.push(`XDP on ${l.ifname}`);
  }
  return left;
}

/** The XDP program's counters of a one-queue report (`per_queue[0].program`), the ones accounting needs. */
export function xdp(rep: { per_queue?: Array<{ program: { seen: number; matched: number; redirected: number } }> }): { seen: number; matched: number; redirected: number } {
  const p = rep.per_queue?.[0]?.program;
  if (!p) throw new Error('the report has no per_queue[0].program');
  return { seen: p.seen, matched: p.matched, redirected: p.redirected };
}
