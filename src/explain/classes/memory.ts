/** Memory access: context fields, map values, the stack, registers and pointer arithmetic. Classes of the table in classes.ts. */
import { ctxCandidates, decodeCtxAccess } from '../ctx.js';
import { memAccess } from '../log.js';
import { type ProgType, progTypeInfo } from '../progtype.js';
import { ADJUST_META, pointerKind, typeOrXdp, type VerifierClass } from './kit.js';
import { boundOnCopy, definition, pointerSpill } from './evidence.js';

export const ctxWrite: VerifierClass = {
  id: 'ctx-write',
  title: 'write to a read-only context field',
  before: 'ctx->data_meta = ctx->data - 8;',
  detect({ log, progType: given, text }) {
    const m = /invalid bpf_context access off=(\d+) size=(\d+)/.exec(text);
    const acc = log.insn ? memAccess(log.insn.text) : null;
    if (!m || !acc?.write) return null;
    const { t: progType, note, confidence } = typeOrXdp(given);
    if (!given && !decodeCtxAccess('xdp', Number(m[1]), Number(m[2]), true).field) {
      // no field of xdp_md there: the program is of another type, and the offset alone does not say which
      const cands = ctxCandidates(Number(m[1]), Number(m[2])).filter((c) => c.type !== 'xdp');
      if (cands.length) {
        const readings = cands.map((c) => `${c.access.name} of ${c.access.layout.struct} (${c.type})`).join(', ');
        return {
          why: `the program writes ${m[2]} bytes at context offset ${m[1]}, past struct xdp_md, so it is not an XDP program; the log does not say its type, and the offset is a field of several contexts: ${readings}. Most context fields are read-only; each type lets programs write only a few (tc: mark, priority, tc_index, cb[]; sock_ops: reply and sk_txhash; cgroup/connect: user_ip4/user_ip6/user_port)`,
          fix: 'give --type TYPE for the exact field; keep the value in a local variable instead of writing it into the context, or use the helper of that type that changes it',
          brief: 'a write to a context field this program type may not write (give --type to name it)',
          snippet: '/* afxdp explain LOG --type sock_ops   (or tc, cgroup_sock_addr …) */',
          facts: { off: Number(m[1]), size: Number(m[2]), readings },
          confidence: 0.55,
        };
      }
    }
    const d = decodeCtxAccess(progType, Number(m[1]), Number(m[2]), true);
    const meta = d.field?.name === 'data_meta';
    return {
      why: d.field
        ? `the program writes ${m[2]} bytes to ${d.name} (offset ${m[1]} of ${d.layout.struct}), which ${progType} programs may read but not write` +
          (meta
            ? '. The context is the kernel\'s description of the packet, not memory you own: ctx->data_meta only says where the metadata area starts (at data while none is reserved); room is reserved with bpf_xdp_adjust_meta(), and the metadata is written through the pointer read from ctx->data_meta'
            : '') + note
        : `the program writes to ${d.name}: ${d.reason}${note}`,
      fix: meta
        ? 'reserve room with bpf_xdp_adjust_meta(ctx, -len) (len a multiple of 4), re-read ctx->data and ctx->data_meta, check meta + 1 <= data, then write through the meta pointer'
        : d.field?.name === 'bpf_sock_ops_cb_flags'
          ? 'set the callback flags with bpf_sock_ops_cb_flags_set(skops, flags), not by assignment'
          : `do not write ${d.name}: keep the value in a local variable, or use the helper that changes it${progType === 'sock_ops' ? ' (sock_ops may write only ctx->reply / replylong[] and sk_txhash)' : progType === 'cgroup_sock_addr' ? ' (the hook may rewrite only user_ip4/user_ip6/user_port, and msg_src_ip* in sendmsg hooks)' : ''}`,
      brief: meta ? 'reserve metadata room with bpf_xdp_adjust_meta() and write through the data_meta pointer after checking meta + 1 <= data' : `${d.name} is read-only; keep your value in a local variable`,
      snippet: meta ? ADJUST_META : progType === 'xdp' ? `__u32 queue = ctx->rx_queue_index;   /* read fields; never assign to ctx->... */` : `__u32 v = ${progType === 'kprobe' ? 'PT_REGS_PARM1(ctx)' : d.field ? `ctx->${d.field.name}` : 'ctx->mark'};   /* copy into a local; change the copy */`,
      facts: { ctx_field: d.field?.name ?? null, ctx_struct: d.layout.struct, ctx_access: d.name, off: Number(m[1]), size: Number(m[2]) },
      confidence,
      typed: true,
    };
  },
};

