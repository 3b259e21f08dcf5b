/**
 * Program types the explainer speaks of, and how it tells which one a log came from when nobody
 * said: the context struct and section names in the C source lines, the program's name, the helpers
 * it calls, the way it reads its context. The fix texts name the context struct and helpers of
 * the type; when the type is only assumed, the explanation says so.
 */
import type { ParsedLog } from './log.js';

export type ProgType =
  | 'xdp'
  | 'tc'
  | 'socket_filter'
  | 'cgroup_skb'
  | 'cgroup_sock'
  | 'cgroup_sock_addr'
  | 'kprobe'
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'perf_event'
  | 'fentry'
  | 'lsm'
  | 'struct_ops';

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
    9: 'cgroup_sock', 17: 'raw_tracepoint', 18: 'cgroup_sock_addr', 26: 'fentry', 27: 'struct_ops', 29: 'lsm',
  };
  return type === undefined ? null : (map[type] ?? null);
}

/** Where the explanation's program type came from. */
export type ProgTypeSource = 'given' | 'object' | 'log' | 'assumed';

export interface ProgTypeGuess {
  type: ProgType;
  /** the words of the log that gave it away */
  evidence: string;
}

/** Clues, strongest first: each a pattern over the log text and the type it means. */
const CLUES: Array<{ re: RegExp; type: ProgType }> = [
  // the context struct or attach macro, as C source lines or section names show it
  { re: /struct xdp_md\b|SEC\("xdp|\bXDP program\b|\bxdp_md\b|\bXdpContext\b|\bxdp-filter|\bxdp_\w*prog\b|\bprog 'xdp/, type: 'xdp' },
  { re: /BPF_STRUCT_OPS|struct_ops|\bscx_bpf_\w+|sched_ext/, type: 'struct_ops' },
  { re: /SEC\("lsm|LSM_PROBE|\bbpf_lsm_\w+|\blsm\/\w+/, type: 'lsm' },
  { re: /SEC\("f(entry|exit)|\bfentry\b|\bfexit\b|kfunc__/, type: 'fentry' },
  { re: /struct bpf_raw_tracepoint_args|raw_tracepoint|raw_tp\b|BPF_RAW_TRACEPOINT/, type: 'raw_tracepoint' },
  { re: /struct bpf_perf_event_data|perf_event\b|SEC\("perf_event/, type: 'perf_event' },
  { re: /struct trace_event_raw_\w+|tracepoint__|SEC\("tp\/|SEC\("tracepoint|\btracepoint:|\bt:\w+:\w+/, type: 'tracepoint' },
  { re: /struct pt_regs|BPF_KPROBE|BPF_KRETPROBE|BPF_UPROBE|PT_REGS_\w+|\bkprobe|\buprobe|\buretprobe|attach_kprobe/, type: 'kprobe' },
  { re: /struct bpf_sock_addr\b|cgroup\/(connect|bind|sendmsg|recvmsg)/, type: 'cgroup_sock_addr' },
  { re: /cgroup_skb|cgroup\/skb/, type: 'cgroup_skb' },
  { re: /struct __sk_buff|SEC\("(tc|classifier|tcx)|\btc_\w+|\btcx?_(ingress|egress)|sched_cls|\bbpf_skb_\w+/, type: 'tc' },
];

/**
 * The program type a log shows, or null. Reads the log as the user pasted it (raw), so names in
 * surrounding tool output (bpftrace probes, bcc calls, libbpf's prog name) count too.
 */
export function inferProgType(p: ParsedLog, raw: string): ProgTypeGuess | null {
  for (const c of CLUES) {
    const m = c.re.exec(raw);
    if (m) return { type: c.type, evidence: m[0] };
  }
  // how the program reads its context: data/data_end at 0/4 are xdp_md's, at 76/80 __sk_buff's
  const ctxLoads = p.lines.filter((l) => /^\d+: \(61\) r\d+ = \*\(u32 \*\)\(r\d+ \+(0|4|76|80)\)/.test(l));
  if (p.lines.some((l) => /=pkt(_end)?\(/.test(l)) || /=pkt\b/.test(raw)) {
    if (ctxLoads.some((l) => /\+(76|80)\)/.test(l))) return { type: 'tc', evidence: 'packet pointers loaded from ctx offsets 76/80 (__sk_buff)' };
    if (ctxLoads.some((l) => /\+(0|4)\)/.test(l))) return { type: 'xdp', evidence: 'packet pointers loaded from ctx offsets 0/4 (xdp_md)' };
  }
  // pt_regs arguments: u64 loads from ctx at the x86-64 argument offsets (di=112, si=104, …)
  if (p.lines.some((l) => /^\d+: \(79\) r\d+ = \*\(u64 \*\)\(r1 \+(112|104|96|88|72)\)/.test(l))) {
    return { type: 'kprobe', evidence: 'u64 loads of pt_regs argument slots from ctx' };
  }
  return null;
}
