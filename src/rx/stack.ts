/**
 * The kernel-stack side of the stack comparison: a UDP receiver in its own process — Node's
 * `dgram` (rx/stack-dgram.ts) or the C recvmmsg loop (bench/c/stack_rx.c) — bound to the port
 * the AF_XDP receiver shares, and the kernel's own UDP counters for what the stack dropped.
 *
 * A process of its own, not a worker thread: its event loop and its CPU time are then its own
 * (neither slows the AF_XDP receiver's loop nor is billed for it), and C and Node are run alike.
 * Each writes one record per datagram (rx/stack-record.ts) to an unlinked file; the records are
 * folded into LatencyRecorders once the run has ended, so nothing is read while measuring.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { AfxdpError } from '../errors.js';
import { referenceBinary } from '../native.js';
import { withNetns } from '../sys/netns.js';
import { registerCleanup } from '../sys/cleanup.js';
import { LatencyRecorder } from '../measure/recorder.js';
import { REC_SIZE, REC_STAMPED, REC_KERNEL_TS } from './stack-record.js';

export type StackReceiverName = 'node' | 'c';
export const STACK_RECEIVERS: readonly StackReceiverName[] = ['node', 'c'];
/** The report's name of each receiver's path (`paths.<name>`). */
export const STACK_PATH = { node: 'node_dgram', c: 'c_recvmmsg' } as const;
export type StackPathName = (typeof STACK_PATH)[StackReceiverName];

export interface StackReceiverOptions {
  receiver: StackReceiverName;
  port: number;
  /** fd of the network namespace to receive in (default: the current one) */
  netnsFd?: number;
  /** SO_RCVBUF in bytes (default: the kernel's) */
  rcvbuf?: number;
  /** recvmmsg batch of the C receiver (default 64) */
  batch?: number;
}

/** The kernel's UDP counters (/proc/net/snmp) the stack path can lose datagrams in. */
export interface UdpCounters {
  in_datagrams: number;
  no_ports: number;
  in_errors: number;
  rcvbuf_errors: number;
}