export const ctxBadRead: VerifierClass = {
  id: 'ctx-bad-read',
  title: 'read of a context offset that is no field (or a wrong size)',
  before: '__u32 *p = (__u32 *)ctx;\nreturn p[8];            /* offset 32: past struct xdp_md */',
  detect({ progType: given, text }) {
    const m = /invalid bpf_context access off=(\d+) size=(\d+)/.exec(text);
    if (!m) return null;
    let { t: progType, note, confidence } = typeOrXdp(given);
    let d = decodeCtxAccess(progType, Number(m[1]), Number(m[2]), false);
    let readings: string | null = null;
    if (!given && !d.field) {
      // the offset alone: which contexts have a field there; one is a reading, several are said as such
      let cands = ctxCandidates(Number(m[1]), Number(m[2])).filter((c) => c.type !== 'xdp');
      // __sk_buff's packet pointers are the usual reason to read offsets 76/80/140 of a context
      const skbPtr = cands.find((c) => c.type === 'tc' && c.access.field?.pointer);
      if (skbPtr) cands = [skbPtr];
      if (cands.length === 1) {
        [progType, d] = [cands[0]!.type, cands[0]!.access];
        note = ` (program type read from the offset: it is no field of struct xdp_md but one of ${d.layout.struct}; give --type to be sure)`;
        // __sk_buff is the common case; an offset alone pointing at a rarer context stays a guess
        if (progType !== 'tc') confidence = 0.45;
        else if (skbPtr) note = ` (program type read from the offset: ${d.name} of struct __sk_buff — a tc, socket filter or cgroup_skb program; give --type to be sure)`;
      } else if (cands.length > 1) {
        readings = cands.map((c) => `${c.access.name} of ${c.access.layout.struct} (${c.type})`).join(', ');
      }
    }
    if (readings) {
      return {
        why: `the program reads context byte ${m[1]} (${m[2]} bytes), which is no field of struct xdp_md; the log does not say the program type, and the offset fits several contexts: ${readings}. Which field it is, and why it is refused, depends on the type`,
        fix: 'give --type TYPE for the exact reading; in any type, read context fields by name through the context struct of that type from the target kernel\'s headers (vmlinux.h or linux/bpf.h), with their own size, and only the fields that type may read',
        brief: 'a context offset several program types have: give --type to read it',
        snippet: '/* afxdp explain LOG --type tc   (or sock_ops, cgroup_sock_addr, kprobe …) */',
        facts: { off: Number(m[1]), size: Number(m[2]), readings },
        confidence: 0.55,
      };
    }
    const info = progTypeInfo(progType);
    const byType: Partial<Record<ProgType, { fix: string; snippet: string }>> = {
      tracepoint: {
        fix: 'read only the fields of the tracepoint\'s format after its 8 common bytes, through the record struct of the target kernel (vmlinux.h: struct trace_event_raw_<name>, or the format file); bpftrace: no args->common_* fields',
        snippet: `SEC("tp/sched/sched_process_exec")\nint on_exec(struct trace_event_raw_sched_process_exec *ctx)\n{\n        __u32 pid = ctx->pid;            /* a field of the record, past the common bytes */`,
      },
      sock_ops: {
        fix: 'read struct bpf_sock_ops fields by name with their own size, and only those valid for the callback (ctx->op says which); socket details beyond them through ctx->sk (bpf_sk_fullsock / bpf_tcp_sock) or bpf_sock_ops helpers; packet bytes through ctx->skb_data/skb_data_end (5.10+)',
        snippet: `SEC("sockops")\nint on_sock(struct bpf_sock_ops *skops)\n{\n        __u32 op = skops->op;                 /* u32 field, read whole */\n        __u32 port = skops->remote_port;`,
      },
      cgroup_sock_addr: {
        fix: 'read struct bpf_sock_addr fields by name, 4 bytes at a time (user_ip6[i], msg_src_ip6[i] are u32 arrays); the hook decides which fields exist (msg_src_* only in sendmsg hooks)',
        snippet: `SEC("cgroup/connect4")\nint on_connect(struct bpf_sock_addr *ctx)\n{\n        __u32 ip = ctx->user_ip4;             /* network byte order */\n        __u16 port = bpf_ntohs(ctx->user_port);`,
      },
      cgroup_sock: {
        fix: 'read struct bpf_sock fields by name with their own size; which fields a hook may read depends on it (src_ip/src_port only in post_bind hooks)',
        snippet: `SEC("cgroup/sock_create")\nint on_create(struct bpf_sock *sk)\n{\n        __u32 family = sk->family;`,
      },
      kprobe: {
        fix: 'read arguments with PT_REGS_PARM1(ctx)..PARM5 (or declare them with BPF_KPROBE); each is one 8-byte register slot of struct pt_regs',
        snippet: `SEC("kprobe/vfs_unlink")\nint BPF_KPROBE(on_unlink, struct inode *dir, struct dentry *dentry)\n{`,
      },
    };
    const tracingArgs = info.tracing && progType !== 'kprobe' && progType !== 'tracepoint';
    const noDirect = d.field?.pointer && d.layout.struct === 'struct __sk_buff' && Number(m[2]) === 4;
    const special = noDirect
      ? {
          fix: 'read packet bytes with bpf_skb_load_bytes(skb, offset, &buf, len) (socket filters: also load_byte/load_half/load_word); direct access through skb->data/data_end needs a type and kernel that allow it (tc 4.7+, cgroup_skb 4.20+, or XDP)',
          snippet: `__u8 hdr[14];
if (bpf_skb_load_bytes(skb, 0, hdr, sizeof(hdr)) < 0)   /* copies from the packet */
      return 0;`,
        }
      : byType[progType] ?? (tracingArgs
      ? { fix: 'declare the arguments with BPF_PROG(name, type1 arg1, …) so each is read as a whole u64 slot of the context', snippet: `int BPF_PROG(on_call, struct file *file, int ret)\n{` }
      : null);
    return {
      why: `the program reads ${d.name}. ${d.reason}.${note}`,
      fix: special?.fix ?? `read the field by name through ${d.layout.struct} from the kernel's own uapi headers (linux/bpf.h or vmlinux.h of the target kernel), with its own size; pointers (data, data_end, data_meta) as (void *)(long)ctx->field`,
      brief: special ? special.fix.split(';')[0]! : `read ${d.layout.struct} fields by name with their own size`,
      snippet: special?.snippet ?? `void *data = (void *)(long)ctx->data;           /* one 32-bit load */\n__u32 queue = ctx->rx_queue_index;`,
      facts: { ctx_field: d.field?.name ?? null, ctx_struct: d.layout.struct, ctx_access: d.name, off: Number(m[1]), size: Number(m[2]) },
      // with no type known, an offset that is no field of xdp_md says nothing certain
      confidence: given || d.field ? confidence : 0.4,
      typed: true,
    };
  },
};

