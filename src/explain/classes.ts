/**
 * The table of verifier-rejection classes. Each class: how to recognise it in a parsed log
 * (detector), why the verifier refuses in plain words, what to change, and a short corrected
 * snippet. Classes are tried in order; the first whose detector matches wins.
 */
import { ctxCandidates, decodeCtxAccess } from './ctx.js';
import { helperById, LAST_HELPER_ID, TRACING_HELPERS } from './helpers.js';
import { memAccess, registerState, registerType, type ParsedLog } from './log.js';
import { progTypeInfo, type ProgType } from './progtype.js';
import { loaderCause } from './loader.js';

export interface DetectInput {
  log: ParsedLog;
  /** the program type: given, read from the object, or inferred from the log; null when nothing says */
  progType: ProgType | null;
  /** message + detail lines, joined with newlines */
  text: string;
  /** the whole input as given (loader lines around the verifier log count too) */
  raw: string;
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
  /**
   * How sure the reading is, 0..1 (default 0.9: the verifier's own words name the mistake). Below
   * CONFIDENCE_MIN the explanation is `unknown` and this reading is only reported as recognised.
   */
  confidence?: number;
  /** the texts depend on the program type (context fields, helpers): a doubtful type is said aloud */
  typed?: boolean;
}

/** Readings less sure than this are not presented as the cause. */
export const CONFIDENCE_MIN = 0.5;

/** Classes that need the program type: with none known they assume XDP, say so, and are less sure. */
function typeOrXdp(t: ProgType | null): { t: ProgType; note: string; confidence: number } {
  if (t) return { t, note: '', confidence: 0.9 };
  return { t: 'xdp', note: ' (program type assumed: XDP, the log does not name it; give --type if it is another)', confidence: 0.6 };
}


/** What a snippet returns to let things pass, in the type's words ("XDP_PASS", "TC_ACT_OK", "0"). */
function passOf(t: ProgType | null): string {
  return t ? progTypeInfo(t).pass : 'XDP_PASS';
}

/** How a program of type t reaches its packet: the two ctx fields, in C. */
function packetPtrs(t: ProgType | null): string {
  if (t === 'sock_ops') return 'void *data = (void *)(long)ctx->skb_data;\nvoid *data_end = (void *)(long)ctx->skb_data_end;';
  return 'void *data = (void *)(long)ctx->data;\nvoid *data_end = (void *)(long)ctx->data_end;';
}

/** Packet-moving helpers: after any of them the verifier drops every packet pointer (bpf_helper_changes_pkt_data). */
const PKT_CHANGING = /^bpf_(xdp_adjust_(meta|head|tail)|skb_(change_(head|tail|proto)|pull_data|adjust_room|vlan_(push|pop)|store_bytes)|l[34]_csum_replace|clone_redirect|msg_(pull|push|pop)_data|lwt_(push_encap|seg6_\w+)|store_hdr_opt)$/;

