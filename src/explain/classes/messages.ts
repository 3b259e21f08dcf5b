/**
 * Verifier messages whose cause and fix need no more than the message itself: one row each, with
 * the class it belongs to (an existing class of the table in classes.ts). A class's own detector
 * runs first; these rows answer the messages it does not read (classes.ts joins the two). Formats
 * are kernel/bpf/verifier.c's (the releases in `kernels`); the wordings table tests each.
 */
import { type Match } from './kit.js';

interface MessageRow {
  /** the class id the message belongs to */
  cls: string;
  re: RegExp;
  /** builds the reading from the match */
  read(m: RegExpExecArray): Match;
}

/** Helpers that take a map of one family only, and the family (bpf_redirect_map → devmap/cpumap/xskmap). */
const MAP_FAMILY: Array<[RegExp, string]> = [
  [/redirect_map/, 'a BPF_MAP_TYPE_DEVMAP, DEVMAP_HASH, CPUMAP or XSKMAP'],
  [/perf_event_output|perf_event_read/, 'a BPF_MAP_TYPE_PERF_EVENT_ARRAY'],
  [/ringbuf_/, 'a BPF_MAP_TYPE_RINGBUF (Linux 5.8+)'],
  [/tail_call/, 'a BPF_MAP_TYPE_PROG_ARRAY'],
  [/get_stackid/, 'a BPF_MAP_TYPE_STACK_TRACE'],
  [/sk_redirect_map|sock_map_update|msg_redirect_map/, 'a BPF_MAP_TYPE_SOCKMAP'],
  [/sk_redirect_hash|sock_hash_update|msg_redirect_hash/, 'a BPF_MAP_TYPE_SOCKHASH'],
  [/sk_storage/, 'a BPF_MAP_TYPE_SK_STORAGE'],
  [/task_storage/, 'a BPF_MAP_TYPE_TASK_STORAGE'],
  [/timer_init/, 'a hash, LRU hash or array map whose value holds the struct bpf_timer'],
  [/current_task_under_cgroup|skb_under_cgroup/, 'a BPF_MAP_TYPE_CGROUP_ARRAY'],
  [/map_(?:push|pop|peek)_elem/, 'a BPF_MAP_TYPE_QUEUE or STACK'],
];

