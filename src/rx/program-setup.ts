/**
 * The program in front of a receiver's sockets: which one (afxdp's stamping program — with
 * hardware hints first where they can work, else or when refused without — the user's object or
 * loaded program, a broker's, or the one of a receiver this one joins), its maps, and attaching it
 * last. A hint program the interface refuses at attach throws HintsRefused: the receiver then
 * starts over without hints.
 */
import { AfxdpError } from '../errors.js';
import { attachXdp, bundledObject, type XdpAttachment, type BpfObject } from '../xdp/program.js';
import { STRATEGY_CODES } from '../xdp/meta.js';
import { CounterReader, StackCounterReader } from '../xdp/counters.js';
import { loadStampProgram, type LoadedStampProgram } from '../xdp/stamp-program.js';
import type { Grant } from '../sys/broker-wire.js';
import type { Resolved } from './options.js';

const MATCH = { udp: 0, all: 1, afxdp: 2 } as const; // enum afxdp_match in bpf/stamp.h
const CLOCK = { monotonic: 0, tai: 1 } as const;
const GENERIC_HINTS = 'generic XDP mode: hints are read by device-bound kfuncs, which the kernel attaches in native mode only';

/** The program a receiver's sockets sit behind, and what it offers. */
export interface ProgramInUse {
  /** the program reads hardware hints */
  hints: boolean;
  /** why hints are off (null when on) */
  hintsOff: string | null;
  /** the BPF object in use (afxdp's stamp.bpf.o or the user's) */
  path: string;
  /** name of the XDP program */
  name: string;
  /** the object loaded here (afxdp's or a user's path), else null */
  obj: BpfObject | null;
  /** this receiver loaded `obj` and closes it */
  ownsObject: boolean;
  /** the program's name in `obj` */
  section: string;
  /** the XSKMAP the sockets go into (-1: a broker's client, whose broker does that) */
  xskmapFd: number;
  counters: CounterReader | null;
  stackCounters: StackCounterReader | null;
  /** the map strategy's stamp map is in use */
  mapInUse: boolean;
  /** the program takes multi-buffer packets (SEC("xdp.frags")); null: not known */
  frags: boolean | null;
  /** afxdp's program with hints: attach in native mode, and start over without hints if refused */
  hintsWanted: boolean;
}

/** Where the program comes from when this receiver loads none itself. */
export interface ProgramSource {
  /** a broker's client: the broker's grant and the fd it passed at `fd(i)` */
  grant: Grant | null;
  fd: (i: number) => number;
  /** a broker's receiver joining another client's program */
  joins: ProgramInUse | null;
}

/**
 * The program for a receiver: a joined one, a broker's, the user's loaded one, or an object
 * loaded here (loaded, not attached). @param hintsOff why hints are off, after a refused first try
 */
export function programFor(o: Resolved, ifindex: number, cookie: number, from: ProgramSource, hintsOff?: string): ProgramInUse {
  const none: ProgramInUse = { hints: false, hintsOff: null, path: '', name: '', obj: null, ownsObject: false, section: '', xskmapFd: -1, counters: null, stackCounters: null, mapInUse: false, frags: null, hintsWanted: false };
  const j = from.joins;
  const g = from.grant;
  if (j !== null) return { ...j, ownsObject: false, hintsWanted: false, stackCounters: null, frags: null };
  if (g !== null) {
    return { ...none, hints: g.hints, hintsOff: g.hintsOff, path: g.programPath, name: g.programName, counters: g.hasCounters ? new CounterReader(from.fd(2 * g.sockets.length)) : null, mapInUse: g.mapInUse };
  }
  if (typeof o.program === 'object') {
    return { ...none, hintsOff: 'your program decides (build it with AFXDP_HINTS for hints)', path: o.program.path, name: o.program.name, xskmapFd: o.program.xskmapFd() };
  }
  const loaded = loadProgram(o, ifindex, cookie);
  const prog = loaded.prog;
  const section = prog.obj.programs.find((p) => p.name === prog.program)?.section ?? '';
  return {
    hints: prog.hints,
    hintsOff: hintsOff ?? loaded.hintsOff,
    path: prog.obj.path,
    // afxdp's own program is called by what it is; a user's by its section's function name
    name: o.program === undefined ? 'afxdp_stamp' : prog.program,
    obj: prog.obj,
    ownsObject: true,
    section: prog.program,
    xskmapFd: prog.obj.mapFd(prog.xskmap),
    counters: prog.hasCounters ? new CounterReader(prog.obj.mapFd('afxdp_counters')) : null,
    stackCounters: o.stackEvery > 0 ? new StackCounterReader(prog.obj.mapFd('afxdp_stack_counters')) : null,
    mapInUse: (o.strategy === 'auto' || o.strategy === 'map') && prog.hasStampMap,
    frags: section.startsWith('xdp.frags'),
    hintsWanted: prog.hints,
  };
}

