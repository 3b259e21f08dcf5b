/**
 * Public wrapper of a user's own XDP program: a thin face over BpfObject (open + load in one
 * call, a clear default for "which program" and "which XSKMAP") that `open({ program })` and
 * `program.attach()` use. No ELF or libbpf logic lives here.
 */
import { AfxdpError } from '../errors.js';
import { native } from '../native.js';
import { BpfObject, attachXdp, BPF_MAP_TYPE_XSKMAP, BPF_PROG_TYPE_XDP, type XdpModeOption, type XdpMode } from '../xdp/program.js';
import { withNetnsOption, resolveIfindex, type NetnsOption } from './netns.js';
import type { XskSocket } from '../xsk/socket.js';
import { expectObject, expectOptional, expectString } from './validate.js';

export interface LoadProgramOptions {
  /** which program of the object to use; default: the object's only XDP program */
  program?: string;
  /** `const volatile` globals to set before load, by name */
  rodata?: Record<string, number>;
  /** name of the XSKMAP that `open({ program })` registers its socket in; default: the object's only XSKMAP */
  xskMap?: string;
  /** verifier log level (1 or 2) kept for every program; default 0 (log only on rejection) */
  logLevel?: number;
}

export interface AttachOptions {
  /** default 'auto': native, else generic */
  mode?: XdpModeOption;
  /** network namespace of the interface: a path such as /proc/PID/ns/net or /run/netns/NAME, or an open fd */
  netns?: NetnsOption;
}

/** A program attached with `XdpProgram.attach()`; detach() is idempotent. */
export interface Attachment {
  readonly iface: string;
  readonly mode: XdpMode;
  detach(): void;
}

export interface MapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** A BPF object loaded into the kernel, with one XDP program chosen. Close it when done. */
export class XdpProgram {
  readonly path: string;
  /** the chosen program's name */
  readonly name: string;
  /** the XSKMAP sockets get registered in, or null when the object has none */
  readonly xskMap: string | null;
  readonly maps: readonly MapInfo[];
  /** @internal */
  readonly object: BpfObject;
  private readonly attachments = new Set<Attachment>();
  private isClosed = false;

  private constructor(obj: BpfObject, name: string, xskMap: string | null) {
    this.object = obj;
    this.path = obj.path;
    this.name = name;
    this.xskMap = xskMap;
    this.maps = obj.maps.map((m) => ({ ...m }));
  }

  /** Opens and loads `file` (compiled with clang -target bpf). Throws EVERIFIER with the log in `detail` when rejected. */
  static load(file: string, opts: LoadProgramOptions = {}): XdpProgram {
    expectString('loadProgram: file', file);
    expectObject('loadProgram: options', opts);
    expectOptional('loadProgram: options.program', opts.program, 'string');
    expectOptional('loadProgram: options.xskMap', opts.xskMap, 'string');
    const obj = BpfObject.open(file);
    try {
      const xdp = obj.programs.filter((p) => p.type === BPF_PROG_TYPE_XDP || p.type === 0);
      let name = opts.program;
      if (name === undefined) {
        if (xdp.length !== 1) {
          throw new AfxdpError('EUSAGE', `${file} has ${xdp.length} XDP programs; say which one to use`, {
            hint: `pass { program: '<name>' }; its programs: ${obj.programs.map((p) => p.name).join(', ') || 'none'}`,
          });
        }
        name = xdp[0]!.name;
      }
      let xskMap: string | null = opts.xskMap ?? null;
      if (xskMap !== null && !obj.maps.some((m) => m.name === xskMap)) {
        throw new AfxdpError('EUSAGE', `${file} has no map named ${xskMap}`, { hint: `its maps: ${obj.maps.map((m) => m.name).join(', ') || 'none'}` });
      }
      if (xskMap === null) {
        const xsk = obj.maps.filter((m) => m.type === BPF_MAP_TYPE_XSKMAP);
        xskMap = xsk.length === 1 ? xsk[0]!.name : null;
      }
      obj.load({ program: name, rodata: opts.rodata, defaultType: BPF_PROG_TYPE_XDP, logLevel: opts.logLevel });
      return new XdpProgram(obj, name, xskMap);
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** @internal the program fd (throws ECLOSED after close) */
  programFd(): number {
    this.checkOpen();
    return this.object.programFd(this.name);
  }

  /** fd of one of the object's maps, for your own bpf map operations */
  mapFd(name: string): number {
    this.checkOpen();
    expectString('mapFd: name', name);
    return this.object.mapFd(name);
  }

  /** Reads one map entry into `value`; false when the key is absent. */
  lookup(map: string, key: Uint8Array, value: Uint8Array): boolean {
    const fd = this.mapFd(map);
    checkBytes('lookup', key, value);
    return native().bpfMapLookup(fd, key, value);
  }

  /** Writes one map entry (BPF_ANY). */
  update(map: string, key: Uint8Array, value: Uint8Array): void {
    const fd = this.mapFd(map);
    checkBytes('update', key, value);
    try {
      native().bpfMapUpdate(fd, key, value, 0);
    } catch (e) {
      throw new AfxdpError('ESYS', `cannot update map ${map}: ${(e as Error).message}`, { errno: (e as { errno?: number }).errno, hint: 'check the key and value sizes against the map definition', cause: e });
    }
  }

  /**
   * Puts an AF_XDP socket from openXsk() into the program's XSKMAP at `key` (default: the
   * socket's queue, where a program like XSK_REDIRECT_PROGRAM looks it up).
   */
  register(sock: XskSocket, key: number = sock.queue): void {
    if (this.xskMap === null) throw new AfxdpError('EUSAGE', `${this.path} has no XSKMAP (or several: name one with loadProgram(file, { xskMap }))`);
    this.update(this.xskMap, new Uint8Array(new Uint32Array([key]).buffer), new Uint8Array(new Uint32Array([sock.fd]).buffer));
  }

  /**
   * Attaches the program to an interface without any socket (a pure filter, or a program that
   * redirects into sockets you register yourself). Uses bpf_link: the kernel detaches it if this
   * process dies. Never replaces a program someone else attached.
   */
  attach(iface: string, opts: AttachOptions = {}): Attachment {
    this.checkOpen();
    expectString('attach: iface', iface);
    expectObject('attach: options', opts);
    const fd = this.programFd();
    const link = withNetnsOption(opts.netns, () => attachXdp(fd, resolveIfindex(iface, opts.netns !== undefined), iface, opts.mode ?? 'auto'));
    const attachments = this.attachments;
    const a: Attachment = {
      iface,
      mode: link.mode,
      detach(): void {
        link.detach();
        attachments.delete(a);
      },
    };
    attachments.add(a);
    return a;
  }

  /** Detaches what attach() attached and unloads the program. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const a of [...this.attachments]) a.detach();
    this.object.close();
  }

  private checkOpen(): void {
    if (this.isClosed) throw new AfxdpError('ECLOSED', `XDP program ${this.name} (${this.path}) is closed`, { hint: 'load it again with loadProgram()' });
  }
}

/** Opens and loads a BPF object with one XDP program; see XdpProgram.load. */
export function loadProgram(file: string, opts: LoadProgramOptions = {}): XdpProgram {
  return XdpProgram.load(file, opts);
}

function checkBytes(what: string, key: unknown, value: unknown): void {
  if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array)) {
    throw new AfxdpError('EUSAGE', `${what}: key and value must be Uint8Arrays`, { hint: 'e.g. new Uint8Array(new Uint32Array([queue]).buffer)' });
  }
}
