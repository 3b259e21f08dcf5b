/**
 * Context layouts: what `off=N` in "invalid bpf_context access off=N size=M" means for the
 * program types afxdp users write. Offsets are the uapi ones (linux/bpf.h); the writable sets
 * are what the kernel's is_valid_access callbacks allow.
 */

import type { ProgType } from './progtype-id.js';

export interface CtxField {
  name: string;
  offset: number;
  size: number;
  /** the program may store to it */
  writable: boolean;
  /** a pointer the kernel converts (data, data_end, data_meta): read with a u32 load only */
  pointer?: boolean;
  note?: string;
}

export interface CtxLayout {
  struct: string;
  size: number;
  fields: CtxField[];
}

const XDP_MD: CtxLayout = {
  struct: 'struct xdp_md',
  size: 24,
  fields: [
    { name: 'data', offset: 0, size: 4, writable: false, pointer: true, note: 'start of the packet' },
    { name: 'data_end', offset: 4, size: 4, writable: false, pointer: true, note: 'end of the packet' },
    { name: 'data_meta', offset: 8, size: 4, writable: false, pointer: true, note: 'start of the metadata area; move it with bpf_xdp_adjust_meta' },
    { name: 'ingress_ifindex', offset: 12, size: 4, writable: false },
    { name: 'rx_queue_index', offset: 16, size: 4, writable: false },
    { name: 'egress_ifindex', offset: 20, size: 4, writable: false, note: 'only for programs attached to a devmap entry' },
  ],
};

/** struct __sk_buff; writable set is tc's (socket filters and cgroup_skb may write only cb[] and mark/priority where noted). */
function skBuff(writable: Set<string>): CtxLayout {
  const f = (name: string, offset: number, size: number, extra: Partial<CtxField> = {}): CtxField => ({
    name,
    offset,
    size,
    writable: writable.has(name),
    ...extra,
  });
  return {
    struct: 'struct __sk_buff',
    size: 192,
    fields: [
      f('len', 0, 4), f('pkt_type', 4, 4), f('mark', 8, 4), f('queue_mapping', 12, 4), f('protocol', 16, 4),
      f('vlan_present', 20, 4), f('vlan_tci', 24, 4), f('vlan_proto', 28, 4), f('priority', 32, 4),
      f('ingress_ifindex', 36, 4), f('ifindex', 40, 4), f('tc_index', 44, 4), f('cb', 48, 20),
      f('hash', 68, 4), f('tc_classid', 72, 4),
      f('data', 76, 4, { pointer: true }), f('data_end', 80, 4, { pointer: true }), f('napi_id', 84, 4),
      f('family', 88, 4), f('remote_ip4', 92, 4), f('local_ip4', 96, 4), f('remote_ip6', 100, 16), f('local_ip6', 116, 16),
      f('remote_port', 132, 4), f('local_port', 136, 4), f('data_meta', 140, 4, { pointer: true }),
      f('flow_keys', 144, 8), f('tstamp', 152, 8), f('wire_len', 160, 4), f('gso_segs', 164, 4), f('sk', 168, 8),
      f('gso_size', 176, 4), f('tstamp_type', 180, 1), f('hwtstamp', 184, 8),
    ],
  };
}

/** x86-64 struct pt_regs, the kprobe context: 21 u64 registers; the arguments are di, si, dx, cx, r8, r9 */
const PT_REGS_FIELDS = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];
const PT_REGS: CtxLayout = {
  struct: 'struct pt_regs',
  size: 168,
  fields: PT_REGS_FIELDS.map((name, i) => ({ name, offset: i * 8, size: 8, writable: false })),
};

/** struct bpf_sock_ops (uapi); sock_ops programs may write reply/replylong and sk_txhash */
const SOCK_OPS: CtxLayout = {
  struct: 'struct bpf_sock_ops',
  size: 216,
  fields: [
    ['op', 0, 4], ['args', 4, 16], ['family', 20, 4], ['remote_ip4', 24, 4], ['local_ip4', 28, 4], ['remote_ip6', 32, 16], ['local_ip6', 48, 16],
    ['remote_port', 64, 4], ['local_port', 68, 4], ['is_fullsock', 72, 4], ['snd_cwnd', 76, 4], ['srtt_us', 80, 4], ['bpf_sock_ops_cb_flags', 84, 4],
    ['state', 88, 4], ['rtt_min', 92, 4], ['snd_ssthresh', 96, 4], ['rcv_nxt', 100, 4], ['snd_nxt', 104, 4], ['snd_una', 108, 4], ['mss_cache', 112, 4],
    ['ecn_flags', 116, 4], ['rate_delivered', 120, 4], ['rate_interval_us', 124, 4], ['packets_out', 128, 4], ['retrans_out', 132, 4],
    ['total_retrans', 136, 4], ['segs_in', 140, 4], ['data_segs_in', 144, 4], ['segs_out', 148, 4], ['data_segs_out', 152, 4], ['lost_out', 156, 4],
    ['sacked_out', 160, 4], ['sk_txhash', 164, 4], ['bytes_received', 168, 8], ['bytes_acked', 176, 8], ['sk', 184, 8],
    ['skb_data', 192, 8], ['skb_data_end', 200, 8], ['skb_len', 208, 4], ['skb_tcp_flags', 212, 4],
  ].map(([name, offset, size]) => ({
    name: name as string, offset: offset as number, size: size as number,
    writable: name === 'args' || name === 'sk_txhash',
    ...(name === 'skb_data' || name === 'skb_data_end' ? { pointer: true } : {}),
  })),
};