export const ctxModified: VerifierClass = {
  id: 'ctx-modified',
  title: 'context read through a computed pointer',
  before: 'const volatile __u32 *q = &ctx->rx_queue_index;   /* ctx + 16, kept as a pointer */\nreturn *q;',
  detect({ progType, text }) {
    const m = /dereference of modified ctx ptr (?:R(\d+) off=(-?\d+) )?disallowed/.exec(text);
    if (!m) return null;
    const kprobe = progType === 'kprobe';
    const ctxName = progType ? progTypeInfo(progType).ctx : 'the context';
    return {
      why: `${m[1] ? `R${m[1]} is ctx plus ${m[2]}` : 'a register holds ctx plus an offset'}: the program took the address of a context field (or did arithmetic on ctx) and loads through it. The verifier rewrites only loads of the form *(ctx + constant) into the kernel's real access to ${ctxName}, so it refuses a load through a moved ctx pointer${kprobe ? '; with struct pt_regs this happens when the argument register is chosen at run time (a table of offsets, a switch over PT_REGS_PARMn) and clang keeps ctx + offset in a register' : ''}`,
      fix: kprobe
        ? 'read each pt_regs argument with its own constant load, PT_REGS_PARMn(ctx) with a constant n in each branch, or copy it with bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + off) when the offset is only known at run time'
        : 'read context fields directly as ctx->field, in the function that received ctx; pass the values (not &ctx->field) to helpers and subprograms',
      brief: kprobe ? 'read pt_regs arguments with constant offsets (PT_REGS_PARMn) or bpf_probe_read_kernel' : 'read ctx->field directly; do not keep &ctx->field or ctx + n as a pointer',
      snippet: kprobe
        ? `unsigned long arg;\nif (nr == 1) arg = PT_REGS_PARM1(ctx);       /* constant offset per branch */\nelse        arg = PT_REGS_PARM2(ctx);`
        : `__u32 queue = ctx->rx_queue_index;      /* one load at ctx + 16 */\nreturn queue ? XDP_PASS : XDP_DROP;`,
      facts: { register: m[1] ? Number(m[1]) : null, off: m[2] ? Number(m[2]) : null },
    };
  },
};

