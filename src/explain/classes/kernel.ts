/** Kernel limitations: a correct program the running kernel refuses (verifier bugs, old-kernel limits). Classes of the table in classes.ts. */
import { type VerifierClass } from './kit.js';
import { checkedForNull, definition, lostRangeCheck, pointerSpill } from './evidence.js';

export const kernelBug: VerifierClass = {
  id: 'kernel-bug',
  title: 'a correct program the kernel gets wrong (verifier bug or old-kernel limit)',
  before: '/* a correct program; the kernel prints "verifier bug: REG INVARIANTS VIOLATION" */',
  detect({ log, text }) {
    const lost = lostRangeCheck(log, text);
    if (lost) {
      return {
        why: `the program checked the packet correctly (insn ${lost}: past it, the pointer is below data_end, so its first byte is readable), but this kernel marked the proven range short: kernels before 5.16 (2fa7d94afc1a "bpf: Fix the off-by-two error in range markings"; 5.10.y and 5.15.y have the backport) get the range of >= and < comparisons with data_end wrong`,
        fix: 'run a kernel with the fix (5.16+, or a 5.10.y/5.15.y stable release that has it); on this kernel write the check in the form it marks exactly: if ((void *)(p + 1) > data_end) return …; before reading p[0]',
        brief: 'a verifier bug fixed in 5.16: write the check as p + 1 > data_end, or upgrade the kernel',
        snippet: `if ((void *)(data + 1) > data_end)        /* instead of data >= data_end */\n        return XDP_PASS;\n__u8 len = data[0];`,
        facts: { check: lost },
      };
    }
    const deref = /R(\d+) invalid mem access 'inv'/.exec(text);
    const def = deref && log.insn ? definition(log, Number(deref[1]), log.insn.line) : null;
    const fill = def ? /^r\d+ = \*\(u64 \*\)\(r10 (-\d+)\)/.exec(def.text) : null;
    const spilled = fill ? pointerSpill(log, Number(fill[1]), def!.line) : null;
    if (spilled) {
      return {
        why: `R${deref![1]} was read back from the stack slot at ${fill![1]}, where instruction ${spilled.insn} stored ${spilled.what}; this (pre-5.18, 'inv') kernel forgot on the way that it was a pointer. Kernels before 5.11 (5.10.y has the backport 744ea4e3885e) could not spill memory pointers such as ring-buffer records to the stack, so the reload is a plain number: the program is right, the kernel is too old`,
        fix: 'run 5.11+ (or a 5.10.y with the backport); on this kernel keep the pointer in a register (fewer live variables across helper calls, or re-derive it after the calls) so the compiler does not spill it',
        brief: 'an old-kernel verifier limit (spilled memory pointer): upgrade to 5.11+ or keep the pointer in a register',
        snippet: `void *rec = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);\nif (!rec)\n        return 0;\n/* fill it right away; do not keep it alive across many helper calls */`,
        facts: { slot: Number(fill![1]), spilled_at: spilled.insn },
      };
    }
    const nullCheck = checkedForNull(log, text);
    if (nullCheck) {
      return {
        why: `the program does test the pointer for NULL (insn ${nullCheck.check}) before this use, but the verifier did not carry that test over to R${nullCheck.reg}: the compiler tested one copy of the lookup result (${nullCheck.how}) and uses another, and this kernel does not link the copies. Older kernels lose a NULL check through a stack spill or a copy made before the test; newer verifiers track more of these, so the same object may load on a current kernel`,
        fix: 'on this kernel, test the pointer in the variable you use, right after the lookup, and return early (if (!v) return 0;) before storing it anywhere; mark it with barrier_var(v) after the test if the compiler still moves things; or load it on a current kernel (6.x), whose verifier follows the copies',
        brief: 'the NULL check is there but this verifier lost it on a copy: test and use the same variable right after the lookup, or use a newer kernel',
        snippet: `__u64 *v = bpf_map_lookup_elem(&counts, &key);
if (!v)
      return 0;                /* test the variable you then use */
barrier_var(v);                  /* keep the compiler from using an untested copy */
__sync_fetch_and_add(v, 1);`,
        facts: { null_check_insn: nullCheck.check },
        confidence: 0.7,
      };
    }
    if (/bpf_rcu_read_unlock is missing/.test(text) && !/call bpf_rcu_read_lock/.test(log.lines.join('\n'))) {
      return {
        why: 'the verifier says an RCU read section is still open at exit, yet the log shows no bpf_rcu_read_lock(): older verifiers report this for calls to (non-inlined) functions from sleepable programs, whose RCU state they track wrongly — a kernel limitation, not a missing unlock in the program',
        fix: 'inline the called function on this kernel (__always_inline, or a macro) so no BPF-to-BPF call is made from the sleepable program, or run a newer kernel; if the program does take bpf_rcu_read_lock(), unlock it on every path',
        brief: 'an old-verifier RCU misreport for calls from sleepable programs: inline the callee or upgrade the kernel',
        snippet: 'static __always_inline u32 cpu_to_llc_id(s32 cpu)   /* no call from the sleepable program */',
        confidence: 0.6,
      };
    }
    const m = /verifier bug[^\n]*|REG INVARIANTS VIOLATION[^\n]*|verifier internal error[^\n]*|WARNING: [^\n]*kernel\/bpf\/verifier\.c:\d+[^\n]*/.exec(text);
    if (!m) return null;
    return {
      why: `the verifier stopped on an inconsistency in its own state ("${m[0].trim()}"): a bug in this kernel's verifier, not a mistake it found in the program. Such bugs are found in a kernel release and fixed (and backported) later; a new compiler can also steer into them by emitting different code`,
      fix: 'note uname -r and the clang version; try the latest stable kernel of your series (the fix is usually backported), or build with another clang version; report it to bpf@vger.kernel.org with the object if it persists. Reshaping the code around the failing instruction is a stopgap, not a fix',
      brief: 'a kernel verifier bug: try a newer stable kernel (or another clang) and report it',
      snippet: `uname -r; clang --version            /* what to quote in the report */`,
    };
  },
};
