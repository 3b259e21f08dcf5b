/**
 * What the loader said around (or instead of) the verifier's log: libbpf, cilium/ebpf, aya,
 * bpftrace and bcc print their own error lines — a CO-RE relocation that found no target, BTF
 * the kernel refused, a map it could not create, an extern it could not resolve. Those lines name
 * the cause in their own words; the explainer quotes them.
 */
import { kfuncSince } from './helpers.js';

export type Loader = 'libbpf' | 'cilium/ebpf' | 'aya' | 'bpftrace' | 'bcc' | 'kernel';

export interface LoaderLine {
  tool: Loader;
  /** the line as printed, trimmed */
  text: string;
}

/** Error lines, one pattern per tool; informational lines (libbpf's "loading", "found program") are not errors. */
const ERROR_LINES: Array<{ tool: Loader; re: RegExp }> = [
  { tool: 'libbpf', re: /^libbpf: .*(?:fail|error|invalid|not found|no matching|unsupported|doesn't support|not supported|-E[A-Z]+|\(-\d+\)|: -\d+|cannot|can't|unknown|unrecognized|missing|mismatch|bad map relo|couldn't|legacy)/i },
  { tool: 'cilium/ebpf', re: /(?:^|: )(?:field \w+: )?program \w+: (?:load program|apply CO-RE relocations|fixup|load BTF|reference)[^\n]*|(?:^|: )map \w+: [^\n]*(?:create|pin)[^\n]*|(?:loading objects|load \w+ objects): [^\n]+/ },
  { tool: 'aya', re: /\b(?:BtfRelocationError|RelocationError|MapError|ProgramError|BtfError|LoadError|ParseError)\b[^\n]*|BTF error: [^\n]*|the BPF_(?:PROG|BTF)_LOAD syscall failed[^\n]*|error relocating [^\n]+/ },
  { tool: 'bpftrace', re: /^(?:stdin|[\w./-]+\.bt):\d+:\d+-?\d*: ERROR: [^\n]+|^ERROR: [^\n]+/ },
  { tool: 'bcc', re: /^bpf: Failed to load program: [^\n]+|^Exception: Failed to (?:load|compile|attach)[^\n]+|^could not open bpf map[^\n]*|^bpf_prog_load\w*\(\)[^\n]*/ },
];

/** The loader's error lines in the input, in order (at most 8). */
export function loaderLines(raw: string): LoaderLine[] {
  const out: LoaderLine[] = [];
  for (const line of raw.split('\n')) {
    const l = line.trim().replace(/^\S+\s+\S+\s+\S+\[\d+\]:\s+/, ''); // a journal prefix
    for (const { tool, re } of ERROR_LINES) {
      const m = re.exec(l);
      if (m) {
        out.push({ tool, text: (tool === 'libbpf' || tool === 'bcc' || tool === 'bpftrace' ? l : m[0]).trim() });
        break;
      }
    }
    if (out.length >= 8) break;
  }
  return out;
}

export interface LoaderCause {
  /** the line that says it */
  quote: string;
  tool: Loader;
  why: string;
  fix: string;
  brief: string;
  snippet: string;
  /** what the cause is about, for facts */
  kind: 'core-reloc' | 'btf' | 'map' | 'extern' | 'section' | 'attach-target' | 'kernel-btf' | 'permission' | 'pinned-map' | 'legacy-map' | 'global-data' | 'object' | 'attach' | 'other';
}

/**
 * Loader messages that name their cause outright (libbpf's pr_warn lines, cilium/ebpf's errors), one
 * row each: tried after the readings above, which need more of the log.
 */
const LOADER_MESSAGES: Array<{ re: RegExp; kind: LoaderCause['kind']; why: (m: RegExpExecArray) => string; fix: string; brief: string; snippet: string }> = [
  {
    re: /legacy map definitions in '?maps'? section are not supported/,
    kind: 'legacy-map',
    why: () => 'the object declares its maps the legacy way (struct bpf_map_def in SEC("maps")), which libbpf 1.0 and later no longer read; such maps also carry no BTF for their key and value (what bpf_spin_lock, bpf_timer and kptrs need)',
    fix: 'declare maps the BTF way in SEC(".maps") (struct { __uint(type, …); __uint(max_entries, …); __type(key, …); __type(value, …); } name SEC(".maps");) and compile with clang -g',
    brief: 'legacy SEC("maps") map definitions: declare BTF-defined maps in SEC(".maps")',
    snippet: 'struct {\n        __uint(type, BPF_MAP_TYPE_HASH);\n        __uint(max_entries, 1024);\n        __type(key, __u32);\n        __type(value, __u64);\n} counts SEC(".maps");',
  },
  {
    re: /Couldn't load trivial BPF program|Failed to bump RLIMIT_MEMLOCK|load program: operation not permitted|MEMLOCK may be too low|failed to load program: Operation not permitted/i,
    kind: 'permission',
    why: (m) => `the kernel refused the load before verifying anything ("${m[0]}"): the process lacks the privilege to load BPF (CAP_BPF + CAP_PERFMON, CAP_NET_ADMIN for network types, or root; kernel.unprivileged_bpf_disabled, lockdown, or a container's seccomp/capabilities), or — on kernels before 5.11, which charge BPF memory to RLIMIT_MEMLOCK — the locked-memory limit is too low`,
    fix: 'run as root or grant CAP_BPF + CAP_PERFMON (CAP_NET_ADMIN for network types; CAP_SYS_ADMIN before 5.8); on kernels before 5.11 raise RLIMIT_MEMLOCK (ulimit -l unlimited; cilium/ebpf: rlimit.RemoveMemlock(); libbpf 1.0 does it itself); in containers add the capabilities (or --privileged)',
    brief: 'no permission to load BPF: root / CAP_BPF, and RLIMIT_MEMLOCK before 5.11',
    snippet: 'struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };\nsetrlimit(RLIMIT_MEMLOCK, &r);            /* kernels before 5.11 */',
  },
  {
    re: /couldn't reuse pinned map at '([^']+)': parameter mismatch|map '([\w.]+)': error reusing pinned map|use pinned map \w+: [^\n]*(?:mismatch|incompatible)/,
    kind: 'pinned-map',
    why: (m) => `a map of the same name is already pinned${m[1] ? ` at ${m[1]}` : ''} (left by an earlier version of the program, or by another program), and its type, key/value size, max_entries or flags differ from this object's definition, so the loader will not reuse it`,
    fix: "remove the stale pin (rm the map's file under /sys/fs/bpf; bpftool map show compares them) and load again, or give the changed map another name; change a pinned map's definition only together with a migration",
    brief: 'a pinned map with another definition is in the way: remove the old pin or rename the map',
    snippet: 'rm /sys/fs/bpf/tc/globals/counts          # the stale pin; the loader creates it anew',
  },
  {
    re: /kernel doesn't support global data/,
    kind: 'global-data',
    why: () => 'the program uses global variables or constants (.data, .bss, .rodata: also string literals passed to helpers), which need Linux 5.2+: this kernel has no global data',
    fix: 'on this kernel keep state in an explicitly declared array map and constants on the stack (char fmt[] = "…" inside the function), or run Linux 5.2+',
    brief: 'global data needs Linux 5.2+: use a map and stack constants here',
    snippet: 'char fmt[] = "pid %d\\n";                 /* on the stack: no .rodata */\nbpf_trace_printk(fmt, sizeof(fmt), pid);',
  },
  {
    re: /map '([\w.]+)': unknown field '(\w+)'|map '([\w.]+)': unsupported map linkage|bad map relo against '([\w.]+)' in section '([\w.]+)'|failed to find BTF info for global\/extern symbol '([\w.]+)'/,
    kind: 'object',
    why: (m) => m[2]
      ? `map '${m[1]}' uses the field '${m[2]}' in its BTF definition, which this libbpf does not know: the headers (bpf_helpers.h) are newer than the libbpf that loads the object`
      : `the loader could not make sense of the object ("${m[0]}"): a map or global it refers to is declared in a way this loader does not handle — a static or non-.maps global, a section it does not turn into a map, or an object built with headers of another libbpf version`,
    fix: 'build and load with the same libbpf release (bpf_helpers.h and the library together; a vendored libbpf submodule helps), declare maps in SEC(".maps") and globals as plain (non-static) variables, and compile with clang -g -O2',
    brief: 'the object does not fit this libbpf: build and load with the same libbpf release',
    snippet: '#include <bpf/bpf_helpers.h>               /* from the libbpf that loads the object */',
  },
  {
    re: /struct_ops init_kern: struct (\w+) is not found in kernel BTF/,
    kind: 'attach-target',
    why: (m) => `the object implements struct_ops struct ${m[1]}, which this kernel does not have: struct_ops types come with the kernel release (tcp_congestion_ops 5.6+, sched_ext_ops 6.12+) or with a module that must be loaded`,
    fix: "run a kernel that has the struct (bpftool btf dump file /sys/kernel/btf/vmlinux | grep it), load the module that provides it, or build against that kernel's vmlinux.h",
    brief: 'this kernel does not have the struct_ops type the object implements',
    snippet: 'bpftool btf dump file /sys/kernel/btf/vmlinux | grep -w sched_ext_ops',
  },
  {
    re: /elf: failed to open ([^\s:]+)|failed to get EHDR|is not a valid eBPF object file/,
    kind: 'object',
    why: (m) => `the loader could not read the object file ("${m[0]}"): the path is wrong, or the file is not an eBPF ELF object (built for the host instead of -target bpf, or a file of another kind)`,
    fix: 'check the path the program opens, and build the object with clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o',
    brief: 'the BPF object file is missing or not a BPF ELF object',
    snippet: 'clang -O2 -g -target bpf -c prog.bpf.c -o prog.bpf.o\nfile prog.bpf.o          # ELF 64-bit LSB relocatable, eBPF',
  },
  {
    re: /failed to (?:create BPF link|attach)[^\n]*|failed to determine tracepoint '([^']+)' perf event ID[^\n]*|failed to create (?:probe|kprobe|uprobe)[^\n]*/i,
    kind: 'attach',
    why: (m) => `the program loaded, and attaching it failed ("${m[0]}"): the hook does not exist on this kernel — a kernel function renamed, inlined or absent (kprobe), a tracepoint of another name (tracepoint), a binary or symbol the uprobe names — or the attach needs a privilege or mode the process lacks`,
    fix: 'check the hook exists here: grep the function in /proc/kallsyms (kprobe), ls /sys/kernel/tracing/events/<category>/ (tracepoint), nm the binary (uprobe); attach to the name this kernel uses, or make the attach optional',
    brief: 'the attach point does not exist on this kernel: check kallsyms / tracing events',
    snippet: 'grep -w do_sys_openat2 /proc/kallsyms\nls /sys/kernel/tracing/events/syscalls/ | grep openat',
  },
];


/** BTF kinds by number, with their name and first kernel (include/uapi/linux/btf.h). */
const BTF_KINDS: Record<number, [string, string]> = {
  12: ['FUNC', '4.20'], 13: ['FUNC_PROTO', '4.20'], 14: ['VAR', '5.2'], 15: ['DATASEC', '5.2'], 16: ['FLOAT', '5.13'],
  17: ['DECL_TAG', '5.16'], 18: ['TYPE_TAG', '5.17'], 19: ['ENUM64', '6.0'],
};

/** The first loader line whose cause afxdp can name; null when the loader said nothing it knows. */
export function loaderCause(raw: string): LoaderCause | null {
  const lines = loaderLines(raw);
  // the kernel's BTF check, which libbpf and others print under "Error loading BTF"
  const btfKernel = /^\[\d+\] [A-Z_]+ [^\n]*(?:Invalid|Unsupported|unknown)[^\n]*|^\[\d+\] Invalid kind:\d+|Unsupported BTF_KIND:?\s*\d*|Invalid btf_info kind_flag|btf_header not found|Invalid (?:name|func linkage|type_id|member|arg#\d+)/m.exec(raw);
  // the kernel's dump of the object's BTF ("magic: 0xeb9f") ending in a complaint: the BTF was refused
  const btfDump = /magic: 0xeb9f/.test(raw) && btfKernel;
  const kind = /Invalid kind:(\d+)|Unsupported BTF_KIND:?\s*(\d+)/.exec(raw);
  for (const l of lines) {
    const t = l.text;
    if (/CO-RE relocation|relo #\d+: (?:no matching targets|failed|target candidate search failed)|apply CO-RE relocations|BtfRelocationError|relocating [^\n]*CO-RE|<invalid CO-RE relocation>/.test(t)) {
      return {
        quote: t, tool: l.tool, kind: 'core-reloc',
        why: `the loader could not fit a CO-RE access to the running kernel's types ("${t}"): the field or type the program reads does not exist under that name in this kernel's BTF (renamed, moved, or compiled out), so the loader poisoned the instruction instead of guessing an offset`,
        fix: 'guard the access with bpf_core_field_exists() / bpf_core_type_exists() and read the field under its name in this kernel (a ___suffix flavour struct for the older or newer layout); regenerate vmlinux.h from the target kernel (bpftool btf dump file /sys/kernel/btf/vmlinux format c)',
        brief: 'a CO-RE relocation found no such field in this kernel: guard it with bpf_core_field_exists() or read the field under its name here',
        snippet: 'if (bpf_core_field_exists(task->loginuid))       /* this kernel has the field */\n        uid = BPF_CORE_READ(task, loginuid.val);\nelse\n        uid = (__u32)-1;',
      };
    }
    if (/failed to find valid kernel BTF|vmlinux BTF is not found|kernel BTF is missing|BTF is required, but is missing|failed to find kernel BTF|no BTF found for kernel/i.test(t)) {
      // the kernel's own preloaded iterators (CONFIG_BPF_PRELOAD) fail the same way at boot
      const preload = /iterators_bpf/.test(raw);
      return {
        quote: t, tool: l.tool, kind: 'kernel-btf',
        why: `the loader found no kernel BTF it can read ("${t}"). Two causes: the kernel exposes none (/sys/kernel/btf/vmlinux is missing: built without CONFIG_DEBUG_INFO_BTF${preload ? '; here the kernel\'s own preloaded BPF iterators, CONFIG_BPF_PRELOAD, need it at boot' : ''}), or it has one that this loader is too old to parse (newer kernels add BTF kinds and flags; libbpf then fails the same way)`,
        fix: `check ls /sys/kernel/btf/vmlinux: if it exists, update the loader (libbpf, libbpf-rs/libbpf-sys, bpftool, cilium/ebpf) to a release that reads this kernel's BTF; if it does not, run a kernel built with CONFIG_DEBUG_INFO_BTF=y${preload ? ' (or build without CONFIG_BPF_PRELOAD)' : ''}, or ship the kernel's BTF (BTFHub, bpftool gen min_core_btf) and hand it to the loader (libbpf: btf_custom_path; cilium/ebpf: KernelTypes)`,
        brief: 'no kernel BTF the loader can read: update the loader if /sys/kernel/btf/vmlinux exists, else a BTF-enabled kernel or a BTF file',
        snippet: 'ls /sys/kernel/btf/vmlinux                        # missing: CONFIG_DEBUG_INFO_BTF is off\nLIBBPF_OPTS(bpf_object_open_opts, o, .btf_custom_path = "/path/to/vmlinux.btf");',
      };
    }
    const target = /(?:\S+\/)?(\w+) is not found in vmlinux BTF|failed to find kernel BTF type ID of '(\w+)'|attach_btf_id \d+ is not a function|The address of function (\w+) cannot be found/.exec(t);
    if (target) {
      const fn = target[1] ?? target[2] ?? target[3] ?? 'the function';
      return {
        quote: t, tool: l.tool, kind: 'attach-target',
        why: `the program attaches by BTF (fentry/fexit, fmod_ret, LSM, tp_btf) to ${fn}, and the kernel's BTF has no such function ("${t}"): it lives in a module (module BTF needs 5.11+ and a loader that searches it; earlier only vmlinux had BTF), the compiler inlined or renamed it in this build (e.g. a .isra/.constprop copy), or this kernel version does not have it`,
        fix: `check it: bpftool btf dump file /sys/kernel/btf/vmlinux | grep "'${fn}'" (and /sys/kernel/btf/<module>); attach to a function this kernel has, use a kprobe (works for inlined-away and module symbols in kallsyms), or a kernel/loader with module BTF`,
        brief: `${fn} is not in this kernel's BTF: attach elsewhere or use a kprobe`,
        snippet: `SEC("kprobe/${fn}")                       /* kallsyms symbol, no BTF needed */\nint BPF_KPROBE(on_call)`,
      };
    }
    const undescribed = /failed to find BTF for extern '([\w.]+)'/.exec(t);
    if (undescribed) {
      // libbpf finds no BTF for a symbol the object calls but never defines and never declares
      // __ksym/__kconfig: not a kernel function at all, usually a C-library call or a missing header
      const fn = undescribed[1]!;
      const endian = /^(?:bpf_)?(?:hton|ntoh)[sl]$/.test(fn);
      const clang = fn.startsWith('llvm.');
      return {
        quote: t, tool: l.tool, kind: 'extern',
        why: `the program calls ${fn}, which nothing in the BPF object defines and which is not declared as a kernel function (__ksym), so libbpf has no BTF for it ("${t}"): ${endian ? `${fn} is a byte-order macro of libbpf's bpf/bpf_endian.h (bpf_htons, bpf_ntohl, …), and without that header the compiler took it for an external function` : clang ? 'an llvm.* name is a compiler intrinsic this clang left as a call: the compiler is too old for the code (or the headers came from a newer one)' : `a BPF program runs in the kernel and cannot call C-library or other user-space functions (${fn} is not a BPF helper or kfunc); do that work in user space and pass data through a map`}`,
        fix: endian
          ? `#include <bpf/bpf_endian.h> and use bpf_htons/bpf_ntohs/bpf_htonl/bpf_ntohl (not the libc ${fn.replace(/^bpf_/, '')})`
          : clang
            ? 'build with a newer clang (or the one the project documents), matching the headers it uses'
            : 'remove the call from the BPF program: use a BPF helper or kfunc if one does the job (bpf_ktime_get_ns for clock_gettime, bpf_get_smp_processor_id / a map set from user space for CPU counts), otherwise do it in the user-space part',
        brief: endian ? 'include <bpf/bpf_endian.h> and use bpf_htons()' : clang ? 'the clang is too old for this code' : `${fn} is a user-space function: a BPF program cannot call it`,
        snippet: endian ? '#include <bpf/bpf_endian.h>\n...\nif (eth->h_proto != bpf_htons(ETH_P_IP))\n        return XDP_PASS;' : '__u64 now = bpf_ktime_get_ns();   /* a helper, instead of a libc call */',
      };
    }
    if (/failed to (?:find|resolve) (?:BTF for )?(?:extern|ksym)|extern \(\w+ ksym\) '\w+': not found|failed to find kernel symbol|resolve ksym/i.test(t)) {
      const kf = /'(\w+)'/.exec(t)?.[1];
      const since = kf ? kfuncSince(kf) : null;
      return {
        quote: t, tool: l.tool, kind: 'extern',
        why: `the program declares an extern (a kfunc, a __ksym variable or a Kconfig value) that the running kernel does not have ("${t}"): ${since ? `${kf} is a kfunc of Linux ${since}+, so this kernel is older (or built without it)` : 'it exists only in newer kernels, or in a kernel built with other options'}`,
        fix: `declare it __weak and test it before use (if (bpf_ksym_exists(fn)) / if (&sym)), or require the kernel version that has it${since ? ` (Linux ${since}+)` : ''}`,
        brief: 'an extern (kfunc/ksym) this kernel lacks: declare it __weak and test bpf_ksym_exists()',
        snippet: 'extern int bpf_foo(struct task_struct *t) __ksym __weak;\n...\nif (bpf_ksym_exists(bpf_foo))\n        bpf_foo(task);',
      };
    }
    if (/Error loading (?:\.BTF|BTF)|BTF load|load BTF|loading BTF|BtfError|BTF error|BPF_BTF_LOAD|failed to load BTF/i.test(t) || (btfKernel && /BTF/i.test(t)) || btfDump) {
      if (kind) {
        const k = Number(kind[1] ?? kind[2]);
        const since = BTF_KINDS[k];
        return {
          quote: `${t} — ${kind[0]}`, tool: l.tool, kind: 'btf',
          why: `the kernel refused the object's BTF: it does not know BTF kind ${k}${since ? ` (${since[0]}, added in Linux ${since[1]})` : ''} ("${kind[0]}"); the compiler or the tool that generated the program emitted type information newer than this kernel`,
          fix: `use a loader or tool version that leaves out (or rewrites) BTF kinds this kernel lacks — libbpf sanitizes them for old kernels, and tools that emit their own BTF (bpftrace, aya) fixed this in later releases or need an older release for this kernel — or run Linux ${since ? since[1] : 'newer'}+`,
          brief: `BTF kind ${k}${since ? ` (${since[0]})` : ''} is newer than this kernel: a loader/tool that sanitizes BTF, or Linux ${since ? since[1] : 'newer'}+`,
          snippet: `bpftool btf dump file prog.bpf.o | grep -c ${since ? since[0] : 'KIND'}     # the kinds the object carries`,
        };
      }
      const arg = /\[\d+\] FUNC (\w+) type_id=\d+ Invalid arg#(\d+)/.exec(raw);
      if (arg) {
        return {
          quote: `${t} — ${arg[0]}`, tool: l.tool, kind: 'btf',
          why: `the kernel refused the object's BTF before verifying any instruction: the prototype of ${arg[1]} has an argument ${arg[2]} the kernel's BTF check rejects ("${arg[0]}"): an argument with a type but no name, or of a type it does not accept — BTF the compiler or loader emitted incompletely (the loader must fix up or drop such prototypes for the kernel)`,
          fix: 'update the loader (libbpf and aya sanitize function prototypes for the kernel), or give every argument of BPF functions a name and a plain type; the verifier has not looked at the program yet',
          brief: `the kernel refused the BTF prototype of ${arg[1]} (arg #${arg[2]}): update the loader or name the argument`,
          snippet: 'int BPF_PROG(syslog_audit, int type, int ret_prev)   /* every argument named */',
        };
      }
      return {
        quote: btfKernel ? `${t} — ${btfKernel[0].trim()}` : t, tool: l.tool, kind: 'btf',
        why: `the kernel refused the object's BTF (type information) before verifying any instruction ("${btfKernel ? btfKernel[0].trim() : t}"): the compiler emitted BTF kinds or flags newer than this kernel knows (e.g. DECL_TAG, TYPE_TAG, ENUM64, FLOAT, or function linkage added in 5.x-6.x), or the BTF is malformed`,
        fix: 'load with a libbpf new enough to sanitize BTF for old kernels (libbpf 0.6+ rewrites unknown kinds), or compile with a clang whose BTF the kernel knows; upgrade the kernel for the BTF features you need; the verifier has not looked at the program yet',
        brief: 'the kernel refused the BTF (kinds newer than the kernel): use a newer libbpf that sanitizes it, or an older clang, or a newer kernel',
        snippet: 'bpftool btf dump file prog.bpf.o | head                     # the kinds in the object\nclang -g -O2 -target bpf ...                               # a newer libbpf sanitizes them',
      };
    }
    if (/map '?[\w.]+'?: failed to create|failed to create map|Error in bpf_create_map|map \w+: create|MapError|creating map|map create/i.test(t)) {
      const perm = /Operation not permitted|EPERM|\(-1\)|permission/i.test(t);
      return {
        quote: t, tool: l.tool, kind: 'map',
        why: perm
          ? `the loader could not create a map ("${t}"): the process lacks the privilege (CAP_BPF/CAP_SYS_ADMIN) or, on kernels before 5.11, the locked-memory limit (RLIMIT_MEMLOCK) is too low for the map`
          : `the loader could not create a map ("${t}"): the kernel refuses its definition — a map type newer than the kernel (ring buffers need 5.8, task/inode storage 5.10-5.11, arena 6.9 …), a flag it lacks, or a missing or wrong size (max_entries, key_size, value_size: a STACK_TRACE map needs a value_size of depth × 8) — so the program is never verified`,
        fix: perm
          ? 'run as root or with CAP_BPF (+CAP_PERFMON/CAP_NET_ADMIN as the program type needs); on kernels before 5.11 raise RLIMIT_MEMLOCK (ulimit -l unlimited, or setrlimit before loading; libbpf 1.0 does it)'
          : 'check the map definition against the running kernel: declare max_entries and the key/value sizes the map type needs; bpftool feature probe lists the map types the kernel has — use an older type (perf event array instead of ring buffer) or a newer kernel',
        brief: perm ? 'map creation not permitted: run with CAP_BPF/root; before 5.11 raise RLIMIT_MEMLOCK' : 'a map type, flag or size this kernel does not accept',
        snippet: perm ? 'struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };\nsetrlimit(RLIMIT_MEMLOCK, &r);            /* kernels before 5.11 charge maps to memlock */' : 'bpftool feature probe | grep map_type',
      };
    }
    if (/failed to guess program type|unrecognized ELF section|program type not supported|unknown section|no programs found|missing BPF prog type|can't guess/i.test(t)) {
      // the loader often lists what it knows: name the ones the wrong section is the start of
      const wrong = /section '([^']+)'/.exec(t)?.[1];
      const known = /supported section\(type\) names are: ([^\n]+)/.exec(raw)?.[1]?.split(/\s+/) ?? [];
      const near = wrong ? known.filter((k) => k.replace(/\+$/, '').startsWith(wrong) && k !== wrong).slice(0, 3) : [];
      if (near.length) {
        return {
          quote: t, tool: l.tool, kind: 'section',
          why: `the loader cannot tell the program type from the ELF section name '${wrong}' ("${t}"); it knows ${near.map((n) => `'${n}'`).join(', ')}, which name the same hook with its address family or variant`,
          fix: `name the section ${near.map((n) => `SEC("${n.replace(/\+$/, '')}")`).join(' or ')}`,
          brief: `unknown section '${wrong}': use ${near.map((n) => n.replace(/\+$/, '')).join(' or ')}`,
          snippet: `SEC("${near[0]!.replace(/\+$/, '')}")`,
        };
      }
      return {
        quote: t, tool: l.tool, kind: 'section',
        why: `the loader cannot tell the program type from the ELF section name ("${t}"): the SEC() name is not one it knows (a typo, or a section prefix newer than this loader)`,
        fix: 'use a section name the loader knows (SEC("xdp"), SEC("tc"), SEC("kprobe/<fn>"), SEC("tracepoint/<cat>/<name>"), SEC("fentry/<fn>") …), or set the type explicitly (bpf_program__set_type) before loading',
        brief: 'the SEC() name is not one the loader knows: fix the section name or set the program type',
        snippet: 'SEC("xdp")\nint prog(struct xdp_md *ctx)',
      };
    }
    for (const r of LOADER_MESSAGES) {
      const m = r.re.exec(t);
      if (m) return { quote: t, tool: l.tool, kind: r.kind, why: r.why(m), fix: r.fix, brief: r.brief, snippet: r.snippet };
    }
  }
  return null;
}
