/**
 * Program types the explainer speaks of, and how it tells which one a log came from when nobody
 * said: the context struct and section names in the C source lines, the program's name, the helpers
 * it calls, the way it reads its context. The fix texts name the context struct and helpers of
 * the type; when the type is only assumed, the explanation says so.
 */
import type { ParsedLog } from './log.js';
import { decodeCtxAccess, fitsField } from './ctx.js';

import type { ProgType } from './progtype-id.js';

export type { ProgType };

export interface ProgTypeInfo {
  type: ProgType;
  /** how people write it, for texts: "XDP", "tc (sched_cls)" */
  label: string;
  /** what R1 (ctx) points to */
  ctx: string;
  /** reads packet data through ctx->data / data_end */
  packet: boolean;
  /** may read kernel memory (bpf_probe_read_kernel, BTF pointers) */
  tracing: boolean;
  /** the value a program returns to let things pass (for snippets) */
  pass: string;
}

const INFO: ProgTypeInfo[] = [
  { type: 'xdp', label: 'XDP', ctx: 'struct xdp_md', packet: true, tracing: false, pass: 'XDP_PASS' },
  { type: 'tc', label: 'tc (sched_cls)', ctx: 'struct __sk_buff', packet: true, tracing: false, pass: 'TC_ACT_OK' },
  { type: 'socket_filter', label: 'socket filter', ctx: 'struct __sk_buff', packet: true, tracing: false, pass: '-1' },
  { type: 'cgroup_skb', label: 'cgroup_skb', ctx: 'struct __sk_buff', packet: true, tracing: false, pass: '1' },
  { type: 'cgroup_sock', label: 'cgroup_sock', ctx: 'struct bpf_sock', packet: false, tracing: false, pass: '1' },
  { type: 'cgroup_sock_addr', label: 'cgroup_sock_addr', ctx: 'struct bpf_sock_addr', packet: false, tracing: false, pass: '1' },
  { type: 'sock_ops', label: 'sock_ops', ctx: 'struct bpf_sock_ops', packet: false, tracing: false, pass: '1' },
  { type: 'kprobe', label: 'kprobe/uprobe', ctx: 'struct pt_regs', packet: false, tracing: true, pass: '0' },
  { type: 'tracepoint', label: 'tracepoint', ctx: 'the tracepoint record (struct trace_event_raw_*)', packet: false, tracing: true, pass: '0' },
  { type: 'raw_tracepoint', label: 'raw tracepoint', ctx: 'struct bpf_raw_tracepoint_args', packet: false, tracing: true, pass: '0' },
  { type: 'perf_event', label: 'perf_event', ctx: 'struct bpf_perf_event_data', packet: false, tracing: true, pass: '0' },
  { type: 'fentry', label: 'fentry/fexit (tracing)', ctx: 'the traced function\'s arguments (u64 ctx[], BPF_PROG)', packet: false, tracing: true, pass: '0' },
  { type: 'lsm', label: 'LSM', ctx: 'the LSM hook\'s arguments (u64 ctx[], BPF_PROG)', packet: false, tracing: true, pass: '0' },
  { type: 'struct_ops', label: 'struct_ops', ctx: 'the callback\'s arguments (u64 ctx[], BPF_STRUCT_OPS)', packet: false, tracing: true, pass: '0' },
];

export const PROG_TYPES: readonly ProgType[] = INFO.map((i) => i.type);

export function progTypeInfo(t: ProgType): ProgTypeInfo {
  return INFO.find((i) => i.type === t)!;
}

/** enum bpf_prog_type (uapi) → the explainer's type; null for types it has no words for */
export function progTypeFromKernel(type: number | undefined): ProgType | null {
  const map: Record<number, ProgType> = {
    1: 'socket_filter', 2: 'kprobe', 3: 'tc', 4: 'tc', 5: 'tracepoint', 6: 'xdp', 7: 'perf_event', 8: 'cgroup_skb',
    9: 'cgroup_sock', 13: 'sock_ops', 17: 'raw_tracepoint', 18: 'cgroup_sock_addr', 26: 'fentry', 27: 'struct_ops', 29: 'lsm',
  };
  return type === undefined ? null : (map[type] ?? null);
}

