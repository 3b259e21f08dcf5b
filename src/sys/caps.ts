/**
 * Capabilities: check before anything is loaded or attached, and name what is missing.
 *
 * Minimal set for `afxdp latency` as a non-root user (measured on kernel 6.18, see
 * docs/RELIABILITY.md): CAP_NET_ADMIN (attach XDP, load a networking program), CAP_NET_RAW
 * (AF_XDP socket), CAP_BPF (maps, program load), CAP_PERFMON (the verifier refuses packet
 * pointer arithmetic "for !root" without it), and CAP_IPC_LOCK or a locked-memory limit
 * (`ulimit -l`) as large as the UMEM, which the kernel charges to RLIMIT_MEMLOCK.
 * CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON. `afxdp demo` also needs CAP_SYS_ADMIN
 * (network namespaces).
 */
import fs from 'node:fs';
import { AfxdpError } from '../errors.js';

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
export const CAP_IPC_LOCK = 14;
export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_NICE = 23;
export const CAP_PERFMON = 38;
export const CAP_BPF = 39;

const NAMES: Record<number, string> = {
  [CAP_NET_ADMIN]: 'CAP_NET_ADMIN',
  [CAP_NET_RAW]: 'CAP_NET_RAW',
  [CAP_IPC_LOCK]: 'CAP_IPC_LOCK',
  [CAP_SYS_ADMIN]: 'CAP_SYS_ADMIN',
  [CAP_SYS_NICE]: 'CAP_SYS_NICE',
  [CAP_PERFMON]: 'CAP_PERFMON',
  [CAP_BPF]: 'CAP_BPF',
};

export interface CapNeed {
  /** any one of these capabilities satisfies the need (e.g. CAP_BPF or CAP_SYS_ADMIN) */
  anyOf: number[];
  why: string;
}

/** Needs of a measurement on an existing interface (`afxdp latency`). */
export const PROBE_NEEDS: readonly CapNeed[] = [
  { anyOf: [CAP_NET_ADMIN], why: 'attach XDP' },
  { anyOf: [CAP_NET_RAW], why: 'AF_XDP socket' },
  { anyOf: [CAP_BPF, CAP_SYS_ADMIN], why: 'load BPF' },
  { anyOf: [CAP_PERFMON, CAP_SYS_ADMIN], why: 'packet pointer arithmetic in the verifier' },
];

/** Needs of `afxdp demo` (a private lab besides the probe and the generator). */
export const LAB_NEEDS: readonly CapNeed[] = [...PROBE_NEEDS, { anyOf: [CAP_SYS_ADMIN], why: 'network namespaces' }];
/** --rt: SCHED_FIFO for the receiving thread(s) */
export const RT_NEED: CapNeed = { anyOf: [CAP_SYS_NICE], why: '--rt (SCHED_FIFO)' };

/** The effective set of this process, from /proc/self/status (null when unreadable). */
export function effectiveCaps(status?: string): bigint | null {
  let text = status;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/status', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  return m ? BigInt(`0x${m[1]}`) : null;
}

/** Soft RLIMIT_MEMLOCK in bytes from /proc/self/limits (Infinity for unlimited, null when unknown). */
export function memlockLimit(limits?: string): number | null {
  let text = limits;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max locked memory\s+(\S+)/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

function has(set: bigint, cap: number): boolean {
  return ((set >> BigInt(cap)) & 1n) === 1n;
}

/** What is missing, as capability names ("CAP_BPF or CAP_SYS_ADMIN") — empty when all is there. */
export function missingCaps(eff: bigint, needs: readonly CapNeed[], o: { umemBytes?: number; memlock?: number | null } = {}): string[] {
  const missing: string[] = [];
  for (const n of needs) {
    if (!n.anyOf.some((c) => has(eff, c))) missing.push(`${n.anyOf.map((c) => NAMES[c]).join(' or ')} (${n.why})`);
  }
  if (o.umemBytes !== undefined && !has(eff, CAP_IPC_LOCK)) {
    const limit = o.memlock ?? 0;
    if (limit < o.umemBytes) {
      const mib = Math.ceil(o.umemBytes / 1048576);
      missing.push(`CAP_IPC_LOCK or a locked-memory limit of at least ${mib} MiB (UMEM; now ${limit === 0 ? 'unknown' : `${Math.floor(limit / 1048576)} MiB`}, see ulimit -l)`);
    }
  }
  return missing;
}

/**
 * Throws AfxdpError EPERM naming every missing capability, before anything is loaded or attached.
 * Does nothing when /proc is not readable (the kernel will still answer EPERM, with our hints).
 */
export function requireCaps(command: string, needs: readonly CapNeed[], o: { umemBytes?: number } = {}): void {
  const eff = effectiveCaps();
  if (eff === null) return;
  const missing = missingCaps(eff, needs, { umemBytes: o.umemBytes, memlock: memlockLimit() });
  if (missing.length === 0) return;
  const root = process.getuid?.() === 0;
  throw new AfxdpError('EPERM', `${command} needs capabilities this process lacks: ${missing.join(', ')}`, {
    hint: root
      ? 'this root process runs with reduced capabilities (a restricted container?); grant them or run on the host'
      : 'run as root, or grant exactly these (docs/RELIABILITY.md shows a setpriv line for a non-root user)',
  });
}
