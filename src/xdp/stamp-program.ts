/**
 * Loading a stamping program: afxdp's own (build/bpf/stamp.bpf.o) or the user's (`--program`),
 * which includes afxdp/meta.h, calls afxdp_stamp(ctx) and redirects into its own XSKMAP.
 * Works out which program and XSKMAP to use, applies the afxdp_cfg_* settings of meta.h through
 * .rodata, and turns every way a user object can be unfit into one clear error.
 */
import path from 'node:path';
import { AfxdpError } from '../errors.js';
import { BpfObject, BPF_MAP_TYPE_XSKMAP, BPF_PROG_TYPE_UNSPEC, BPF_PROG_TYPE_XDP } from './program.js';
import { META_SIZE, META_MAX_LEN } from './meta.js';

export interface StampProgramOptions {
  path: string;
  /** afxdp's own stamp.bpf.o (known program/map names and extra settings) */
  own: boolean;
  /** name of the XSKMAP to fill (default: the only one) */
  xskmap?: string;
  /** afxdp_cfg_* settings of meta.h */
  rodata: Record<string, number>;
  /** settings only afxdp's own program has (cfg_match, cfg_udp_port) */
  ownRodata: Record<string, number>;
  /** the interface the program is for: a program that reads hints (afxdp_cfg_hints) is bound to it */
  ifindex: number;
}

/** Not in Debian's 6.1 uapi headers: load a program for one device only (XDP hint kfuncs). */
export const BPF_F_XDP_DEV_BOUND_ONLY = 1 << 6;

export interface LoadedStampProgram {
  obj: BpfObject;
  program: string;
  xskmap: string;
  hasCounters: boolean;
  hasStampMap: boolean;
  /** the program reads hardware hints: it is device-bound and attaches in native mode only */
  hints: boolean;
}

/** The value each setting has when not configured: a program without it behaves like this. */
const DEFAULTS: Record<string, number> = { afxdp_cfg_strategy: 0, afxdp_cfg_clock: 0, afxdp_cfg_simulate_no_meta: 0, afxdp_cfg_cookie: 0 };
const SETTING_FLAG: Record<string, string> = {
  afxdp_cfg_strategy: '--strategy',
  afxdp_cfg_clock: '--clock tai',
  afxdp_cfg_simulate_no_meta: '--simulate-no-meta',
};

export function loadStampProgram(o: StampProgramOptions): LoadedStampProgram {
  const obj = BpfObject.open(o.path);
  try {
    const file = path.basename(o.path);
    const program = o.own ? 'afxdp_stamp_prog' : pickProgram(obj, file);
    const xskmap = pickXskmap(obj, file, o.xskmap ?? (o.own ? 'xsks_map' : undefined));
    checkMetaSize(obj, file);
    const names = new Set(obj.rodataNames());
    const rodata: Record<string, number> = {};
    for (const [name, value] of Object.entries(o.rodata)) {
      if (names.has(name)) rodata[name] = value;
      else if (value !== DEFAULTS[name] && SETTING_FLAG[name]) {
        throw new AfxdpError('EUSAGE', `${file} has no ${name}: it cannot honour ${SETTING_FLAG[name]}`, {
          hint: 'include <afxdp/meta.h> and stamp with afxdp_stamp(ctx) (see examples/)',
        });
      }
    }
    if (o.own) Object.assign(rodata, o.ownRodata);
    const hasStampMap = obj.maps.some((m) => m.name === 'afxdp_stamps');
    if (o.rodata.afxdp_cfg_strategy === 3 && !hasStampMap) {
      throw new AfxdpError('EUSAGE', `${file} has no afxdp_stamps map: the map strategy needs it`, {
        hint: 'include <afxdp/meta.h> without defining AFXDP_NO_MAP_STRATEGY',
      });
    }
    // AFXDP_HINTS programs call the metadata kfuncs: the kernel only loads them for one device
    const hints = names.has('afxdp_cfg_hints');
    if (hints) obj.setProgIfindex(program, o.ifindex, BPF_F_XDP_DEV_BOUND_ONLY);
    obj.load({ rodata, program, defaultType: BPF_PROG_TYPE_XDP });
    return { obj, program, xskmap, hasCounters: o.own && obj.maps.some((m) => m.name === 'afxdp_counters'), hasStampMap, hints };
  } catch (e) {
    obj.close();
    throw e;
  }
}

