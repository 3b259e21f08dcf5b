/** BTF, CO-RE and loader failures: the object does not match the running kernel, or the loader stopped first. Classes of the table in classes.ts. */
import { progTypeInfo } from '../progtype.js';
import { loaderCause } from '../loader.js';
import { type VerifierClass } from './kit.js';

export const coreReloc: VerifierClass = {
  id: 'core-reloc',
  title: 'a CO-RE relocation the loader could not resolve (field or type missing in this kernel)',
  before: 'int uid = BPF_CORE_READ(task, loginuid.val);   /* no loginuid in this kernel\'s task_struct */',
  detect({ text, raw }) {
    // libbpf poisons an unresolved CO-RE access with a call to helper 0xbad2310 (195896080)
    const poison = /invalid func unknown#195896080|unknown func unknown#195896080|<invalid CO-RE relocation>|failed to resolve CO-RE relocation[^\n]*/.exec(`${text}\n${raw}`);
    const said = loaderCause(raw);
    if (!poison && said?.kind !== 'core-reloc') return null;
    const foreign = /btf_vmlinux is malformed|Unrecognized arg#\d+ type/.exec(`${text}\n${raw}`);
    if (foreign) {
      return {
        why: `the kernel could not use the BTF it was given ("${foreign[0]}"), and the call that follows is the loader's marker for a CO-RE relocation it could not resolve (#195896080 is no helper): the type information the program was relocated against does not describe this kernel — a vmlinux BTF of another architecture or kernel build, handed to the loader, or a kernel BTF the running kernel cannot parse`,
        fix: 'relocate against the running kernel\'s own BTF (/sys/kernel/btf/vmlinux, the loader\'s default); if you pass a BTF file (libbpf btf_custom_path, cilium/ebpf KernelTypes, BTFHub), take it from exactly this kernel release and architecture',
        brief: 'the BTF used for CO-RE is not this kernel\'s (another architecture or build): use /sys/kernel/btf/vmlinux',
        snippet: 'bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h   # this kernel, this architecture',
        facts: { btf: foreign[0] },
      };
    }
    const relo = /failed to resolve CO-RE relocation[^\n]*|relo #\d+: [^\n]*no matching targets[^\n]*|apply CO-RE relocations:[^\n]*/.exec(raw)?.[0]?.trim();
    return {
      why: `the instruction is one the loader poisoned: a CO-RE access (BPF_CORE_READ, preserve_access_index) named a field or type the running kernel's BTF does not have${relo ? ` — the loader said "${relo}"` : ' (libbpf marks such an instruction with the call 0xbad2310, helper #195896080, and the verifier refuses it only if the path reaches it)'}. The program was compiled against another kernel's vmlinux.h`,
      fix: 'guard the access with bpf_core_field_exists() / bpf_core_type_exists() (or a ___flavour struct for the other layout) so the path that reads it is dead on this kernel; or read the field under the name it has here; regenerate vmlinux.h from the target kernel',
      brief: 'a CO-RE field or type missing in this kernel: guard it with bpf_core_field_exists()',
      snippet: 'if (bpf_core_field_exists(task->loginuid))       /* false on this kernel: branch dropped */\n        uid = BPF_CORE_READ(task, loginuid.val);',
      facts: { relocation: relo ?? null },
    };
  },
};