export const mapNull: VerifierClass = {
  id: 'map-null',
  title: 'map value used without a NULL check',
  before: '__u64 *v = bpf_map_lookup_elem(&counts, &key);\n*v += 1;',
  detect({ text }) {
    const m = /R(\d+) invalid mem access '(\w*or_null\w*)'/.exec(text);
    if (!m) return null;
    if (/^(rcu_ptr|trusted_ptr|ptr)_or_null/.test(m[2]!)) {
      // a BTF pointer field that may be NULL (an __rcu field, or one the kernel marks maybe-NULL)
      return {
        why: `R${m[1]} is a pointer read from a kernel struct field that may be NULL (${m[2]}, e.g. an __rcu field such as task->cred or task->real_parent): every load of such a field is a fresh maybe-NULL value, so a NULL test of one load does not cover another load of the same field`,
        fix: 'load the field once into a local variable, test that local for NULL, and use only it (or read through it with BPF_CORE_READ / bpf_probe_read_kernel, which need no NULL proof)',
        brief: 'load the maybe-NULL field once, test it, and use that local',
        snippet: `const struct cred *cred = task->cred;     /* one load */\nif (!cred)\n        return 0;\nuid = cred->uid.val;                       /* the tested pointer */`,
      };
    }
    return {
      why: `R${m[1]} is the result of a lookup (${m[2]}): it is NULL when the key is absent, and the program dereferences it without checking`,
      fix: 'test the pointer right after the lookup and handle the NULL case; only the checked branch may dereference it',
      brief: 'check the lookup result for NULL before using it',
      snippet: `__u64 *v = bpf_map_lookup_elem(&counts, &key);\nif (!v)\n        return XDP_PASS;\n__sync_fetch_and_add(v, 1);`,
    };
  },
};

