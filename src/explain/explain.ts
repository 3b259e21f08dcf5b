/**
 * Verifier log → explanation: which instruction failed (and its C line), why, and what to change.
 */
import { CLASSES, CONFIDENCE_MIN, UNKNOWN_CLASS, classById } from './classes.js';
import { messageAnywhere } from './classes/messages.js';
import { parseVerifierLog, registerState, type ParsedLog, type SourceLine } from './log.js';
import { loaderLines } from './loader.js';
import { kernelSeen, kernelLimit } from './release.js';
import { inferProgType, type ProgType, type ProgTypeSource } from './progtype.js';
import { inTypeIdioms } from './idioms.js';
import { fitToKernel } from './features.js';

export const EXPLAIN_SCHEMA = 'afxdp.explain/1';

export interface Explanation {
  schema: typeof EXPLAIN_SCHEMA;
  /** a verifier complaint (or at least a failing instruction) was found */
  found: boolean;
  /** class id (see docs/VERIFIER.md), "unknown" when the message is not yet explained */
  class: string;
  title: string;
  error: {
    /** the verifier's own words */
    message: string | null;
    details: string[];
    insn: number | null;
    insn_text: string | null;
    program: string | null;
    truncated: boolean;
    processed: string | null;
    /** state of the registers the failing instruction uses, as the log last showed them */
    registers: Record<string, string>;
  };
  source_line: SourceLine | null;
  /** the program type the texts speak of, and where afxdp got it (null: nothing said, no type-specific words) */
  program_type: {
    type: ProgType | null;
    source: ProgTypeSource | 'unknown';
    evidence: string | null;
    /** how sure the type is, 0..1 (1: given or from the object; 0: unknown) */
    confidence: number;
    /** other types the log's clue fits as well (an __sk_buff helper: tc, socket_filter, cgroup_skb) */
    alternatives: ProgType[];
  };
  /** how sure the class is, 0..1; below 0.5 the class is "unknown" and facts.recognised says what was seen */
  confidence: number;
  explanation: string;
  fix: string;
  /** one short clause, for one-line CLI errors */
  brief: string;
  snippet: string | null;
  facts: Record<string, unknown>;
}

export interface ExplainOptions {
  /** program type (explain --type, or the object's own type); otherwise read from the log */
  progType?: ProgType;
  /** where progType came from: the user ('given', the default) or the BPF object ('object', 'assumed' for an unknown section) */
  progTypeSource?: ProgTypeSource;
}

/** Classes that can answer from the loader's error when the verifier's message was cut (tc's "Argument list too long (7)!"). */
const READS_TOOL_ERROR = new Set(['too-complex']);

/** Classes about stack layout, which code generators (bpftrace) get wrong rather than their users. */
const GENERATED_LAYOUT = new Set(['misaligned', 'uninit', 'stack']);
/** A loader line saying the kernel refused a program load (not a map, BTF or attach failure). */
const LOAD_REFUSED = /\bprog(?:ram)? '[^']*': (?:BPF program load failed|failed to load)\b|\bfailed to load (?:BPF )?program\b|\bload program: (?:permission denied|invalid argument)\b|\bFailed to load program\b/i;

/**
 * Classes whose message several causes print; when the log shows nothing but the message (no
 * instruction, register state or source line), the reading is one of these and says so.
 */
const OTHER_CAUSES: Record<string, string | [RegExp, string]> = {
  'map-value-bounds': 'an older kernel\'s bounds tracking (32-bit arithmetic before 5.7, a bound checked on a copy of the index, a signed comparison) refusing code a newer kernel accepts',
  'pkt-bounds': 'a correct check on a kernel before 5.16 that marks the range one byte short (write the check as p + 1 > data_end), or a check made on a copy of the pointer the access does not use',
  'pkt-var-offset': 'a bound the compiler moved out of the verifier\'s sight (bound the offset again right before it is added)',
  'map-null': 'a NULL test on a copy of the pointer, which older kernels do not link to the one used (test the very variable you use)',
  'uninit': 'struct padding never written (a stack key or value handed to a helper: memset it first), or a register clang reused across a call',
  'ctx-bad-read': 'a load of a field at a size the kernel refuses (older kernels allow only full-size loads of most fields), or the context of another program type',
  'misaligned': [/misaligned (?:packet|map|value|access)/, 'strict alignment (an architecture without efficient unaligned access, or BPF_F_STRICT_ALIGNMENT) refusing an access x86-64 allows'],
  'helper-arg': 'a pointer an older kernel lost track of through a stack spill (it then reads as a number), or an argument of another kind than the helper documents',
  'ptr-arith': 'arithmetic the compiler introduced on its own (an older or newer clang emits other code: try another -O level or clang version)',
  'pkt-invalidated': 'a packet pointer an older kernel lost through a stack spill',
  'stack': [/invalid (?:read from|indirect access to) stack/, 'a struct read past its end by a generated accessor (BPF_CORE_READ of a nested field), or a buffer larger than the stack slot handed to a helper'],
};