export const MESSAGES: MessageRow[] = [
  {
    cls: 'loader',
    // the kernel checks the object's .BTF.ext line and function info against the instructions
    re: /Invalid line_info\[\d+\][^\n]*|missing bpf_line_info for func#\d+|invalid func info rec size \d+|Invalid func_info[^\n]*|func#\d+ @\d+ is not a function start/,
    read: (m) => ({
      why: `the kernel refused the program's debug information before verifying it ("${m[0]}"): the line and function records (.BTF.ext) the compiler wrote no longer fit the instructions — a loader too old for this compiler's output, or a tool that rewrote or stripped the code without adjusting them`,
      fix: 'load with a libbpf (or cilium/ebpf, aya) release at least as new as the clang that built the object; as a stopgap drop the debug records: llvm-strip -g prog.bpf.o (the verifier log then has no source lines)',
      brief: 'the object\'s line/func info does not fit its code: a newer loader, or llvm-strip -g',
      snippet: 'llvm-strip -g prog.bpf.o        # stopgap: no .BTF.ext line info',
    }),
  },
  {
    cls: 'loader',
    re: /Unsupported BTF_KIND:?\s*(\d+)|\[\d+\] [A-Z_]+ [^\n]*(?:Invalid|Unsupported) [^\n]*|btf_header not found|Invalid btf_info kind_flag/,
    read: (m) => ({
      why: `the kernel refused the object's BTF (type information) before verifying any instruction ("${m[0].trim()}"): ${m[1] ? `BTF kind ${m[1]} is newer than this kernel (FLOAT 5.13, DECL_TAG 5.16, TYPE_TAG 5.17, ENUM64 6.0)` : 'the compiler emitted BTF this kernel does not accept (a newer kind or flag), or the BTF is malformed'}`,
      fix: 'load with a libbpf new enough to sanitize BTF for older kernels (it rewrites kinds the kernel lacks), or build with a clang whose BTF this kernel knows, or run a newer kernel; the verifier has not looked at the program yet',
      brief: 'the kernel refused the object\'s BTF: a loader that sanitizes it, an older clang, or a newer kernel',
      snippet: 'bpftool btf dump file prog.bpf.o | head            # the kinds the object carries',
    }),
  },
  {
    cls: 'loader',
    re: /failed to find kernel BTF type ID of '(\w+)'|The address of function (\w+) cannot be found|kernel btf_id \d+ is not a function|(\w+): unsupported attach type/,
    read: (m) => {
      const fn = m[1] ?? m[2] ?? 'the target';
      return {
        why: `the program attaches by BTF (fentry/fexit, fmod_ret, LSM, tp_btf) and the kernel has no usable target ("${m[0]}"): ${fn} is not in this kernel's BTF or symbol table (a module function on a kernel or loader without module BTF, a function inlined or renamed in this build, or one this release does not have), or the attach type does not fit the program type`,
        fix: `check it: bpftool btf dump file /sys/kernel/btf/vmlinux | grep "'${fn}'" and grep ${fn} /proc/kallsyms; attach to a function this kernel has, or use a kprobe (it needs only kallsyms)`,
        brief: `${fn} is not an attach target on this kernel: check BTF/kallsyms, or use a kprobe`,
        snippet: `SEC("kprobe/${fn}")                       /* kallsyms symbol, no BTF needed */\nint BPF_KPROBE(on_call)`,
      };
    },
  },
  {
    cls: 'map-null',
    re: /R(\d+) pointer arithmetic on (\w+_or_null\w*) prohibited, null-check it first/,
    read: (m) => ({
      why: `R${m[1]} may be NULL (${m[2]}: a lookup or acquire result) and the program adds an offset to it before testing it: arithmetic on a maybe-NULL pointer is refused, because NULL plus an offset would pass a later check`,
      fix: 'test the pointer for NULL right after the call, then index or offset it inside the checked branch',
      brief: 'NULL-check the pointer before adding to it',
      snippet: 'struct val *v = bpf_map_lookup_elem(&m, &key);\nif (!v)\n        return 0;\n__u64 *slot = &v->slots[i & 7];     /* after the check */',
    }),
  },
  {
    cls: 'map-value-bounds',
    re: /invalid access to memory, mem_size=(\d+) off=(-?\d+) size=(\d+)|invalid access to map key, key_size=(\d+) off=(-?\d+) size=(\d+)|R(\d+) invalid zero-sized read|memory, len pair leads to invalid memory access/,
    read: (m) => ({
      why: m[1] !== undefined
        ? `the program touches bytes ${m[2]}..${Number(m[2]) + Number(m[3]) - 1} of a ${m[1]}-byte buffer (a ring-buffer record, a helper's memory, a dynptr slice): past its end, or at an offset the verifier cannot bound`
        : m[4] !== undefined
          ? `the program reads ${m[6]} bytes at offset ${m[5]} of a map key that is ${m[4]} bytes long: the key variable is smaller than the map's key_size (or the helper was handed the wrong variable)`
          : `a size passed to a helper may be zero or is not bounded against the buffer it describes ("${m[0]}"): the verifier needs the size proven at least 1 and at most the buffer's length`,
      fix: m[4] !== undefined
        ? 'pass a key variable of exactly the map\'s key type (the struct the map was declared with), zero-initialised'
        : 'bound the size or offset right before the call or access (if (len < 1 || len > sizeof(buf)) return 0; or len &= MASK with a power-of-two buffer), and keep accesses inside the record\'s declared size',
      brief: m[4] !== undefined ? 'the key variable is smaller than the map\'s key: use the map\'s key type' : 'bound the size/offset against the buffer right before the access',
      snippet: m[4] !== undefined ? 'struct flow_key key = {};             /* the map\'s own key type */\nv = bpf_map_lookup_elem(&flows, &key);' : 'if (len < 1 || len > sizeof(buf))\n        return 0;\nbpf_probe_read_kernel(buf, len, src);',
    }),
  },
  {
    cls: 'ctx-write',
    re: /R(\d+) cannot write into (\w+)/,
    read: (m) => ({
      why: `R${m[1]} points to ${m[2]}, memory the program may only read (a read-only buffer the kernel lends, a const global, a BTF object outside struct_ops): it cannot be written`,
      fix: 'copy what you need into a local or a map value and change that; write kernel objects only through the helpers or kfuncs meant for it',
      brief: `${m[2]} is read-only: copy it and write the copy`,
      snippet: 'struct event e = {};\n__builtin_memcpy(&e, src, sizeof(e));   /* a writable copy */',
    }),
  },
  {
    cls: 'ctx-bad-read',
    re: /invalid (bpf_sock|tcp_sock|xdp_sock|bpf_tcp_sock|sock_common|bpf_sock_tuple) access off=(\d+) size=(\d+)/,
    read: (m) => ({
      why: `the program reads ${m[3]} bytes at offset ${m[2]} of struct ${m[1]}, which is not a readable field at that size: the socket structs BPF programs get (struct bpf_sock, bpf_tcp_sock …) expose only some fields, each at its own size`,
      fix: `read the field by name with its declared type from the uapi struct (linux/bpf.h of the running kernel); for fields the struct does not offer, cast with bpf_skc_to_tcp_sock() and friends (5.9+), or read the kernel struct through BTF (fentry) or bpf_probe_read_kernel`,
      brief: `struct ${m[1]} has no readable field at offset ${m[2]} size ${m[3]}: read a field it offers, by name`,
      snippet: 'struct bpf_sock *sk = skb->sk;\nif (!sk)\n        return 1;\n__u32 state = sk->state;                /* a field the struct offers */',
    }),
  },
  {
    cls: 'ctx-modified',
    re: /same insn cannot be used with different pointers/,
    read: () => ({
      why: 'one instruction loads through the context on one path and through another kind of pointer (stack, map value) on another: the compiler merged two loads into one, and the verifier must rewrite context loads into the kernel\'s real field access, which it cannot do for an instruction that also serves another pointer',
      fix: 'keep the context read apart: read the ctx field into a local first, in its own statement, before the branch (a barrier_var() or volatile read stops the compiler from merging the loads), or pass values rather than &ctx->field to shared code',
      brief: 'the compiler merged a ctx load with another pointer\'s: read the ctx field into a local first',
      snippet: '__u32 mark = ctx->mark;                 /* ctx read on its own */\nbarrier_var(mark);\nconst __u32 *p = cond ? &mark : &v->mark;',
      confidence: 0.8,
    }),
  },
  {
    cls: 'helper-arg',
    re: /R(\d+) doesn't have constant offset\. (\w+) has to be at the constant offset|expected (?:an )?(un)?initialized (iter_\w+) as arg #(\d+)|R(\d+) is not a known constant'?/,
    read: (m) => m[2]
      ? {
        why: `the ${m[2]} is reached through R${m[1]} at an offset that is not a constant: the verifier must know exactly which ${m[2]} field of which map value is used`,
        fix: `use the field directly, &v->lock on the looked-up value (v from bpf_map_lookup_elem), not through an index or computed pointer`,
        brief: `${m[2]} at a constant offset: &v->field of the looked-up value`,
        snippet: 'struct val *v = bpf_map_lookup_elem(&m, &key);\nif (!v)\n        return 0;\nbpf_spin_lock(&v->lock);',
      }
      : m[4]
        ? {
          why: `an open-coded iterator (${m[4]}) is used out of order: bpf_iter_*_new() takes an uninitialised iterator, _next() and _destroy() an initialised one, each a plain local at a constant stack offset`,
          fix: 'declare the iterator as a local, call bpf_iter_*_new() once, then _next() in the loop and _destroy() on every path (or use the bpf_for()/bpf_repeat() macros, 6.4+)',
          brief: 'open-coded iterator used out of order: new, next…, destroy (or bpf_for())',
          snippet: 'int i;\nbpf_for(i, 0, n) {                     /* new / next / destroy for you */\n        sum += i;\n}',
        }
        : {
          why: `R${m[6]} must be a constant the verifier knows (a flags or size argument), and the program passes a value computed at run time`,
          fix: 'pass a compile-time constant (a literal or a const the compiler folds) for that argument; branch on the run-time value and call with a constant in each branch',
          brief: 'this argument must be a constant',
          snippet: 'long n = big ? bpf_get_stack(ctx, buf, 256, 0) : bpf_get_stack(ctx, buf, 64, 0);',
        },
  },
  {
    cls: 'kernel-bug',
    re: /bpf verifier is misconfigured|kernel subsystem misconfigured (?:verifier|func)/,
    read: (m) => ({
      why: `the verifier reports its own configuration as broken ("${m[0]}"): a helper or kfunc prototype this kernel build gets wrong — a kernel bug or an out-of-tree patch, not a mistake in the program`,
      fix: 'note uname -r; try the latest stable kernel of your series or a distribution kernel, and report it to bpf@vger.kernel.org with the object; avoiding the helper the failing instruction calls is a stopgap',
      brief: 'the kernel\'s verifier is misconfigured: a kernel bug; try another kernel build',
      snippet: 'uname -r            # quote it in the report',
      confidence: 0.8,
    }),
  },
  {
    cls: 'ptr-arith',
    re: /R(\d+) subtraction from stack pointer prohibited|R(\d+) tried to subtract pointer from scalar|attempt to corrupt spilled pointer on stack/,
    read: (m) => ({
      why: `pointer arithmetic the verifier does not allow ("${m[0]}"): a pointer subtracted from a number, a variable subtracted from the stack pointer, or part of a spilled pointer overwritten — refused always or for loaders without CAP_BPF/CAP_PERFMON`,
      fix: 'compute with offsets (numbers) and add them to the pointer once, with a bound; keep stack buffers as arrays indexed by a bounded index; load with CAP_BPF + CAP_PERFMON (root) when unprivileged',
      brief: 'pointer arithmetic of a kind the verifier refuses: add a bounded offset to the pointer instead',
      snippet: '__u32 off = end_off - start_off;          /* numbers, not pointers */\np = base + (off & 0xff);',
    }),
  },
  {
    cls: 'helper-not-allowed',
    re: /loading\/calling other bpf or kernel functions are allowed for CAP_SYS_ADMIN only|R(\d+) is ptr_(\w+) access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN/,
    read: (m) => ({
      why: `the loader lacks the privilege this program needs ("${m[0]}"): BPF-to-BPF calls and kfuncs (before 5.8: CAP_SYS_ADMIN; later CAP_BPF) and reading kernel objects through BTF pointers (CAP_PERFMON) are refused to unprivileged loaders`,
      fix: 'load as root or with CAP_BPF + CAP_PERFMON (CAP_SYS_ADMIN before 5.8); for an unprivileged socket filter, inline the functions (static __always_inline) and read only the packet',
      brief: 'an unprivileged load: CAP_BPF + CAP_PERFMON (root), or inline the functions',
      snippet: 'static __always_inline int parse(struct __sk_buff *skb)   /* no BPF-to-BPF call */',
    }),
  },
  {
    cls: 'loader',
    // 5.1+: bpf_spin_lock; 5.15+: bpf_timer; later kptrs, bpf_wq, … ("has to have BTF in order to use %s")
    re: /(?:map '([^']*)' )?has to have BTF in order to use (\w+)/,
    read: (m) => {
      return {
      why: `the program uses a ${m[2]} inside the value of ${m[1] ? `map '${m[1]}'` : 'a map'}, and the kernel finds that field only through the map's BTF (the type of its key and value): this map was created without BTF — a legacy map definition (struct bpf_map_def in SEC("maps")), an object compiled without -g, or a loader that does not pass BTF for maps (aya before its BTF-map support, old bcc/gobpf). The program itself is not what the verifier refused`,
      fix: `define the map the BTF way so the loader hands its value type to the kernel: struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, struct val); … } ${m[1] || 'counts'} SEC(".maps"); with struct val holding the struct ${m[2]}; compile with clang -g; with a loader that creates maps without BTF, use one that supports BTF-defined maps`,
      brief: `${m[1] ? `map '${m[1]}'` : 'the map'} needs BTF for its value to use ${m[2]}: a BTF-defined map (__uint/__type in SEC(".maps")), compiled with -g`,
      snippet: `struct val { struct ${m[2]} lock; __u64 count; };\nstruct {\n        __uint(type, BPF_MAP_TYPE_HASH);\n        __uint(max_entries, 1024);\n        __type(key, __u32);\n        __type(value, struct val);        /* the kernel finds the ${m[2]} through this BTF */\n} ${m[1] || 'counts'} SEC(".maps");          /* clang -g -O2 -target bpf */`,
      facts: { map: m[1] ?? null, field: m[2] },
      };
    },
  },
  {
    cls: 'loader',
    re: /Tracing programs must provide btf_id|attach_btf_id (\d+) is not a function|FENTRY\/FEXIT program can only be attached to another program|Cannot replace kernel functions/,
    read: (m) => ({
      why: `the program is a BTF-attached tracing program (fentry/fexit, fmod_ret, LSM, tp_btf) and the load gave the kernel no function to attach to ("${m[0]}"): the section name names no target (SEC("fentry") without "/function"), the target was not found in this kernel's BTF, or the loader does not know the section`,
      fix: 'name the target in the section, SEC("fentry/tcp_connect"), a function this kernel\'s BTF has (bpftool btf dump file /sys/kernel/btf/vmlinux | grep "\'tcp_connect\'"); or use a kprobe when the function has no BTF',
      brief: 'a tracing program without an attach target: SEC("fentry/<function>")',
      snippet: 'SEC("fentry/tcp_connect")\nint BPF_PROG(on_connect, struct sock *sk)',
    }),
  },
  {
    cls: 'helper-arg',
    re: /cannot pass map_type (\d+) into func (\w+)#(\d+)/,
    read: (m) => {
      const fam = MAP_FAMILY.find(([re]) => re.test(m[2]!))?.[1];
      return {
        why: `${m[2]} was given a map of type ${m[1]} (enum bpf_map_type), and it only works on ${fam ?? 'maps of its own kind'}: each map helper is tied to the map types it knows how to read`,
        fix: `pass ${fam ?? 'a map of the type the helper documents'} (declare it with __uint(type, …) of that type); use bpf_map_lookup_elem/update_elem for ordinary hash and array maps`,
        brief: `${m[2]} needs ${fam ?? 'another map type'}, not map type ${m[1]}`,
        snippet: 'struct {\n        __uint(type, BPF_MAP_TYPE_XSKMAP);   /* what bpf_redirect_map to sockets needs */\n        __uint(max_entries, 64);\n        __type(key, __u32);\n        __type(value, __u32);\n} xsks SEC(".maps");',
        facts: { map_type: Number(m[1]), helper: m[2] },
      };
    },
  },
  {
    cls: 'helper-arg',
    re: /(?:kernel function|kfunc) (\w+) args#(\d+) expected pointer to (\w+ \w+) but R(\d+) has a pointer to (\w+ \w+)|R(\d+) must be referenced when passed to release function|R(\d+) must have zero offset when passed to release func|release kernel function (\w+) expects refcounted PTR_TO_BTF_ID|arg#(\d+) reference type\('([^']*)'\) size cannot be determined|Possibly NULL pointer passed to (?:trusted|helper) arg(\d+)/,
    read: (m) => {
      const s = m[0];
      if (/expected pointer to/.test(s)) {
        return {
          why: `${m[1]} takes a pointer to ${m[3]} as argument ${m[2]}, and R${m[4]} holds a pointer to ${m[5]}: kfuncs check the BTF type of each pointer argument exactly`,
          fix: `pass a pointer of type ${m[3]} (the object itself, not a pointer to one of its fields or to another struct)`,
          brief: `${m[1]} arg ${m[2]} wants ${m[3]} *, got ${m[5]} *`,
          snippet: `struct task_struct *t = bpf_task_acquire(task);   /* the type the kfunc takes */`,
        };
      }
      if (/size cannot be determined/.test(s)) {
        return {
          why: `argument ${m[9]} is a pointer to '${m[10]}', a type whose size BTF does not know (void * or an incomplete struct), so the verifier cannot tell how much memory the callee may touch`,
          fix: 'declare the argument as a pointer to a complete type, or pass memory with an explicit size argument (a __sz suffix on kfunc arguments)',
          brief: 'a pointer argument of unknown size: use a complete type',
          snippet: 'int handle(struct event *e)   /* complete type: size known */',
        };
      }
      if (/Possibly NULL/.test(s)) {
        return {
          why: `argument ${m[11]} may be NULL on this path (a lookup result, an acquire, a __rcu or maybe-NULL field read), and the helper or kfunc takes only a valid pointer`,
          fix: 'test the pointer before the call (if (!p) return 0;), right where you use it',
          brief: 'NULL-check the pointer before passing it',
          snippet: 'struct task_struct *t = bpf_task_from_pid(pid);\nif (!t)\n        return 0;\nbpf_task_release(t);',
        };
      }
      return {
        why: `a release function got a pointer it cannot release ("${s}"): only the pointer an acquire returned — unmodified, not a pointer to one of its fields, and not one already released — may be passed back`,
        fix: 'keep the pointer the acquire function returned and pass exactly that to the release (bpf_sk_release(sk), bpf_task_release(t), bpf_ringbuf_submit(rec, 0)); release each one once',
        brief: 'release exactly the pointer the acquire returned',
        snippet: 'struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4), -1, 0);\nif (sk)\n        bpf_sk_release(sk);       /* the pointer as acquired */',
      };
    },
  },
  {
    cls: 'helper-arg',
    // 6.x: a pointer moved off its object and passed where the object is expected (not ctx: ctx-modified reads those)
    re: /dereference of modified (?!ctx\b)(\w+) ptr R(\d+) off=(-?\d+) disallowed/,
    read: (m) => ({
      why: `R${m[2]} is a ${m[1]} pointer moved ${m[3]} bytes off the object it points to, and it is passed where the object itself is required (a helper or kfunc argument): those take only the pointer as the kernel gave it`,
      fix: 'pass the original pointer (the object, not &obj->field or obj + n); read the field separately and pass its value',
      brief: 'pass the object pointer itself, not a pointer into it',
      snippet: 'bpf_task_release(task);            /* not &task->field */',
    }),
  },
  {
    cls: 'helper-arg',
    re: /dynptr has to be at a constant offset|Expected an initialized dynptr as arg #(\d+)|Dynptr has to be an uninitialized dynptr|cannot pass in dynptr at an offset/i,
    read: (m) => ({
      why: `a struct bpf_dynptr argument is not what the call expects ("${m[0]}"): a dynptr lives in a whole stack slot at a constant offset, must be initialised (bpf_dynptr_from_mem, bpf_ringbuf_reserve_dynptr …) before it is read, and not initialised twice`,
      fix: 'declare the dynptr as a plain local (struct bpf_dynptr ptr;), initialise it with one of the _dynptr helpers and check the result before passing &ptr; do not index into arrays of dynptrs with a variable',
      brief: 'a dynptr argument must be an initialised local at a constant stack offset',
      snippet: 'struct bpf_dynptr ptr;\nif (bpf_ringbuf_reserve_dynptr(&rb, sizeof(struct event), 0, &ptr))\n        goto discard;',
    }),
  },
  {
    cls: 'ptr-arith',
    re: /R(\d+) leaks addr (into map|into mem|into ctx|into packet|into helper function|as return value)|R(\d+) pointer comparison prohibited|R(\d+) is ptr_(\w+) invalid negative access: off=(-?\d+)/,
    read: (m) => {
      if (m[6]) {
        return {
          why: `R${m[4]} points to a ${m[5]} and the program reads ${m[6]} bytes before it (container_of() or a negative offset): BTF pointers may only be read at offsets inside the object they point to`,
          fix: 'read the outer object through a field that points to it, or copy it with bpf_probe_read_kernel(&dst, sizeof(dst), (void *)p - off) in tracing programs',
          brief: 'no negative offsets from a BTF pointer: bpf_probe_read_kernel the outer object',
          snippet: 'bpf_probe_read_kernel(&outer, sizeof(outer), (void *)ptr - offsetof(struct outer, member));',
        };
      }
      const leak = m[2];
      return {
        why: `${leak ? `R${m[1]} holds a kernel pointer and the program stores it ${leak.replace(/^into /, 'into ').replace('as return value', 'as its return value')}` : `R${m[3]} is a pointer compared with something`}: loaders without CAP_PERFMON (unprivileged BPF, or a kernel with a stricter bpf_jit_harden / unprivileged_bpf_disabled setting) may not expose kernel addresses${leak === 'as return value' ? ' — or the program returns a pointer where its type expects a verdict or number' : ''}`,
        fix: leak === 'as return value'
          ? 'return a number (the verdict or 0), not the pointer; load with CAP_BPF + CAP_PERFMON (or root) if the program is meant to see pointers'
          : 'store or compare a number derived from it (a field read through the pointer, a flag), not the pointer itself; or load the program with CAP_BPF + CAP_PERFMON (root)',
        brief: leak ? 'a pointer written where user space can read it: store a value, or load with CAP_PERFMON' : 'pointer comparison needs CAP_PERFMON: compare values, or load as root',
        snippet: '__u64 v = p->field;                 /* a value, not the pointer */\nbpf_map_update_elem(&out, &key, &v, BPF_ANY);',
      };
    },
  },
  {
    cls: 'ctx-write',
    // check_mem_access: packet writes outside the types that may change the packet; read-only maps (.rodata, BPF_F_RDONLY_PROG)
    re: /cannot write into packet|the prog does not allow writes to packet data|write into map forbidden, value_size=(\d+) off=(\d+) size=(\d+)|cannot write into map|only read from bpf_array is supported|R(\d+) invalid rdonly buf access/,
    read: (m) => {
      if (/packet/.test(m[0])) {
        return {
          why: 'the program writes packet data, and its program type may only read the packet: socket filters, cgroup_skb, sk_skb verdicts on some kernels, flow dissectors and tracing programs cannot change packet bytes (XDP, tc, lwt_xmit and sk_skb can)',
          fix: 'read the bytes (bpf_skb_load_bytes or direct reads) and take the decision by return value; change the packet in an XDP or tc program instead (bpf_skb_store_bytes / direct writes there)',
          brief: 'this program type may not write the packet: change it in an XDP or tc program',
          snippet: '__u8 b;\nif (bpf_skb_load_bytes(ctx, off, &b, 1))   /* read here; rewrite bytes in an XDP or tc program */\n        return XDP_PASS;',
        };
      }
      return {
        why: `the program writes into read-only memory ("${m[0]}"): a const or const volatile global (its .rodata map is frozen: user space sets it before load, the program only reads it), a map created with BPF_F_RDONLY_PROG, or a read-only buffer the kernel lends (iterators)`,
        fix: 'keep values the program changes in a writable global (no const: .data/.bss) or a map without BPF_F_RDONLY_PROG; set const volatile globals from user space before loading (skel->rodata->x = …)',
        brief: 'a write to read-only memory (.rodata / BPF_F_RDONLY_PROG): drop const, or use a writable map',
        snippet: 'const volatile __u32 port = 0;   /* set by user space before load; read only */\n__u64 seen = 0;                  /* .bss: the program may write it */',
      };
    },
  },
  {
    cls: 'ctx-modified',
    re: /variable ctx access var_off=(\([^)]*\)|\S+) disallowed/,
    read: (m) => ({
      why: `the program reads the context at an offset that is not a constant (var_off=${m[1]}): an index into ctx, or a ctx pointer moved by a variable. The verifier rewrites only loads of the form *(ctx + constant) into the kernel's real field access`,
      fix: 'read each context field by name (ctx->field, a constant offset); for an argument chosen at run time, branch on the index and read each field in its own branch (or use bpf_get_func_arg() in fentry)',
      brief: 'context fields only at constant offsets: read ctx->field by name',
      snippet: '__u64 a = idx == 0 ? ctx->args[0] : ctx->args[1];   /* constant offsets */',
    }),
  },
  {
    cls: 'map-value-bounds',
    re: /invalid variable-offset (?:indirect access to|read from|write to) stack R(\d+) var_off=(\S+)|variable stack access var_off=(\S+)|R(\d+) unbounded indirect variable offset stack access|invalid unbounded variable-offset (?:indirect access to|read from|write to) stack R(\d+)|invalid access to flow keys off=(-?\d+) size=(\d+)/,
    read: (m) => ({
      why: /flow keys/.test(m[0])
        ? `the program reads struct bpf_flow_keys at offset ${m[6]}+${m[7]}, outside the struct: flow dissector programs reach it only at constant offsets inside it`
        : `a stack buffer is indexed by a value whose range the verifier cannot bound (${m[0]}): stack access at a variable offset is allowed only when every possible offset stays inside the buffer (kernels before 5.8 refuse variable-offset stack access for helper arguments altogether, and unprivileged loaders always)`,
      fix: 'bound the index right before the access (idx &= SIZE - 1 with a power-of-two buffer, or if (idx >= SIZE) return), or keep the buffer in a per-CPU array map whose value the index may address',
      brief: 'bound the stack index right before the access (idx &= SIZE - 1), or use a map buffer',
      snippet: 'char buf[64];\n__u32 i = idx & 63;              /* 0..63: inside buf */\nbuf[i] = c;',
    }),
  },
  {
    cls: 'helper-not-allowed',
    re: /program must be sleepable to call sleepable kfunc (\w+)|helper call might sleep in a non-sleepable prog|sleepable helper (\w+)#\d+ in non-sleepable prog|BPF_LD_\[ABS\|IND\] instructions not allowed for this program type|cannot update sockmap in this context|bpf_timer_init is not allowed|(\w+) is not allowed in non-sleepable/,
    read: (m) => {
      if (/LD_\[ABS/.test(m[0])) {
        return {
          why: 'the program uses the classic packet-load instructions (BPF_LD_ABS/IND, what load_byte()/load_half() and cBPF-style code compile to), which only socket filters and tc programs may use',
          fix: 'read the packet with direct access (data/data_end with a bounds check), or with bpf_skb_load_bytes() in tc, socket-filter and cgroup_skb programs (bpf_xdp_load_bytes() in XDP)',
          brief: 'no load_byte()/LD_ABS here: use direct packet access or bpf_skb_load_bytes()',
          snippet: '__u8 proto;\nbpf_skb_load_bytes(ctx, 23, &proto, 1);',
        };
      }
      if (/sleep/.test(m[0])) {
        const fn = m[1] ?? m[2] ?? m[3] ?? 'the call';
        return {
          why: `${fn} may sleep (it can fault in user memory or take a sleeping lock), and only sleepable programs may call it: fentry.s/fexit.s, lsm.s, uprobe.s, iter.s and syscall programs (kernels 5.10+; kprobes, XDP and tc never sleep)`,
          fix: `load the program as sleepable — SEC("lsm.s/…"), SEC("fentry.s/…"), SEC("uprobe.s/…") — or use the non-sleeping variant (bpf_probe_read_user instead of bpf_copy_from_user)`,
          brief: `${fn} may sleep: make the program sleepable (SEC("fentry.s/…"), "lsm.s/…") or use a non-sleeping helper`,
          snippet: 'SEC("lsm.s/file_open")                 /* .s: sleepable */\nint BPF_PROG(on_open, struct file *f)',
        };
      }
      return {
        why: `the call is not allowed where the program makes it ("${m[0]}"): the helper exists, but the kernel allows it only in certain program types or contexts`,
        fix: 'call it from a program type (or callback) that may use it; the helper\'s documentation (man bpf-helpers) lists them',
        brief: 'the helper is not allowed in this program or context',
        snippet: '/* man 7 bpf-helpers: the program types each helper serves */',
      };
    },
  },
  {
    cls: 'reference-leak',
    // process_spin_lock and check_ld/exit inside a lock: a bpf_spin_lock is a resource held like a reference
    re: /function calls are not allowed while holding a lock|bpf_spin_unlock without taking a lock|bpf_spin_unlock is missing|BPF_EXIT instruction (?:in main prog )?cannot be used inside bpf_spin_lock-ed region|bpf_spin_unlock of different lock|Locking two bpf_spin_locks are not allowed|bpf_spin_lock at off=\d+ must be held for bpf_list_head/,
    read: (m) => ({
      why: `a bpf_spin_lock is held wrongly ("${m[0]}"): between bpf_spin_lock() and bpf_spin_unlock() the program may not call helpers or functions, exit, or take a second lock, and every path that takes the lock must release it (kernels 5.1+; later kernels allow a few kfuncs inside)`,
      fix: 'keep the locked section to plain loads and stores on the locked map value: read or compute everything before bpf_spin_lock(), update the fields, bpf_spin_unlock() on every path, then call helpers',
      brief: 'nothing but loads/stores between bpf_spin_lock() and bpf_spin_unlock(), unlocked on every path',
      snippet: '__u64 now = bpf_ktime_get_ns();        /* helpers before the lock */\nbpf_spin_lock(&v->lock);\nv->last = now;\nv->count++;\nbpf_spin_unlock(&v->lock);',
    }),
  },
  {
    cls: 'stack',
    re: /cannot return stack pointer to the caller/,
    read: () => ({
      why: 'a function returns a pointer into its own stack frame: the frame is gone once it returns, so the caller would read freed stack',
      fix: 'let the caller own the memory: pass a pointer to the caller\'s buffer in, or return the value itself',
      brief: 'do not return a pointer to a local: pass the caller\'s buffer in',
      snippet: 'static __noinline int fill(struct hdr *out)   /* the caller\'s buffer */',
    }),
  },
  {
    cls: 'insn-unsupported',
    re: /jump out of range from insn (\d+) to (-?\d+)|last insn is not an exit or jmp|unreachable insn (\d+)|call to invalid destination|invalid (?:bpf_ld_imm64|BPF_LD_IMM) insn|unrecognized bpf_ld_imm64 insn/,
    read: (m) => ({
      why: `the instruction stream is not a complete program ("${m[0]}"): a call or jump to code the loader did not link in (a function in another object or section, a bpf-to-bpf call on a loader too old to append subprograms), an instruction the loader did not relocate, or dead code the verifier refuses${/unreachable/.test(m[0]) ? ' (older kernels, and unprivileged loaders, refuse unreachable instructions that the compiler left in)' : ''}`,
      fix: 'link every function the program calls into the same object (bpftool gen object, or one .c with static functions), load with a current loader (libbpf, cilium/ebpf, aya), and rebuild with -O2; do not load a single ELF section by hand when it calls functions in .text',
      brief: 'the program calls or jumps to code the loader did not link in: one object, a current loader',
      snippet: 'static __always_inline int parse(struct xdp_md *ctx) { ... }   /* same object: linked in */',
      confidence: /unreachable/.test(m[0]) ? 0.6 : 0.8,
    }),
  },
  {
    cls: 'return-range',
    re: /At callback return the register R0 has ([^\n]*?) should have been (?:in )?([^\n]+)/,
    read: (m) => ({
      why: `a callback (bpf_loop, bpf_for_each_map_elem, a timer or rbtree callback) can return ${m[1]}, but its caller accepts only ${m[2]}: for bpf_loop and bpf_for_each_map_elem, 0 means continue and 1 stop`,
      fix: `return only ${m[2]} from the callback (return 0 to go on, 1 to stop)`,
      brief: `the callback must return ${m[2]}`,
      snippet: 'static long step(__u32 i, void *ctx)\n{\n        return 0;                  /* 0: continue, 1: stop */\n}',
    }),
  },
];

/** The reading of the first row of class cls whose message the text holds, or null. */
export function messageReading(cls: string, text: string): Match | null {
  for (const r of MESSAGES) {
    if (r.cls !== cls) continue;
    const m = r.re.exec(text);
    if (m) return r.read(m);
  }
  return null;
}

/** The first row whose message appears anywhere in the input (a log pasted on one line, a message inside a tool's error), with its class; null when none. */
export function messageAnywhere(raw: string): { cls: string; match: Match } | null {
  for (const r of MESSAGES) {
    const m = r.re.exec(raw);
    if (m) return { cls: r.cls, match: r.read(m) };
  }
  return null;
}
