/**
 * The private test lab: two network namespaces (tx, rx) joined by a veth pair, IPv4 only, static
 * neighbours, nothing else on the wire, so a test can demand exact packet accounting. Used by the
 * test suite and `afxdp demo`. Everything dies with the process, even on SIGKILL (see netns.ts).
 *
 * The tap lab (driver 'tap') is the second driver: one namespace holding a tun/tap device
 * (tap.ts), fed by this process writing frames to the tap's fd. The tap is the rx end; the tx
 * end is that writer — no interface or namespace of its own, an address and a MAC the rx end
 * knows as its neighbour. The tap goes with its fds, which go with the process.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AfxdpError, nearest } from '../errors.js';
import { registerCleanup } from '../sys/cleanup.js';
import { runTool, type IpLink } from '../sys/exec.js';
import { HOLDER_PREFIX, NetnsHolder } from '../sys/netns.js';
import { openTap, closeTap, findTaps } from './tap.js';
import type { GeneratorOptions } from './generator.js';

/** The lab's drivers: a veth pair (default), or a tun/tap device fed through its fd. */
export const LAB_DRIVERS = ['veth', 'tap'] as const;
export type LabDriver = (typeof LAB_DRIVERS)[number];

export interface LabSide {
  netns: NetnsHolder;
  ifname: string;
  /** lower-case, colon separated: aa:bb:cc:dd:ee:ff */
  mac: string;
  macBytes: Uint8Array;
  ip: string;
  ipBytes: Uint8Array;
}

export interface LabOptions {
  /**
   * 'veth' (default): two namespaces joined by a veth pair. 'tap': one namespace with a tap,
   * which this process feeds by writing frames to its fd (Lab.senderOptions); the tap has native
   * XDP and keeps metadata but has no RX-metadata kfuncs (no hash, no timestamp hints). Not with
   * `vlan`; frames up to 4096 bytes
   */
  driver?: LabDriver;
  /** rx and tx queues on each veth end, 1..64; default 1 */
  queues?: number;
  /**
   * tag what the tx end's kernel stack sends with this 802.1Q VLAN id (1..4094), out of band
   * like a VLAN device over a NIC with VLAN offload, so the rx end's driver reports it as the XDP
   * VLAN hint. Done with a tc egress BPF program (bpf/vlan_tag.bpf.c): this kernel has no 8021q.
   * AF_XDP transmits bypass tc, so send such traffic with sendUdpViaStack().
   */
  vlan?: number;
  /**
   * MTU of both veth ends, 68..65535; default 1500. Above ~3.5 KB a veth takes native XDP only
   * from multi-buffer-aware programs (SEC("xdp.frags"), as afxdp's own), and AF_XDP sockets
   * receive such packets as chains (XDP_USE_SG).
   */
  mtu?: number;
}

export interface LabLeftovers {
  /** pids of processes whose cmdline starts with `afxdp-ns-` */
  holders: number[];
  /** links named `afxdp-*` in the root namespace */
  links: string[];
  /** `ip netns list` entries named `afxdp-*` */
  netns: string[];
  /** taps named `afxdp-*` some process still holds open, in any namespace (tap.ts findTaps) */
  taps: string[];
}

const LINK_PREFIX = 'afxdp-';
const MAX_QUEUES = 64;
const DEFAULT_MTU = 1500;
/** ETH_MIN_MTU .. ETH_MAX_MTU: what a veth accepts */
const MIN_MTU = 68;
const MAX_MTU = 65535;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 6;
// RFC 2544 benchmarking range: never routed, never anyone else's address.
const TX_IP = '198.18.0.1';
const RX_IP = '198.18.0.2';
const PREFIX_LEN = 24;
const UP_TIMEOUT_MS = 5_000;
const UP_POLL_MS = 20;
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

const BUILD_HINT = 'run as root with iproute2 and util-linux installed (scripts/setup); `pgrep -af afxdp-ns-` shows holders still alive';