export const funcSignature: VerifierClass = {
  id: 'func-signature',
  title: 'a function signature the kernel\'s BTF check refuses (arguments or return type)',
  before: 'int BPF_PROG(on_exec, void *bprm)   /* the hook takes struct linux_binprm * */',
  detect({ log, progType, text, raw }) {
    const ctxCall = /global function calls are not allowed ([^\n.]*)/.exec(text);
    if (ctxCall) {
      const where = (ctxCall[1] ?? '').trim();
      return {
        why: `a global (non-static, or __noinline __weak) BPF function is called ${where}: global functions are verified once, on their own, without knowing that the caller holds a lock, disabled preemption or is inside an RCU/IRQ section, so the verifier refuses the call there`,
        fix: 'make the callee static (static __always_inline, or a static __noinline function, which is verified with its caller), or call it outside that section',
        brief: 'make the called function static (verified with its caller), or call it outside the section',
        snippet: 'static __always_inline int slowpath(struct lock *l)   /* static: verified in its caller\'s context */',
        facts: { context: where },
      };
    }
    const t = text;
    const m =
      // printed while the global function is checked, often well before the log's last line
      /Global function (\w+)\(\) doesn't return scalar/.exec(`${t}\n${raw}`) ??
      /func '(\w+)' doesn't have (\d+)-th argument/.exec(`${t}\n${raw}`) ??
      /The function (\w+) has (\d+) arguments?\. Too many|Function (\w+) has (\d+) > \d+ args/.exec(`${t}\n${raw}`) ??
      /Caller passes invalid args into func#\d+(?: \('(\w+)'\))?/.exec(t) ??
      /Arg#(\d+) type (\w+) in (\w+)\(\) is not supported yet/.exec(`${t}\n${raw}`) ??
      /arg#(\d+) (?:expected pointer to ctx, but got \w+|type is not a pointer|pointer type [^\n]* must point to [^\n]*)/.exec(t) ??
      /func '(\w+)' arg(\d+) type (\w+) is not a struct|func '(\w+)' arg(\d+) has btf_id \d+ type (\w+) '(\w+)'$/.exec(t) ??
      // the same, wrapped by a tool over two lines, as the log's last words
      (/has btf_id|type STRUCT/.test(log.message ?? '') ? /func '(\w+)' arg(\d+) type (\w+) is not a struct|func '(\w+)' arg(\d+) has btf_id \d+\s+type (\w+) '(\w+)'/.exec(raw) : null);
    if (!m) return null;
    const s0 = m[0];
    const tracing = progType ? progTypeInfo(progType).tracing : /func '\w+' arg\d/.test(s0);
    const argIdiom = 'declare the arguments exactly as the kernel function or hook takes them, in order (BPF_PROG(name, struct linux_binprm *bprm, …), from vmlinux.h of the target kernel); read pointer fields directly (fentry/LSM/tp_btf) or with BPF_CORE_READ / bpf_probe_read_kernel';
    if (/doesn't return scalar/.test(s0)) {
      return {
        why: `${m[1]}() is a global (non-static) BPF function, and the verifier checks global functions on their own, against their BTF signature: they may only return a scalar (an integer), not a pointer`,
        fix: `make ${m[1]}() static (then it is verified inline with its callers and may return a pointer), or return the value through an out-argument / an integer (e.g. an index) instead of a pointer`,
        brief: `global functions must return a scalar: make ${m[1]}() static`,
        snippet: `static __noinline struct item *${m[1]}(struct task_struct *p)   /* static: verified with its caller */`,
        facts: { function: m[1] },
      };
    }
    if (/doesn't have \d+-th argument/.test(s0)) {
      return {
        why: `the program reads argument ${m[2]} of ${m[1]}, which the kernel's BTF says it does not have (it has fewer arguments in this kernel): the program's argument list does not match the function's prototype${tracing ? '' : ' (a BTF-typed tracing program: fentry/fexit, LSM, tp_btf)'}`,
        fix: `${argIdiom}; for fexit the return value comes after the last real argument; when the prototype differs between kernels, attach to the version-specific function or check the argument count with bpf_get_func_arg_cnt()`,
        brief: `${m[1]} has fewer arguments in this kernel: declare BPF_PROG with its exact prototype`,
        snippet: `SEC("fexit/${m[1]}")\nint BPF_PROG(on_exit, struct sock *sk, int ret)   /* real args first, then the return value */`,
        facts: { function: m[1], arg: Number(m[2]) },
      };
    }
    if (/is not supported yet/.test(s0)) {
      return {
        why: `${m[3]}() is a global (non-static) function, verified on its own against its BTF prototype, and this kernel does not support its argument ${m[1]} of type ${m[2]} there: older kernels (before 5.12) accept only scalars and the program's context as global-function arguments, no other pointers`,
        fix: `make ${m[3]}() static (it is then verified with its caller's types, pointers included), or pass a scalar (an index, an offset) instead of the pointer; on 5.12+ pointer arguments to global functions are supported`,
        brief: `global function ${m[3]}() cannot take a ${m[2]} argument on this kernel: make it static`,
        snippet: `static __noinline int ${m[3]}(struct state *st)   /* static: verified with its caller */`,
        facts: { function: m[3], arg: Number(m[1]) },
      };
    }
    if (/Too many|> \d+ args/.test(s0)) {
      return {
        why: `${m[1] ?? m[3]} has more arguments than BPF can pass (at most 5 for BPF-to-BPF calls and global functions, 12 for fentry on newer kernels)`,
        fix: 'pass a pointer to a struct holding the values instead of many arguments, or make the function static and __always_inline',
        brief: 'too many arguments: pass a struct pointer or inline the function',
        snippet: 'struct args { __u32 a, b, c, d, e, f; };\nstatic __always_inline int f(struct args *x)',
      };
    }
    if (/Caller passes invalid args|arg#\d+ /.test(s0) && !/^func '/.test(s0)) {
      return {
        why: `a global function's argument does not fit what its BTF prototype promises ("${s0}"): global functions are verified once, on their own, assuming only what the argument types say, so each caller must pass exactly that kind (ctx for a ctx argument, a pointer to memory of a known size for a pointer argument, a scalar for an integer)`,
        fix: 'give pointer arguments a type of known size (not void * or an incomplete struct), pass ctx only where the argument is the program\'s context (__arg_ctx on 6.7+), or make the function static so it is verified with its caller\'s types',
        brief: 'a global function argument of the wrong kind: fix its prototype or make it static',
        snippet: 'static __noinline int handle(struct xdp_md *ctx, struct hdr *h)   /* static: checked with the caller\'s types */',
      };
    }
    // "func 'X' argN has btf_id … type STRUCT 'Y'": the kernel was reading the prototype when it refused
    const fn = m[1] ?? m[4];
    const arg = m[2] ?? m[5];
    const ty = m[7] ?? null;
    return {
      why: `the verifier stopped while checking the arguments of ${fn} against the kernel's BTF: argument ${arg} is ${ty ? `struct ${ty} *` : `a ${m[3] ?? 'pointer'}`} in this kernel, and the program's declaration of it does not fit (a void * or another struct where the kernel has ${ty ? `struct ${ty} *` : 'its own type'}, or an argument read at the wrong slot)${tracing ? '' : '; this is a BTF-typed tracing program (fentry/fexit, LSM, tp_btf)'}. Since 6.4 the kernel checks these types strictly`,
      fix: `${argIdiom}${ty ? `: argument ${arg} as struct ${ty} *` : ''}`,
      brief: `declare ${fn}'s arguments with their exact kernel types${ty ? ` (arg${arg}: struct ${ty} *)` : ''}`,
      snippet: `SEC("${/^bpf_lsm_/.test(fn ?? '') ? `lsm/${(fn ?? '').replace(/^bpf_lsm_/, '')}` : `fentry/${fn}`}")\nint BPF_PROG(prog${ty ? `, struct ${ty} *arg${arg}` : ''})`,
      facts: { function: fn ?? null, arg: arg ? Number(arg) : null, type: ty },
      confidence: log.message && /has btf_id/.test(log.message) ? 0.6 : 0.9,
      typed: true,
    };
  },
};