/** struct bpf_sock_addr (uapi); connect/bind/sendmsg hooks may rewrite the user_* and msg_src_* fields */
const SOCK_ADDR: CtxLayout = {
  struct: 'struct bpf_sock_addr',
  size: 72,
  fields: [
    ['user_family', 0, 4], ['user_ip4', 4, 4], ['user_ip6', 8, 16], ['user_port', 24, 4], ['family', 28, 4], ['type', 32, 4],
    ['protocol', 36, 4], ['msg_src_ip4', 40, 4], ['msg_src_ip6', 44, 16], ['sk', 64, 8],
  ].map(([name, offset, size]) => ({ name: name as string, offset: offset as number, size: size as number, writable: /^(user_ip|user_port|msg_src)/.test(name as string) })),
};

/** struct bpf_sock (uapi), the cgroup_sock context; sock_create may set bound_dev_if, mark, priority */
const BPF_SOCK: CtxLayout = {
  struct: 'struct bpf_sock',
  size: 80,
  fields: [
    ['bound_dev_if', 0, 4], ['family', 4, 4], ['type', 8, 4], ['protocol', 12, 4], ['mark', 16, 4], ['priority', 20, 4], ['src_ip4', 24, 4],
    ['src_ip6', 28, 16], ['src_port', 44, 4], ['dst_port', 48, 2], ['dst_ip4', 52, 4], ['dst_ip6', 56, 16], ['state', 72, 4], ['rx_queue_mapping', 76, 4],
  ].map(([name, offset, size]) => ({ name: name as string, offset: offset as number, size: size as number, writable: /^(bound_dev_if|mark|priority)$/.test(name as string) })),
};

const LAYOUTS: Partial<Record<ProgType, CtxLayout>> = {
  kprobe: PT_REGS,
  sock_ops: SOCK_OPS,
  cgroup_sock_addr: SOCK_ADDR,
  cgroup_sock: BPF_SOCK,
  xdp: XDP_MD,
  tc: skBuff(new Set(['mark', 'priority', 'tc_index', 'cb', 'tc_classid', 'queue_mapping', 'tstamp'])),
  socket_filter: skBuff(new Set(['cb'])),
  cgroup_skb: skBuff(new Set(['mark', 'priority', 'cb'])),
};

/** The layout afxdp knows for a program type's context (null: BTF-typed or per-tracepoint contexts). */
export function ctxLayout(t: ProgType): CtxLayout | null {
  return LAYOUTS[t] ?? null;
}

/**
 * The program types whose fixed context has a field at this offset of this size (reads), strongest
 * first: what an offset alone says about the type when nothing else does.
 */
export function ctxCandidates(off: number, size: number): Array<{ type: ProgType; access: CtxAccess }> {
  const out: Array<{ type: ProgType; access: CtxAccess }> = [];
  for (const t of ['xdp', 'tc', 'sock_ops', 'cgroup_sock_addr', 'cgroup_sock', 'kprobe'] as ProgType[]) {
    const a = decodeCtxAccess(t, off, size, false);
    if (fitsField(a, off, size)) out.push({ type: t, access: a });
  }
  return out;
}

/** A read of off/size that lands inside one field, with a size the field allows (pointers: one u32 load). */
export function fitsField(a: CtxAccess, off: number, size: number): boolean {
  return a.field !== null && off + size <= a.field.offset + a.field.size && (!a.field.pointer || size === a.field.size);
}

export interface CtxAccess {
  layout: CtxLayout;
  field: CtxField | null;
  /** e.g. "ctx->data_meta" or "ctx->cb[1]" or "byte 32 of struct xdp_md (past its end)" */
  name: string;
  /** one sentence: what this access is and why it is refused */
  reason: string;
}