export interface StackResult {
  receiver: StackReceiverName;
  /** datagrams the receiver read: afxdp frames with the XDP stamp, without it, and anything else */
  received: number;
  stamped: number;
  unstamped: number;
  foreign: number;
  /** datagrams that carried the kernel's own RX time (SO_TIMESTAMPNS: the C receiver) */
  kernelTs: number;
  /** the receiver's CPU time from bound to stopped (user + system) */
  cpuNs: number;
  /** datagrams the kernel dropped at the receiver's socket (its receive buffer was full) */
  socketDrops: number;
  /** what the kernel's UDP counters grew by in the receiver's namespace during the run (every socket's) */
  udp: UdpCounters;
  xdpToUser: LatencyRecorder;
  /** null: the receiver cannot see the kernel's RX time (Node dgram) */
  kernelToUser: LatencyRecorder | null;
  xdpToKernel: LatencyRecorder | null;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const NODE_CHILD = fileURLToPath(new URL('./stack-dgram.js', import.meta.url));
/** bench/c/stack_rx.c, built by `make` next to the C reference receiver, or the prebuilt one */
export const STACK_RX_BINARY = referenceBinary('stack_rx');
// O_TMPFILE: an unlinked file, gone with the last fd even when we are SIGKILLed
const O_TMPFILE = 0o20000000 | fs.constants.O_DIRECTORY;

/** The UDP line of /proc/net/snmp of a namespace (the calling thread's when netnsFd is undefined). */
export function readUdpCounters(netnsFd?: number): UdpCounters {
  const text = withNetns(netnsFd, () => fs.readFileSync('/proc/thread-self/net/snmp', 'utf8'));
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const keys = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  const v = (k: string): number => vals[keys.indexOf(k)] ?? 0;
  return { in_datagrams: v('InDatagrams'), no_ports: v('NoPorts'), in_errors: v('InErrors'), rcvbuf_errors: v('RcvbufErrors') };
}

/** Our socket's line of /proc/net/udp: bytes queued and datagrams it dropped (a full receive buffer). */
export function readUdpSocket(port: number, netnsFd?: number): { rxQueue: number; drops: number } | null {
  const text = withNetns(netnsFd, () => fs.readFileSync('/proc/thread-self/net/udp', 'utf8'));
  const local = `00000000:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== local) continue;
    // sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ref pointer drops
    return { rxQueue: parseInt(f[4]!.split(':')[1]!, 16), drops: Number(f[12]) };
  }
  return null;
}

function diff(a: UdpCounters, b: UdpCounters): UdpCounters {
  return { in_datagrams: a.in_datagrams - b.in_datagrams, no_ports: a.no_ports - b.no_ports, in_errors: a.in_errors - b.in_errors, rcvbuf_errors: a.rcvbuf_errors - b.rcvbuf_errors };
}

export class StackReceiver {
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private readonly unregister: () => void;
  private closed = false;

  private constructor(
    readonly receiver: StackReceiverName,
    private readonly child: ChildProcess,
    private readonly recordsFd: number,
    private readonly netnsFd: number | undefined,
    private readonly port: number,
    private udp0: UdpCounters,
  ) {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(null));
    });
    this.unregister = registerCleanup(`stack receiver ${child.pid}`, () => this.kill());
  }

  /** Starts the receiver and resolves once it is bound (a port in use or a missing binary: one AfxdpError). */
  static async start(o: StackReceiverOptions): Promise<StackReceiver> {
    if (!STACK_RECEIVERS.includes(o.receiver)) throw new AfxdpError('EUSAGE', `stack receiver ${JSON.stringify(o.receiver)} is not ${STACK_RECEIVERS.join(' or ')}`, { hint: 'use --stack-receiver node, c or both' });
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new AfxdpError('EUSAGE', `UDP port ${o.port} is out of range`, { hint: 'use 1..65535: the port the traffic is sent to' });
    if (o.receiver === 'c' && !fs.existsSync(STACK_RX_BINARY)) {
      throw new AfxdpError('EUSAGE', `the C stack receiver ${STACK_RX_BINARY} is missing`, { hint: 'the package ships it in prebuilds/linux-<arch>/ (x64, arm64); in a checkout `make` builds it; or use --stack-receiver node' });
    }
    const netns = o.netnsFd === undefined ? [] : ['--netns', `/proc/${process.pid}/fd/${o.netnsFd}`];
    const common = ['--port', String(o.port), ...netns, ...(o.rcvbuf ? ['--rcvbuf', String(o.rcvbuf)] : []), '--out', '3'];
    const recordsFd = fs.openSync(os.tmpdir(), O_TMPFILE | fs.constants.O_RDWR, 0o600);
    let child: ChildProcess;
    try {
      // the Node child dies with us through setpriv's parent-death signal (the C one sets its own)
      child =
        o.receiver === 'c'
          ? spawn(STACK_RX_BINARY, [...common, '--batch', String(o.batch ?? 64)], { stdio: ['ignore', 'ignore', 'pipe', recordsFd] })
          : spawn('setpriv', ['--pdeathsig', 'KILL', process.execPath, NODE_CHILD, ...common], { stdio: ['ignore', 'ignore', 'pipe', recordsFd] });
    } catch (e) {
      fs.closeSync(recordsFd);
      throw e;
    }
    const rx = new StackReceiver(o.receiver, child, recordsFd, o.netnsFd, o.port, readUdpCounters(o.netnsFd));
    try {
      await rx.ready(o.port);
    } catch (e) {
      rx.kill();
      throw e;
    }
    rx.udp0 = readUdpCounters(o.netnsFd);
    return rx;
  }

  private async ready(port: number): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (this.stderr.includes('ready\n')) return;
      const err = /^error: (.*)$/m.exec(this.stderr);
      const code = this.child.exitCode;
      if (err || code !== null || this.child.signalCode !== null || Date.now() > deadline) {
        const why = err?.[1] ?? (Date.now() > deadline ? 'no answer in 10 s' : `exited (${code ?? this.child.signalCode})`);
        const inUse = /EADDRINUSE|Address already in use/.test(why);
        throw new AfxdpError(inUse ? 'EBUSY' : 'EUSAGE', `the ${STACK_PATH[this.receiver]} receiver cannot receive on UDP port ${port}: ${why}`, {
          hint: inUse ? 'another socket holds the port: stop it, or compare on a port nothing listens on' : 'check the port and that the receiver can run',
        });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The kernel's UDP counters since the receiver was bound. */
  udpSinceStart(): UdpCounters {
    return diff(readUdpCounters(this.netnsFd), this.udp0);
  }

  /**
   * Waits until the kernel counts `expected` datagrams as read by user space or dropped (or
   * nothing changed for idleMs) and our socket has nothing queued, then stops the receiver and
   * folds its records.
   */
  async stop(expected: number | null, idleMs = 500): Promise<StackResult> {
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const u = this.udpSinceStart();
      const accounted = u.in_datagrams + u.in_errors + u.no_ports;
      const queued = readUdpSocket(this.port, this.netnsFd)?.rxQueue ?? 0;
      if (expected !== null && accounted >= expected && queued === 0) break;
      if (accounted !== last) {
        last = accounted;
        lastChange = Date.now();
      } else if (Date.now() - lastChange >= idleMs && queued === 0) break;
      if (this.child.exitCode !== null || Date.now() - lastChange >= STOP_TIMEOUT_MS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const udp = this.udpSinceStart();
    const socketDrops = readUdpSocket(this.port, this.netnsFd)?.drops ?? 0;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    const line = this.stderr.trim().split('\n').pop() ?? '';
    let s: { received: number; stamped: number; unstamped: number; foreign: number; kernel_ts: number; cpu_ns: number };
    try {
      s = JSON.parse(line);
    } catch {
      this.close();
      throw new AfxdpError('EUSAGE', `the ${STACK_PATH[this.receiver]} receiver ended without its result: ${line || 'no output'}`, { hint: 'see the line above; rerun with fewer packets' });
    }
    const result: StackResult = {
      receiver: this.receiver,
      received: s.received,
      stamped: s.stamped,
      unstamped: s.unstamped,
      foreign: s.foreign,
      kernelTs: s.kernel_ts,
      cpuNs: s.cpu_ns,
      socketDrops,
      udp,
      xdpToUser: new LatencyRecorder(),
      kernelToUser: this.receiver === 'c' ? new LatencyRecorder() : null,
      xdpToKernel: this.receiver === 'c' ? new LatencyRecorder() : null,
    };
    this.fold(result);
    this.close();
    return result;
  }

  /** The records into the recorders: after the run, in chunks. */
  private fold(r: StackResult): void {
    const chunk = Buffer.alloc(REC_SIZE * 32768);
    const v = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    for (;;) {
      const got = fs.readSync(this.recordsFd, chunk, 0, chunk.length, pos);
      const n = Math.floor(got / REC_SIZE);
      if (n === 0) break;
      pos += n * REC_SIZE;
      for (let i = 0; i < n; i++) {
        const o = i * REC_SIZE;
        const flags = v.getUint32(o + 4, true);
        if (!(flags & REC_STAMPED)) continue;
        const xdp = v.getBigUint64(o + 8, true);
        const user = v.getBigUint64(o + 24, true);
        r.xdpToUser.record(Number(user - xdp));
        if (flags & REC_KERNEL_TS) {
          const k = v.getBigUint64(o + 16, true);
          r.xdpToKernel?.record(Number(k - xdp));
          r.kernelToUser?.record(Number(user - k));
        }
      }
    }
  }

  /** Stops the process and frees the records file (idempotent; also at exit). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    fs.closeSync(this.recordsFd);
  }
}