export function explainLog(text: string, opts: ExplainOptions = {}): Explanation {
  const log = parseVerifierLog(text);
  const guess = opts.progType ? null : inferProgType(log, text);
  const progType = opts.progType ?? guess?.type ?? null;
  const program_type: Explanation['program_type'] = opts.progType
    ? { type: opts.progType, source: opts.progTypeSource ?? 'given', evidence: null, confidence: opts.progTypeSource === 'assumed' ? 0.6 : 1, alternatives: [] }
    : guess
      ? { type: guess.type, source: 'log', evidence: guess.evidence, confidence: guess.confidence, alternatives: guess.alternatives ?? [] }
      : { type: null, source: 'unknown', evidence: null, confidence: 0, alternatives: [] };
  // a type read from a weak clue: the texts use it, and say it is a reading, not a fact
  const typeDoubt = program_type.source === 'log' && program_type.confidence < 0.7
    ? ` (program type read as ${program_type.type} from "${program_type.evidence}"${program_type.alternatives.length ? `, which ${program_type.alternatives.join(' and ')} programs have too` : ''}: not sure; give --type if it is another)`
    : '';
  const error: Explanation['error'] = {
    message: log.message,
    details: log.details,
    insn: log.insn?.idx ?? null,
    insn_text: log.insn?.text ?? null,
    program: log.program,
    truncated: log.truncatedEnd || log.truncatedStart,
    processed: log.processed,
    registers: insnRegisters(log),
  };
  const kernel = kernelSeen(text);
  // key order is the JSON's: verdict first, then the evidence, then the advice. Every class's
  // advice passes here: into the program type's idioms (its context struct and verdicts, or a
  // neutral form when the type is unknown), and into what the log's kernel has (no bpf_loop on 5.4)
  const make = (found: boolean, cls: string, title: string, confidence: number, rest: Pick<Explanation, 'explanation' | 'fix' | 'brief' | 'snippet' | 'facts'>): Explanation => {
    const idiom = (s: string): string => inTypeIdioms(s, progType);
    const fit = fitToKernel(cls, { fix: idiom(rest.fix), brief: idiom(rest.brief), snippet: rest.snippet === null ? null : idiom(rest.snippet) }, kernel);
    return {
      schema: EXPLAIN_SCHEMA,
      found,
      class: cls,
      title,
      error,
      source_line: log.source,
      program_type,
      confidence,
      explanation: rest.explanation,
      fix: fit.fix,
      brief: fit.brief,
      snippet: fit.snippet,
      facts: fit.lacks.length ? { ...rest.facts, kernel_lacks: fit.lacks } : rest.facts,
    };
  };
  // a message of the message table inside another line (a log pasted on one line, a tool's error wrapping it)
  const fromInside = (): Explanation | null => {
    const found = messageAnywhere(text);
    const k = found ? classById(found.cls) : undefined;
    if (!found || !k) return null;
    const m = found.match;
    return make(true, k.id, k.title, Math.min(m.confidence ?? 0.9, 0.8), { explanation: m.why, fix: m.fix, brief: m.brief, snippet: m.snippet, facts: { ...(m.facts ?? {}), message_found_inside: true } });
  };
  const loaderSaid = loaderLines(text);
  if (!log.message || !log.isVerifierLog) {
    // no verifier complaint, but the loader said why it stopped: that is the answer
    for (const k of CLASSES.filter((x) => x.id === 'core-reloc' || x.id === 'loader')) {
      const m = k.detect({ log, progType, text: '', raw: text });
      if (m) return make(true, k.id, k.title, m.confidence ?? 0.9, { explanation: m.why, fix: m.fix, brief: m.brief, snippet: m.snippet, facts: m.facts ?? {} });
    }
  }
  if (!log.isVerifierLog || (!log.message && !log.insn)) {
    const inside = fromInside();
    if (inside) return inside;
    // the loader says the kernel refused the program, but what was pasted stops short of the verifier's
    // own words (only the END line or the tool's summary): that is a rejection afxdp cannot read, not "no error"
    const refused = loaderSaid.find((l) => LOAD_REFUSED.test(l.text));
    if (refused) {
      const eacces = /-13\b|\bPermission denied\b|\berrno[:= ]*13\b/.test(text);
      return make(true, UNKNOWN_CLASS.id, 'truncated log: the verifier message is missing', 0, {
        explanation: `the loader says the kernel refused the program ("${refused.text}" (${refused.tool})${eacces ? '; errno 13, EACCES, is the verifier\'s verdict' : ''}), but the verifier's own message is not in the input: it is printed between BEGIN and END PROG LOAD LOG, which is missing here`,
        fix: 'get the complete log (the lines between "-- BEGIN PROG LOAD LOG --" and "-- END PROG LOAD LOG --", or afxdp check OBJ.o --verbose) and explain that',
        brief: 'log truncated',
        snippet: null,
        facts: { recognised: { message: null, insn: null }, loader_says: loaderSaid.map((l) => l.text) },
      });
    }
    return make(false, 'none', 'no verifier error found', 0, {
      explanation: 'the input has no verifier complaint and no instruction listing',
      fix: 'pass the whole output of the failed load (libbpf prints it between BEGIN and END PROG LOAD LOG), or run afxdp check OBJ.o',
      brief: 'no verifier error found',
      snippet: null,
      facts: {},
    });
  }
  const textAll = [log.message ?? '', ...log.details].join('\n');
  const at = log.insn ? `instruction ${log.insn.idx} (${log.insn.text})` : 'the end of the log';
  if (log.message) {
    for (const c of CLASSES) {
      const m = c.detect({ log, progType, text: textAll, raw: text });
      if (!m) continue;
      const confidence = m.confidence ?? 0.9;
      if (confidence >= CONFIDENCE_MIN) {
        // an older kernel's limit the log shows this rejection hitting: name the release that accepts it
        const limit = kernelLimit(c.id, log.message, kernel);
        const why0 = m.typed && typeDoubt ? `${m.why}${typeDoubt}` : m.why;
        const why = limit ? `${why0.replace(/\.$/, '')}. ${limit.why}` : why0;
        // bpftrace writes the program itself: a layout mistake is its codegen's, not the script's
        const generated = GENERATED_LAYOUT.has(c.id) && loaderSaid.some((l) => l.tool === 'bpftrace') || (GENERATED_LAYOUT.has(c.id) && /^Attaching \d+ probes?\.\.\.$|\bbpftrace\b/m.test(text));
        const fix0 = generated ? `${m.fix} — the program here is bpftrace's own code (a script has no stack variables): if the script is valid, upgrade bpftrace or report it with bpftrace -v output` : m.fix;
        const fix = limit ? `${fix0}; ${limit.fix}` : fix0;
        const snippet = m.snippet;
        const conf = m.typed && typeDoubt ? Math.min(confidence, 0.7) : confidence;
        // the message alone, where several causes print it: a reading, hedged, with the others named
        const oc = OTHER_CAUSES[c.id];
        const other = typeof oc === 'string' ? oc : oc && oc[0].test(log.message) ? oc[1] : null;
        if (other && messageOnly(log, error.registers)) {
          return make(true, c.id, c.title, Math.min(conf, 0.6), {
            explanation: `${why}. The log shows only the message (no instruction, register state or C line), so this is the likeliest reading, not a certainty; the same message also comes from ${other}`,
            fix: `most likely: ${fix}; if that is already so, check the other cause: ${other}. The full log (log level 2) settles it`,
            brief: `probably: ${m.brief}`,
            snippet,
            facts: { ...(m.facts ?? {}), evidence: 'message only', other_causes: other, ...(limit ? { kernel_accepts_since: limit.since } : {}) },
          });
        }
        return make(true, c.id, c.title, conf, { explanation: why, fix, brief: m.brief, snippet, facts: { ...(m.facts ?? {}), ...(limit ? { kernel_accepts_since: limit.since } : {}) } });
      }
      // a reading too unsure to act on: say what was recognised, not what to change
      return make(true, UNKNOWN_CLASS.id, 'not explained with confidence', confidence, {
        explanation: `the verifier stopped at ${at} with "${log.message}". What afxdp recognised (a guess, not an answer): ${m.why}`,
        fix: 'check that reading against the register state just before the instruction (afxdp check --verbose shows the full log); give --type if the program type is known',
        brief: `not sure: ${m.brief}?`,
        snippet: null,
        facts: { ...(m.facts ?? {}), recognised: { message: log.message, insn: log.insn?.idx ?? null, candidate: c.id } },
      });
    }
  }
  if (!log.message) {
    // the verifier's last words were cut, but the tool's own error can still name the cause (E2BIG)
    for (const c of CLASSES.filter((x) => READS_TOOL_ERROR.has(x.id))) {
      const m = c.detect({ log, progType, text: '', raw: text });
      if (m) return make(true, c.id, c.title, m.confidence ?? 0.9, { explanation: m.why, fix: m.fix, brief: m.brief, snippet: m.snippet, facts: m.facts ?? {} });
    }
  }
  const inside = fromInside();
  if (inside) return inside;
  const quoted = loaderSaid.length ? `; the loader said: ${loaderSaid.slice(0, 3).map((l) => `"${l.text}" (${l.tool})`).join(', ')}` : '';
  const explanation = log.message
    ? `the verifier stopped at ${at} with "${log.message}"; afxdp does not explain this message yet${quoted}`
    : `the log ends at ${at} without the verifier's message: it was cut (copy the whole log, or raise the log buffer); the failing instruction is most likely ${at}`;
  return make(true, UNKNOWN_CLASS.id, log.message ? UNKNOWN_CLASS.title : 'truncated log: the verifier message is missing', 0, {
    explanation,
    fix: log.message ? 'look at the instruction and the register state just before it (afxdp check --verbose shows the full log); please report the message so afxdp learns it' : 'get the complete log: afxdp check OBJ.o --verbose',
    brief: log.message ? 'not yet explained' : 'log truncated',
    snippet: null,
    facts: { recognised: { message: log.message, insn: log.insn?.idx ?? null }, ...(loaderSaid.length ? { loader_says: loaderSaid.map((l) => l.text) } : {}) },
  });
}