export class Lab {
  readonly id: string;
  readonly driver: LabDriver;
  readonly queues: number;
  /** the receiving end: afxdp-<id>r, 198.18.0.2 (on tap: the tap) */
  readonly rx: LabSide;
  /**
   * the sending end: afxdp-<id>t, 198.18.0.1. On tap: the writer of the tap's fd, with the rx
   * end's namespace and interface name (its frames enter there) and its own MAC and address
   */
  readonly tx: LabSide;
  /** the `vlan` option: the tag on everything the tx end's stack sends */
  readonly vlanId: number | null;
  /** MTU of both veth ends */
  readonly mtu: number;
  private vlanTagger: { close(): void } | null = null;
  /** tap: one fd per queue, in queue order; empty on veth and once destroyed */
  private readonly tapFds: number[];

  private readonly unregister: () => void;
  private destroying: Promise<void> | undefined;

  private constructor(id: string, driver: LabDriver, queues: number, rx: LabSide, tx: LabSide, vlan: number | null, mtu: number, tapFds: number[]) {
    this.id = id;
    this.driver = driver;
    this.tapFds = tapFds;
    this.mtu = mtu;
    this.queues = queues;
    this.rx = rx;
    this.tx = tx;
    this.vlanId = vlan;
    this.unregister = registerCleanup(`lab ${id}`, () => {
      closeTap(this.tapFds);
      rx.netns.destroyNow();
      tx.netns.destroyNow();
    });
  }

  static async create(opts: LabOptions = {}): Promise<Lab> {
    const driver = checkLabDriver(opts.driver);
    const queues = validateQueues(opts.queues);
    const vlan = validateVlan(opts.vlan);
    const mtu = validateMtu(opts.mtu);
    if (driver === 'tap' && vlan !== null) {
      throw new AfxdpError('EUSAGE', 'the vlan option needs the veth lab: its tag is put on by tc on the tx end, and a tap lab has no tx interface', { hint: "leave driver at 'veth' for a VLAN lab" });
    }
    requirePrivileges();
    const id = randomId();
    if (driver === 'tap') return createTapLab(id, queues, mtu);
    const holders: NetnsHolder[] = [];
    try {
      // allSettled, not all: a holder that did start must be collected even if its sibling failed.
      const settled = await Promise.allSettled([NetnsHolder.create(id, 'rx'), NetnsHolder.create(id, 'tx')]);
      for (const s of settled) if (s.status === 'fulfilled') holders.push(s.value);
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
      const [rxNs, txNs] = holders as [NetnsHolder, NetnsHolder];
      const rxIf = `${LINK_PREFIX}${id}r`;
      const txIf = `${LINK_PREFIX}${id}t`;

      // Before the veth exists, so its ends never get an IPv6 address, router solicitations or
      // MLD reports: the only frames on the wire are the ones a test sends.
      await Promise.all([disableIpv6(rxNs), disableIpv6(txNs)]);

      const q = String(queues);
      // Made from the root namespace straight into the holders' namespaces: the pair never
      // appears in the root namespace, not even for a moment.
      await runTool('ip', [
        'link', 'add', txIf, 'netns', String(txNs.pid), 'numtxqueues', q, 'numrxqueues', q, 'mtu', String(mtu),
        'type', 'veth',
        'peer', 'name', rxIf, 'netns', String(rxNs.pid), 'numtxqueues', q, 'numrxqueues', q, 'mtu', String(mtu),
      ]);

      const [rxMac, txMac] = await Promise.all([readMac(rxNs, rxIf), readMac(txNs, txIf)]);
      const rx = side(rxNs, rxIf, rxMac, RX_IP);
      const tx = side(txNs, txIf, txMac, TX_IP);
      await Promise.all([configure(rx, tx), configure(tx, rx)]);
      await Promise.all([waitUntilUp(rx), waitUntilUp(tx)]);
      const lab = new Lab(id, 'veth', queues, rx, tx, vlan, mtu, []);
      if (vlan !== null) {
        try {
          lab.vlanTagger = await attachVlanTagger(tx, vlan);
        } catch (e) {
          await lab.destroy();
          throw e;
        }
      }
      return lab;
    } catch (e) {
      await Promise.allSettled(holders.map((h) => h.destroy()));
      throw buildError(e);
    }
  }

