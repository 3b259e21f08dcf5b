/**
 * Loading XDP programs (libbpf through the addon) and attaching them with bpf_link.
 *
 * bpf_link, not netlink: the kernel detaches a link when its last fd closes, which includes the
 * process dying of SIGKILL, so afxdp can never leave a program on someone's interface.
 */
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import { native, BPF_DIR, type BpfObjectHandle, type BpfMapInfo, type BpfProgramInfo } from '../native.js';
import { AfxdpError, isNativeError } from '../errors.js';
import { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE } from '../xsk/constants.js';
import { explainLog, oneLineExplanation, type Explanation } from '../explain/explain.js';
import { progTypeFromKernel } from '../explain/progtype.js';
import { runToolSync } from '../sys/exec.js';

export const BPF_PROG_TYPE_UNSPEC = 0;
export const BPF_PROG_TYPE_XDP = 6;
export const BPF_MAP_TYPE_XSKMAP = 17;

/** XDP attach modes: in the driver, or the kernel's generic hook */
export type XdpMode = 'native' | 'generic';
export const XDP_MODES: readonly XdpMode[] = ['native', 'generic'];
export type XdpModeOption = XdpMode | 'auto';

/** Path of one of afxdp's own BPF objects (built by `make` into build/bpf, or prebuilt). */
export function bundledObject(name: string): string {
  return path.join(BPF_DIR, `${name}.bpf.o`);
}

export interface LoadOptions {
  /** .rodata variables to set before load, by name (const volatile globals) */
  rodata?: Record<string, number>;
  /** load only this program of the object (others are not loaded) */
  program?: string;
  /** programs whose ELF section libbpf does not know get this type (afxdp is an XDP tool) */
  defaultType?: number;
  /** verifier log level for every program (1 or 2); 0 = only on failure (libbpf's retry) */
  logLevel?: number;
}

/**
 * The verifier rejected a program. `detail` is the raw log; `explanation` says which class of
 * mistake it is, why, and the fix (see docs/VERIFIER.md). The one-line message carries the brief fix.
 */
export class VerifierError extends AfxdpError {
  readonly explanation: Explanation;
  readonly program: string;

  constructor(message: string, opts: { errno?: number; hint?: string; detail: string; explanation: Explanation; program: string }) {
    super('EVERIFIER', message, opts);
    this.explanation = opts.explanation;
    this.program = opts.program;
  }
}

/** An opened (and, after load(), loaded) BPF object. */
export class BpfObject {
  readonly path: string;
  private handle: BpfObjectHandle | null;
  readonly programs: BpfProgramInfo[];
  readonly maps: BpfMapInfo[];
  loaded = false;
  /** with LoadOptions.logLevel > 0: each loaded program's verifier log, by name */
  verifierLogs: Record<string, string> = {};

  private constructor(file: string, handle: BpfObjectHandle) {
    this.path = file;
    this.handle = handle;
    this.programs = native().bpfPrograms(handle);
    this.maps = native().bpfMaps(handle);
  }

  /** Opens an ELF BPF object; a missing file, a non-ELF file or a non-BPF ELF gets a clear error. */
  static open(file: string): BpfObject {
    if (!existsSync(file)) {
      throw new AfxdpError('EUSAGE', `${file}: no such file`, { hint: 'give the path of a compiled BPF object (clang -target bpf -c prog.c -o prog.o)' });
    }
    if (statSync(file).isDirectory()) {
      throw new AfxdpError('EUSAGE', `${file} is a directory, not a BPF object`, { hint: 'give the path of a .o file' });
    }
    const kind = sniffElf(file);
    if (kind !== 'bpf') {
      throw new AfxdpError('EBPF', `${file} is not a BPF object: ${kind}`, {
        hint: 'compile the program with clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o',
      });
    }
    let handle: BpfObjectHandle;
    try {
      handle = native().bpfOpen(file);
    } catch (e) {
      const log = (e as { log?: string }).log ?? '';
      const why = lastLibbpfLine(log) || (e as Error).message;
      throw new AfxdpError('EBPF', `cannot open BPF object ${file}: ${why}`, {
        errno: (e as { errno?: number }).errno,
        hint: 'rebuild it with clang -g (BTF) and check the ELF sections',
        detail: log,
        cause: e,
      });
    }
    return new BpfObject(file, handle);
  }