/** The log holds the verifier's message and nothing to check it against: no instruction, register state or C line. */
function messageOnly(log: ParsedLog, registers: Record<string, string>): boolean {
  return !log.insn && !log.source && !Object.values(registers).some((s) => !s.endsWith('(per the message)')) && !log.lines.some((l) => /\bR\d+(?:_[rwD]+)?=/.test(l));
}

function insnRegisters(log: ParsedLog): Record<string, string> {
  const out: Record<string, string> = {};
  if (!log.insn) return out;
  // the destination of a plain assignment (r1 = *(u8 *)(r7 +12)) is not an input
  const dest = /^r(\d+) = /.exec(log.insn.text)?.[1];
  const uses = [...log.insn.text.matchAll(/\br(\d+)\b/g)].map((m) => m[1]!);
  if (dest !== undefined) uses.shift(); // drop the assigned register's first (destination) mention
  for (const r of [...new Set(uses)].map(Number).sort((a, b) => a - b)) {
    const st = registerState(log, r, log.insn.line);
    if (st) out[`R${r}`] = st;
  }
  // a helper call can turn a register into a scalar without the log printing it: trust the message
  const said = /R(\d+) invalid mem access '(\w+)'/.exec(log.message ?? '');
  if (said) out[`R${said[1]}`] = `${said[2]} (per the message)`;
  return out;
}