/** Where the explanation's program type came from. */
export type ProgTypeSource = 'given' | 'object' | 'log' | 'assumed';

export interface ProgTypeGuess {
  type: ProgType;
  /** the words of the log that gave it away */
  evidence: string;
  /** how sure: 0.9 a name or struct of the type, 0.7 a helper or BTF line only that type has, 0.6 context offsets that fit only its struct */
  confidence: number;
  /** other types the same clue fits (an __sk_buff helper: tc, socket filter, cgroup_skb) */
  alternatives?: ProgType[];
}

const SKB_FAMILY: ProgType[] = ['socket_filter', 'cgroup_skb'];

/** Clues, strongest first: each a pattern over the log text and the type it means. */
const CLUES: Array<{ re: RegExp; type: ProgType; confidence?: number; alternatives?: ProgType[] }> = [
  // the context struct or attach macro, as C source lines or section names show it
  // (libxdp loads nothing but XDP programs; ctx_xdp_*(ctx) / xdp_*(ctx) accessors in C lines are XDP's)
  { re: /struct xdp_md\b|SEC\("xdp|\bXDP program\b|\bxdp_md\b|\bXdpContext\b|\bxdp-filter|\bxdp_\w*prog\b|\bprog 'xdp|\bprogram '?xdp\w*'?: |^libxdp: |\b\w*_xdp_\w+\(ctx\)/m, type: 'xdp' },
  { re: /struct bpf_sock_ops\b|SEC\("sockops|\bsockops\b|\bsock_ops\b|BPF_SOCK_OPS_\w+|\bbpf_sock_ops_cb_flags_set\b|\bSockOpsContext\b|\bskops->/, type: 'sock_ops' },
  { re: /BPF_STRUCT_OPS|struct_ops|\bscx_bpf_\w+|sched_ext/, type: 'struct_ops' },
  { re: /SEC\("lsm|LSM_PROBE|\bbpf_lsm_\w+|\blsm\/\w+/, type: 'lsm' },
  { re: /SEC\("(f(entry|exit)|fmod_ret|tp_btf|iter)|\bfentry\b|\bfexit\b|\bfmod_ret\b|\btp_btf\b|kfunc__|kretfunc__|\bkfunc:|\bkretfunc:|\bfentry:|\bfexit:|\bK(?:RET)?FUNC_PROBE\(/, type: 'fentry' },
  { re: /struct bpf_raw_tracepoint_args|raw_tracepoint|raw_tp\b|BPF_RAW_TRACEPOINT|\brawtracepoint:|\bRAW_TRACEPOINT_PROBE\(/, type: 'raw_tracepoint' },
  { re: /struct bpf_perf_event_data|perf_event\b|SEC\("perf_event|\bprofile:|\binterval:|\b(?:hardware|software):\w/, type: 'perf_event' },
  { re: /struct trace_event_raw_\w+|tracepoint__|SEC\("tp\/|SEC\("tracepoint|\btracepoint:|\bt:\w+:\w+|(?<!RAW_)\bTRACEPOINT_PROBE\(/, type: 'tracepoint' },
  // (bpftrace's BEGIN/END probes are uprobes: kprobe-type programs)
  { re: /struct pt_regs|BPF_KPROBE|BPF_KRETPROBE|BPF_UPROBE|PT_REGS_\w+|\bkprobe|\bkretprobe|\buprobe|\buretprobe|\busdt\b|BPF_USDT|attach_kprobe|\bProbeContext\b|bpftrace\b[^\n]*-e '(?:BEGIN|END)\b/, type: 'kprobe' },
  { re: /struct bpf_sock_addr\b|cgroup\/(connect|bind|sendmsg|recvmsg|getpeername|getsockname)\d?|\bSockAddrContext\b/, type: 'cgroup_sock_addr' },
  { re: /cgroup\/(sock_create|sock_release|post_bind)\d?|\bSockContext\b/, type: 'cgroup_sock' },
  { re: /cgroup_skb|cgroup\/skb/, type: 'cgroup_skb' },
  { re: /SEC\("socket|\bsocket_filter\b|\bSocketFilter\b|attach_raw_socket/, type: 'socket_filter' },
  { re: /SEC\("(tc|classifier|tcx)|\btc_\w+|\btcx?_(ingress|egress)|sched_cls|\bTcContext\b/, type: 'tc' },
  // a BTF-typed context the kernel describes: "func 'tcp_connect' arg0 has btf_id 123 type STRUCT 'sock'"
  { re: /\bfunc '\w+' arg\d+ (?:has btf_id|type \w+)|\btrusted_ptr_\w+\(|\bR1(?:_w)?=ptr_\w+\(/, type: 'fentry', confidence: 0.7 },
  // helpers only one family has
  { re: /\bbpf_xdp_\w+|\bxdp_adjust_\w+#/, type: 'xdp', confidence: 0.7 },
  { re: /\bbpf_sock_(map|hash)_update\b|\bsock_ops_cb_flags_set#|\bbpf_(load|store)_hdr_opt\b/, type: 'sock_ops', confidence: 0.7 },
  { re: /\bbpf_get_func_(?:arg|ret|arg_cnt)\b|\bget_func_(?:arg|ret|arg_cnt)#\d+/, type: 'fentry', confidence: 0.7 },
  { re: /\bbpf_perf_prog_read_value\b|\bperf_prog_read_value#\d+|\bbpf_read_branch_records\b|\bread_branch_records#\d+/, type: 'perf_event', confidence: 0.7 },
  { re: /\bbpf_bind\b|\bbind#\d+/, type: 'cgroup_sock_addr', confidence: 0.7 },
  { re: /\bbpf_(?:ima_\w+|bprm_opts_set)\b|\b(?:ima_\w+|bprm_opts_set)#\d+/, type: 'lsm', confidence: 0.7 },
  { re: /\bbpf_override_return\b|\boverride_return#\d+/, type: 'kprobe', confidence: 0.7 },
  { re: /\bbpf_(get_stackid|probe_read\w*|get_current_task\w*|override_return|perf_event_read)\b|\b(probe_read\w*|get_current_task)#\d+/, type: 'kprobe', confidence: 0.5, alternatives: ['tracepoint', 'fentry', 'raw_tracepoint'] },
  // __sk_buff helpers: tc most often, but socket filters and cgroup_skb have many of them too
  { re: /\bbpf_skb_\w+|\bskb_\w+#\d+|\bbpf_l[34]_csum_replace\b|\bbpf_clone_redirect\b/, type: 'tc', confidence: 0.5, alternatives: SKB_FAMILY },
];

/** BPF_PROG_TYPE_* by the number uapi gives it and by name (iproute2 prints the number, strace the name). */
const UAPI_TYPES: Array<[number, string, ProgType]> = [
  [1, 'SOCKET_FILTER', 'socket_filter'], [2, 'KPROBE', 'kprobe'], [3, 'SCHED_CLS', 'tc'], [4, 'SCHED_ACT', 'tc'],
  [5, 'TRACEPOINT', 'tracepoint'], [6, 'XDP', 'xdp'], [7, 'PERF_EVENT', 'perf_event'], [8, 'CGROUP_SKB', 'cgroup_skb'],
  [9, 'CGROUP_SOCK', 'cgroup_sock'], [13, 'SOCK_OPS', 'sock_ops'], [17, 'RAW_TRACEPOINT', 'raw_tracepoint'],
  [18, 'CGROUP_SOCK_ADDR', 'cgroup_sock_addr'], [26, 'TRACING', 'fentry'], [27, 'STRUCT_OPS', 'struct_ops'], [29, 'LSM', 'lsm'],
];

/** A section name (SEC("…"), as libbpf and iproute2 print it) → the type libbpf gives it; null when it names none. */
const SECTION_TYPES: Array<[RegExp, ProgType]> = [
  [/^xdp(?:$|[-_./])/, 'xdp'], [/^(?:tc|tcx|classifier|action)(?:$|[-_./])/, 'tc'], [/^socket(?:$|\/)/, 'socket_filter'],
  [/^(?:k(?:ret)?probe|u(?:ret)?probe|usdt|k(?:ret)?syscall|k(?:ret)?probe\.multi|u(?:ret)?probe\.multi)(?:\.s)?(?:$|\/)/, 'kprobe'],
  [/^(?:tracepoint|tp)\//, 'tracepoint'], [/^(?:raw_tracepoint|raw_tp)(?:\.w)?\//, 'raw_tracepoint'],
  [/^(?:tp_btf|f(?:entry|exit)|fmod_ret|iter)(?:\.s)?\//, 'fentry'], [/^lsm(?:\.s|_cgroup)?\//, 'lsm'], [/^struct_ops(?:\.s)?(?:$|\/)/, 'struct_ops'],
  [/^perf_event$/, 'perf_event'], [/^cgroup_skb\/|^cgroup\/skb$/, 'cgroup_skb'], [/^sockops$/, 'sock_ops'],
  [/^cgroup\/(?:connect|bind|sendmsg|recvmsg|getpeername|getsockname)/, 'cgroup_sock_addr'], [/^cgroup\/(?:sock_create|sock_release|post_bind|sock$)/, 'cgroup_sock'],
];

export function sectionType(sec: string): ProgType | null {
  return SECTION_TYPES.find(([re]) => re.test(sec))?.[1] ?? null;
}

/** Program-type names the loaders use in their own API: bcc's BPF.XDP, cilium/ebpf's ebpf.SchedCLS, aya's program structs. */
const API_TYPES: Array<[RegExp, ProgType]> = [
  [/\bBPF\.(?:XDP)\b|\bebpf\.XDP\b|&mut Xdp\b|#\[xdp\b/, 'xdp'],
  [/\bBPF\.SCHED_(?:CLS|ACT)\b|\bebpf\.Sched(?:CLS|ACT)\b|&mut SchedClassifier\b|#\[classifier\b/, 'tc'],
  [/\bBPF\.SOCKET_FILTER\b|\bebpf\.SocketFilter\b|&mut SocketFilter\b|#\[socket_filter\b/, 'socket_filter'],
  [/\bBPF\.KPROBE\b|\bebpf\.Kprobe\b|&mut [KU]Probe\b|#\[(?:kprobe|kretprobe|uprobe|uretprobe)\b/, 'kprobe'],
  [/\bBPF\.TRACEPOINT\b|\bebpf\.TracePoint\b|&mut TracePoint\b|#\[tracepoint\b/, 'tracepoint'],
  [/\bBPF\.RAW_TRACEPOINT\b|\bebpf\.RawTracepoint\b|&mut RawTracePoint\b|#\[raw_tracepoint\b/, 'raw_tracepoint'],
  [/\bBPF\.PERF_EVENT\b|\bebpf\.PerfEvent\b|&mut PerfEvent\b|#\[perf_event\b/, 'perf_event'],
  [/\bBPF\.CGROUP_SKB\b|\bebpf\.CGroupSKB\b|&mut CgroupSkb\b|#\[cgroup_skb\b/, 'cgroup_skb'],
  [/\bBPF\.SOCK_OPS\b|\bebpf\.SockOps\b|&mut SockOps\b|#\[sock_ops\b/, 'sock_ops'],
  [/\bBPF\.LSM\b|\bebpf\.LSM\b|&mut Lsm\b|#\[lsm\b/, 'lsm'],
  [/\bBPF\.TRACING\b|\bebpf\.Tracing\b|&mut (?:FEntry|FExit|BtfTracePoint)\b|#\[(?:fentry|fexit|btf_tracepoint)\b/, 'fentry'],
  [/\bebpf\.StructOps\b/, 'struct_ops'],
  [/\bBPF\.CGROUP_SOCK_ADDR\b|\bebpf\.CGroupSockAddr\b|&mut CgroupSockAddr\b|#\[cgroup_sock_addr\b/, 'cgroup_sock_addr'],
];

/**
 * The type the loader itself says it loaded: iproute2's "Prog section '…' rejected … - Type: 3",
 * strace's prog_type=BPF_PROG_TYPE_XDP, or the tc / ip command that loaded the object.
 */
function loadedAs(raw: string): ProgTypeGuess | null {
  // a logger may wrap each of those lines (cilium's msg=" - Type:         18")
  const num = /Prog section '[^'\n]*' rejected[^\n]*\n(?:[^\n]*\n){0,3}?(?:\s*|[^\n]*?\bmsg=")\s*- Type:\s+(\d+)/.exec(raw);
  const byNum = num ? UAPI_TYPES.find(([n]) => n === Number(num[1])) : undefined;
  if (byNum) return { type: byNum[2], evidence: `${num![0].split('\n').pop()!.trim()} (BPF_PROG_TYPE_${byNum[1]}, as iproute2 loaded it)`, confidence: 0.9 };
  const named = /prog_type=BPF_PROG_TYPE_([A-Z_]+)/.exec(raw);
  const byName = named ? UAPI_TYPES.find(([, n]) => n === named[1]) : undefined;
  if (byName) return { type: byName[2], evidence: named![0], confidence: 0.9 };
  const tc = /\btc filter (?:add|replace|change) [^\n]*\bbpf\b/.exec(raw);
  if (tc) return { type: 'tc', evidence: tc[0], confidence: 0.8 };
  const ip = /\bip link set (?:dev )?\S+ xdp(?:generic|drv|offload)? (?:obj|pinned)\b/.exec(raw);
  if (ip) return { type: 'xdp', evidence: ip[0], confidence: 0.8 };
  // the section the loader read the program from: libbpf's "sec 'xdp': found program", its ELF
  // section list for a program section, iproute2's "Prog section 'classifier' rejected"
  for (const m of raw.matchAll(/\bsec '([^'\n]+)': found program|Prog section '([^'\n]+)'|\belf: section\(\d+\) ([^\s,]+), size \d+, link \d+, flags 6\b/g)) {
    const sec = m[1] ?? m[2] ?? m[3]!;
    const t = sectionType(sec);
    if (t) return { type: t, evidence: m[0], confidence: 0.9 };
  }
  // the loader API's own name for the type (one type only: a list of several says nothing)
  const api = API_TYPES.map(([re, t]) => ({ t, m: re.exec(raw) })).filter((x) => x.m);
  if (api.length && new Set(api.map((x) => x.t)).size === 1) return { type: api[0]!.t, evidence: api[0]!.m![0], confidence: 0.9 };
  const any = [...new Set([...raw.matchAll(/\bBPF_PROG_TYPE_([A-Z_]+)\b/g)].map((m) => m[1]!))];
  const byAny = any.length === 1 ? UAPI_TYPES.find(([, n]) => n === any[0]) : undefined;
  if (byAny) return { type: byAny[2], evidence: `BPF_PROG_TYPE_${byAny[1]}`, confidence: 0.8 };
  return null;
}

/** One context load as the log prints it: "2: (61) r2 = *(u32 *)(r1 +76)" (R1 = ctx at entry). */
function ctxLoadOffsets(p: ParsedLog): Array<{ off: number; size: number }> {
  const out: Array<{ off: number; size: number }> = [];
  const ctxRegs = new Set([1]);
  for (const l of p.lines.slice(0, 400)) {
    const mv = /^\d+: \(bf\) r(\d+) = r(\d+)$/.exec(l);
    if (mv && ctxRegs.has(Number(mv[2]))) ctxRegs.add(Number(mv[1]));
    const m = /^\d+: \((61|69|71|79)\) r\d+ = \*\(u(8|16|32|64) \*\)\(r(\d+) \+(\d+)\)/.exec(l);
    if (m && ctxRegs.has(Number(m[3]))) out.push({ off: Number(m[4]), size: Number(m[2]) / 8 });
    if (/\(85\) call/.test(l)) break; // after a call R1 is no longer ctx
  }
  return out;
}

/**
 * The program type a log shows, or null. Reads the log as the user pasted it (raw), so names in
 * surrounding tool output (bpftrace probes, bcc calls, libbpf's prog name) count too.
 */
export function inferProgType(p: ParsedLog, raw: string): ProgTypeGuess | null {
  // the C line of a refused context access names the field: "ctx->remote_ip4" at offset 24 is
  // struct bpf_sock_ops's, not __sk_buff's vlan_tci
  const access = /invalid bpf_context access off=(\d+)/.exec(p.message ?? '');
  const named = access ? typeFromSourceField(p, Number(access[1])) : null;
  if (named) return { type: named.t, evidence: `${named.field} at context offset ${access![1]} (${progTypeInfo(named.t).ctx})`, confidence: 0.8 };
  const loaded = loadedAs(raw);
  if (loaded) return loaded;
  // a loader's list of the section names it knows names every type: no clue to this program's
  const text = raw.replace(/^.*supported section\(type\) names are:.*$/gm, '');
  // a helper the verifier refuses is no evidence of the type: it is refused because the type lacks it
  const refused = /(?:unknown func|cannot use helper|invalid func) (?:bpf_)?([a-z_0-9]+)#?/.exec(p.message ?? '')?.[1];
  for (const c of CLUES) {
    const re = new RegExp(c.re.source, `${c.re.flags.replace('g', '')}g`); // keep m: clues anchored at a line start
    for (const m of text.matchAll(re)) {
      if (refused && m[0].replace(/^bpf_/, '').replace(/#.*$/, '') === refused.replace(/^bpf_/, '') && (c.confidence ?? 0.9) < 0.9) continue;
      return { type: c.type, evidence: m[0], confidence: c.confidence ?? 0.9, ...(c.alternatives ? { alternatives: c.alternatives } : {}) };
    }
  }
  // how the program reads its context: data/data_end at 0/4 are xdp_md's, at 76/80 __sk_buff's
  const ctxLoads = p.lines.filter((l) => /^\d+: \(61\) r\d+ = \*\(u32 \*\)\(r\d+ \+(0|4|76|80)\)/.test(l));
  if (p.lines.some((l) => /=pkt(_end)?\(/.test(l)) || /=pkt\b/.test(raw)) {
    if (ctxLoads.some((l) => /\+(76|80)\)/.test(l))) return { type: 'tc', evidence: 'packet pointers loaded from ctx offsets 76/80 (__sk_buff)', confidence: 0.7, alternatives: SKB_FAMILY };
    if (ctxLoads.some((l) => /\+(0|4)\)/.test(l))) return { type: 'xdp', evidence: 'packet pointers loaded from ctx offsets 0/4 (xdp_md)', confidence: 0.7 };
  }
  // pt_regs arguments: u64 loads from ctx at the x86-64 argument offsets (di=112, si=104, …)
  if (p.lines.some((l) => /^\d+: \(79\) r\d+ = \*\(u64 \*\)\(r1 \+(112|104|96|88|72)\)/.test(l)) || (!/=pkt/.test(raw) && ctxLoadOffsets(p).some((a) => a.size === 8 && [112, 104, 96, 88, 72].includes(a.off)))) {
    return { type: 'kprobe', evidence: 'u64 loads of pt_regs argument slots from ctx', confidence: 0.6 };
  }
  // sock_ops: a u32 load of ctx->op (offset 0) and loads past struct xdp_md's 24 bytes that fit struct bpf_sock_ops only
  const loads = ctxLoadOffsets(p);
  if (loads.length >= 2) {
    const fits = (t: ProgType): boolean => loads.every((a) => fitsLayout(t, a.off, a.size));
    const only = (['xdp', 'tc', 'sock_ops', 'cgroup_sock_addr', 'cgroup_sock'] as ProgType[]).filter(fits);
    if (only.length === 1) return { type: only[0]!, evidence: `context loads at offsets ${[...new Set(loads.map((a) => a.off))].join(', ')} fit only ${progTypeInfo(only[0]!).ctx}`, confidence: 0.6 };
  }
  return null;
}

/** The context type whose field at `off` the failing C line names (exactly one), or null. */
function typeFromSourceField(p: ParsedLog, off: number): { t: ProgType; field: string } | null {
  const names = new Set([...(p.source?.text ?? '').matchAll(/\w+\s*->\s*(\w+)/g)].map((m) => m[1]!));
  if (!names.size) return null;
  const hits = (['xdp', 'tc', 'sock_ops', 'cgroup_sock_addr', 'cgroup_sock', 'kprobe'] as ProgType[])
    .map((t) => ({ t, f: decodeCtxAccess(t, off, 1, false).field }))
    .filter((h) => h.f && names.has(h.f.name));
  return hits.length === 1 ? { t: hits[0]!.t, field: hits[0]!.f!.name } : null;
}

/** Does a read of off/size land on a field of t's context, with a size the field allows? */
function fitsLayout(t: ProgType, off: number, size: number): boolean {
  return fitsField(decodeCtxAccess(t, off, size, false), off, size);
}