  private h(): BpfObjectHandle {
    if (!this.handle) throw new AfxdpError('ECLOSED', `BPF object ${this.path} is closed`);
    return this.handle;
  }

  /** Names of the object's .rodata variables (the settings it can take before load). */
  rodataNames(): string[] {
    return native().bpfRodata(this.h())?.vars.map((v) => v.name) ?? [];
  }

  /** The value a (≤ 4-byte, unsigned) .rodata variable has in the object, before any setRodata; null when absent. */
  rodataValue(name: string): number | null {
    const ro = native().bpfRodata(this.h());
    const v = ro?.vars.find((x) => x.name === name);
    if (!ro || !v || v.size > 4) return null;
    const view = new DataView(ro.bytes.buffer, ro.bytes.byteOffset, ro.bytes.byteLength);
    return v.size === 4 ? view.getUint32(v.offset, true) : v.size === 2 ? view.getUint16(v.offset, true) : view.getUint8(v.offset);
  }

  setRodata(values: Record<string, number>): void {
    const n = native();
    const ro = n.bpfRodata(this.h());
    const names = Object.keys(values);
    if (names.length === 0) return;
    if (!ro) throw new AfxdpError('EBPF', `${this.path} has no .rodata to configure (${names.join(', ')})`, { hint: 'declare the settings as `const volatile` globals' });
    const view = new DataView(ro.bytes.buffer, ro.bytes.byteOffset, ro.bytes.byteLength);
    for (const name of names) {
      const v = ro.vars.find((x) => x.name === name);
      if (!v) throw new AfxdpError('EBPF', `${this.path} has no .rodata variable ${name}`, { hint: `declare \`const volatile __u32 ${name}\`` });
      const value = values[name]!;
      if (v.size === 4) view.setUint32(v.offset, value >>> 0, true);
      else if (v.size === 8) {
        view.setUint32(v.offset, value >>> 0, true);
        view.setUint32(v.offset + 4, Math.floor(value / 4294967296) >>> 0, true);
      } else if (v.size === 2) view.setUint16(v.offset, value, true);
      else if (v.size === 1) view.setUint8(v.offset, value);
      else throw new AfxdpError('EBPF', `.rodata variable ${name} has unsupported size ${v.size}`);
    }
    n.bpfSetRodata(this.h(), ro.bytes);
  }

  /**
   * Loads the object into the kernel. A verifier rejection becomes an AfxdpError EVERIFIER
   * whose `detail` is the verifier's log.
   */
  load(opts: LoadOptions = {}): void {
    const n = native();
    const h = this.h();
    if (opts.rodata) this.setRodata(opts.rodata);
    if (opts.program !== undefined) {
      if (!this.programs.some((p) => p.name === opts.program)) {
        throw new AfxdpError('EUSAGE', `${this.path} has no program named ${opts.program}`, {
          hint: `its programs: ${this.programs.map((p) => p.name).join(', ') || 'none'}`,
        });
      }
      for (const p of this.programs) n.bpfSetAutoload(h, p.name, p.name === opts.program);
    }
    if (opts.defaultType !== undefined) {
      for (const p of this.programs) if (p.type === BPF_PROG_TYPE_UNSPEC) n.bpfSetProgType(h, p.name, opts.defaultType);
    }
    const r = n.bpfLoad(h, opts.logLevel ?? 0);
    if (!r.ok) {
      const failing = failingProgram(r.log) ?? opts.program ?? this.programs[0]?.name ?? '?';
      const log = r.progLogs[failing] || extractVerifierLog(r.log) || r.log;
      const verifier = log.length > 0 && /processed \d+ insns|^\d+: \(/m.test(log);
      if (verifier) {
        const info = this.programs.find((p) => p.name === failing);
        // the object says the type; an unknown section name only gets the default type afxdp chose
        const assumed = info?.type === BPF_PROG_TYPE_UNSPEC;
        const progType = progTypeFromKernel(assumed ? opts.defaultType : info?.type) ?? undefined;
        const explanation = explainLog(log, { progType, progTypeSource: assumed ? 'assumed' : 'object' });
        throw new VerifierError(`the verifier rejected program ${failing} in ${path.basename(this.path)}: ${verifierMessage(log)}`, {
          errno: r.errno,
          hint: `${oneLineExplanation(explanation)}; \`afxdp check ${path.basename(this.path)}\` explains it, --verbose prints the verifier log`,
          detail: log,
          explanation,
          program: failing,
        });
      }
      // libbpf's last line only says "failed to load object"; the program's own line says why
      const why = /prog '([^']+)': BPF program load failed: (.*)/.exec(r.log);
      throw new AfxdpError('EBPF', `cannot load ${path.basename(this.path)}: ${why ? `program ${why[1]}: ${why[2]}` : lastLibbpfLine(r.log) || `errno ${r.errno}`}`, {
        errno: r.errno,
        hint: r.errno === 1 ? 'loading BPF needs root or CAP_BPF + CAP_NET_ADMIN' : 'run with --verbose for libbpf\'s full output',
        detail: r.log,
      });
    }
    this.loaded = true;
    this.verifierLogs = r.progLogs;
  }

  /** Binds a program to one device before load (flags e.g. BPF_F_XDP_DEV_BOUND_ONLY). */
  setProgIfindex(program: string, ifindex: number, flags: number): void {
    native().bpfSetProgIfindex(this.h(), program, ifindex, flags);
  }

  programFd(name: string): number {
    return native().bpfProgFd(this.h(), name);
  }

  mapFd(name: string): number {
    try {
      return native().bpfMapFd(this.h(), name);
    } catch (e) {
      throw new AfxdpError('EBPF', `${this.path} has no map named ${name}`, { hint: `its maps: ${this.maps.map((m) => m.name).join(', ')}`, cause: e });
    }
  }

  close(): void {
    if (this.handle) {
      native().bpfClose(this.handle);
      this.handle = null;
    }
  }
}

