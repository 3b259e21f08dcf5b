/** Limits and complexity: loops, the instruction budget, stack size, tail calls mixed with calls, the instruction set. Classes of the table in classes.ts. */
import { type Match, type VerifierClass } from './kit.js';

export const loop: VerifierClass = {
  id: 'loop',
  title: 'loop the verifier cannot prove ends',
  before: 'while (spin)      /* spin never changes */\n        ;',
  detect({ text }) {
    const m = /infinite loop detected at insn (\d+)|back-edge from insn (\d+) to (\d+)|loop is not bounded/.exec(text);
    if (!m) return null;
    return {
      why: m[0].startsWith('back-edge')
        ? `the program jumps backwards (insn ${m[2]} → ${m[3]}), i.e. it has a loop; kernels before 5.3 reject every loop (and later kernels reject them for loaders without CAP_BPF/root): usually a loop the compiler did not unroll`
        : `the verifier reached instruction ${m[1] ?? '?'} again in exactly the same state as before, so nothing in the loop moves it toward its exit: it would spin forever in the kernel`,
      fix: m[0].startsWith('back-edge')
        ? 'on kernels before 5.3: unroll every loop (#pragma unroll with a constant trip count, or by hand) so no backward jump is left; on 5.3+ load with CAP_BPF/root and give loops a constant bound'
        : 'give every loop a constant upper bound the loop variable visibly reaches (for (i = 0; i < 64 && i < n; i++)), or use bpf_loop(n, cb, ctx, 0) for long loops',
      brief: m[0].startsWith('back-edge') ? 'unroll the loop (#pragma unroll, constant bound): this kernel accepts no loops' : 'bound the loop with a constant (i < 64 && i < n) or use bpf_loop()',
      snippet: `for (__u32 i = 0; i < 64; i++) {       /* constant bound */\n        if (i >= n)\n                break;\n        /* ... */\n}`,
    };
  },
};