/** The last call before line `before` to a helper that changes packet data; old logs name it by number ("call 39"). */
function pktChangingCall(log: ParsedLog, before: number): { line: number; name: string; insn: number } | null {
  for (let i = Math.min(before, log.lines.length) - 1; i >= 0; i--) {
    const m = /^(\d+): \(85\) call (?:([a-z_0-9]+)#(\d+)|(\d+))(?:\s|$)/.exec(log.lines[i]!);
    if (!m) continue;
    const byId = m[4] !== undefined ? helperById(Number(m[4])) : null;
    const name = byId ? `bpf_${byId.name}` : m[2] ? (m[2].startsWith('bpf_') ? m[2] : `bpf_${m[2]}`) : null;
    if (name && PKT_CHANGING.test(name)) return { line: i, name, insn: Number(m[1]) };
  }
  return null;
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

/** The instruction that last wrote rN before line `before` (following plain copies rN = rM), or null. */
function definition(log: ParsedLog, reg: number, before: number): { line: number; text: string } | null {
  for (let i = Math.min(before, log.lines.length) - 1; i >= 0; i--) {
    const m = /^\d+: \([0-9a-f]{2}\) (r(\d+) (?:[-+*/|&^]|<<|>>)?= .*?)(?:\s+;.*)?$/.exec(log.lines[i]!);
    if (!m || Number(m[2]) !== reg) continue;
    const copy = new RegExp(`^r${reg} = r(\\d+)$`).exec(m[1]!);
    if (copy) return definition(log, Number(copy[1]), i) ?? { line: i, text: m[1]! };
    // pointer arithmetic keeps the register's origin: look past it
    if (new RegExp(`^r${reg} [-+]= `).test(m[1]!)) return definition(log, reg, i) ?? { line: i, text: m[1]! };
    return { line: i, text: m[1]! };
  }
  return null;
}

/**
 * A correct `p >= data_end` / `p < data_end` check the verifier marked short: kernels before
 * 2fa7d94afc1a (5.16; backported to 5.10.y and 5.15.y) set the proven range one or two bytes short
 * for these open-range comparisons, so a read of the byte at p is refused.
 */
function lostRangeCheck(log: ParsedLog, text: string): string | null {
  const m = /invalid access to packet, off=(-?\d+) size=(\d+), R(\d+)\(id=\d+,off=(-?\d+),r=(\d+)\)/.exec(text);
  if (!m) return null;
  const [off, size, reg, regOff, range] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  if (off + size > regOff + 1 || range > regOff) return null; // more than `p < end` proves, or a range that covers it
  for (let i = (log.insn?.line ?? log.messageLine) - 1; i >= 0; i--) {
    const c = /^(\d+): \([0-9a-f]{2}\) if r(\d+) (>=|<|<=|>) r(\d+) goto/.exec(log.lines[i]!);
    if (!c) continue;
    const [a, op, b] = [Number(c[2]), c[3], Number(c[4])];
    const strict = (a === reg && (op === '>=' || op === '<')) || (b === reg && (op === '<=' || op === '>'));
    return strict ? c[0]!.replace(/ goto$/, '') : null;
  }
  return null;
}

/** The allowed return range in one notation: "0 or 1", "(0x0; 0x1)" (tnum), "[0, 1]" → "[0, 1]". */
function readRange(r: string): string {
  if (/^\[.*\]$/.test(r)) return r;
  const or = /^(-?\d+) or (-?\d+)$/.exec(r);
  if (or) return `[${or[1]}, ${or[2]}]`;
  const tn = /^\(0x([0-9a-f]+); 0x([0-9a-f]+)\)$/.exec(r);
  if (tn) {
    const v = BigInt(`0x${tn[1]}`);
    return `[${v}, ${v | BigInt(`0x${tn[2]}`)}]`;
  }
  return r;
}

/** "fp" → "stack", "map_value" → "map value": the verifier's pointer names in words. */
function pointerKind(t: string): string {
  const k: Record<string, string> = { fp: 'stack', map_value: 'map value', pkt: 'packet', mem: 'memory buffer', ringbuf_mem: 'ring-buffer record', ctx: 'context' };
  return k[t] ?? t;
}

/** The store that last filled stack slot `off` with a pointer (a map lookup's result, ctx, a packet pointer), if any. */
function pointerSpill(log: ParsedLog, off: number, before = log.insn?.line ?? log.messageLine): { insn: number; what: string } | null {
  const at = before;
  for (let i = Math.min(at, log.lines.length) - 1; i >= 0; i--) {
    const m = /^(\d+): \(7b\) \*\(u64 \*\)\(r10 (-\d+)\) = r(\d+)/.exec(log.lines[i]!);
    if (!m || Number(m[2]) !== off) continue;
    const reg = Number(m[3]);
    const t = registerType(log, reg, i);
    if (t && /^(map_value|ctx|pkt|fp|sock|ptr_|mem|ringbuf|rdonly_mem|alloc_mem)/.test(t)) return { insn: Number(m[1]), what: `R${reg}, a ${t} pointer` };
    const prev = log.lines[i - 1] ?? '';
    if (reg === 0 && /\(85\) call (1|bpf_map_lookup_elem#1|\w*lookup\w*#\d+)$/.test(prev)) return { insn: Number(m[1]), what: 'R0, the pointer a map lookup returned' };
    if (reg === 0 && /\(85\) call (131|bpf_ringbuf_reserve#131)$/.test(prev)) return { insn: Number(m[1]), what: 'R0, the ring-buffer record bpf_ringbuf_reserve returned' };
    return null;
  }
  return null;
}

/**
 * A NULL test the program made that the verifier did not apply to the register it refused: the
 * lookup's result was copied or spilled, one copy tested against 0, another dereferenced.
 */
function checkedForNull(log: ParsedLog, text: string): { reg: number; check: number; how: string } | null {
  const m = /R(\d+) invalid mem access '\w*or_null\w*'/.exec(text);
  if (!m || !log.insn) return null;
  const reg = Number(m[1]);
  // the lookup that produced it: the last call before the failing instruction
  let call = -1;
  for (let i = log.insn.line - 1; i >= 0; i--) if (/^\d+: \(85\) call /.test(log.lines[i]!)) { call = i; break; }
  if (call < 0) return null;
  // registers and stack slots holding R0's value after the call, and the tests of them against 0
  const regs = new Set([0]);
  const slots = new Set<string>();
  let tested: { reg: number; insn: number; how: string } | null = null;
  for (let i = call + 1; i < log.insn.line; i++) {
    const l = log.lines[i]!;
    const mv = /^\d+: \(bf\) r(\d+) = r(\d+)/.exec(l);
    if (mv) { if (regs.has(Number(mv[2]))) regs.add(Number(mv[1])); else regs.delete(Number(mv[1])); continue; }
    const sp = /^\d+: \(7b\) \*\(u64 \*\)\(r10 (-\d+)\) = r(\d+)/.exec(l);
    if (sp && regs.has(Number(sp[2]))) { slots.add(sp[1]!); continue; }
    const fl = /^\d+: \(79\) r(\d+) = \*\(u64 \*\)\(r10 (-\d+)\)/.exec(l);
    if (fl) { if (slots.has(fl[2]!)) regs.add(Number(fl[1])); else regs.delete(Number(fl[1])); continue; }
    const test = /^(\d+): \([0-9a-f]{2}\) if r(\d+) (==|!=) 0x0 goto/.exec(l);
    if (test && regs.has(Number(test[2]))) {
      // the path the log follows must be the non-NULL one: fall through "== 0", or the jump of "!= 0" ("from T to …")
      const jumped = log.lines.slice(i + 1, log.insn.line).some((x) => x.startsWith(`from ${test[1]} to `));
      if ((test[3] === '==') !== jumped) tested = { reg: Number(test[2]), insn: Number(test[1]), how: `R${test[2]}${slots.size ? `, with a copy on the stack at ${[...slots][0]}` : ''}` };
    }
    const w = /^\d+: \([0-9a-f]{2}\) r(\d+) [-+*/|&^]?= /.exec(l);
    if (w && !mv) regs.delete(Number(w[1]));
  }
  if (!tested || !regs.has(reg)) return null;
  return { reg, check: tested.insn, how: tested.how };
}

/**
 * A bound check the log shows on a copy of the index that reached the access unbounded: the
 * program added rX to the pointer, and an earlier "if rY > N" tested rY, a register copied to or
 * from rX. Older verifiers do not carry bounds across such copies.
 */
function boundOnCopy(log: ParsedLog): { check: string; index: number; tested: number } | null {
  if (!log.insn) return null;
  const acc = memAccess(log.insn.text);
  if (!acc) return null;
  // the index added to the base register
  let index: number | null = null;
  let at = -1;
  for (let i = log.insn.line - 1; i >= Math.max(0, log.insn.line - 40); i--) {
    const m = new RegExp(`^\\d+: \\(0f\\) r${acc.base} \\+= r(\\d+)`).exec(log.lines[i]!);
    if (m) { index = Number(m[1]); at = i; break; }
  }
  if (index === null) return null;
  // registers holding the same value as the index in the window before the addition (plain copies)
  const lo = Math.max(0, at - 60);
  const copies = new Set([index]);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = at - 1; i >= lo; i--) {
      const mv = /^\d+: \([0-9a-f]{2}\) [rw](\d+) = [rw](\d+)(?:\s|$)/.exec(log.lines[i]!);
      if (!mv) continue;
      const [a, b] = [Number(mv[1]), Number(mv[2])];
      if (copies.has(a)) copies.add(b);
      else if (copies.has(b)) copies.add(a);
    }
  }
  for (let i = at - 1; i >= lo; i--) {
    const l = log.lines[i]!;
    const test = /^(\d+): \([0-9a-f]{2}\) if [rw](\d+) (?:s?[<>]=?) (?:0x[0-9a-f]+|\d+) goto/.exec(l);
    if (test && copies.has(Number(test[2])) && Number(test[2]) !== index) {
      return { check: l.replace(/\s+;.*$/, ''), index, tested: Number(test[2]) };
    }
  }
  return null;
}

export const CLASSES: VerifierClass[] = [
  {
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
  },
  {
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
  },
  {
    id: 'func-signature',
    title: 'a function signature the kernel\'s BTF check refuses (arguments or return type)',
    before: 'int BPF_PROG(on_exec, void *bprm)   /* the hook takes struct linux_binprm * */',
    detect({ log, progType, text, raw }) {
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
  },
  {
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
  },
  {
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
  },
  {
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
    detect({ log, progType, text }) {
      const r = msgReg(text, /R(\d+) invalid mem access '(?:scalar|inv|imm)'/);
      if (r === null || !log.insn) return null;
      const call = pktChangingCall(log, log.insn.line);
      if (!call) return null;
      // the register was a packet pointer before the call: the state says so, or it was loaded from ctx->data
      const was = registerType(log, r, call.line);
      const def = definition(log, r, call.line);
      const fromCtx = def && /^r\d+ = \*\(u32 \*\)\(r\d+ \+(0|8|76|140)\)$/.test(def.text);
      // the log starts after the register was set (cut, or "[...]"): a register untouched since a
      // packet-changing call and then refused as a number is most likely a stale packet pointer
      const unseen = !was && !def && !definition(log, r, log.insn.line);
      if (!(was && /^pkt/.test(was)) && !fromCtx && !unseen) return null;
      const t = progType ?? (/^bpf_xdp_/.test(call.name) ? 'xdp' : 'tc');
      const meta = /meta/.test(call.name);
      return {
        ...(unseen ? { confidence: 0.6 } : {}),
        why: `R${r} held a packet pointer${unseen ? ' (most likely: the log does not show where it was set, and nothing wrote it after the call)' : ` (${was ?? `loaded by ${def!.text}`})`} before instruction ${call.insn} called ${call.name}. That helper can move or reallocate the packet (start, end${meta ? ' or metadata' : ', or its headroom'}), so the verifier invalidates every packet pointer (and every bounds check) made before it: R${r} is now just a number`,
        fix: `after ${call.name} returns, re-read ctx->data / ctx->data_end${t === 'xdp' ? ' (and data_meta)' : ''} and repeat the bounds check before using the packet again; keep offsets (integers), not pointers, across the call`,
        brief: `re-read ctx->data/data_end and re-check bounds after ${call.name}`,
        snippet: `if (${call.name}(ctx, ${t === 'xdp' ? 'delta' : /pull_data/.test(call.name) ? 'len' : '...'}))\n        return ${t === 'xdp' ? 'XDP_PASS' : passOf(t)};\n${packetPtrs(t)}          /* fresh pointers */\nstruct ethhdr *eth = data;\nif ((void *)(eth + 1) > data_end)              /* fresh check */\n        return ${t === 'xdp' ? 'XDP_PASS' : passOf(t)};`,
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
  },
  {
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
          ? `the program jumps backwards (insn ${m[2]} → ${m[3]}), i.e. it has a loop; kernels before 5.3 reject every loop (and later kernels reject them for loaders without CAP_BPF/root): usually a loop the compiler did not unroll`
          : `the verifier reached instruction ${m[1] ?? '?'} again in exactly the same state as before, so nothing in the loop moves it toward its exit: it would spin forever in the kernel`,
        fix: m[0].startsWith('back-edge')
          ? 'on kernels before 5.3: unroll every loop (#pragma unroll with a constant trip count, or by hand) so no backward jump is left; on 5.3+ load with CAP_BPF/root and give loops a constant bound'
          : 'give every loop a constant upper bound the loop variable visibly reaches (for (i = 0; i < 64 && i < n; i++)), or use bpf_loop(n, cb, ctx, 0) for long loops',
        brief: m[0].startsWith('back-edge') ? 'unroll the loop (#pragma unroll, constant bound): this kernel accepts no loops' : 'bound the loop with a constant (i < 64 && i < n) or use bpf_loop()',
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
      // bcc: "Program too large (113 insns), at most 4096 insns" — its words for any E2BIG
      const e2big = /Program\s+too large \((\d+) insns\), at most (\d+) insns/.exec(text);
      if (e2big && Number(e2big[1]) <= Number(e2big[2])) {
        return {
          why: `the program has only ${e2big[1]} instructions, so it is not too long: the kernel returned E2BIG because the verifier gave up on its complexity (it walks every path, up to 1,000,000 instructions since 5.2), and this loader (bcc) words every E2BIG as a size limit. Usually a loop whose bound comes from data, or many conditions inside a loop, multiplying the paths`,
          fix: 'reduce the paths the verifier must walk: fewer iterations (a small constant bound), fewer independent conditions inside the loop, or bpf_loop() (5.17+) so the body is verified once; the verifier log (debug=… in bcc, log level 1) shows the real message',
          brief: 'E2BIG here is the complexity limit, not the size: fewer loop iterations or conditions, or bpf_loop()',
          snippet: `static long step(__u32 i, void *c) { /* one iteration */ return 0; }\n...\nbpf_loop(n, step, &state, 0);          /* verified once, runs n times */`,
          facts: { insns: Number(e2big[1]) },
        };
      }
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
  },
  {
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
  },
  {
    id: 'insn-unsupported',
    title: 'instruction this kernel does not know (compiled for a newer BPF ISA, or an unresolved reference)',
    before: '/* clang -mcpu=v4 (sign-extending loads, bswap, gotol: 6.6+) loaded on a 5.15 kernel */',
    detect({ text }) {
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
  },
  {
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
  },
  {
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
  },
  {
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
  },
  {
    id: 'helper-not-allowed',
    title: 'helper or kfunc not available to this program type',
    before: 'bpf_skb_load_bytes(ctx, 0, buf, 4);   /* a tc helper, in XDP */\nbpf_session_is_return();              /* a kprobe-session kfunc, in XDP */',
    detect({ progType, text }) {
      const m = /program of this type cannot use helper ([a-z_0-9]+)#(\d+)|unknown func ([a-z_0-9]+)(?:#(\d+))?|calling kernel function (\w+) is not allowed|(helper call is not allowed in probe)/.exec(text);
      if (!m) return null;
      if (m[3] === 'unknown') return null; // "unknown func unknown#N": no name, see helper-unavailable
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
  },
  {
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
  },
  {
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
  },
  {
    id: 'loader',
    title: 'the loader failed before the verifier judged the program (BTF, map, extern, section)',
    before: 'extern int bpf_foo(void) __ksym;   /* a kfunc this kernel does not have */',
    detect({ raw }) {
      const c = loaderCause(raw);
      if (!c || c.kind === 'core-reloc') return null;
      return { why: c.why, fix: c.fix, brief: c.brief, snippet: c.snippet, facts: { loader: c.tool, loader_says: c.quote, cause: c.kind } };
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