/** One XDP program attached to one interface through a bpf_link. */
export class XdpAttachment {
  readonly linkFd: number;
  readonly ifindex: number;
  readonly ifname: string;
  readonly mode: XdpMode;
  /** with `force`: the program that was attached before and was detached to make room */
  replaced: { name: string; id: number } | null = null;
  private closed = false;

  constructor(linkFd: number, ifindex: number, ifname: string, mode: XdpMode) {
    this.linkFd = linkFd;
    this.ifindex = ifindex;
    this.ifname = ifname;
    this.mode = mode;
  }

  /** Detaches (closing the link's last fd). Idempotent. */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    native().close(this.linkFd);
  }
}

/**
 * Attaches `progFd` to the interface. `auto` tries native (driver) mode and falls back to generic
 * when the driver has no native XDP. Never replaces a program someone else attached.
 */
export function attachXdp(progFd: number, ifindex: number, ifname: string, mode: XdpModeOption, opts: { force?: boolean } = {}): XdpAttachment {
  const n = native();
  const existing = n.bpfXdpQuery(ifindex);
  let replaced: { name: string; id: number } | null = null;
  if (existing.progId !== 0) {
    const name = n.bpfProgName(existing.progId) || '?';
    const where = existing.attachMode === 2 ? 'generic' : existing.attachMode === 1 ? 'native' : existing.attachMode === 3 ? 'offload' : 'some';
    if (!opts.force) {
      throw new AfxdpError('EBUSY', `${ifname} already has XDP program ${name} (id ${existing.progId}) attached in ${where} mode; afxdp never replaces it`, {
        hint: `detach it first (ip link set dev ${ifname} xdp off, or stop the program that owns it), or pass --force to detach it`,
      });
    }
    detachForeign(ifname, existing.attachMode, name, existing.progId);
    if (n.bpfXdpQuery(ifindex).progId !== 0) {
      // a bpf_link attachment cannot be removed by anyone but its owner
      throw new AfxdpError('EBUSY', `${ifname}: XDP program ${name} (id ${existing.progId}) is held by another process's bpf_link; --force cannot detach it`, {
        hint: 'stop the process that owns it (bpftool link show)',
      });
    }
    replaced = { name, id: existing.progId };
  }
  const a = attachNew(progFd, ifindex, ifname, mode);
  a.replaced = replaced;
  return a;
}

/** --force: detach a netlink-attached program with iproute2 (argument array, no shell). */
function detachForeign(ifname: string, attachMode: number, name: string, id: number): void {
  const keyword = attachMode === 2 ? 'xdpgeneric' : attachMode === 3 ? 'xdpoffload' : 'xdpdrv';
  try {
    runToolSync('ip', ['link', 'set', 'dev', ifname, keyword, 'off']);
  } catch (e) {
    throw new AfxdpError('EBUSY', `--force could not detach XDP program ${name} (id ${id}) from ${ifname}: ${(e as Error).message}`, {
      hint: 'stop the program that owns it, or detach it by hand (ip link set dev IFACE xdp off)',
      cause: e,
    });
  }
}

