/**
 * The native addon (native/*.c): system calls and libbpf only, never called per packet.
 * Every function throws an Error with `errno` and `syscall` set on failure, except the hot-path
 * `xskKick`, which returns 0 or -errno so a batch loop needs no try/catch.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { AfxdpError } from './errors.js';

export interface RingOffsets {
  producer: number;
  consumer: number;
  desc: number;
  flags: number;
}

export interface MmapOffsets {
  rx: RingOffsets;
  tx: RingOffsets;
  fr: RingOffsets;
  cr: RingOffsets;
}

export interface BpfProgramInfo {
  name: string;
  section: string;
  /** enum bpf_prog_type; 0 (UNSPEC) when libbpf did not recognise the section name */
  type: number;
}

export interface BpfMapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface RodataVar {
  name: string;
  offset: number;
  size: number;
}

export interface BpfLoadResult {
  ok: boolean;
  /** positive errno when !ok */
  errno: number;
  /** what libbpf printed (warnings and the verifier log on failure) */
  log: string;
  /** with logLevel > 0: each loaded program's own verifier log, by program name */
  progLogs: Record<string, string>;
}

/** Opaque handle to a libbpf `struct bpf_object`. */
export type BpfObjectHandle = { readonly __bpfObject: unique symbol };
/** Opaque handle to a uv_poll watcher. */
export type PollHandle = { readonly __poll: unique symbol };

export interface EthtoolChannels {
  rx: number;
  tx: number;
  other: number;
  combined: number;
  maxRx: number;
  maxTx: number;
  maxOther: number;
  maxCombined: number;
}

export interface XdpQueryResult {
  /** id of the program attached in any mode, 0 if none */
  progId: number;
  /** XDP_ATTACHED_NONE(0) / DRV(1) / SKB(2) / HW(3) / MULTI(4) */
  attachMode: number;
  driveProgId: number;
  skbProgId: number;
}

export interface NativeAddon {
  // memory and AF_XDP sockets
  mmapAnonymous(size: number): ArrayBuffer;
  /** MAP_SHARED mapping of a file (a memfd UMEM the broker registered) */
  mmapShared(fd: number, size: number): ArrayBuffer;
  xskSocket(): number;
  xskUmemReg(fd: number, umem: ArrayBuffer, chunkSize: number, headroom: number, flags: number, txMetadataLen: number): void;
  xskSetRingSize(fd: number, sockopt: number, entries: number): void;
  xskMmapOffsets(fd: number): MmapOffsets;
  xskMmapRing(fd: number, pgoff: number, size: number): ArrayBuffer;
  /** Swaps a ring mapping (from xskMmapRing) for anonymous memory so a closed socket is released now; false if `ring` is not one */
  xskReleaseRing(ring: ArrayBuffer): boolean;
  xskBind(fd: number, ifindex: number, queue: number, flags: number, sharedUmemFd: number): void;
  /** fills out[0..5]: rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full, rx_fill_ring_empty_descs, tx_ring_empty_descs; returns how many were filled */
  xskStatistics(fd: number, out: Float64Array): number;
  /** 0 = recvfrom(MSG_DONTWAIT), 1 = sendto(MSG_DONTWAIT), 2 = poll(POLLIN, 0); returns 0 or -errno */
  xskKick(fd: number, kind: number): number;
  /** poll(2) on the socket for `events` (POLLIN 1, POLLOUT 4) up to timeoutMs; revents, 0 on timeout, or -errno */
  xskPoll(fd: number, events: number, timeoutMs: number): number;
  /** getsockopt(SOL_XDP, XDP_OPTIONS) flags (XDP_OPTIONS_ZEROCOPY = 1), or -errno */
  xskOptions(fd: number): number;
  /** SO_PREFER_BUSY_POLL (on when usecs > 0), SO_BUSY_POLL = usecs, SO_BUSY_POLL_BUDGET = budget; throws naming the refused option */
  xskBusyPoll(fd: number, usecs: number, budget: number): void;
  /** getsockopt(SOL_SOCKET, name) as an int; -errno on failure */
  socketOptionInt(fd: number, name: number): number;
  close(fd: number): void;
  /** Starts a uv_poll watcher (readable) on the main loop; cb(status) runs on each readiness. */
  pollStart(fd: number, cb: (status: number) => void): PollHandle;
  pollStop(handle: PollHandle): void;
  /** Blocks the calling thread in poll(2) for POLLIN up to timeoutMs; returns revents (0: timeout or EINTR) or -errno. For a worker thread. */
  pollWait(fd: number, timeoutMs: number): number;
  /** pollWait() that ends early when another thread calls wakeSignal(wakeFd) */
  pollWaitWake(fd: number, wakeFd: number, timeoutMs: number): number;
  /** a non-blocking eventfd for pollWaitWake() (close it with close()) */
  wakeCreate(): number;
  /** ends a pollWaitWake() on this eventfd (or the next one); 0 or -errno */
  wakeSignal(fd: number): number;

