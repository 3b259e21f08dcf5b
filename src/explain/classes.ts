/**
 * The table of verifier-rejection classes. Each class: how to recognise it in a parsed log
 * (detector), why the verifier refuses in plain words, what to change, and a short corrected
 * snippet. Classes are tried in order; the first whose detector matches wins.
 */
import { decodeCtxAccess, type ProgType } from './ctx.js';
import { calledBefore, memAccess, registerState, registerType, type ParsedLog } from './log.js';

export interface DetectInput {
  log: ParsedLog;
  progType: ProgType;
  /** message + detail lines, joined with newlines */
  text: string;
}

/** What a detector found; the fields feed the explanation's wording. */
export interface Match {
  why: string;
  fix: string;
  /** one short clause for one-line CLI errors */
  brief: string;
  snippet: string;
  /** extra structured facts (e.g. the decoded ctx field) for --json */
  facts?: Record<string, unknown>;
}

export interface VerifierClass {
  id: string;
  title: string;
  /** a minimal wrong program fragment, for docs */
  before: string;
  detect(d: DetectInput): Match | null;
}

const msgReg = (text: string, re: RegExp): number | null => {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
};

const CHECK_DATA_END = `void *data = (void *)(long)ctx->data;
void *data_end = (void *)(long)ctx->data_end;
struct ethhdr *eth = data;
if ((void *)(eth + 1) > data_end)   /* prove the bytes are there */
        return XDP_PASS;
__u16 proto = eth->h_proto;         /* now allowed */`;

const ADJUST_META = `if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)))
        return XDP_PASS;                      /* driver keeps no metadata room */
void *data = (void *)(long)ctx->data;       /* re-read after the helper */
__u64 *meta = (void *)(long)ctx->data_meta;
if ((void *)(meta + 1) > data)              /* the bounds check the verifier wants */
        return XDP_PASS;
*meta = bpf_ktime_get_ns();                  /* user space finds it at addr - 8 */`;

const VAR_OFF_SNIPPET = `__u32 ihl = ip->ihl & 0xf;                 /* 0..15: bounded */
__u8 *l4 = (__u8 *)ip + ihl * 4;
if ((void *)(l4 + 1) > data_end)           /* now counts */
        return XDP_PASS;`;