export const mapValueBounds: VerifierClass = {
  id: 'map-value-bounds',
  title: 'index, offset or size the verifier cannot bound (map value, stack, buffer)',
  before: 'struct slots *s = bpf_map_lookup_elem(&table, &key);\nif (!s) return XDP_PASS;\ns->v[ctx->rx_queue_index] += 1;   /* index not checked */',
  detect({ log, text }) {
    // a helper's size argument: "R2 min value is negative, either use unsigned or 'var &= const'"
    const negSize = /R(\d+) min value is negative, either use unsigned or 'var &= const'/.exec(text);
    if (negSize) {
      return {
        why: `the size passed to the helper in R${negSize[1]} may be negative as far as the verifier can tell (a signed value, or one whose bounds it lost — e.g. clamped earlier, then spilled to the stack and reloaded, which older kernels do not track), so it cannot check the copy stays inside the buffer`,
        fix: 'make the size unsigned and bound it on the register passed, right before the call: __u32 n = len; n &= MAX - 1; (MAX a power of two, no larger than the buffer) — or pass a constant size when reading a string (bpf_probe_read_str stops at the NUL)',
        brief: 'make the size unsigned and mask it (n &= MAX - 1) right before the helper call',
        snippet: `__u32 n = len;                         /* unsigned */\nn &= MAX_BUF - 1;                      /* bounded on the register passed */\nbpf_probe_read_kernel(buf, n, src);`,
        facts: { register: Number(negSize[1]) },
      };
    }
    const signed = /math between (\w+) pointer and register with unbounded min value|R(\d+) min value is negative|value (-\d+) makes (\w+) pointer be out of bounds/.exec(text);
    if (signed) {
      const kind = pointerKind(signed[1] ?? signed[4] ?? 'map_value');
      return {
        why: `the program adds an offset that may be negative (a signed value with no lower bound) to a ${kind} pointer; the verifier cannot prove the result stays inside the ${kind}. Typical: an int index (or -1 as "none") used as an array index, or a bound checked only from above`,
        fix: 'make the index unsigned and bounded before the arithmetic: __u32 i = idx; if (i >= N) return; (or i &= N - 1 for a power of two), on the same variable right before use',
        brief: 'make the index unsigned and bound it (if (i >= N) or i &= N - 1) before adding it to the pointer',
        snippet: `__u32 i = (__u32)idx;                 /* unsigned: no negative values */\nif (i >= ARRAY_SIZE(table->slot))     /* upper bound on the same variable */\n        return 0;\ntable->slot[i] += 1;`,
      };
    }
    const size = /R(\d+) unbounded memory access, use 'var &= const' or 'if \(var < const\)'/.exec(text);
    if (size) {
      return {
        why: `the size passed to the helper in R${size[1]} has no upper bound the verifier can see, so it cannot check the copy stays inside the destination buffer`,
        fix: 'bound the length right before the call, on the register passed: len &= MAX - 1 (MAX a power of two) or if (len > MAX) len = MAX; keep MAX no larger than the buffer',
        brief: 'mask or clamp the size (len &= MAX - 1) right before the helper call',
        snippet: `__u32 len = total;\nlen &= MAX_MSG_SIZE - 1;                /* provably < MAX_MSG_SIZE */\nbpf_probe_read_user(buf, len, src);`,
      };
    }
    const m = /R(\d+) unbounded memory access|invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)|R(\d+) (min|max) value is outside of the allowed memory range/.exec(text);
    if (!m) return null;
    const sizes = m[2] ? ` (value is ${m[2]} bytes; access at ${m[3]}, ${m[4]} bytes)` : '';
    // the program did check, on a copy of the index: the check is in the log
    const copy = boundOnCopy(log);
    return {
      why: `the program indexes into a map value with an offset the verifier cannot prove stays inside the value${sizes}; an index taken from the packet, ctx or a helper can be anything, and a helper or kfunc given a pointer into the value reads its whole argument size from there` +
        (copy ? `. The bound check is in the log (${copy.check}), but it tested R${copy.tested}, a copy of the index R${copy.index} that is added to the pointer: the compiler compared one register and used another, and this verifier did not carry the bound across the copy (bounds started to follow register copies only in late 2020, "bpf: Propagate scalar ranges through register assignments"; even newer kernels lose them when the copy is altered in between) — the program's check is right, the verifier lost it` : ''),
      fix: (copy ? 'on this kernel, bound the very variable used, right before the access (i &= N - 1, or if (i >= N) return; immediately before), with barrier_var(i) so the compiler keeps one register; or run a newer kernel. ' : '') +
        'compare the index with the array length (or mask it) right before the access, in the same function, on the same variable; when a helper or kfunc gets a pointer into the value, make sure the value holds the full size it reads from that offset',
      brief: 'bound the index against the value size right before the access',
      snippet: `__u32 i = ctx->rx_queue_index;\nif (i >= ARRAY_SIZE(s->v))        /* proves 0 <= i < 4 */\n        return XDP_PASS;\ns->v[i] += 1;`,
    };
  },
};

