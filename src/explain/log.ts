/**
 * Verifier log parser. Accepts the log as users paste it: raw kernel log level 1 or 2,
 * libbpf-prefixed (`libbpf: …`, `-- BEGIN PROG LOAD LOG --` / `BEGIN DUMP LOG`), `bpftool -d prog
 * load` output, old (≤5.x: `R1_w=pkt(id=0,off=-8,r=0,imm=0)` state lines) and new (`; R1=pkt(r=0)`
 * suffixes) formats, and logs cut at either end.
 *
 * Hand-written: no library parses verifier logs (libbpf/bpfvv is a React viewer, not a parser we
 * can import), and the format is a handful of line shapes.
 */

export interface LogInsn {
  /** instruction index */
  idx: number;
  /** opcode byte as printed, e.g. "63" */
  opcode: string;
  /** the instruction as the verifier prints it, e.g. "*(u32 *)(r6 +8) = r0" */
  text: string;
  /** position in `lines` */
  line: number;
}

export interface SourceLine {
  text: string;
  file: string | null;
  line: number | null;
}

export interface ParsedLog {
  /** cleaned lines (prefixes stripped) of the one program's log */
  lines: string[];
  /** program name when the log said it (libbpf: prog 'x': …) */
  program: string | null;
  /** the verifier's complaint: the message lines just before the end of the log */
  message: string | null;
  /** further message lines (e.g. "R1 offset is outside of the packet") */
  details: string[];
  /** line index of the message in `lines` (-1 when none) */
  messageLine: number;
  /** the instruction the verifier stopped at */
  insn: LogInsn | null;
  /** the last C source line the log printed before that instruction */
  source: SourceLine | null;
  /** the log has no "processed N insns" end line (cut by the user, or libbpf's buffer) */
  truncatedEnd: boolean;
  /** the log does not start at instruction 0 (the kernel keeps the tail when the buffer fills) */
  truncatedStart: boolean;
  /** "processed N insns (limit …)" when present */
  processed: string | null;
  /** looks like a verifier log at all */
  isVerifierLog: boolean;
}