  /** For internal use by createTapLab (the constructor is private). */
  static fromTap(id: string, queues: number, rx: LabSide, tx: LabSide, mtu: number, tapFds: number[]): Lab {
    return new Lab(id, 'tap', queues, rx, tx, null, mtu, tapFds);
  }

  /**
   * What afxdp's generator (TrafficGenerator, GeneratorThread) takes to send on `queue` from the
   * tx end to the rx end: on veth an AF_XDP socket on the tx veth, on tap the tap queue's fd.
   */
  senderOptions(queue = 0): Pick<GeneratorOptions, 'ifname' | 'netnsFd' | 'tapFd' | 'queue' | 'srcMac' | 'dstMac' | 'srcIp' | 'dstIp'> {
    if (!Number.isInteger(queue) || queue < 0 || queue >= this.queues) {
      throw new AfxdpError('EUSAGE', `lab ${this.id} has no queue ${queue}`, { hint: `use a queue from 0 to ${this.queues - 1}` });
    }
    const ends = { srcMac: this.tx.macBytes, dstMac: this.rx.macBytes, srcIp: this.tx.ipBytes, dstIp: this.rx.ipBytes };
    if (this.driver === 'veth') return { ifname: this.tx.ifname, netnsFd: this.tx.netns.fd, queue, ...ends };
    const tapFd = this.tapFds[queue];
    if (tapFd === undefined) throw new AfxdpError('ECLOSED', `lab ${this.id} is destroyed`, { hint: 'create a new lab' });
    return { ifname: this.rx.ifname, netnsFd: this.rx.netns.fd, tapFd, queue, ...ends };
  }