/** The fd of the map strategy's stamp map for the engines, -1 without. */
export function stampMapFd(p: ProgramInUse, from: ProgramSource): number {
  const g = from.grant;
  if (g !== null) return g.mapInUse ? from.fd(2 * g.sockets.length + (g.hasCounters ? 1 : 0)) : -1;
  return p.mapInUse && p.obj !== null ? p.obj.mapFd('afxdp_stamps') : -1;
}

/** Attaches the program, last (a device-bound program attaches in native mode only). */
export function attachProgram(p: ProgramInUse, o: Resolved, ifindex: number): XdpAttachment {
  const progFd = typeof o.program === 'object' ? o.program.programFd() : p.obj!.programFd(p.section);
  try {
    return attachXdp(progFd, ifindex, o.ifname, p.hintsWanted ? 'native' : o.mode, { force: o.force });
  } catch (e) {
    if (p.hintsWanted && o.hints === 'auto' && e instanceof AfxdpError) throw new HintsRefused(e);
    if (p.hintsWanted && o.hints === true && e instanceof AfxdpError) throw hintsUnavailable(o.ifname, e.message, e);
    throw e;
  }
}

/** Internal: the hint program was refused at attach; the receiver starts over without hints. */
export class HintsRefused extends Error {
  constructor(override readonly cause: AfxdpError) {
    super(cause.message);
  }
}

/** afxdp's program with hints first where they can work, else (or when refused) without; or the user's object. */
function loadProgram(o: Resolved, ifindex: number, cookie: number): { prog: LoadedStampProgram; hintsOff: string | null } {
  const own = o.program === undefined;
  let hintsOff: string | null = null;
  const plans: boolean[] = [];
  if (!own) {
    plans.push(false);
    hintsOff = 'your --program decides (build it with AFXDP_HINTS for hints)';
  } else if (o.hints === false) {
    plans.push(false);
    hintsOff = 'turned off (--no-hints)';
  } else if (o.mode === 'generic') {
    if (o.hints === true) throw hintsInGeneric();
    plans.push(false);
    hintsOff = GENERIC_HINTS;
  } else {
    plans.push(true);
    if (o.hints === 'auto') plans.push(false);
  }
  for (const withHints of plans) {
    let prog: LoadedStampProgram | null = null;
    try {
      prog = loadStampProgram({
        path: own ? bundledObject(withHints ? 'stamp_hints' : 'stamp') : (o.program as string),
        own,
        xskmap: o.xskmap,
        ifindex,
        rodata: {
          afxdp_cfg_strategy: STRATEGY_CODES[o.strategy],
          afxdp_cfg_clock: CLOCK[o.clock],
          afxdp_cfg_simulate_no_meta: o.simulateNoMeta ? 1 : 0,
          afxdp_cfg_cookie: cookie,
        },
        ownRodata: { cfg_match: MATCH[o.match], cfg_udp_port: o.udpPort, ...(o.stackEvery > 0 ? { cfg_stack_every: o.stackEvery } : {}) },
      });
      if (prog.hints && o.mode === 'generic') throw hintsInGeneric();
      return { prog, hintsOff: prog.hints ? null : hintsOff };
    } catch (e) {
      prog?.obj.close();
      if (!withHints || !own) throw e;
      const why = e instanceof AfxdpError ? e.message : String(e);
      if (o.hints === true) throw hintsUnavailable(o.ifname, why, e);
      hintsOff = `the kernel or driver refused them: ${why}`;
    }
  }
  throw new AfxdpError('ESTATE', 'no stamping program could be loaded'); // unreachable: the last plan throws
}

function hintsUnavailable(ifname: string, why: string, cause: unknown): AfxdpError {
  return new AfxdpError('EBPF', `hardware hints are not available on ${ifname}: ${why}`, {
    hint: 'drop --hints (afxdp then measures without them), or check the driver: the kfuncs need kernel ≥ 6.3 and a driver that implements them, in native XDP mode',
    cause,
  });
}

function hintsInGeneric(): AfxdpError {
  return new AfxdpError('EUSAGE', `--hints needs native XDP mode: ${GENERIC_HINTS.replace('generic XDP mode: ', '')} ("Can't attach device-bound programs in generic mode")`, {
    hint: 'use --mode native (or auto), or drop --hints',
  });
}