const INSN_RE = /^(\d+): \(([0-9a-f]{2})\) (.*)$/;
/** where an instruction's text ends and its register-state suffix starts (level 1/2 on 5.x+) */
const STATE_SUFFIX_RE = /\s+; (?=R\d|fp-?\d|frame\d|refs=|\w+=)/;
const LIVE_REGS_RE = /^\d+: [.0-9]{10,} \(/;
const SOURCE_RE = /^; (.*?)(?: @ (\S+):(\d+))?$/;
const PROCESSED_RE = /^processed \d+ insns/;

/** Is this line register state / bookkeeping rather than a message? */
function isNoise(l: string): boolean {
  return (
    l === '' ||
    /^(\d+: )?(R\d+(_[rwD]+)?=|fp-?\d+)/.test(l) ||
    /^from \d+ to \d+: /.test(l) ||
    /^(mark_precise|last_idx|regs=|parent didn't|propagating|cur state:|old state:|frame\d|verification time|stack depth|func#\d|Live regs|Func#|Validating|caller:|callee:|returning from|stack use|\d+: safe|milestone)/.test(l) ||
    // BTF func-info remarks printed before verification starts, not the complaint
    /^(reg type unsupported for arg#\d|Unrecognized arg#\d|arg#\d+ reference type\('UNKNOWN '\)|btf_vmlinux is malformed|-+\[ cut here \]-+)/.test(l) ||
    /^\.\.\.$/.test(l) ||
    LIVE_REGS_RE.test(l) ||
    /^(BEGIN|END|-- ?(BEGIN|END))/.test(l) ||
    /^libbpf:/.test(l) ||
    /^Error: |^Warning: |^If it used to work/.test(l)
  );
}

/** Strips the prefixes tools add: "libbpf: ", "libbpf: prog 'x': ", CRs, indentation. */
function clean(raw: string): string {
  let l = raw.replace(/\r$/, '').replace(/\t/g, '    ');
  l = l.replace(/^\s*libbpf:\s?/, '');
  l = l.replace(/^prog '[^']*': /, '');
  // loaders that prefix the whole log: aya ("… Verifier output: "), cilium/ebpf ("load program: permission denied: ")
  l = l.replace(/^.*?Verifier output: /, '').replace(/^.*?load program: [a-z ]+: (?=\S)/, '');
  // kernel messages pasted from journalctl or dmesg: "Nov 17 09:56:10 host kernel: ", "[ 12.345678] "
  l = l.replace(/^\w{3} +\d+ [\d:]+ \S+ kernel: /, '').replace(/^\[\s*\d+\.\d+\] /, '');
  // indentation from emails, `afxdp check` output or the seed's paste; insn lines never start with space
  if (!LIVE_REGS_RE.test(l.trimStart())) l = l.trimStart();
  return l.trimEnd();
}

/** The part of libbpf's output that is the verifier log (between BEGIN and END markers). */
function verifierRegion(lines: string[]): { lines: string[]; program: string | null } {
  let program: string | null = null;
  for (const l of lines) {
    const m = /prog '([^']+)': (?:BPF program load failed|failed to load|-- BEGIN)/.exec(l);
    if (m) {
      program = m[1]!;
      break;
    }
  }
  const cleaned = lines.map(clean);
  const begin = cleaned.findIndex((l) => /-- BEGIN (PROG LOAD |DUMP )?LOG ---?$/.test(l));
  if (begin < 0) return { lines: cleaned, program };
  const endRel = cleaned.slice(begin + 1).findIndex((l) => /-- END (PROG LOAD |DUMP )?LOG ---?$/.test(l));
  const end = endRel < 0 ? cleaned.length : begin + 1 + endRel;
  return { lines: cleaned.slice(begin + 1, end), program };
}

/** Known verifier complaints, for logs whose end (and so the message position) is missing. */
const MESSAGE_HINT_RE =
  /invalid |!read_ok|prohibited|not allowed|too large|too complex|infinite loop|back-edge|Unreleased reference|cannot call|cannot use helper|unknown func|div by zero|At program exit|expected=|require|unbounded|outside of the packet|Too large|misaligned|unsupported|leak|out of bounds|exceeds|not supported|math between|combined stack size|has btf_id|verifier bug|INVARIANTS VIOLATION|verifier internal error|unknown opcode|invalid stack|disallowed|min value is|max value is|uses reserved fields|unknown insn class|size cannot be determined|doesn't return scalar|Caller passes invalid args|-th argument|CO-RE relocation|btf_vmlinux is malformed|Too many|has to have BTF in order to use|cannot add integer value|is not pointing to valid bpf_map|doesn't match number of subprogs|cannot pass map_type|must be referenced when passed|Possibly NULL pointer|dynptr|cannot write into|forbidden|must provide btf_id|might sleep|sleepable|holding a lock|bpf_spin_unlock|cannot return stack pointer|jump out of range|last insn is not|At callback return|expected pointer to|variable stack access|variable-offset|cannot write into|zero-sized read|different pointers|misconfigured|corrupt spilled|subtract pointer|known constant|constant offset|CAP_SYS_ADMIN|CAP_PERFMON|initialized iter_|invalid access to memory|invalid access to map key|len pair|line_info|func info|not a function start|BTF_KIND|btf_header|kind_flag|BTF type ID|cannot be found|attach type|access beyond (?:struct|the end of member)|Cannot access ptr member/;

/** Complaints recognisable even in the middle of a line (logs pasted as one line). */
const EMBEDDED_MESSAGE_RE =
  /\b(?:invalid func [\w#]+|unknown func [\w#]+|program of this type cannot use helper [\w#]+|R\d+ invalid mem access '\w+'|invalid bpf_context access off=\d+ size=\d+|invalid access to packet, off=-?\d+ size=\d+, R\d+\([^)]*\)|R\d+ min value is negative, either use unsigned(?: index)? or [^(\n]*?'var &= const'|R\d+ unbounded memory access, [^(\n]+?(?= \(\d+ line|$)|R\d+ (?:min|max) value is outside of the allowed memory range|invalid access to map value, value_size=\d+ off=-?\d+ size=\d+|misaligned \w+ access off \S+ size \d+|combined stack size of \d+ calls is \d+|BPF program is too large\. Processed \d+ insn|R\d+ !read_ok|invalid (?:indirect )?read from stack (?:R\d+ )?off[= ]?-?\d+\+?-?\d* size \d+|Unreleased reference id=\d+ alloc_insn=\d+|dereference of modified ctx ptr (?:R\d+ off=-?\d+ )?disallowed|R\d+ type=\w+ expected=[\w, ]+|math between \w+ pointer and register with unbounded min value is not allowed)/gm;

export function parseVerifierLog(text: string): ParsedLog {
  const raw = text.split('\n');
  const region = verifierRegion(raw);
  const { program } = region;
  // a test runner that numbers its own output ("15: 9: (79) r1 = …"): drop its prefix from every line
  const runner = region.lines.map((l) => /^(\d+): \d+: \(/.exec(l)?.[1]).find((x) => x !== undefined);
  const lines = runner === undefined ? region.lines : region.lines.map((l) => (l.startsWith(`${runner}: `) ? l.slice(runner.length + 2) : l));
  const insnLines: number[] = [];
  for (let i = 0; i < lines.length; i++) if (INSN_RE.test(lines[i]!)) insnLines.push(i);

  let endLine = lines.findIndex((l) => PROCESSED_RE.test(l));
  const truncatedEnd = endLine < 0;
  if (endLine < 0) endLine = lines.length;
  // bpftool prints "verification time"/"stack depth" before "processed": not messages
  const processed = truncatedEnd ? null : lines[endLine]!;

  // Walk back from the end over noise to the block of message lines after the last instruction.
  let messageLine = -1;
  const msgs: number[] = [];
  for (let i = endLine - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (INSN_RE.test(l) || SOURCE_RE.test(l)) break;
    if (isNoise(l)) continue;
    msgs.unshift(i);
  }
  if (truncatedEnd) {
    // no end line: only trust lines that look like a verifier complaint
    const known = msgs.filter((i) => MESSAGE_HINT_RE.test(lines[i]!));
    msgs.length = 0;
    msgs.push(...known);
    if (msgs.length === 0) {
      // a complaint can also sit mid-log when the tail was cut after it (rare): search the tail
      for (let i = lines.length - 1; i >= Math.max(0, lines.length - 40); i--) {
        if (!INSN_RE.test(lines[i]!) && !isNoise(lines[i]!) && MESSAGE_HINT_RE.test(lines[i]!)) {
          msgs.push(i);
          break;
        }
      }
    }
  }
  if (msgs.length) messageLine = msgs[0]!;
  let message = messageLine >= 0 ? lines[messageLine]! : null;
  if (message === null) {
    // a log pasted on one line (or wrapped by a tool): the complaint sits inside another line
    for (let i = lines.length - 1; i >= 0 && message === null; i--) {
      const all = [...lines[i]!.matchAll(EMBEDDED_MESSAGE_RE)];
      if (all.length) {
        message = all[all.length - 1]![0];
        messageLine = i;
      }
    }
  }
  const details = msgs.slice(1).map((i) => lines[i]!);

  // the failing instruction: the last one printed before the message (or the last one at all)
  const limit = messageLine >= 0 ? messageLine : endLine;
  let insn: LogInsn | null = null;
  for (let k = insnLines.length - 1; k >= 0; k--) {
    const li = insnLines[k]!;
    if (li >= limit) continue;
    const m = INSN_RE.exec(lines[li]!)!;
    const body = m[3]!.split(STATE_SUFFIX_RE)[0]!.trim();
    insn = { idx: Number(m[1]), opcode: m[2]!, text: body, line: li };
    break;
  }
  let source: SourceLine | null = null;
  if (insn) {
    for (let i = insn.line - 1; i >= 0; i--) {
      const m = SOURCE_RE.exec(lines[i]!);
      if (m && !INSN_RE.test(lines[i]!)) {
        source = { text: m[1]!.trim(), file: m[2] ?? null, line: m[3] ? Number(m[3]) : null };
        break;
      }
      if (INSN_RE.test(lines[i]!) && /\b(exit|goto)\b/.test(lines[i]!)) break; // another path: its source line is not ours
    }
  }
  const firstInsn = insnLines.length ? Number(INSN_RE.exec(lines[insnLines[0]!]!)![1]) : 0;
  const truncatedStart = insnLines.length > 0 && firstInsn !== 0;
  const isVerifierLog = insnLines.length > 0 || processed !== null || (message !== null && MESSAGE_HINT_RE.test(message));
  return {
    lines,
    program,
    message,
    details,
    messageLine,
    insn,
    source,
    truncatedEnd,
    truncatedStart,
    processed,
    isVerifierLog,
  };
}

/**
 * The type of register `reg` (e.g. 6) just before line `before`: "pkt", "pkt_meta", "scalar",
 * "map_value_or_null", "ctx", … (old kernels' "inv" reads as "scalar"); null when the log never says.
 */
export function registerType(p: ParsedLog, reg: number, before: number): string | null {
  const re = new RegExp(`(?:^|[\\s;])R${reg}(?:_[rwD]+)?=([a-z_]+|-?\\d+|0x[0-9a-f]+)`);
  for (let i = Math.min(before, p.lines.length) - 1; i >= 0; i--) {
    const m = re.exec(p.lines[i]!);
    if (m) {
      const t = m[1]!;
      if (/^-?\d|^0x/.test(t)) return 'scalar';
      if (t === 'inv') return 'scalar';
      return t;
    }
  }
  return null;
}

/** The full state text of register `reg` before line `before`, e.g. "pkt(id=1,off=14,r=0,umax=65535)". */
export function registerState(p: ParsedLog, reg: number, before: number): string | null {
  const re = new RegExp(`(?:^|[\\s;])R${reg}(?:_[rwD]+)?=`, 'g');
  for (let i = Math.min(before, p.lines.length) - 1; i >= 0; i--) {
    const l = p.lines[i]!;
    re.lastIndex = 0;
    const m = re.exec(l);
    if (!m) continue;
    // the value runs to the first space outside parentheses: pkt(id=1,var_off=(0x0; 0xffff))
    let j = m.index + m[0].length;
    let depth = 0;
    const start = j;
    for (; j < l.length; j++) {
      const c = l[j];
      if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (c === ' ' && depth <= 0) break;
    }
    return l.slice(start, j);
  }
  return null;
}

/** Store/load shape of an instruction text: base register, offset, size in bytes, write or read. */
export function memAccess(text: string): { write: boolean; base: number; off: number; size: number } | null {
  const SZ: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s8: 1, s16: 2, s32: 4 };
  let m = /^\*\((u8|u16|u32|u64) \*\)\(r(\d+) ([+-]\d+)\) [+]?=/.exec(text);
  if (m) return { write: true, base: Number(m[2]), off: Number(m[3]), size: SZ[m[1]!]! };
  m = /^lock \*\((u32|u64) \*\)\(r(\d+) ([+-]\d+)\)/.exec(text);
  if (m) return { write: true, base: Number(m[2]), off: Number(m[3]), size: SZ[m[1]!]! };
  m = /= \*\((u8|u16|u32|u64|s8|s16|s32) \*\)\(r(\d+) ([+-]\d+)\)/.exec(text);
  if (m) return { write: false, base: Number(m[2]), off: Number(m[3]), size: SZ[m[1]!]! };
  return null;
}