  // libbpf
  bpfOpen(path: string): BpfObjectHandle;
  bpfPrograms(obj: BpfObjectHandle): BpfProgramInfo[];
  bpfMaps(obj: BpfObjectHandle): BpfMapInfo[];
  /** null when the object has no .rodata */
  bpfRodata(obj: BpfObjectHandle): { bytes: Buffer; vars: RodataVar[] } | null;
  bpfSetRodata(obj: BpfObjectHandle, bytes: Uint8Array): void;
  bpfSetAutoload(obj: BpfObjectHandle, prog: string, autoload: boolean): void;
  bpfSetProgType(obj: BpfObjectHandle, prog: string, type: number): void;
  bpfSetProgIfindex(obj: BpfObjectHandle, prog: string, ifindex: number, flags: number): void;
  bpfLoad(obj: BpfObjectHandle, logLevel?: number): BpfLoadResult;
  bpfProgFd(obj: BpfObjectHandle, prog: string): number;
  bpfMapFd(obj: BpfObjectHandle, map: string): number;
  bpfClose(obj: BpfObjectHandle): void;
  /** bpf_link_create(BPF_XDP); flags: XDP_FLAGS_SKB_MODE / XDP_FLAGS_DRV_MODE; returns the link fd */
  bpfLinkXdp(progFd: number, ifindex: number, flags: number): number;
  /** bpf_link_create(BPF_TCX_EGRESS or _INGRESS) for a tc (SCHED_CLS) program; returns the link fd */
  bpfLinkTcx(progFd: number, ifindex: number, egress: boolean): number;
  bpfXdpQuery(ifindex: number): XdpQueryResult;
  /** name of a loaded program by id, '' if it is gone */
  bpfProgName(id: number): string;
  bpfMapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  /** returns false when the key is absent */
  bpfMapLookup(fd: number, key: Uint8Array, value: Uint8Array): boolean;
  bpfMapDelete(fd: number, key: Uint8Array): boolean;
  /** lookup-and-delete of `count` keys (back to back in keys); values at the same index; found[i] = 1 when present; returns the hits */
  bpfMapTakeBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number, found: Uint8Array): number;
  /** BPF_PROG_TEST_RUN: mean ns per run over `repeat` runs on `data`; flags e.g. BPF_F_TEST_XDP_LIVE_FRAMES (1 << 1) */
  bpfProgTestRun(progFd: number, data: Uint8Array, repeat: number, flags?: number, batchSize?: number): { retval: number; durationNs: number };
  numPossibleCpus(): number;

  // system
  /** setns(2) on the calling (main) thread */
  setns(fd: number, nstype: number): void;
  /** clock_gettime into out[0] = low 32 bits, out[1] = high 32 bits of the ns value */
  clockGettime(clockId: number, out: Uint32Array): void;
  /** Pins the calling thread to one CPU (sched_setaffinity(0)); 0 or -errno. */
  threadPin(cpu: number): number;
  /** SCHED_FIFO at this priority for the calling thread; 0 or -errno (EPERM without CAP_SYS_NICE). */
  threadFifo(priority: number): number;
  /** the calling thread's CPUs (sched_getaffinity) */
  threadAffinity(): number[];
  /** the calling thread on these CPUs; 0 or -errno */
  threadSetAffinity(cpus: number[]): number;
  /** the calling thread's kernel id (gettid) */
  threadId(): number;
  /** [policy, priority] of a thread of this process (0: the calling one); -errno (ESRCH: gone) */
  threadPolicy(tid: number): [number, number] | number;
  /** sched_setscheduler(tid, policy, priority) for a thread of this process (0: the calling one); 0 or -errno */
  threadSetPolicy(tid: number, policy: number, priority: number): number;
  /** Registers the calling thread's clock and the two u32 words clockNow() writes (lo, hi ns) */
  clockRegister(clockId: number, out: Uint32Array): void;
  /** The registered clock into the registered words (no arguments: the cheapest clock read) */
  clockNow(): void;
  /** pollWait() that reads the registered clock as soon as poll(2) returns readable */
  pollWaitClock(fd: number, timeoutMs: number): number;
  /** fcntl(F_DUPFD_CLOEXEC): a new fd (≥ 3) for the same open file; throws with errno (EBADF) */
  dupFd(fd: number): number;
  ifNameToIndex(name: string): number;
  /** MTU of an interface in the calling thread's network namespace; 0 when there is none */
  ifMtu(name: string): number;
  ethtoolChannels(ifname: string): EthtoolChannels | null;
  ethtoolDriver(ifname: string): { driver: string; version: string; busInfo: string } | null;
  /** netdev genetlink DEV_GET: feature bitmasks (-1 = not reported); null when the kernel has no netdev family */
  netdevDevGet(ifindex: number): NetdevFeatures | null;

  // the broker's Unix socket (SOCK_SEQPACKET) and fd passing
  /** listening, non-blocking; the socket file starts with mode 0600 */
  unixListen(path: string, backlog: number): number;
  /** blocking, connected */
  unixConnect(path: string): number;
  /** a non-blocking connection or -errno (-EAGAIN: none pending) */
  unixAccept(fd: number): number;
  /** SO_PEERCRED: who connected, as the kernel saw it */
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  /** one message with `fds` attached (SCM_RIGHTS); 0 or -errno */
  sendFds(fd: number, bytes: Uint8Array, fds: Int32Array): number;
  /** waits up to timeoutMs (-1: forever) for one message; bytes 0: peer closed, -errno on failure (-EAGAIN: timeout); fds: how many went into fdsOut */
  recvFds(fd: number, buf: Uint8Array, fdsOut: Int32Array, timeoutMs: number): { bytes: number; fds: number };
  /** memfd_create + ftruncate: an anonymous file of `size` bytes */
  memfdCreate(name: string, size: number): number;

  // the lab's tap (native/tun.c)
  /** a non-persistent tap (IFF_TAP | IFF_NO_PI, IFF_MULTI_QUEUE if asked) in the calling thread's namespace: a non-blocking fd of a queue */
  tunOpen(name: string, multiQueue: boolean): number;
  /** writes frames i < n (lens[i] bytes at addrs[i] of bytes), one write each: frames written, or -errno if none */
  tunWrite(fd: number, bytes: Uint8Array, addrs: Uint32Array, lens: Uint32Array, n: number): number;
}