/** Human-readable rendering: what failed, why, the fix, the corrected snippet. */
export function renderExplanation(e: Explanation): string {
  const out: string[] = [];
  const where = e.source_line?.file ? `${e.source_line.file}:${e.source_line.line ?? '?'}` : null;
  // a loader's failure has no verifier message: its own line is the "what"
  const loaderSays = typeof e.facts.loader_says === 'string' ? e.facts.loader_says : null;
  out.push(`what:  ${e.error.message ?? (loaderSays ? `${loaderSays} (${String(e.facts.loader)})` : '(no message: log truncated)')}${e.error.program ? ` [program ${e.error.program}]` : ''}`);
  if (e.error.insn !== null) out.push(`at:    insn ${e.error.insn}: ${e.error.insn_text}`);
  const regs = Object.entries(e.error.registers);
  if (regs.length) out.push(`state: ${regs.map(([r, s]) => `${r}=${s}`).join(' ')}`);
  if (e.source_line) out.push(`code:  ${e.source_line.text}${where ? `   (${where})` : ''}`);
  for (const d of e.error.details) out.push(`       ${d}`);
  out.push(`class: ${e.class} (${e.title})${e.found ? `, confidence ${e.confidence.toFixed(2)}` : ''}`);
  const pt = e.program_type;
  if (pt.type) {
    const alt = pt.alternatives.length ? `; or ${pt.alternatives.join(', ')}` : '';
    out.push(`type:  ${pt.type} (${pt.source === 'log' ? `from the log: ${pt.evidence}, confidence ${pt.confidence.toFixed(2)}${alt}` : pt.source === 'object' ? 'from the object' : pt.source === 'assumed' ? 'assumed' : 'given'})`);
  } else if (e.found) out.push('type:  unknown (the log does not show it; --type TYPE says it)');
  out.push(`why:   ${e.explanation}`);
  out.push(`fix:   ${e.fix}`);
  if (e.snippet) {
    out.push('like this:');
    for (const l of e.snippet.split('\n')) out.push(`    ${l}`);
  }
  if (e.error.truncated && !loaderSays) out.push('note:  the log is truncated; the explanation uses what is there');
  return out.join('\n') + '\n';
}

/** One clause for the CLI's one-line error: "class: brief fix". */
export function oneLineExplanation(e: Explanation): string {
  const where = e.source_line?.file ? ` at ${e.source_line.file}:${e.source_line.line}` : '';
  // for 'none' the title and the brief are the same words: say them once
  return e.brief === e.title ? `${e.title}${where}` : `${e.title}${where}: ${e.brief}`;
}
