/** Calls and helpers: which helpers and kfuncs a program may call, their arguments, references they hand out, and what the program returns. Classes of the table in classes.ts. */
import { helperById, LAST_HELPER_ID, TRACING_HELPERS } from '../helpers.js';
import { progTypeInfo } from '../progtype.js';
import { pointerKind, readRange, type VerifierClass } from './kit.js';

export const gplOnly: VerifierClass = {
  id: 'gpl-only',
  title: 'GPL-only helper called from a non-GPL program',
  before: 'bpf_printk("queue %u", q);\nchar LICENSE[] SEC("license") = "MIT";',
  detect({ log, text }) {
    if (!/cannot call GPL-restricted function from non-GPL compatible program|cannot call GPL only function from proprietary program/.test(text)) return null;
    const helper = log.insn ? /call ([a-z_0-9]+)#/.exec(log.insn.text)?.[1] : undefined;
    return {
      why: `${helper ?? 'the helper called here'} is exported to GPL-compatible programs only, and the object's SEC("license") string is not one the kernel counts as GPL-compatible`,
      fix: 'declare a GPL-compatible license (e.g. "GPL", "Dual MIT/GPL", "Dual BSD/GPL") if you can, or stop calling the helper (bpf_printk → a ring buffer or counters)',
      brief: 'use a GPL-compatible SEC("license") (e.g. "Dual MIT/GPL") or drop the helper',
      snippet: `char LICENSE[] SEC("license") = "Dual MIT/GPL";`,
      facts: { helper: helper ?? null },
    };
  },
};