export const tooComplex: VerifierClass = {
  id: 'too-complex',
  title: 'program too complex for the verifier (1M-instruction budget)',
  before: 'for (__u32 i = 0; i < ctx->rx_queue_index; i++)   /* bound from ctx: up to 4G */\n        sum += bpf_ktime_get_ns() & i;',
  detect({ log, text, raw }) {
    const m = /BPF program is too large\. Processed (\d+) insn|The sequence of (\d+) jumps is too complex|too many states|complexity limit/.exec(text);
    // bcc: "Program too large (113 insns), at most 4096 insns" — its words for any E2BIG
    const e2big = /Program\s+too large \((\d+) insns\), at most (\d+) insns/i.exec(`${text}\n${raw}`);
    if (e2big && Number(e2big[1]) > Number(e2big[2])) {
      // the program really is longer than the kernel takes: 4096 instructions before 5.2 (and for loaders without CAP_BPF)
      return {
        why: `the program has ${e2big[1]} instructions and this kernel accepts at most ${e2big[2]} per program: ${Number(e2big[2]) <= 4096 ? 'the limit of kernels before 5.2, and of loaders without CAP_BPF/CAP_SYS_ADMIN on any kernel (privileged loads on 5.2+ may have 1,000,000)' : 'the kernel\'s per-program maximum'}`,
        fix: 'split the program with tail calls (bpf_tail_call) or BPF-to-BPF functions, unroll less (#pragma unroll only where needed; bounded loops on 5.3+), or load it as root/CAP_BPF on Linux 5.2+',
        brief: `${e2big[1]} instructions, at most ${e2big[2]} here: split it (tail calls), unroll less, or Linux 5.2+ with CAP_BPF`,
        snippet: 'bpf_tail_call(ctx, &jump_table, NEXT_STAGE);   /* the rest in another program */',
        facts: { insns: Number(e2big[1]), max: Number(e2big[2]) },
      };
    }
    if (e2big && Number(e2big[1]) <= Number(e2big[2])) {
      return {
        why: `the program has only ${e2big[1]} instructions, so it is not too long: the kernel returned E2BIG because the verifier gave up on its complexity (it walks every path, up to 1,000,000 instructions since 5.2), and this loader (bcc) words every E2BIG as a size limit. Usually a loop whose bound comes from data, or many conditions inside a loop, multiplying the paths`,
        fix: 'reduce the paths the verifier must walk: fewer iterations (a small constant bound), fewer independent conditions inside the loop, or bpf_loop() (5.17+) so the body is verified once; the verifier log (debug=… in bcc, log level 1) shows the real message',
        brief: 'E2BIG here is the complexity limit, not the size: fewer loop iterations or conditions, or bpf_loop()',
        snippet: `static long step(__u32 i, void *c) { /* one iteration */ return 0; }\n...\nbpf_loop(n, step, &state, 0);          /* verified once, runs n times */`,
        facts: { insns: Number(e2big[1]) },
      };
    }
    if (!m) {
      const cut = /rejected: Argument list too long \(7\)|load program: argument list too long/i.exec(raw);
      if (!cut || log.message) return null;
      return {
        why: 'the kernel refused the program with E2BIG ("Argument list too long"), and the verifier\'s last words are not in the log (the loader cut it): with the instruction count under the limit (iproute2 prints "0 over limit"), E2BIG from the verifier means the program is too complex — it walks every path and ran out of its budget (131,072 processed instructions before 5.2, 1,000,000 since)',
        fix: 'reduce the paths the verifier must walk: small constant loop bounds, fewer independent branches, bpf_loop() (5.17+), or split the work across tail calls; get the full log (tc ... verb, or a larger log buffer) to see where it gave up',
        brief: 'E2BIG: too complex for the verifier — fewer paths, bpf_loop(), or tail calls',
        snippet: `static long step(__u32 i, void *c) { /* one iteration */ return 0; }\n...\nbpf_loop(n, step, &state, 0);          /* verified once, runs n times */`,
        confidence: 0.7,
      };
    }
    // 131072 processed instructions was the budget before 5.2 (and stays so for unprivileged loaders)
    const limit = m[1] && Number(m[1]) <= 131073 ? 'the budget of kernels before 5.2 (and of loaders without CAP_BPF) is 131,072; 1,000,000 since 5.2' : 'its budget is 1,000,000';
    return {
      why: `the program is too complex for the verifier: it walks every path and gave up${m[1] ? ` after ${m[1]} instructions (${limit})` : ''}: usually a loop whose bound comes from data (so every iteration is a new path) or many independent branches multiplying the paths`,
      fix: 'make loop bounds small constants, move long loops into bpf_loop(), split work across tail calls or bpf-to-bpf functions, and avoid branches whose outcome does not matter to later code',
      brief: 'use small constant loop bounds or bpf_loop(); split the program',
      snippet: `static long step(__u32 i, void *c) { /* one iteration */ return 0; }\n...\nbpf_loop(n, step, &state, 0);          /* verified once, runs n times */`,
    };
  },
};

/**
 * A stack read at or above the frame pointer (offset >= 0) or below the 512-byte frame: not an
 * unwritten slot but an access outside the stack, most often a field read past a struct the code
 * staged on the stack (BPF_CORE_READ(p, a).b copies a, then reads b beyond the copy).
 */
function readPastFrame(text: string): Match | null {
  // "invalid read from stack R6 off=0 size=4" (5.12+) is printed only by the bounds check; the
  // older "off -16+0" forms are uninitialised slots unless the offset itself is out of the frame
  const bounds = /invalid (?:read from|indirect access to) stack R\d+ off=(-?\d+) size=\d+/.exec(text);
  const m = bounds ?? /invalid (?:indirect )?read from stack (?:R\d+ )?off[= ](-?\d+)(?:\+(-?\d+))?/.exec(text);
  if (!m) return null;
  const off = Number(m[1]) + Number(m[2] ?? 0);
  if (!bounds && off < 0 && off >= -512) return null;
  return {
    why: `the program reads the stack outside the 512-byte frame (offset ${off}; valid offsets are -512 to -1 from the frame pointer): the read goes past a local, typically a field read beyond a struct copied to the stack — BPF_CORE_READ(p, a).b copies a to the stack and then reads b past the end of that copy — or a pointer to a local moved past its end`,
    fix: 'read the field inside the macro, BPF_CORE_READ(p, a.b) (or bpf_core_read into a variable of the field\'s own type), so only that field is copied; keep pointers to locals within the local\'s size',
    brief: 'read the field inside BPF_CORE_READ(p, a.b), not past a struct copied to the stack',
    snippet: `__u32 inum = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum);   /* not BPF_CORE_READ(..., ns).inum */`,
    facts: { stack_offset: off },
  };
}