  /**
   * Sends `count` UDP datagrams (20 zero bytes) from tx to rx port `port` through the tx
   * namespace's kernel stack (a child process in that namespace), so tc egress — the VLAN tagger —
   * sees them. Resolves when all were handed to the kernel.
   */
  async sendUdpViaStack(count: number, port = 9): Promise<number> {
    const script = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(20);let n=0;` +
      `const next=()=>{if(n===${count})return s.close();s.send(b,${port},'${this.rx.ip}',(e)=>{if(e){console.error(e.message);process.exit(1)}n++;next()})};next();`;
    await this.tx.netns.exec(process.execPath, ['-e', script]);
    return count;
  }

  /** Closes the tap's fds and kills the holders; the kernel then removes the namespaces, the veth pair or the tap. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      this.vlanTagger?.close();
      this.vlanTagger = null;
      this.unregister();
      closeTap(this.tapFds);
      // a tap lab's two ends share one holder: destroyed once
      const results = await Promise.allSettled([...new Set([this.rx.netns, this.tx.netns])].map((h) => h.destroy()));
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    })();
    return this.destroying;
  }

  /**
   * What afxdp labs left on this machine: holders, root-namespace links, named namespaces (the
   * lab makes none; older tools or manual experiments might have) and taps held open by any
   * process. Labs that are still running count too. With `id`, only that run's leftovers.
   */
  static async leftovers(id?: string): Promise<LabLeftovers> {
    const holderPrefix = id === undefined ? HOLDER_PREFIX : `${HOLDER_PREFIX}${id}-`;
    const namePrefix = id === undefined ? LINK_PREFIX : `${LINK_PREFIX}${id}`;
    const holders = findHolders(holderPrefix);
    const [linkOut, netnsOut] = await Promise.all([runTool('ip', ['-j', 'link', 'show']), runTool('ip', ['netns', 'list'])]);
    const links = (JSON.parse(linkOut.stdout || '[]') as IpLink[])
      .map((l) => l.ifname)
      .filter((n) => n.startsWith(namePrefix));
    const netns = netnsOut.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((n) => n.startsWith(namePrefix));
    return { holders, links, netns, taps: findTaps(namePrefix) };
  }
}

/**
 * The tap lab: one holder (the rx namespace), the tap made inside it with one fd per queue, the
 * tx end's MAC a fresh locally administered one. IPv6 is off before the tap exists, as on veth.
 */
async function createTapLab(id: string, queues: number, mtu: number): Promise<Lab> {
  let holder: NetnsHolder | undefined;
  const fds: number[] = [];
  try {
    holder = await NetnsHolder.create(id, 'rx');
    await disableIpv6(holder);
    const ifname = `${LINK_PREFIX}${id}r`;
    fds.push(...openTap(holder.fd, ifname, queues));
    await holder.exec('ip', ['link', 'set', 'dev', ifname, 'mtu', String(mtu)]);
    const rx = side(holder, ifname, await readMac(holder, ifname), RX_IP);
    const tx = side(holder, ifname, randomMac(), TX_IP);
    await configure(rx, tx);
    await waitUntilUp(rx);
    return Lab.fromTap(id, queues, rx, tx, mtu, fds);
  } catch (e) {
    closeTap(fds);
    await holder?.destroy().catch(() => undefined);
    throw buildError(e);
  }
}

/** A build failure as ELAB, keeping the hint of the step that failed. */
function buildError(e: unknown): AfxdpError {
  const inner = e instanceof AfxdpError ? e : undefined;
  return new AfxdpError('ELAB', `cannot build the lab: ${(e as Error)?.message ?? String(e)}`, {
    hint: inner?.hint ?? BUILD_HINT,
    detail: inner?.detail,
    errno: inner?.errno,
    cause: e,
  });
}

/** A lab driver name, checked: 'veth' when not given; an unknown one is EUSAGE with the nearest name. */
export function checkLabDriver(driver: unknown): LabDriver {
  if (driver === undefined) return 'veth';
  if ((LAB_DRIVERS as readonly unknown[]).includes(driver)) return driver as LabDriver;
  const guess = typeof driver === 'string' ? nearest(driver, LAB_DRIVERS) : null;
  const shown = typeof driver === 'string' ? JSON.stringify(driver.slice(0, 24)) : typeof driver;
  throw new AfxdpError('EUSAGE', `unknown lab driver ${shown}${guess === null ? '' : ` (did you mean "${guess}"?)`}`, { hint: `the drivers are ${LAB_DRIVERS.join(', ')}` });
}

function validateQueues(queues: number | undefined): number {
  if (queues === undefined) return 1;
  if (!Number.isInteger(queues) || queues < 1 || queues > MAX_QUEUES) {
    throw new AfxdpError('EUSAGE', `invalid lab queue count ${queues}: must be an integer from 1 to ${MAX_QUEUES}`, {
      hint: 'pass a queue count from 1 to 64 (veth allows more; the lab caps it to keep setup fast)',
    });
  }
  return queues;
}

/** Loads bpf/vlan_tag.bpf.o and links it to the tx end's tc egress (tcx, from inside its namespace). */
async function attachVlanTagger(tx: LabSide, vlan: number): Promise<{ close(): void }> {
  const [{ native }, { BpfObject, bundledObject }, { withNetns }] = await Promise.all([
    import('../native.js'),
    import('../xdp/program.js'),
    import('../sys/netns.js'),
  ]);
  const obj = BpfObject.open(bundledObject('vlan_tag'));
  try {
    obj.load({ rodata: { cfg_vlan_id: vlan } });
    const link = withNetns(tx.netns.fd, () => native().bpfLinkTcx(obj.programFd('vlan_tag'), native().ifNameToIndex(tx.ifname), true));
    return {
      close: () => {
        native().close(link);
        obj.close();
      },
    };
  } catch (e) {
    obj.close();
    throw e;
  }
}

function validateMtu(mtu: number | undefined): number {
  if (mtu === undefined) return DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new AfxdpError('EUSAGE', `invalid lab MTU ${mtu}: must be an integer from ${MIN_MTU} to ${MAX_MTU}`, { hint: 'pass an MTU such as 1500 or 9000' });
  }
  return mtu;
}

function validateVlan(vlan: number | undefined): number | null {
  if (vlan === undefined) return null;
  if (!Number.isInteger(vlan) || vlan < 1 || vlan > 4094) {
    throw new AfxdpError('EUSAGE', `invalid VLAN id ${vlan}: must be an integer from 1 to 4094`, { hint: 'pass a VLAN id from 1 to 4094' });
  }
  return vlan;
}

/**
 * The lab needs CAP_SYS_ADMIN (unshare, setns) and CAP_NET_ADMIN (links, sysctls) in this
 * process and in the tools it runs. A non-root process loses its capabilities on exec unless
 * they are ambient, so for non-root the ambient set must carry them too.
 */
function requirePrivileges(): void {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const capSet = (field: string): bigint => {
    const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return m ? BigInt(`0x${m[1]}`) : 0n;
  };
  const has = (set: bigint, cap: number): boolean => ((set >> BigInt(cap)) & 1n) === 1n;
  const need = [CAP_SYS_ADMIN, CAP_NET_ADMIN];
  const eff = capSet('CapEff');
  const amb = capSet('CapAmb');
  const root = process.getuid?.() === 0;
  const ok = need.every((c) => has(eff, c) && (root || has(amb, c)));
  if (!ok) {
    throw new AfxdpError('EPERM', 'cannot build the lab: it needs CAP_SYS_ADMIN and CAP_NET_ADMIN (network namespaces, veth)', {
      hint: root ? 'this root process lacks those capabilities (a restricted container?): run it on a host or a privileged container' : 'run as root, e.g. `sudo afxdp demo` or `sudo npm test`',
    });
  }
}

/** A unicast, locally administered MAC address (02:…): the tap lab's tx end. */
function randomMac(): string {
  const b = [0x02, ...Array.from({ length: 5 }, () => randomInt(256))];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function randomId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

async function disableIpv6(ns: NetnsHolder): Promise<void> {
  await ns.exec('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
}

async function showLink(ns: NetnsHolder, ifname: string): Promise<IpLink> {
  const { stdout } = await ns.exec('ip', ['-j', 'link', 'show', 'dev', ifname]);
  const links = JSON.parse(stdout) as IpLink[];
  const link = links[0];
  if (!link) throw new AfxdpError('ENOIFACE', `${ifname} not found in ${ns.name}`, { hint: BUILD_HINT });
  return link;
}

async function readMac(ns: NetnsHolder, ifname: string): Promise<string> {
  const { address } = await showLink(ns, ifname);
  if (!address || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(address)) {
    throw new AfxdpError('ELAB', `${ifname} has no usable MAC address (got ${address ?? 'none'})`, { hint: BUILD_HINT });
  }
  return address.toLowerCase();
}

function side(netns: NetnsHolder, ifname: string, mac: string, ip: string): LabSide {
  return {
    netns,
    ifname,
    mac,
    macBytes: Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16))),
    ip,
    ipBytes: Uint8Array.from(ip.split('.').map((d) => Number(d))),
  };
}

/**
 * One `ip -batch` per namespace instead of five nsenter round trips. The neighbour goes in after
 * `up`: taking a device down flushes even permanent entries.
 */
async function configure(self: LabSide, peer: LabSide): Promise<void> {
  const batch = [
    'link set dev lo up',
    `addr add ${self.ip}/${PREFIX_LEN} dev ${self.ifname}`,
    `link set dev ${self.ifname} up`,
    `neigh replace ${peer.ip} lladdr ${peer.mac} dev ${self.ifname} nud permanent`,
  ].join('\n');
  await self.netns.exec('ip', ['-batch', '-'], { input: `${batch}\n` });
}

async function waitUntilUp(s: LabSide): Promise<void> {
  const deadline = Date.now() + UP_TIMEOUT_MS;
  for (;;) {
    const { operstate, flags } = await showLink(s.netns, s.ifname);
    // a tap reports no operstate of its own (UNKNOWN): its carrier (LOWER_UP) says it is usable
    if (operstate === 'UP' || (operstate === 'UNKNOWN' && flags?.includes('LOWER_UP'))) return;
    if (Date.now() > deadline) {
      throw new AfxdpError('ELAB', `${s.ifname} is still ${operstate ?? 'in an unknown state'} after ${UP_TIMEOUT_MS / 1000} s`, { hint: BUILD_HINT });
    }
    await sleep(UP_POLL_MS);
  }
}

function findHolders(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1');
    } catch {
      continue; // exited while we looked
    }
    if (cmdline.startsWith(prefix)) pids.push(Number(entry));
  }
  return pids;
}