export const helperNotAllowed: VerifierClass = {
  id: 'helper-not-allowed',
  title: 'helper or kfunc not available to this program type',
  before: 'bpf_skb_load_bytes(ctx, 0, buf, 4);   /* a tc helper, in XDP */\nbpf_session_is_return();              /* a kprobe-session kfunc, in XDP */',
  detect({ log, progType, text }) {
    const m = /program of this type cannot use helper ([a-z_0-9]+)#(\d+)|unknown func ([a-z_0-9]+)(?:#(\d+))?|calling kernel function (\w+) is not allowed|(helper call is not allowed in probe)/.exec(text);
    if (!m) return null;
    if (m[3] === 'unknown') return null; // "unknown func unknown#N": no name, see helper-unavailable
    if (m[6]) {
      // the helper exists for this type, but its allowed() check limits it to some attach points
      const call = [...log.lines.slice(0, log.messageLine < 0 ? undefined : log.messageLine)].reverse().find((l) => /\(85\) call [a-z_0-9]+#\d+/.test(l));
      const fn = call ? /call ([a-z_0-9]+)#/.exec(call)![1]! : 'the helper';
      const dpath = fn === 'bpf_d_path';
      return {
        why: `${fn} exists for this program type, but the kernel allows it only at some attach points ("helper call is not allowed in probe"): ${dpath ? 'bpf_d_path may be called only from the functions on the kernel\'s allowlist (btf_allowlist_d_path: e.g. vfs_truncate, vfs_fallocate, dentry_open, filp_close, security_file_open and a few other security_* / LSM hooks), because it must run where the path cannot go away' : 'the helper checks the attached function or hook and refuses this one'}`,
        fix: dpath
          ? 'attach to a function or LSM hook on the bpf_d_path allowlist (fentry/fexit on filp_close or vfs_truncate, lsm/file_open …) and take the struct path from there, or build the path yourself by walking dentries with BPF_CORE_READ'
          : `attach the program where ${fn} is allowed (the helper's allowed() check in the kernel source lists them), or do without it here`,
        brief: dpath ? 'bpf_d_path only works on allowlisted functions/hooks: attach to one of them' : `${fn} is not allowed at this attach point`,
        snippet: dpath ? 'SEC("fexit/filp_close")                /* on the bpf_d_path allowlist */\nint BPF_PROG(on_close, struct file *f)\n{\n        char p[256];\n        bpf_d_path(&f->f_path, p, sizeof(p));\n        return 0;\n}' : '/* grep -n "allowed" kernel/trace/bpf_trace.c for the helper\'s attach rules */',
        facts: { helper: fn },
      };
    }
    // ≤4.11 printed the bare number: "unknown func 4"
    const numbered = m[3] && /^\d+$/.test(m[3]) ? helperById(Number(m[3])) : null;
    const name = numbered ? `bpf_${numbered.name}` : (m[1] ?? m[3] ?? m[5] ?? 'the helper');
    const kfunc = m[5] !== undefined;
    const bare = name.replace(/^bpf_/, '');
    const info = progType ? progTypeInfo(progType) : null;
    const typeWords = info ? `${info.label} programs` : 'this program type (the log does not say which it is)';
    const xdpAlt: Record<string, string> = {
      bpf_skb_load_bytes: 'bpf_xdp_load_bytes (or direct packet access)',
      bpf_skb_store_bytes: 'bpf_xdp_store_bytes (or direct packet access)',
      bpf_skb_change_head: 'bpf_xdp_adjust_head',
      bpf_skb_change_tail: 'bpf_xdp_adjust_tail',
      bpf_trace_printk: 'bpf_printk from a GPL program',
    };
    // packet-changing __sk_buff helpers: which types have them, and what a packet reader without them uses
    const skbOnly: Record<string, string> = {
      bpf_skb_pull_data: 'tc (sched_cls/act), sk_skb and lwt programs',
      bpf_skb_store_bytes: 'tc, sk_skb and lwt_xmit programs',
      bpf_skb_change_head: 'tc and sk_skb programs',
      bpf_skb_change_tail: 'tc and sk_skb programs',
      bpf_skb_adjust_room: 'tc and sk_skb programs',
      bpf_l3_csum_replace: 'tc and lwt_xmit programs',
      bpf_l4_csum_replace: 'tc and lwt_xmit programs',
      bpf_clone_redirect: 'tc and lwt_xmit programs',
    };
    // helpers opened to every program type in 6.10 (before: tracing, cgroup and socket-address programs)
    const since610 = /^bpf_get_(ns_)?current_pid_tgid$/.test(name);
    const owners = skbOnly[name];
    const alt = progType === 'xdp' ? xdpAlt[name]
      : owners && progType !== 'tc' ? `bpf_skb_load_bytes() to read packet bytes (${name} exists only for ${owners}; to change packets, move the logic to tc)` : undefined;
    if (!kfunc && TRACING_HELPERS.has(bare)) {
      // a tracing helper: either the wrong program type, or a tracing program the kernel withholds it from
      const withheld = `the kernel withholds it from tracing programs under lockdown (Secure Boot; /sys/kernel/security/lockdown shows [integrity] or [confidentiality]), and the old bpf_probe_read/bpf_probe_read_str on architectures whose kernel and user address spaces overlap (s390): use bpf_probe_read_kernel/bpf_probe_read_user (5.5+), and for lockdown a kernel booted without it`;
      const wrongType = `it reads kernel memory, so only tracing programs (kprobe, tracepoint, fentry, LSM) get it${info && !info.tracing ? `; ${info.label} programs read their own context (${info.ctx}${info.packet ? `, packet bytes directly or with ${progType === 'xdp' ? 'bpf_xdp_load_bytes' : 'bpf_skb_load_bytes'}` : ''}) and can get kernel data from a tracing program through a shared map` : ''}`;
      const why = info?.tracing
        ? `${name} is a tracing helper that ${info.label} programs normally have, yet this kernel refused it: ${withheld}`
        : info
          ? `${name} is not in the helper set of ${info.label} programs: ${wrongType}`
          : `${name} is a tracing helper. If this is not a tracing program (XDP, tc, cgroup, socket), ${wrongType}. If it is one, ${withheld}`;
      return {
        why,
        fix: info?.tracing
          ? 'use bpf_probe_read_kernel()/bpf_probe_read_user() (or BPF_CORE_READ) instead of the old helpers; under lockdown, kernel-memory reads are not available at all'
          : info
            ? `move the kernel-memory read into a tracing program and share the result through a map; in ${info.label} programs use their own context`
            : 'outside tracing programs: use the program\'s own context (packet data directly); in tracing programs: bpf_probe_read_kernel()/bpf_probe_read_user() instead of the old bpf_probe_read/_str',
        brief: info?.tracing ? 'use bpf_probe_read_kernel/_user; check kernel lockdown' : info ? `${name} is for tracing programs, not ${info.label}` : `${name} is for tracing programs; there use bpf_probe_read_kernel/_user`,
        snippet: `long err = bpf_probe_read_kernel(&pid, sizeof(pid), &task->tgid);   /* tracing programs, 5.5+ */`,
        facts: { helper: name },
        confidence: info ? 0.85 : 0.7,
      };
    }
    if (since610) {
      return {
        why: `${name} is available to every program type only since Linux 6.10; before that, tracing, cgroup and socket-address programs have it, but not ${info ? `${info.label} programs` : 'packet programs (XDP, tc, socket filters) — the log does not say the type'}`,
        fix: `on kernels before 6.10, do not call ${name} from ${info ? info.label : 'XDP/tc/socket-filter'} programs: get the process from a tracing or cgroup program and share it through a map (a packet carries no "current process" anyway in softirq context), or run 6.10+`,
        brief: `${name} needs Linux 6.10+ in ${info ? info.label : 'packet'} programs`,
        snippet: '/* a kprobe/cgroup program stores pid -> data in a map; the tc/XDP program looks it up */',
        facts: { helper: name, since: '6.10' },
        confidence: 0.8,
      };
    }
    return {
      why: kfunc
        ? `the kernel function (kfunc) ${name} is registered for other program types, not ${typeWords}; each kfunc set is opened to specific program types`
        : `${name} is not in the helper set of ${typeWords}${m[3] ? ' (or this kernel was built without it)' : ''}; each program type gets only the helpers that make sense for its context`,
      fix: alt
        ? `use ${alt}`
        : kfunc
          ? `call only kfuncs registered for ${typeWords}${progType === 'xdp' ? ' (e.g. bpf_xdp_metadata_rx_timestamp/hash/vlan_tag, bpf_dynptr_from_xdp, the generic ones like bpf_obj_new)' : ''}, or move this logic to a program type that has ${name}`
          : `use a helper of ${typeWords} (bpftool feature probe lists them per type), or move this logic to a program type that has ${name}`,
      brief: alt ? `use ${alt} instead` : `${name} is not available to ${info ? info.label : 'this program type'}`,
      snippet: progType === 'xdp' ? `__u8 buf[4];\nif (bpf_xdp_load_bytes(ctx, 0, buf, sizeof(buf)))\n        return XDP_PASS;` : `/* bpftool feature probe | grep -A40 ${progType ?? 'program_type'} */`,
      facts: { helper: name },
      confidence: info || kfunc ? 0.9 : 0.7,
    };
  },
};

export const helperUnavailable: VerifierClass = {
  id: 'helper-unavailable',
  title: 'helper this kernel does not have (newer than the kernel)',
  before: 'bpf_strncmp(name, 16, "bash");   /* 5.17+, on a 5.10 kernel */',
  detect({ text }) {
    // 4.12+: "invalid func unknown#182" (or a name the loader's header had); ≤4.11: "invalid func 182"
    const m = /invalid func (?:(?:unknown|([a-z_0-9]+))#(\d+)|(\d+)$)/m.exec(text);
    if (!m) return null;
    const id = Number(m[2] ?? m[3]);
    const h = helperById(id);
    const older: Record<string, string> = {
      probe_read_user_str: 'bpf_probe_read_str', probe_read_kernel_str: 'bpf_probe_read_str', probe_read_user: 'bpf_probe_read', probe_read_kernel: 'bpf_probe_read',
      trace_vprintk: 'bpf_printk with at most 3 arguments (it then uses bpf_trace_printk)', strncmp: 'a byte-by-byte compare in a loop with a constant bound',
      loop: 'a for loop with a constant bound', ringbuf_output: 'bpf_perf_event_output', ringbuf_reserve: 'bpf_perf_event_output', ringbuf_submit: 'bpf_perf_event_output',
      ktime_get_boot_ns: 'bpf_ktime_get_ns', get_current_task_btf: 'bpf_get_current_task with BPF_CORE_READ', xdp_load_bytes: 'direct packet access', xdp_store_bytes: 'direct packet access',
      for_each_map_elem: 'a bounded loop over the keys', snprintf: 'bpf_trace_printk or a ring buffer',
    };
    if (h) {
      const alt = older[h.name];
      return {
        why: `helper #${id} is bpf_${h.name}, added in Linux ${h.since}: the running kernel is older and has no helper with that number`,
        fix: `run on Linux ${h.since} or newer${alt ? `, or on this kernel use ${alt}` : ', or do without it on this kernel'}; libbpf's bpf_core_... / bpftool feature probe tell at run time which helpers the kernel has`,
        brief: `bpf_${h.name} needs Linux ${h.since}+${alt ? `; here use ${alt}` : ''}`,
        snippet: `/* pick at load time: */\nif (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_${h.name}))\n        /* bpf_${h.name}(...) */;\nelse\n        /* ${alt ?? 'the older way'} */;`,
        facts: { helper: `bpf_${h.name}`, helper_id: id, since: h.since },
      };
    }
    const near = id < LAST_HELPER_ID + 100;
    return {
      why: near
        ? `no kernel afxdp knows (up to 6.18, whose last helper is #${LAST_HELPER_ID}) has helper #${id}: a helper of a newer kernel, or a call the compiler or loader got wrong`
        : `#${id} is no helper id of any kernel (they end at #${LAST_HELPER_ID}; newer functions are kfuncs): the call was not resolved — a kfunc or helper the loader could not relocate, a vmlinux BTF of another architecture or kernel, or a corrupted object`,
      fix: near ? 'check the helper against the running kernel (bpftool feature probe) and the headers you compiled with' : 'compile and load against the BTF of the running kernel and architecture (vmlinux.h from /sys/kernel/btf/vmlinux), and make sure the loader resolves kfunc calls',
      brief: near ? `helper #${id} is unknown to this kernel` : `#${id} is no helper: a loader/BTF problem`,
      snippet: `bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h   /* headers of this kernel */`,
      facts: { helper_id: id },
      confidence: near ? 0.55 : 0.3,
    };
  },
};

export const kfuncDevBound: VerifierClass = {
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
};

export const helperArg: VerifierClass = {
  id: 'helper-arg',
  title: 'wrong argument for a helper or kfunc (type, map type, reference)',
  before: 'long key = ctx->rx_queue_index;\nbpf_map_lookup_elem(&seen, (void *)key);   /* value, not address */',
  detect({ log, text }) {
    const m = /R(\d+) type=(\w+) expected=([^\n]*)|arg#?(\d+) (?:expected|type|reference type|is not)[^\n]*|R(\d+) is not a (?:pointer|scalar)[^\n]*|Possibly NULL pointer passed to (?:helper|trusted) arg(\d+)/.exec(text);
    if (!m) return null;
    const helper = log.insn ? /call ([a-z_0-9]+)#/.exec(log.insn.text)?.[1] : undefined;
    const arg = m[1] ? `argument ${m[1]} (R${m[1]})` : 'an argument';
    const expected = m[3]?.split(',').map((x) => x.trim()).filter(Boolean) ?? [];
    const facts = { helper: helper ?? null, register: m[1] ? Number(m[1]) : null, passed: m[2] ?? null, expected };
    if (m[1] && expected[0] === 'map_ptr') {
      // a map argument that is a number: the loader never put the map's fd into the instruction
      return {
        why: `${helper ?? 'the helper'} takes a map in ${arg}, but R${m[1]} is a plain number: the map reference in the instruction was never relocated to a real map — the loader did not create the map or did not understand its definition (e.g. an old tc/iproute2 without BTF-defined .maps support, or BTF the kernel rejected)`,
        fix: 'load the object with a libbpf-based loader (bpftool prog load, libbpf, tc built with libbpf) and check its output for map creation errors before this one; pass maps as &map_name in the program',
        brief: 'load with a libbpf-based loader so the map reference is relocated (check map creation errors above)',
        snippet: `bpftool prog load prog.o /sys/fs/bpf/prog type classifier   /* libbpf creates and relocates the maps */`,
        facts,
      };
    }
    if (m[1] && m[2] && !/^(scalar|inv|imm)/.test(m[2])) {
      const what = pointerKind(m[2]);
      return {
        why: `${helper ?? 'the helper'} wants ${arg} to point to one of: ${expected.slice(0, 5).join(', ')}${expected.length > 5 ? ', …' : ''}; the program passes a ${what} pointer (R${m[1]}=${m[2]})${m[2] === 'ctx' ? ': the context itself, where memory of the program\'s own (a stack variable) is wanted' : ''}`,
        fix: m[2] === 'ctx'
          ? 'copy what you need from the context into a local variable (bpf_probe_read_kernel for kernel data, ctx fields by name otherwise) and pass the local variable\'s address'
          : `pass a pointer of an expected kind (${expected.slice(0, 3).join(', ')}): copy the data to a stack variable first if needed`,
        brief: m[2] === 'ctx' ? 'pass the address of a local copy, not ctx' : `pass a ${expected[0] ?? 'valid'} pointer, not ${what}`,
        snippet: `struct event e = {};\nbpf_probe_read_kernel(&e.field, sizeof(e.field), src);   /* copy first */\nbpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));`,
        facts,
      };
    }
    return {
      why: m[1]
        ? `${helper ?? 'the helper'} takes a pointer in ${arg}, but the program passes a ${m[2]} (a plain number). Expected one of: ${expected.slice(0, 4).join(', ')} …`
        : `${helper ?? 'the function'} got ${arg} of the wrong kind: ${m[0]}`,
      fix: 'pass what the helper expects: for map keys and values, the address of a variable on the stack (&key), not the value itself; for NULL-able pointers, check them first',
      brief: 'pass the address of a stack variable (&key), not its value',
      snippet: `__u32 key = ctx->rx_queue_index;\nif (bpf_map_lookup_elem(&seen, &key))\n        return XDP_DROP;`,
      facts,
    };
  },
};

export const referenceLeak: VerifierClass = {
  id: 'reference-leak',
  title: 'acquired reference or lock not released (or held across a call)',
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
};

export const returnRange: VerifierClass = {
  id: 'return-range',
  title: 'return value outside what the program type allows',
  before: 'SEC("cgroup_skb/ingress")\nint f(struct __sk_buff *skb) { return 2; }   /* must be 0 or 1 */',
  detect({ progType, text }) {
    // 4.15: "should have been 0 or 1"; 5.x: "in (0x0; 0x1)" (a tnum: value; mask); 6.x: "in [0, 1]"
    const m = /At program exit the register R0 (?:has|is) ([^\n]*?) should have been (?:in )?([^\n]+)/.exec(text);
    if (!m) return null;
    const range = readRange(m[2]!.trim());
    const info = progType ? progTypeInfo(progType) : null;
    return {
      why: `the program can return ${m[1]!.trim()}, but ${info ? `${info.label} programs` : 'this program type'} only accept values in ${range}; the kernel acts on the return value, so anything else is refused`,
      fix: `return only the values the type allows (${range}); clamp or map your result before returning`,
      brief: `return only values in ${range}`,
      snippet: progType === 'lsm' ? `return deny ? -EPERM : 0;` : `return verdict ? 1 : 0;`,
      facts: { allowed: range },
    };
  },
};