function attachNew(progFd: number, ifindex: number, ifname: string, mode: XdpModeOption): XdpAttachment {
  const n = native();
  const tryMode = (m: XdpMode): number => n.bpfLinkXdp(progFd, ifindex, m === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
  if (mode !== 'auto') {
    try {
      return new XdpAttachment(tryMode(mode), ifindex, ifname, mode);
    } catch (e) {
      throw attachError(e, ifname, mode);
    }
  }
  try {
    return new XdpAttachment(tryMode('native'), ifindex, ifname, 'native');
  } catch (e) {
    // EOPNOTSUPP / EINVAL: no native XDP; ERANGE: the MTU is too large for native XDP (veth: > ~3.5 KB)
    if (!isNativeError(e) || (e.errno !== 95 && e.errno !== 22 && e.errno !== 34)) throw attachError(e, ifname, 'native');
  }
  try {
    return new XdpAttachment(tryMode('generic'), ifindex, ifname, 'generic');
  } catch (e) {
    throw attachError(e, ifname, 'generic');
  }
}

function attachError(e: unknown, ifname: string, mode: XdpMode): AfxdpError {
  if (!isNativeError(e)) return e as AfxdpError;
  let hint = 'run `afxdp doctor --iface ' + ifname + '`';
  if (e.errno === 95 && mode === 'native') hint = `the driver of ${ifname} has no native XDP: use --mode generic (or auto)`;
  else if (e.errno === 16 || e.errno === 17) hint = `another XDP program holds ${ifname}; detach it first`;
  else if (e.errno === 1) hint = 'attaching XDP needs root or CAP_NET_ADMIN + CAP_BPF';
  else if (e.errno === 19) hint = `${ifname} is gone`;
  else if (e.errno === 34) hint = `the MTU of ${ifname} is too large for native XDP on this driver with a program that does not take multi-buffer packets: build the program with SEC("xdp.frags") (afxdp's own is), lower the MTU (ip link set dev ${ifname} mtu 1500) or use --mode generic`;
  return new AfxdpError('EBPF', `cannot attach XDP in ${mode} mode to ${ifname}: ${e.message}`, { errno: e.errno, hint, cause: e });
}

/** What a file is, from its first bytes: 'bpf', or a description of what it is instead. */
export function sniffElf(file: string): 'bpf' | string {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(20);
  let n = 0;
  try {
    n = readSync(fd, b, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 20 || b.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file';
  const machine = b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18);
  if (machine !== 247) return `an ELF file for another machine (e_machine ${machine}), not EM_BPF (247)`;
  const type = b[5] === 2 ? b.readUInt16BE(16) : b.readUInt16LE(16);
  if (type !== 1) return 'an ELF file that is not a relocatable object (link step?)';
  return 'bpf';
}

function lastLibbpfLine(log: string): string {
  const lines = log.split('\n').map((l) => l.replace(/^libbpf:\s*/, '').trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

function failingProgram(log: string): string | undefined {
  const m = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(log);
  return m?.[1];
}

/** The verifier log out of libbpf's output (between BEGIN/END PROG LOAD LOG). */
export function extractVerifierLog(log: string): string {
  const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)(?:-- END PROG LOAD LOG --|$)/.exec(log);
  return m ? m[1]!.replace(/^libbpf: /gm, '') : '';
}

/** The verifier's own complaint: the last line before "processed N insns" that is not state. */
export function verifierMessage(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  const end = lines.findIndex((l) => /^processed \d+ insns/.test(l));
  const upto = end >= 0 ? lines.slice(0, end) : lines;
  for (let i = upto.length - 1; i >= 0; i--) {
    const l = upto[i]!;
    if (/^\d+: /.test(l) || /^R\d/.test(l) || /^;/.test(l) || /^(from|mark_precise|last_idx|regs=|parent didn't)/.test(l) || /^\d+:\s*R\d/.test(l)) continue;
    return l;
  }
  return upto[upto.length - 1] ?? 'rejected';
}