export const misaligned: VerifierClass = {
  id: 'misaligned',
  title: 'misaligned access (stack, or packet/map with strict alignment)',
  before: 'char buf[16];\n__u32 v = *(__u32 *)(buf + 2);     /* 4 bytes at an odd stack offset */',
  detect({ text }) {
    // 6.x packet form: "misaligned packet access off 2+(0x0; 0x0)+0+12 size 4" (NET_IP_ALIGN + var_off + off + insn off)
    const m = /misaligned (\w+ )?access off (.+?) size (\d+)/.exec(text);
    if (!m) return null;
    const where = (m[1] ?? '').trim() || 'memory';
    const stack = where === 'stack';
    return {
      why: stack
        ? `the program reads or writes ${m[3]} bytes at a stack offset that is not a multiple of ${m[3]} (${m[2]}): the verifier tracks the stack in 8-byte slots and always refuses misaligned stack access — typically a packed struct on the stack, or a char buffer read through a wider pointer`
        : `the program reads or writes ${m[3]} bytes of ${where} at an offset that is not a multiple of ${m[3]} (${m[2]}), and this load asks for strict alignment (BPF_F_STRICT_ALIGNMENT, or an architecture without efficient unaligned access)`,
      fix: stack
        ? 'keep stack variables naturally aligned: no __attribute__((packed)) locals, no casts of char arrays to wider types; copy with __builtin_memcpy into a properly typed local'
        : 'read the field with __builtin_memcpy into a local (the compiler emits byte loads), or load without BPF_F_STRICT_ALIGNMENT where the architecture allows it',
      brief: stack ? 'keep stack accesses aligned: copy with __builtin_memcpy into a typed local' : 'copy the field with __builtin_memcpy instead of a wide misaligned load',
      snippet: `__u32 v;\n__builtin_memcpy(&v, buf + 2, sizeof(v));   /* byte-wise copy: no misaligned load */`,
      facts: { region: where, size: Number(m[3]) },
    };
  },
};

export const noReturnValue: VerifierClass = {
  id: 'no-return-value',
  title: 'program exits without setting a return value',
  before: '__attribute__((naked)) int prog(struct xdp_md *ctx) { asm volatile("exit"); }',
  detect({ log, progType, text, raw }) {
    if (!/R0 !read_ok/.test(text)) return null;
    // the exit may sit behind a tool's own prefix ("failed to try attaching to fentry: 0: (95) exit")
    if (log.insn?.text !== 'exit' && !/\(95\) exit\s*\n\s*R0 !read_ok/.test(raw)) return null;
    const info = progType ? progTypeInfo(progType) : null;
    const xdp = !progType || progType === 'xdp';
    return {
      why: `the program reaches \`exit\` without writing R0, the return value (${xdp ? 'for XDP the action' : info!.tracing ? `${info!.label} programs must return 0` : `what the ${info!.label} hook acts on`}); usually a path through inline assembly, a naked function or hand-written instructions that never set it`,
      fix: xdp
        ? 'return an action on every path (XDP_PASS, XDP_DROP, XDP_REDIRECT …); in asm or hand-built instructions, set r0 before exit'
        : `return a value on every path (${info!.tracing ? '0 for tracing programs' : `e.g. ${info!.pass}`}); in asm or hand-built instructions, set r0 (r0 = 0) before exit`,
      brief: 'set r0 / return a value on every path',
      snippet: xdp ? `int prog(struct xdp_md *ctx)\n{\n        return XDP_PASS;\n}` : `BPF_MOV64_IMM(BPF_REG_0, 0),   /* r0 = 0 */\nBPF_EXIT_INSN(),`,
    };
  },
};

