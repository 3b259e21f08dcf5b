/**
 * The doctor's least-privilege findings (docs/SECURITY.md): which user a run would continue as
 * after setup, and which of this host's UDP sockets a widened match (--match udp, --port, --all)
 * would starve on an interface.
 */
import fs from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolveRunAs } from '../sys/privileges.js';
import { finding, type Finding } from './finding.js';

export function runAsFinding(env: NodeJS.ProcessEnv = process.env): Finding {
  try {
    const r = resolveRunAs({ env });
    const detail = `afxdp latency and demo ${r.text}`;
    if (r.mode === 'root') {
      return finding('run.privileges', 'warn', 'privileges of a run', `${detail}: output files are written as root`, r.mode, 'start afxdp with sudo from your user, or pass --user NAME');
    }
    return finding('run.privileges', 'ok', 'privileges of a run', detail, r.mode);
  } catch (e) {
    return finding('run.privileges', 'fail', 'privileges of a run', (e as Error).message, null, 'fix SUDO_UID/SUDO_GID, or pass --user NAME');
  }
}

/** A UDP socket of this network namespace: local address (textual) and port. */
export interface UdpSocket {
  addr: string;
  port: number;
}

/** The UDP sockets in /proc/net/udp and udp6 (this network namespace only). */
export function udpSockets(read: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): UdpSocket[] {
  const out: UdpSocket[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = read(file);
    } catch {
      continue; // no IPv6 in this kernel/namespace
    }
    for (const line of text.split('\n').slice(1)) {
      const m = /^\s*\d+:\s+([0-9A-F]+):([0-9A-F]{4})\s/i.exec(line);
      if (m) out.push({ addr: procAddr(m[1]!), port: parseInt(m[2]!, 16) });
    }
  }
  return out;
}

/** /proc/net/udp's hex address: 32-bit words in host (little-endian) order. */
function procAddr(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(word.slice(b, b + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

const WILDCARD = new Set(['0.0.0.0', '0:0:0:0:0:0:0:0']);

/**
 * UDP sockets that can receive what arrives on `ifname`: bound to a wildcard address or to one of
 * the interface's. Their traffic on a measured queue would go to afxdp with --match udp, a --port
 * of theirs, or --all; the default (afxdp's own frames) leaves it alone.
 */
export function udpFlowsFinding(ifname: string, sockets: UdpSocket[] = udpSockets()): Finding {
  const own = new Set((networkInterfaces()[ifname] ?? []).map((a) => expand(a.address)));
  const reach = sockets.filter((s) => WILDCARD.has(s.addr) || own.has(s.addr));
  const ports = [...new Set(reach.map((s) => s.port))].sort((a, b) => a - b);
  const title = `${ifname}: other UDP receivers`;
  if (ports.length === 0) {
    return finding(`iface.${ifname}.udp_flows`, 'ok', title, 'no UDP socket of this namespace listens on it: --match udp or --all takes nothing another program expects', ports);
  }
  const list = ports.slice(0, 8).join(', ') + (ports.length > 8 ? `, … (${ports.length} ports)` : '');
  return finding(
    `iface.${ifname}.udp_flows`,
    'warn',
    title,
    `${reach.length} UDP socket${reach.length === 1 ? '' : 's'} of this namespace can receive on it (port${ports.length === 1 ? '' : 's'} ${list}): afxdp latency takes only afxdp's frames by default; --match udp, --port of theirs or --all would take their datagrams on the measured queue while it runs`,
    ports,
    'keep the default match, or --match udp --port P with a port no one else uses',
  );
}

/** IPv6 text in the full, unabbreviated lower-case form procAddr() makes; IPv4 unchanged. */
function expand(addr: string): string {
  if (!addr.includes(':')) return addr;
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const mid = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...mid, ...t].map((g) => parseInt(g, 16).toString(16)).join(':');
}