export const stack: VerifierClass = {
  id: 'stack',
  title: 'stack too large or access outside the stack',
  before: 'static __noinline int inner(void) { __u8 buf[320]; ... }\nstatic __noinline int outer(void) { __u8 buf[320]; inner(); ... }',
  detect({ text }) {
    const past = readPastFrame(text);
    if (past) return past;
    const m = /combined stack size of (\d+) calls is (\d+)|stack depth (\d+) exceeds|the call stack of (\d+) frames is too deep|invalid write to stack R\d+ off=(-?\d+)|invalid stack off=(-?\d+)|stack (?:frames? )?too deep/.exec(text);
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
};

export const insnUnsupported: VerifierClass = {
  id: 'insn-unsupported',
  title: 'instruction this kernel does not know (compiled for a newer BPF ISA, or an unresolved reference)',
  before: '/* clang -mcpu=v4 (sign-extending loads, bswap, gotol: 6.6+) loaded on a 5.15 kernel */',
  detect({ text }) {
    if (/number of funcs in func_info doesn't match number of subprogs/.test(text)) {
      return {
        why: 'the object\'s BTF lists more functions than the kernel found BPF-to-BPF subprograms. The usual cause is a function whose address the program takes — a callback for bpf_loop, bpf_for_each_map_elem or bpf_timer — on a kernel before 5.13, which does not know function-pointer loads (BPF_PSEUDO_FUNC) and so does not count the callback as a subprogram; otherwise a loader that passes func_info for functions it dropped',
        fix: 'for kernels before 5.13 build a variant without callbacks (a bounded loop instead of bpf_loop, which itself needs 5.17), or require 5.13+/5.17+; on a newer kernel, update the loader (its func_info must match the subprograms it loads)',
        brief: 'a callback (function pointer) on a kernel before 5.13, or a loader whose func_info does not match: build without callbacks or upgrade',
        snippet: '#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 17, 0)\nfor (int i = 0; i < MAX; i++) step(i, &c);      /* no callback: no function pointer */\n#else\nbpf_loop(MAX, step, &c, 0);\n#endif',
      };
    }
    const m = /unknown opcode ([0-9a-f]{2})|invalid BPF_\w+ (?:opcode|insn)[^\n]*|BPF_\w+ uses reserved fields|unknown insn class \d+/.exec(text);
    if (!m) return null;
    const op = m[1] !== undefined ? parseInt(m[1], 16) : null;
    const cls = op === null ? null : op & 7;
    const isa =
      op === 0 ? null
      : op !== null && (op === 0xd7 || op === 0x06 || (cls === 1 && (op & 0xe0) === 0x80)) ? { cpu: 'v4', since: '6.6', what: op === 0xd7 ? 'a byte swap (bswap)' : op === 0x06 ? 'a long jump (gotol)' : 'a sign-extending load' }
      : cls === 6 ? { cpu: 'v3', since: '5.1', what: 'a 32-bit conditional jump (JMP32)' }
      : null;
    const why = op === 0
      ? 'the instruction has opcode 00: usually the second half of a 64-bit load (ld_imm64) that the loader did not turn into a map or data reference — a global or static variable, or a string constant, that this loader or kernel cannot place (global data needs libbpf and Linux 5.2+)'
      : isa
        ? `opcode ${m[1]} is ${isa.what}, part of BPF ISA ${isa.cpu}, which kernels before ${isa.since} do not have: the compiler emitted instructions for a newer kernel than this one`
        : `the kernel does not know this instruction (${m[0]}): the object was compiled for a newer BPF instruction set than this kernel has (clang -mcpu), or it is damaged`;
    return {
      why,
      fix: op === 0
        ? 'load with libbpf (it creates .data/.rodata/.bss maps) on Linux 5.2+, or keep constants and strings on the stack (char msg[] = "...") instead of in global data'
        : 'compile for the oldest kernel you run on: clang -mcpu=v2 (any kernel), -mcpu=v3 (5.1+) or -mcpu=v4 (6.6+); clang versions differ in their default, so set it explicitly',
      brief: op === 0 ? 'a global/static reference the loader did not resolve: use libbpf on 5.2+, or keep it on the stack' : 'compile with an -mcpu the kernel has (v2 for any kernel, v3 for 5.1+)',
      snippet: op === 0 ? `char fmt[] = "hello %d\\n";                 /* on the stack, not in .rodata */\nbpf_trace_printk(fmt, sizeof(fmt), x);` : `clang -O2 -g -target bpf -mcpu=v2 -c prog.bpf.c -o prog.bpf.o   # runs on older kernels too`,
      facts: { opcode: m[1] ?? null, isa: isa?.cpu ?? null },
    };
  },
};

/**
 * Tail calls and BPF-to-BPF calls in one program. A tail call replaces the current frame but keeps
 * its callers', so kernels refuse the mix where the JIT cannot carry the tail-call count across
 * frames, and elsewhere cap the callers' stack at 256 bytes (32 tail calls × 256 fit the kernel stack).
 */
export const tailCallMix: VerifierClass = {
  id: 'tail-call-mix',
  title: 'tail calls mixed with BPF-to-BPF calls (stack cap, or a kernel/JIT that cannot mix them)',
  before: 'static __noinline int parse(struct __sk_buff *skb) { ... }   /* a real call */\n...\nbpf_tail_call(skb, &jumps, 1);                                 /* in the same program */',
  detect({ text }) {
    const m = /tail_calls are not allowed when call stack of previous frames is (\d+) bytes|tail_calls are not allowed in (non-JITed )?programs with bpf-to-bpf calls|mixing of tail_calls and bpf-to-bpf calls is not supported|tail_call is not allowed in subprogs without BTF/.exec(text);
    if (!m) return null;
    const inline = 'make the functions on the way to the tail call inline (C: static __always_inline; Rust/aya: #[inline(always)], and prefer direct packet access over library calls that stay out of line)';
    if (m[1]) {
      return {
        why: `the tail call is made from a BPF-to-BPF function whose callers' frames hold ${m[1]} bytes of stack; a tail call keeps those frames, so the kernel allows it only while they stay under 256 bytes (at most 32 chained tail calls × 256 bytes fit the kernel stack)`,
        fix: `keep the stack of every function on the way to the tail call under 256 bytes in total: move big locals into a per-CPU array map, or ${inline.replace('make the functions', 'make those functions')} and make the tail call from the program's entry function`,
        brief: 'keep the frames before a tail call under 256 bytes of stack (big locals into a per-CPU map)',
        snippet: `__u32 zero = 0;\nstruct scratch *s = bpf_map_lookup_elem(&scratch, &zero);   /* a per-CPU map instead of a big local */\nif (!s)\n        return 0;\nbpf_tail_call(ctx, &jumps, 0);`,
        facts: { stack_before_tail_call: Number(m[1]) },
      };
    }
    if (/without BTF/.test(m[0])) {
      return {
        why: 'a BPF-to-BPF function makes a tail call, and the object carries no BTF function info: the kernel needs it to check such subprograms',
        fix: 'compile with -g (clang -g -O2 -target bpf) and keep the .BTF/.BTF.ext sections (do not strip them), or make the tail call from the entry function',
        brief: 'compile with -g so the object has BTF function info',
        snippet: 'clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o',
      };
    }
    return {
      why: m[2]
        ? 'the program mixes tail calls with BPF-to-BPF calls and the BPF JIT is off: only JITed programs may mix them'
        : 'the program makes a tail call and also calls a BPF-to-BPF function (a function the compiler kept out of line). The running kernel cannot mix the two: that came with 5.10 on x86-64 (JIT on), later on other architectures. The program is not wrong; this kernel (or its architecture) does not support it',
      fix: m[2]
        ? 'turn the JIT on (sysctl net.core.bpf_jit_enable=1), or remove the BPF-to-BPF calls by inlining them'
        : `${inline}, so the program has no BPF-to-BPF calls; or run on a kernel that mixes them (x86-64: 5.10 or newer with the JIT on)`,
      brief: 'inline the BPF-to-BPF functions (__always_inline) in a program that tail calls, or use a 5.10+ x86-64 kernel',
      snippet: `static __always_inline int parse(void *ctx)   /* inlined: no BPF-to-BPF call */\n{\n        ...\n}\n...\nbpf_tail_call(ctx, &jumps, 1);`,
    };
  },
};