export const loader: VerifierClass = {
  id: 'loader',
  title: 'the loader failed before the verifier judged the program (BTF, map, extern, section)',
  before: 'extern int bpf_foo(void) __ksym;   /* a kfunc this kernel does not have */',
  detect({ text, raw }) {
    // a map reference the loader never turned into a real map: the verifier sees the raw fd
    const fd = /fd (-?\d+) is not pointing to valid bpf_map/.exec(`${text}\n${raw}`);
    if (fd) {
      return {
        why: `an instruction loads map fd ${fd[1]}, which is no map: the loader did not create or relocate the map that instruction refers to. Most often it is data the compiler placed in a section the loader does not turn into a map — a string literal or constant in .rodata, a global in .data/.bss (global data needs kernel 5.2+ and a loader that supports it) — or a map in a section the loader skipped`,
        fix: 'copy constants into a local first (char marker[] = "<NA>"; on the stack, then pass marker) instead of passing a string literal or global to a helper, or use a loader with global-data support (libbpf, cilium/ebpf) on 5.2+; check that every map is in .maps (or the section your loader reads)',
        brief: 'the instruction refers to a map the loader never created (a .rodata/.data section or a skipped map): copy the constant to the stack, or use a loader with global data',
        snippet: 'char marker[] = "<NA>";                   /* on the stack: no .rodata map needed */\nbpf_probe_read_kernel_str(dst, sizeof(marker), marker);',
        facts: { fd: Number(fd[1]) },
      };
    }
    const c = loaderCause(raw);
    if (!c || c.kind === 'core-reloc') return null;
    return { why: c.why, fix: c.fix, brief: c.brief, snippet: c.snippet, facts: { loader: c.tool, loader_says: c.quote, cause: c.kind } };
  },
};