export const uninit: VerifierClass = {
  id: 'uninit',
  title: 'read of an uninitialised register or stack slot',
  before: '__u64 x;\nasm volatile("r0 = r3; %0 = r0" : "=r"(x));   /* r3 never set */',
  detect({ log, text }) {
    const m = /R(\d+) !read_ok|invalid (?:indirect )?read from stack (?:R\d+ )?off[= ](-?\d+)/.exec(text);
    if (!m) return null;
    const spill = m[2] !== undefined ? pointerSpill(log, Number(m[2])) : null;
    if (spill) {
      // written, but with a pointer: passing it as data leaks a kernel address (refused for unprivileged loaders)
      return {
        why: `the stack slot at ${m[2]} was written at instruction ${spill.insn} with ${spill.what}: the helper reads a kernel pointer as data. The verifier refuses to let a pointer escape into a map or an event (for loaders without CAP_BPF/CAP_PERFMON, and on older kernels for everyone); it is not an uninitialised slot`,
        fix: 'store the data the pointer points to (copy the value out first), not the pointer itself',
        brief: 'pass the data, not a pointer, to the map or event',
        snippet: `__u64 *v = bpf_map_lookup_elem(&a, &key);\nif (!v)\n        return 0;\n__u64 copy = *v;                           /* the value, not the address */\nbpf_map_update_elem(&b, &key, &copy, BPF_ANY);`,
        // pointer leaks are no class of ours yet: reported as recognised, not as the answer
        confidence: 0.35,
        facts: { slot: Number(m[2]), written_at: spill.insn },
      };
    }
    // a direct 8-byte load starting inside a slot: wider than what was written there
    const wide = /invalid read from stack (?:R\d+ )?off[= ]?-?\d+\+([1-7]) size 8/.exec(text);
    return {
      why: m[1] !== undefined
        ? `instruction reads R${m[1]}, which no earlier instruction on this path wrote (in C: a variable used before it is set on some path, or inline asm naming a register it did not load)`
        : `the program reads stack bytes (offset ${m[2]}) that were never written on this path, e.g. a struct passed to a helper with padding or fields left unset` +
          (wide ? `; here an 8-byte load reaches past what was written — the compiler often merges byte compares of a char array into 8-byte loads, so an array whose size is not a multiple of 8 is read beyond its end: size it to a multiple of 8 and zero it` : ''),
      fix: 'initialise the variable on every path (= 0, or `struct x v = {};` / __builtin_memset for structs passed to helpers or maps)',
      brief: 'initialise the variable (or zero the struct) on every path',
      snippet: `struct flow_key key = {};          /* zeroes padding too */\nkey.port = port;\n__u64 *v = bpf_map_lookup_elem(&flows, &key);`,
    };
  },
};

export const divZero: VerifierClass = {
  id: 'div-zero',
  title: 'division by a constant zero',
  before: 'asm volatile("%0 /= 0" : "+r"(x));',
  detect({ text }) {
    if (!/^div by zero/m.test(text)) return null;
    return {
      why: 'the instruction divides (or takes a modulo) by the constant 0; the verifier refuses it outright (a division by a zero *register* is allowed and yields 0)',
      fix: 'divide by a non-zero constant, or by a variable and handle 0 yourself',
      brief: 'do not divide by a constant 0',
      snippet: `__u64 q = d ? x / d : 0;`,
    };
  },
};