export const CLASSES: VerifierClass[] = [
  {
    id: 'ctx-write',
    title: 'write to a read-only context field',
    before: 'ctx->data_meta = ctx->data - 8;',
    detect({ log, progType, text }) {
      const m = /invalid bpf_context access off=(\d+) size=(\d+)/.exec(text);
      const acc = log.insn ? memAccess(log.insn.text) : null;
      if (!m || !acc?.write) return null;
      const d = decodeCtxAccess(progType, Number(m[1]), Number(m[2]), true);
      const meta = d.field?.name === 'data_meta';
      return {
        why: d.field
          ? `the program writes ${m[2]} bytes to ${d.name} (offset ${m[1]} of ${d.layout.struct}), which ${progType} programs may read but not write` +
            (meta
              ? '. The context is the kernel\'s description of the packet, not memory you own: ctx->data_meta only says where the metadata area starts (at data while none is reserved); room is reserved with bpf_xdp_adjust_meta(), and the metadata is written through the pointer read from ctx->data_meta'
              : '')
          : `the program writes to ${d.name}: ${d.reason}`,
        fix: meta
          ? 'reserve room with bpf_xdp_adjust_meta(ctx, -len) (len a multiple of 4), re-read ctx->data and ctx->data_meta, check meta + 1 <= data, then write through the meta pointer'
          : `do not write ${d.name}: keep the value in a local variable, or use the helper that changes it`,
        brief: meta ? 'reserve metadata room with bpf_xdp_adjust_meta() and write through the data_meta pointer after checking meta + 1 <= data' : `${d.name} is read-only; keep your value in a local variable`,
        snippet: meta ? ADJUST_META : `__u32 queue = ctx->rx_queue_index;   /* read fields; never assign to ctx->... */`,
        facts: { ctx_field: d.field?.name ?? null, ctx_struct: d.layout.struct, ctx_access: d.name, off: Number(m[1]), size: Number(m[2]) },
      };
    },
  },
  {
    id: 'ctx-bad-read',
    title: 'read of a context offset that is no field (or a wrong size)',
    before: '__u32 *p = (__u32 *)ctx;\nreturn p[8];            /* offset 32: past struct xdp_md */',
    detect({ progType, text }) {
      const m = /invalid bpf_context access off=(\d+) size=(\d+)/.exec(text);
      if (!m) return null;
      const d = decodeCtxAccess(progType, Number(m[1]), Number(m[2]), false);
      return {
        why: `the program reads ${d.name}. ${d.reason}.`,
        fix: `read the field by name through ${d.layout.struct} from the kernel's own uapi headers (linux/bpf.h or vmlinux.h of the target kernel), with its own size; pointers (data, data_end, data_meta) as (void *)(long)ctx->field`,
        brief: `read ${d.layout.struct} fields by name with their own size`,
        snippet: `void *data = (void *)(long)ctx->data;           /* one 32-bit load */\n__u32 queue = ctx->rx_queue_index;`,
        facts: { ctx_field: d.field?.name ?? null, ctx_struct: d.layout.struct, ctx_access: d.name, off: Number(m[1]), size: Number(m[2]) },
      };
    },
  },
  {
    id: 'ctx-modified',
    title: 'context read through a computed pointer',
    before: 'const volatile __u32 *q = &ctx->rx_queue_index;   /* ctx + 16, kept as a pointer */\nreturn *q;',
    detect({ text }) {
      const m = /dereference of modified ctx ptr R(\d+) off=(-?\d+) disallowed/.exec(text);
      if (!m) return null;
      return {
        why: `R${m[1]} is ctx plus ${m[2]}: the program took the address of a context field (or did arithmetic on ctx) and loads through it. The verifier rewrites only loads of the form *(ctx + constant) into the kernel's real field access, so it refuses a load through a moved ctx pointer`,
        fix: 'read context fields directly as ctx->field, in the function that received ctx; pass the values (not &ctx->field) to helpers and subprograms',
        brief: 'read ctx->field directly; do not keep &ctx->field or ctx + n as a pointer',
        snippet: `__u32 queue = ctx->rx_queue_index;      /* one load at ctx + 16 */\nreturn queue ? XDP_PASS : XDP_DROP;`,
        facts: { register: Number(m[1]), off: Number(m[2]) },
      };
    },
  },
  {
    id: 'meta-bounds',
    title: 'metadata access without a `meta + 1 <= data` check',
    before: 'bpf_xdp_adjust_meta(ctx, -8);\n__u64 *meta = (void *)(long)ctx->data_meta;\n*meta = bpf_ktime_get_ns();',
    detect({ log, text }) {
      if (!/invalid access to packet|outside of the packet/.test(text)) return null;
      const r = msgReg(text, /R(\d+)\(id=|R(\d+) offset is outside/) ?? (log.insn ? memAccess(log.insn.text)?.base ?? null : null);
      if (r === null || registerType(log, r, log.insn?.line ?? log.messageLine) !== 'pkt_meta') return null;
      return {
        why: `R${r} points into the metadata area (ctx->data_meta), and the verifier has no proof that the bytes touched lie before ctx->data: bpf_xdp_adjust_meta succeeding is not that proof; only a comparison against data is`,
        fix: 'after bpf_xdp_adjust_meta, re-read data and data_meta from ctx and compare (void *)(meta + 1) > data before any read or write of the metadata',
        brief: 'compare (void *)(meta + 1) > data (data re-read from ctx) before touching the metadata',
        snippet: ADJUST_META,
      };
    },
  },
  {
    id: 'pkt-var-offset',
    title: 'packet pointer moved by a value the verifier cannot bound',
    before: '__u8 *l4 = (__u8 *)ip + ip->tot_len;   /* up to 65535 */\nif ((void *)(l4 + 1) > data_end) return XDP_PASS;\nreturn *l4;',
    detect({ log, text }) {
      if (/math between pkt pointer and register with unbounded min value/.test(text)) {
        return {
          why: 'the program adds a value that may be negative (signed, unbounded below) to a packet pointer; the verifier cannot prove the result stays inside the packet',
          fix: 'make the offset unsigned and bounded before adding it: e.g. `__u32 off = x & 0x3ff;` or `if (off > 1500) return XDP_PASS;`',
          brief: 'bound the offset (unsigned, masked or compared) before adding it to the packet pointer',
          snippet: VAR_OFF_SNIPPET,
        };
      }
      if (!/invalid access to packet|outside of the packet/.test(text)) return null;
      const r = msgReg(text, /R(\d+)\(id=|R(\d+) offset is outside/);
      if (r === null) return null;
      const st = registerState(log, r, log.insn?.line ?? log.messageLine) ?? '';
      if (!/umax=|var_off|smax=/.test(st) && !/R\d+\(id=[1-9]/.test(text)) return null;
      return {
        why: `R${r} is a packet pointer plus a variable offset (${st || 'unbounded'}). A later data_end check only proves bytes in range when the offset's maximum plus the access stays within 0xffff; this offset can be as large as the field it came from, so the check did not count and the access is refused`,
        fix: 'bound the variable before adding it (mask it, or compare it with a small maximum), e.g. the IPv4 header length is (ip->ihl & 0xf) * 4, not ip->tot_len; then check the resulting pointer against data_end',
        brief: 'bound the variable offset (mask or compare) before adding it, then check against data_end',
        snippet: VAR_OFF_SNIPPET,
      };
    },
  },
  {
    id: 'pkt-bounds',
    title: 'packet access without a `data_end` check',
    before: 'struct ethhdr *eth = (void *)(long)ctx->data;\nreturn eth->h_proto;     /* no check against data_end */',
    detect({ log, text }) {
      const m = /invalid access to packet, off=(-?\d+) size=(\d+), R(\d+)/.exec(text);
      if (!m && !/outside of the packet/.test(text)) return null;
      const r = m ? Number(m[3]) : msgReg(text, /R(\d+) offset is outside/);
      const off = m ? Number(m[1]) : null;
      const size = m ? Number(m[2]) : null;
      const st = r !== null ? registerState(log, r, log.insn?.line ?? log.messageLine) : null;
      const range = st ? /r=(\d+)/.exec(st)?.[1] : undefined;
      return {
        why: `the program reads or writes packet ${off !== null && size !== null ? (size === 1 ? `byte ${off}` : `bytes ${off}..${off + size - 1}`) + ` past R${r}` : 'bytes'} without first proving the packet is that long: the verifier only allows packet access after a comparison with ctx->data_end covers it (proven range r=${range ?? '0'} bytes). A short packet would make this read past the end of the buffer`,
        fix: `before the access, compare the end of what you touch with data_end and bail out when it is beyond: if ((void *)(hdr + 1) > data_end) return XDP_PASS;${off !== null && size !== null ? ` (here: at least ${off + size} bytes from the pointer)` : ''}`,
        brief: `check pointer + ${off !== null && size !== null ? off + size : 'len'} <= data_end before the access`,
        snippet: CHECK_DATA_END,
        facts: { register: r, off, size },
      };
    },
  },
  {
    id: 'pkt-invalidated',
    title: 'packet pointer used after a helper that moved the packet',
    before: 'struct ethhdr *eth = data;   /* checked against data_end */\nbpf_xdp_adjust_meta(ctx, -8);\nreturn eth->h_proto;       /* eth is stale */',
    detect({ log, text }) {
      const r = msgReg(text, /R(\d+) invalid mem access '(?:scalar|inv)'/);
      if (r === null || !log.insn) return null;
      const call = calledBefore(log, log.insn.line, /^bpf_(xdp_adjust_(meta|head|tail)|skb_(change_|pull_data|adjust_room|vlan_)|l[34]_csum_replace|skb_store_bytes)/);
      if (!call) return null;
      const was = registerType(log, r, call.line);
      if (!was || !/^pkt/.test(was)) return null;
      return {
        why: `R${r} held a packet pointer (${was}) before instruction ${call.insn} called ${call.name}. That helper can move the packet start, end or metadata, so the verifier invalidates every packet pointer (and every bounds check) made before it: R${r} is now just a number`,
        fix: `after ${call.name} returns, re-read ctx->data / ctx->data_end (and data_meta) and repeat the bounds check before using the packet again`,
        brief: `re-read ctx->data/data_end and re-check bounds after ${call.name}`,
        snippet: `if (${call.name}(ctx, delta))\n        return XDP_PASS;\nvoid *data = (void *)(long)ctx->data;          /* fresh pointers */\nvoid *data_end = (void *)(long)ctx->data_end;\nstruct ethhdr *eth = data;\nif ((void *)(eth + 1) > data_end)              /* fresh check */\n        return XDP_PASS;`,
        facts: { helper: call.name, helper_insn: call.insn, register: r },
      };
    },
  },
  {
    id: 'map-null',
    title: 'map value used without a NULL check',
    before: '__u64 *v = bpf_map_lookup_elem(&counts, &key);\n*v += 1;',
    detect({ text }) {
      const m = /R(\d+) invalid mem access '(\w*or_null\w*)'/.exec(text);
      if (!m) return null;
      return {
        why: `R${m[1]} is the result of a lookup (${m[2]}): it is NULL when the key is absent, and the program dereferences it without checking`,
        fix: 'test the pointer right after the lookup and handle the NULL case; only the checked branch may dereference it',
        brief: 'check the lookup result for NULL before using it',
        snippet: `__u64 *v = bpf_map_lookup_elem(&counts, &key);\nif (!v)\n        return XDP_PASS;\n__sync_fetch_and_add(v, 1);`,
      };
    },
  },
  {
    id: 'map-value-bounds',
    title: 'map value access outside the value (unbounded index)',
    before: 'struct slots *s = bpf_map_lookup_elem(&table, &key);\nif (!s) return XDP_PASS;\ns->v[ctx->rx_queue_index] += 1;   /* index not checked */',
    detect({ text }) {
      const m = /R(\d+) unbounded memory access|invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)|R(\d+) (min|max) value is outside of the allowed memory range/.exec(text);
      if (!m) return null;
      const sizes = m[2] ? ` (value is ${m[2]} bytes; access at ${m[3]}, ${m[4]} bytes)` : '';
      return {
        why: `the program indexes into a map value with an offset the verifier cannot prove stays inside the value${sizes}; an index taken from the packet or ctx can be anything`,
        fix: 'compare the index with the array length (or mask it) right before the access, in the same function, on the same variable',
        brief: 'bound the index against the value size right before the access',
        snippet: `__u32 i = ctx->rx_queue_index;\nif (i >= ARRAY_SIZE(s->v))        /* proves 0 <= i < 4 */\n        return XDP_PASS;\ns->v[i] += 1;`,
      };
    },
  },
  {
    id: 'loop',
    title: 'loop the verifier cannot prove ends',
    before: 'while (spin)      /* spin never changes */\n        ;',
    detect({ text }) {
      const m = /infinite loop detected at insn (\d+)|back-edge from insn (\d+) to (\d+)|loop is not bounded/.exec(text);
      if (!m) return null;
      return {
        why: m[0].startsWith('back-edge')
          ? `the program jumps backwards (insn ${m[2]} → ${m[3]}); this kernel's verifier rejects backward jumps here (older kernels allow no loops at all)`
          : `the verifier reached instruction ${m[1] ?? '?'} again in exactly the same state as before, so nothing in the loop moves it toward its exit: it would spin forever in the kernel`,
        fix: 'give every loop a constant upper bound the loop variable visibly reaches (for (i = 0; i < 64 && i < n; i++)), or use bpf_loop(n, cb, ctx, 0) for long loops',
        brief: 'bound the loop with a constant (i < 64 && i < n) or use bpf_loop()',
        snippet: `for (__u32 i = 0; i < 64; i++) {       /* constant bound */\n        if (i >= n)\n                break;\n        /* ... */\n}`,
      };
    },
  },
  {
    id: 'too-complex',
    title: 'program too complex for the verifier (1M-instruction budget)',
    before: 'for (__u32 i = 0; i < ctx->rx_queue_index; i++)   /* bound from ctx: up to 4G */\n        sum += bpf_ktime_get_ns() & i;',
    detect({ text }) {
      const m = /BPF program is too large\. Processed (\d+) insn|The sequence of (\d+) jumps is too complex|too many states|complexity limit/.exec(text);
      if (!m) return null;
      return {
        why: `the verifier walks every path of the program and gave up${m[1] ? ` after ${m[1]} instructions (its limit is 1,000,000)` : ''}: usually a loop whose bound comes from data (so every iteration is a new path) or many independent branches multiplying the paths`,
        fix: 'make loop bounds small constants, move long loops into bpf_loop(), split work across tail calls or bpf-to-bpf functions, and avoid branches whose outcome does not matter to later code',
        brief: 'use small constant loop bounds or bpf_loop(); split the program',
        snippet: `static long step(__u32 i, void *c) { /* one iteration */ return 0; }\n...\nbpf_loop(n, step, &state, 0);          /* verified once, runs n times */`,
      };
    },
  },
  {
    id: 'stack',
    title: 'stack too large or access outside the stack',
    before: 'static __noinline int inner(void) { __u8 buf[320]; ... }\nstatic __noinline int outer(void) { __u8 buf[320]; inner(); ... }',
    detect({ text }) {
      const m = /combined stack size of (\d+) calls is (\d+)|stack depth (\d+) exceeds|the call stack of (\d+) frames is too deep|invalid (?:write|read) (?:to|from) stack R\d+ off=(-?\d+)|invalid stack off=(-?\d+)|stack (?:frames? )?too deep/.exec(text);
      if (!m) return null;
      const off = m[5] ?? m[6];
      if (off !== undefined && Number(off) >= -512 && Number(off) < 0) return null; // in range: uninitialised, not overflow
      return {
        why: m[1]
          ? `the chain of ${m[1]} nested calls uses ${m[2]} bytes of stack together; BPF has 512 bytes for the whole chain (clang checks each function alone, the verifier checks the sum)`
          : `the program uses or touches stack beyond the 512-byte BPF stack${off !== undefined ? ` (offset ${off})` : ''}`,
        fix: 'move large buffers into a per-CPU array map (one entry, looked up once), shrink them, or inline the callee so the frames are not stacked',
        brief: 'move large locals into a BPF_MAP_TYPE_PERCPU_ARRAY scratch map',
        snippet: `struct {\n        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n        __uint(max_entries, 1);\n        __type(key, __u32);\n        __type(value, struct scratch);   /* the big buffer */\n} scratch SEC(".maps");\n...\n__u32 zero = 0;\nstruct scratch *s = bpf_map_lookup_elem(&scratch, &zero);\nif (!s)\n        return XDP_PASS;`,
      };
    },
  },
  {
    id: 'no-return-value',
    title: 'program exits without setting a return value',
    before: '__attribute__((naked)) int prog(struct xdp_md *ctx) { asm volatile("exit"); }',
    detect({ log, text }) {
      if (!/R0 !read_ok/.test(text) || log.insn?.text !== 'exit') return null;
      return {
        why: 'the program reaches `exit` without writing R0, the return value (the XDP action); usually a path through inline assembly or a naked function that never sets it',
        fix: 'return an action on every path (XDP_PASS, XDP_DROP, XDP_REDIRECT …); in asm, set r0 before exit',
        brief: 'set r0 / return an action on every path',
        snippet: `int prog(struct xdp_md *ctx)\n{\n        return XDP_PASS;\n}`,
      };
    },
  },
  {
    id: 'uninit',
    title: 'read of an uninitialised register or stack slot',
    before: '__u64 x;\nasm volatile("r0 = r3; %0 = r0" : "=r"(x));   /* r3 never set */',
    detect({ text }) {
      const m = /R(\d+) !read_ok|invalid (?:indirect )?read from stack (?:R\d+ )?off[= ](-?\d+)/.exec(text);
      if (!m) return null;
      return {
        why: m[1] !== undefined
          ? `instruction reads R${m[1]}, which no earlier instruction on this path wrote (in C: a variable used before it is set on some path, or inline asm naming a register it did not load)`
          : `the program reads stack bytes (offset ${m[2]}) that were never written on this path, e.g. a struct passed to a helper with padding or fields left unset`,
        fix: 'initialise the variable on every path (= 0, or `struct x v = {};` / __builtin_memset for structs passed to helpers or maps)',
        brief: 'initialise the variable (or zero the struct) on every path',
        snippet: `struct flow_key key = {};          /* zeroes padding too */\nkey.port = port;\n__u64 *v = bpf_map_lookup_elem(&flows, &key);`,
      };
    },
  },
  {
    id: 'gpl-only',
    title: 'GPL-only helper called from a non-GPL program',
    before: 'bpf_printk("queue %u", q);\nchar LICENSE[] SEC("license") = "MIT";',
    detect({ log, text }) {
      if (!/cannot call GPL-restricted function from non-GPL compatible program/.test(text)) return null;
      const helper = log.insn ? /call ([a-z_0-9]+)#/.exec(log.insn.text)?.[1] : undefined;
      return {
        why: `${helper ?? 'the helper called here'} is exported to GPL-compatible programs only, and the object's SEC("license") string is not one the kernel counts as GPL-compatible`,
        fix: 'declare a GPL-compatible license (e.g. "GPL", "Dual MIT/GPL", "Dual BSD/GPL") if you can, or stop calling the helper (bpf_printk → a ring buffer or counters)',
        brief: 'use a GPL-compatible SEC("license") (e.g. "Dual MIT/GPL") or drop the helper',
        snippet: `char LICENSE[] SEC("license") = "Dual MIT/GPL";`,
        facts: { helper: helper ?? null },
      };
    },
  },
  {
    id: 'helper-not-allowed',
    title: 'helper or kfunc not available to this program type',
    before: 'bpf_skb_load_bytes(ctx, 0, buf, 4);   /* a tc helper, in XDP */\nbpf_session_is_return();              /* a kprobe-session kfunc, in XDP */',
    detect({ progType, text }) {
      const m = /program of this type cannot use helper ([a-z_0-9]+)#(\d+)|unknown func ([a-z_0-9]+)#(\d+)|calling kernel function (\w+) is not allowed/.exec(text);
      if (!m) return null;
      const name = m[1] ?? m[3] ?? m[5]!;
      const kfunc = m[5] !== undefined;
      const xdpAlt: Record<string, string> = {
        bpf_skb_load_bytes: 'bpf_xdp_load_bytes (or direct packet access)',
        bpf_skb_store_bytes: 'bpf_xdp_store_bytes (or direct packet access)',
        bpf_skb_change_head: 'bpf_xdp_adjust_head',
        bpf_skb_change_tail: 'bpf_xdp_adjust_tail',
        bpf_trace_printk: 'bpf_printk from a GPL program',
      };
      const alt = progType === 'xdp' ? xdpAlt[name] : undefined;
      return {
        why: kfunc
          ? `the kernel function (kfunc) ${name} is registered for other program types, not ${progType}; each kfunc set is opened to specific program types`
          : `${name} is not in the helper set of ${progType} programs${m[3] ? ' (or this kernel does not have it at all)' : ''}; each program type gets only the helpers that make sense for its context`,
        fix: alt
          ? `use ${alt}`
          : kfunc
            ? `call only kfuncs registered for ${progType} programs${progType === 'xdp' ? ' (e.g. bpf_xdp_metadata_rx_timestamp/hash/vlan_tag, bpf_dynptr_from_xdp, the generic ones like bpf_obj_new)' : ''}, or move this logic to a program type that has ${name}`
            : `use a helper of the ${progType} program type (bpftool feature probe lists them), or move this logic to a program type that has ${name}`,
        brief: alt ? `use ${alt} instead` : `${name} is not available to ${progType} programs`,
        snippet: progType === 'xdp' ? `__u8 buf[4];\nif (bpf_xdp_load_bytes(ctx, 0, buf, sizeof(buf)))\n        return XDP_PASS;` : `/* bpftool feature probe | grep ${progType} */`,
        facts: { helper: name },
      };
    },
  },
  {
    id: 'kfunc-dev-bound',
    title: 'RX-metadata kfunc in a program not loaded device-bound',
    before: 'bpf_xdp_metadata_rx_timestamp(ctx, &ts);   /* program loaded without an ifindex */',
    detect({ text }) {
      if (!/metadata kfuncs require device-bound program|bpf_xdp_metadata_\w+.*(not allowed|device)/.test(text)) return null;
      return {
        why: 'bpf_xdp_metadata_rx_timestamp / rx_hash / rx_vlan_tag are implemented by each driver, so the kernel must know the device at load time: the program has to be loaded device-bound (prog_ifindex + BPF_F_XDP_DEV_BOUND_ONLY), and then attached in native mode to that device',
        fix: 'load it bound to the interface: with libbpf, bpf_program__set_ifindex(prog, ifindex) and bpf_program__set_flags(prog, BPF_F_XDP_DEV_BOUND_ONLY) before bpf_object__load (the afxdp addon: bpfSetProgIfindex(obj, prog, ifindex, 1 << 6)); afxdp doctor --iface IF lists the kfuncs the driver implements',
        brief: 'load the program device-bound (ifindex + BPF_F_XDP_DEV_BOUND_ONLY) and attach it in native mode',
        snippet: `/* user space, before bpf_object__load(): */\nbpf_program__set_ifindex(prog, if_nametoindex("eth0"));\nbpf_program__set_flags(prog, BPF_F_XDP_DEV_BOUND_ONLY);`,
      };
    },
  },
  {
    id: 'helper-arg',
    title: 'wrong argument type for a helper',
    before: 'long key = ctx->rx_queue_index;\nbpf_map_lookup_elem(&seen, (void *)key);   /* value, not address */',
    detect({ log, text }) {
      const m = /R(\d+) type=(\w+) expected=([^\n]*)|arg#?(\d+) (?:expected|type|reference type|is not)[^\n]*|R(\d+) is not a (?:pointer|scalar)[^\n]*|Possibly NULL pointer passed to (?:helper|trusted) arg(\d+)/.exec(text);
      if (!m) return null;
      const helper = log.insn ? /call ([a-z_0-9]+)#/.exec(log.insn.text)?.[1] : undefined;
      const arg = m[1] ? `argument ${m[1]} (R${m[1]})` : 'an argument';
      return {
        why: m[1]
          ? `${helper ?? 'the helper'} takes a pointer in ${arg}, but the program passes a ${m[2]} (a plain number). Expected one of: ${m[3]!.split(',').slice(0, 4).join(',').trim()} …`
          : `${helper ?? 'the function'} got ${arg} of the wrong kind: ${m[0]}`,
        fix: 'pass what the helper expects: for map keys and values, the address of a variable on the stack (&key), not the value itself; for NULL-able pointers, check them first',
        brief: 'pass the address of a stack variable (&key), not its value',
        snippet: `__u32 key = ctx->rx_queue_index;\nif (bpf_map_lookup_elem(&seen, &key))\n        return XDP_DROP;`,
        facts: { helper: helper ?? null },
      };
    },
  },
  {
    id: 'reference-leak',
    title: 'acquired reference not released',
    before: 'struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);\nif (sk) return XDP_DROP;   /* no bpf_sk_release */',
    detect({ text }) {
      const m = /Unreleased reference id=(\d+) alloc_insn=(\d+)|would lead to reference leak/.exec(text);
      if (!m) return null;
      return {
        why: `the object acquired at instruction ${m[2] ?? '?'} (a socket from bpf_sk_lookup_*, a ring-buffer reservation, a kptr …) holds a kernel reference, and a path reaches exit without releasing it`,
        fix: 'release it on every path after a successful acquire: bpf_sk_release(sk), bpf_ringbuf_submit/discard(p, 0), or the matching release kfunc',
        brief: 'release the acquired object on every path (bpf_sk_release / bpf_ringbuf_submit)',
        snippet: `struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);\nif (!sk)\n        return XDP_PASS;\nint drop = sk->state == BPF_TCP_LISTEN;\nbpf_sk_release(sk);                     /* on every path */\nreturn drop ? XDP_DROP : XDP_PASS;`,
      };
    },
  },
  {
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
  },
  {
    id: 'ptr-arith',
    title: 'forbidden pointer arithmetic',
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
  },
  {
    id: 'return-range',
    title: 'return value outside what the program type allows',
    before: 'SEC("cgroup_skb/ingress")\nint f(struct __sk_buff *skb) { return 2; }   /* must be 0 or 1 */',
    detect({ text }) {
      const m = /At program exit the register R0 (?:has|is) ([^\n]*?) should have been in \[?([^\]\n]*)\]?/.exec(text);
      if (!m) return null;
      return {
        why: `the program can return ${m[1]!.trim()}, but this program type only accepts values in [${m[2]}]; the kernel acts on the return value, so anything else is refused`,
        fix: `return only the values the type allows (${m[2]}); clamp or map your result before returning`,
        brief: `return only values in [${m[2]}]`,
        snippet: `return verdict ? 1 : 0;`,
      };
    },
  },
  {
    id: 'scalar-deref',
    title: 'number dereferenced as a pointer',
    before: 'volatile __u32 *p = (void *)(long)ctx->rx_queue_index;\nreturn *p;',
    detect({ text }) {
      const m = /R(\d+) invalid mem access '(scalar|inv)'/.exec(text);
      if (!m) return null;
      return {
        why: `R${m[1]} holds a plain number (scalar), not a pointer the verifier knows (packet, map value, stack, ctx); BPF programs cannot turn integers into pointers, and pointers that were spilled or combined in ways the verifier cannot track also become scalars`,
        fix: 'dereference only pointers obtained from ctx->data, map lookups, the stack or helpers; for kernel memory use bpf_probe_read_kernel (tracing programs)',
        brief: 'dereference only pointers from ctx->data, map lookups or the stack',
        snippet: `__u32 key = 0;\n__u32 *v = bpf_map_lookup_elem(&table, &key);   /* a real pointer */\nif (v)\n        return *v;`,
      };
    },
  },
];

export const UNKNOWN_CLASS = {
  id: 'unknown',
  title: 'not yet explained',
} as const;

export function classById(id: string): VerifierClass | undefined {
  return CLASSES.find((c) => c.id === id);
}