/** The metadata a program reserves in front of the packet must fit the kernel's limit. */
function checkMetaSize(obj: BpfObject, file: string): void {
  const user = obj.rodataValue('afxdp_meta_user_len') ?? 0;
  const total = user + META_SIZE;
  if (total > META_MAX_LEN) {
    throw new AfxdpError('EUSAGE', `${file}: its metadata is ${total} bytes (struct afxdp_user_meta ${user} + struct afxdp_meta ${META_SIZE}), more than the ${META_MAX_LEN}-byte limit the kernel allows in front of a packet`, {
      hint: `shrink struct afxdp_user_meta to at most ${META_MAX_LEN - META_SIZE} bytes (bpf_xdp_adjust_meta() refuses more with EINVAL: 256 bytes headroom − 40 for struct xdp_frame)`,
    });
  }
  if (user % 4 !== 0) {
    throw new AfxdpError('EUSAGE', `${file}: struct afxdp_user_meta is ${user} bytes, not a multiple of 4`, {
      hint: 'pad it to a multiple of 4 bytes (bpf_xdp_adjust_meta() refuses other sizes with EACCES)',
    });
  }
}

/**
 * The checks of loadStampProgram() that need no kernel: a user object is judged before anything
 * (a lab, a socket) is built for it. Throws the same errors.
 */
export function checkStampObject(file: string, xskmap?: string): void {
  const obj = BpfObject.open(file);
  try {
    const name = path.basename(file);
    checkMetaSize(obj, name);
    pickProgram(obj, name);
    pickXskmap(obj, name, xskmap);
  } finally {
    obj.close();
  }
}

function pickProgram(obj: BpfObject, file: string): string {
  const xdp = obj.programs.filter((p) => p.type === BPF_PROG_TYPE_XDP || p.type === BPF_PROG_TYPE_UNSPEC);
  if (xdp.length === 1) return xdp[0]!.name;
  if (xdp.length === 0) {
    throw new AfxdpError('EUSAGE', `${file} has no XDP program`, { hint: 'put the program in SEC("xdp")' });
  }
  throw new AfxdpError('EUSAGE', `${file} has ${xdp.length} XDP programs (${xdp.map((p) => p.name).join(', ')}); afxdp attaches one`, {
    hint: 'build an object with a single SEC("xdp") program',
  });
}

function pickXskmap(obj: BpfObject, file: string, wanted: string | undefined): string {
  const xsk = obj.maps.filter((m) => m.type === BPF_MAP_TYPE_XSKMAP);
  if (wanted !== undefined) {
    const m = obj.maps.find((x) => x.name === wanted);
    if (!m) {
      throw new AfxdpError('EUSAGE', `${file} has no map named ${wanted}`, {
        hint: xsk.length ? `its XSKMAPs: ${xsk.map((x) => x.name).join(', ')}` : 'declare a BPF_MAP_TYPE_XSKMAP and bpf_redirect_map() into it',
      });
    }
    if (m.type !== BPF_MAP_TYPE_XSKMAP) {
      throw new AfxdpError('EUSAGE', `map ${wanted} in ${file} is not an XSKMAP (type ${m.type})`, {
        hint: xsk.length ? `its XSKMAPs: ${xsk.map((x) => x.name).join(', ')}` : 'declare it with __uint(type, BPF_MAP_TYPE_XSKMAP)',
      });
    }
    return wanted;
  }
  if (xsk.length === 1) return xsk[0]!.name;
  if (xsk.length === 0) {
    throw new AfxdpError('EUSAGE', `${file} has no XSKMAP: afxdp has nowhere to register its AF_XDP socket`, {
      hint: 'declare a BPF_MAP_TYPE_XSKMAP and return bpf_redirect_map(&it, ctx->rx_queue_index, XDP_PASS) (see examples/)',
    });
  }
  throw new AfxdpError('EUSAGE', `${file} has ${xsk.length} XSKMAPs (${xsk.map((x) => x.name).join(', ')})`, {
    hint: 'name the one afxdp should fill with --xskmap NAME',
  });
}