export interface NetdevFeatures {
  /** NETDEV_XDP_ACT_* bits */
  xdpFeatures: number;
  xdpZcMaxSegs: number;
  /** NETDEV_XDP_RX_METADATA_* bits (timestamp 1, hash 2, vlan-tag 4) */
  xdpRxMetadataFeatures: number;
  /** NETDEV_XSK_FLAGS_* bits (tx-timestamp 1, tx-checksum 2, tx-launch-time-fifo 4) */
  xskFeatures: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The package root: dist/src/.. /.. */
export const PACKAGE_ROOT = path.resolve(here, '..', '..');
/** The addon built from source (a checkout, or an install where no prebuilt binary fits) */
/**
 * A C reference program of the package (rx_ref: the C receiver of `afxdp calibrate`; stack_rx: the
 * kernel stack's C receiver): a checkout's build (build/bench/NAME, `make`), else the prebuilt
 * one shipped for this architecture (prebuilds/linux-<arch>/NAME, `make prebuilds`). Each finds
 * afxdp's BPF objects relative to itself (../bpf/), where both layouts keep them.
 */
export function referenceBinary(name: 'rx_ref' | 'stack_rx'): string {
  const built = path.join(PACKAGE_ROOT, 'build', 'bench', name);
  return existsSync(built) ? built : path.join(PACKAGE_ROOT, 'prebuilds', `linux-${process.arch}`, name);
}

export const ADDON_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'afxdp.node');
/**
 * afxdp's own BPF objects: built by `make` in a checkout (or by the install script when it built
 * from source), else the package's prebuilt ones (BPF bytecode is the same on every machine).
 */
export const BPF_DIR = existsSync(path.join(PACKAGE_ROOT, 'build', 'bpf')) ? path.join(PACKAGE_ROOT, 'build', 'bpf') : path.join(PACKAGE_ROOT, 'prebuilds', 'bpf');

const require = createRequire(import.meta.url);
// node-gyp-build picks build/Release/*.node when it exists, else prebuilds/<platform>-<arch>/
const loader = require('node-gyp-build') as { path(dir: string): string };

let cached: NativeAddon | undefined;

/** Where the addon is loaded from (node-gyp-build's choice); throws ETOOL when there is none. */
export function addonPath(): string {
  try {
    return loader.path(PACKAGE_ROOT);
  } catch {
    throw new AfxdpError('ETOOL', `native addon missing: no build in ${path.join(PACKAGE_ROOT, 'build', 'Release')} and no prebuilt binary for ${process.platform}-${process.arch} in ${path.join(PACKAGE_ROOT, 'prebuilds')}`, {
      hint: PACKAGE_ROOT.includes(`${path.sep}node_modules${path.sep}`)
        ? 'build it from source: `npm rebuild afxdp` (it needs: sudo apt-get install -y clang-19 libbpf-dev libelf-dev zlib1g-dev make gcc)'
        : 'run scripts/setup (or `npm run build`) in the afxdp checkout',
    });
  }
}

export function native(): NativeAddon {
  if (cached) return cached;
  const file = addonPath();
  try {
    cached = require(file) as NativeAddon;
  } catch (e) {
    // the prebuilt binary needs glibc 2.33+; a build from source links the system's libraries
    const msg = (e as Error).message.split('\n')[0]!;
    const missing = /^(lib(?:bpf|elf|z))\.so\.\d+/.exec(msg)?.[1];
    throw new AfxdpError('ETOOL', `cannot load the native addon ${file}: ${msg}`, {
      hint: missing
        ? `install the runtime library: sudo apt-get install -y ${{ libbpf: 'libbpf1', libelf: 'libelf1', libz: 'zlib1g' }[missing]}`
        : /GLIBC_/.test(msg)
          ? 'the prebuilt addon needs glibc 2.33 or newer: build it from source with `npm rebuild afxdp` (needs: sudo apt-get install -y clang-19 libbpf-dev libelf-dev zlib1g-dev make gcc)'
          : 'rebuild it: `npm rebuild afxdp` (or `npm run build` in a checkout)',
    });
  }
  return cached;
}