/** Decodes a context access the verifier refused. */
export function decodeCtxAccess(t: ProgType, off: number, size: number, write: boolean): CtxAccess {
  const layout = LAYOUTS[t];
  if (!layout) return decodeTypedCtx(t, off, size, write);
  const field = layout.fields.find((f) => off >= f.offset && off < f.offset + f.size) ?? null;
  if (!field) {
    const where = off >= layout.size ? 'past its end' : 'padding';
    return {
      layout,
      field,
      name: `byte ${off} of ${layout.struct} (${where})`,
      reason: `${layout.struct} is ${layout.size} bytes on this kernel's uapi; offset ${off} is no field of it (a header newer than the kernel, or a cast of ctx to another struct)`,
    };
  }
  let name = `ctx->${field.name}`;
  if (field.name === 'cb' || field.name === 'args') name = `ctx->${field.name}[${Math.floor((off - field.offset) / 4)}]`;
  else if (off !== field.offset) name = `${name} (byte ${off - field.offset} of it)`;
  let reason: string;
  if (write && !field.writable) {
    reason = `${name} is read-only for ${t} programs: programs may read it but not write it`;
    if (field.name === 'data_meta') reason += '; the metadata area is moved with bpf_xdp_adjust_meta() and written through the pointer you read from ctx->data_meta';
    else if (field.pointer) reason += '; packet pointers are moved with bpf_xdp_adjust_head()/bpf_xdp_adjust_tail() (tc: bpf_skb_change_head/tail)';
  } else if (field.pointer && size === 4 && layout.struct === 'struct __sk_buff') {
    reason = `${name} is a packet pointer, and direct packet access through it is not allowed for this program: socket filters never have it (nor cgroup_skb before 4.20, nor tc before 4.7, and data_meta only tc and XDP); read packet bytes with bpf_skb_load_bytes() (or load_byte/load_half/load_word in socket filters)`;
  } else if (field.pointer && size !== 4 && field.size === 4) {
    reason = `${name} must be read with one 32-bit load (the verifier rewrites it into a real pointer); this access is ${size} bytes`;
  } else if (field.name === 'cb' && size !== 4) {
    reason = `${name} is part of cb[], an array of __u32: read and write it 4 bytes at a time (older kernels refuse ${size}-byte cb accesses; a compiler may merge two fields into one ${size}-byte load)`;
  } else if (off !== field.offset || size > field.size) {
    reason = `${name} is read with a ${size}-byte access at a wrong offset or size (the field is ${field.size} bytes at offset ${field.offset})` +
      (size > field.size ? `; the compiler may have merged it with the next field into one ${size}-byte load: read each field on its own (a volatile read, or one statement per field with a barrier between)` : '');
  } else {
    reason = `${name} is not accessible this way for ${t} programs`;
  }
  return { layout, field, name, reason };
}

/** Contexts without a fixed uapi struct: tracepoint records, BTF argument arrays, raw tracepoint args. */
function decodeTypedCtx(t: ProgType, off: number, size: number, write: boolean): CtxAccess {
  const mk = (struct: string, name: string, reason: string): CtxAccess => ({ layout: { struct, size: 0, fields: [] }, field: null, name, reason });
  if (write) return mk(ctxStructOf(t), `byte ${off} of the context`, `the context of ${t} programs is read-only`);
  if (t === 'tracepoint') {
    if (off < 8) {
      return mk('the tracepoint record', `byte ${off} of the tracepoint record (a common_* field)`, 'the first 8 bytes of a tracepoint record (common_type, common_flags, common_preempt_count, common_pid) are not readable from BPF');
    }
    return mk('the tracepoint record', `byte ${off} of the tracepoint record`, `offset ${off} (${size} bytes) is past the record or not aligned with a field of this tracepoint's format (/sys/kernel/tracing/events/<category>/<name>/format)`);
  }
  if (t === 'perf_event') {
    const st = ctxStructOf(t);
    return mk(st, `byte ${off} of ${st}`, `offset ${off} (${size} bytes) is no field of ${st} readable this way; read fields by name, with their own size`);
  }
  const arg = Math.floor(off / 8);
  const what = t === 'raw_tracepoint' ? `args[${arg}]` : `argument ${arg}`;
  return mk(ctxStructOf(t), `${what} (byte ${off})`, off % 8 !== 0 || size !== 8
    ? `the arguments are u64 slots: read them whole, 8 bytes at a multiple of 8 (this is ${size} bytes at ${off})`
    : `the function has no ${what}, or its BTF type does not allow this read`);
}

function ctxStructOf(t: ProgType): string {
  return t === 'raw_tracepoint' ? 'struct bpf_raw_tracepoint_args' : t === 'perf_event' ? 'struct bpf_perf_event_data' : t === 'cgroup_sock' ? 'struct bpf_sock' : t === 'cgroup_sock_addr' ? 'struct bpf_sock_addr' : 'the u64 argument array';
}