export const ptrArith: VerifierClass = {
  id: 'ptr-arith',
  title: 'forbidden pointer arithmetic or pointer leak',
  before: 'void *last = data_end - 1;      /* data_end cannot move */',
  detect({ text }) {
    const m = /R(\d+) pointer arithmetic on (\w+) prohibited|R(\d+) (?:bitwise operator \S+|32-bit pointer arithmetic) (?:on pointer )?prohibited|pointer arithmetic (?:of map value goes out of range|with it prohibited)|R(\d+) pointer -= pointer prohibited/.exec(text);
    if (!m) return null;
    const what = m[2] ?? 'this pointer';
    return {
      why: `the program does arithmetic on ${what}. Only some pointers may move: packet pointers (data) by bounded amounts, map values within the value, the stack; ${what === 'pkt_end' ? 'data_end is only for comparisons' : `${what} may only be used as it is`}`,
      fix: what === 'pkt_end' ? 'move the data-side pointer instead and compare it with data_end: (void *)(p + 1) > data_end' : 'keep the pointer as the verifier gave it; do arithmetic on an offset variable and add it to a pointer type that allows it',
      brief: what === 'pkt_end' ? 'compare data + len > data_end instead of computing data_end - len' : `no arithmetic on ${what}`,
      snippet: `if (data + 1 > data_end)          /* instead of data > data_end - 1 */\n        return XDP_DROP;`,
    };
  },
};

export const scalarDeref: VerifierClass = {
  id: 'scalar-deref',
  title: 'number dereferenced as a pointer',
  before: 'volatile __u32 *p = (void *)(long)ctx->rx_queue_index;\nreturn *p;',
  detect({ log, progType, text }) {
    const m = /R(\d+) invalid mem access '(scalar|inv|imm)'/.exec(text);
    if (!m) return null;
    const btfArgs = progType === 'fentry' || progType === 'lsm' || progType === 'struct_ops';
    const tracingProg = progType === 'kprobe' || progType === 'tracepoint' || progType === 'raw_tracepoint' || progType === 'perf_event';
    const seen = log.insn ? definition(log, Number(m[1]), log.insn.line) !== null : false;
    return {
      // the log does not show where the register came from: a number, or a pointer an old kernel lost
      confidence: seen ? 0.9 : 0.45,
      why: `R${m[1]} holds a plain number (scalar${m[2] !== 'scalar' ? `; older kernels print '${m[2]}'` : ''}), not a pointer the verifier knows (packet, map value, stack, ctx); BPF programs cannot turn integers into pointers, and pointers that were spilled or combined in ways the verifier cannot track also become scalars` +
        (!seen && m[2] === 'inv' ? `. The log does not show where R${m[1]} came from; on this kernel ('inv': before 5.18) a ring-buffer record or other memory pointer spilled to the stack and reloaded also ends up this way on kernels before 5.11 (5.10.10 has the fix): if R${m[1]} was such a pointer, the program is right and the kernel too old — keep the pointer in a register or upgrade` : ''),
      fix: btfArgs
        ? 'in fentry/fexit, LSM, tp_btf and struct_ops programs only the BTF-typed arguments (BPF_PROG) and pointers read from them are trusted; a pointer computed from an integer or read from a map is not: read kernel memory through it with bpf_probe_read_kernel() or BPF_CORE_READ()'
        : tracingProg
          ? 'kernel pointers in kprobe/tracepoint programs are plain numbers to the verifier: read through them with bpf_probe_read_kernel() (bpf_probe_read_user() for user memory) or BPF_CORE_READ(), never *ptr'
          : 'dereference only pointers obtained from ctx->data, map lookups, the stack or helpers; for kernel memory use bpf_probe_read_kernel (tracing programs)',
      brief: btfArgs || tracingProg ? 'read kernel memory with bpf_probe_read_kernel() / BPF_CORE_READ(), not *ptr' : 'dereference only pointers from ctx->data, map lookups or the stack',
      snippet: `__u32 key = 0;\n__u32 *v = bpf_map_lookup_elem(&table, &key);   /* a real pointer */\nif (v)\n        return *v;`,
    };
  },
};
