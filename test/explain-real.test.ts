/**
 * The explainer on logs it was not written against: rejection logs people posted in public issue
 * threads (test/fixtures/verifier-real/, each with the cause its thread settled on), every wording
 * of each complaint across kernel versions, program-type inference, the helper table, and the
 * confidence threshold. Reports the score on the real corpus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { explainLog, CLASSES, helperById, PROG_TYPES } from '../src/explain/index.js';
import { MESSAGES } from '../src/explain/classes/messages.js';
import { runCli, assertOneLineError, ROOT } from './lib/cli.js';

const REAL = path.join(ROOT, 'test', 'fixtures', 'verifier-real');

interface Sidecar {
  source: string;
  kernel: string;
  program_type: string;
  cause: string;
  expected_class: string;
  /** a pattern the explanation (why + fix + brief) must contain when the class is right */
  explanation_says?: string;
  /** a pattern it must never contain (e.g. xdp_md for a kprobe) */
  explanation_never_says?: string;
}

/** Logs gathered after the explainer was frozen, scored before any change for them (docs/VERIFIER.md). */
const HELDOUT = path.join(ROOT, 'test', 'fixtures', 'verifier-heldout');

function corpus(dir = REAL): Array<{ name: string; log: string; side: Sidecar }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      side: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Sidecar,
      log: readFileSync(path.join(dir, f.replace(/\.json$/, '.log')), 'utf8'),
    }));
}

/** The program type the explanation names against the thread's: right, wrong, or not named. */
function typeVerdict(e: ReturnType<typeof explainLog>, side: Sidecar): 'right' | 'wrong' | 'unnamed' | 'n/a' {
  if (!(PROG_TYPES as readonly string[]).includes(side.program_type)) return 'n/a';
  if (e.program_type.type === null) return 'unnamed';
  return e.program_type.type === side.program_type || (e.program_type.alternatives as string[]).includes(side.program_type) ? 'right' : 'wrong';
}

/** Words a fix for a program of this type must never use: another type's context, actions or helpers. */
function wrongTypeWords(type: string): RegExp | null {
  if (type === 'xdp') return /__sk_buff|TC_ACT_|bpf_skb_|PT_REGS/;
  if (['tc', 'socket_filter', 'cgroup_skb'].includes(type)) return /xdp_md|XDP_PASS|bpf_xdp_|PT_REGS/;
  if (['kprobe', 'tracepoint', 'raw_tracepoint', 'perf_event', 'fentry', 'lsm', 'struct_ops'].includes(type)) return /xdp_md|XDP_PASS|__sk_buff|TC_ACT_|data_end/;
  return null;
}

/**
 * Would the fix have helped the poster? "helped": the class the thread settled on and its words;
 * "partly": the class but not the words, or an honest unknown that names the right candidate;
 * "no": unknown; "misleading": another class, words the thread rules out, or another type's idioms.
 */
function fixVerdict(e: ReturnType<typeof explainLog>, side: Sidecar): 'helped' | 'partly' | 'no' | 'misleading' {
  const words = `${e.explanation}\n${e.fix}\n${e.brief}`;
  const wrong = wrongTypeWords(side.program_type);
  if (side.explanation_never_says && new RegExp(side.explanation_never_says).test(words)) return 'misleading';
  if (e.class !== side.expected_class && e.class !== 'unknown') return 'misleading';
  if (wrong && e.program_type.type !== null && e.program_type.type !== side.program_type && wrong.test(`${e.fix}\n${e.snippet ?? ''}`)) return 'misleading';
  if (e.class === side.expected_class && side.expected_class !== 'unknown') {
    if (side.explanation_says && !new RegExp(side.explanation_says).test(words)) return 'partly';
    if (wrong && wrong.test(`${e.fix}\n${e.snippet ?? ''}`)) return 'partly';
    return 'helped';
  }
  if (e.class === 'unknown' && side.expected_class === 'unknown') return side.explanation_says && !new RegExp(side.explanation_says).test(words) ? 'partly' : 'helped';
  const cand = (e.facts.recognised as { candidate?: string } | undefined)?.candidate;
  return cand === side.expected_class ? 'partly' : 'no';
}

const KNOWN = new Set([...CLASSES.map((c) => c.id), 'unknown']);

test('the real corpus: at least 40 logs, each with its source, kernel, program type, cause and expected class', () => {
  const all = corpus();
  assert.ok(all.length >= 40, `${all.length} logs`);
  const kernels = new Set<string>();
  const types = new Set<string>();
  for (const { name, side, log } of all) {
    assert.match(side.source, /^https:\/\/github\.com\/[^/]+\/[^/]+\/(issues|pull)\/\d+$/, `${name}: source URL`);
    for (const k of ['kernel', 'program_type', 'cause'] as const) assert.ok(side[k].length >= 2, `${name}: ${k}`);
    assert.ok(KNOWN.has(side.expected_class), `${name}: expected class ${side.expected_class} is one of ours or unknown`);
    assert.ok(log.trim().length > 0, `${name}: the log`);
    const major = /\b([4-7])\.\d+/.exec(side.kernel)?.[1];
    if (major) kernels.add(major);
    types.add(side.program_type);
  }
  for (const k of ['4', '5', '6']) assert.ok(kernels.has(k), `a log from a ${k}.x kernel`);
  for (const t of ['xdp', 'tc', 'kprobe', 'tracepoint', 'fentry', 'cgroup_skb', 'lsm', 'struct_ops']) assert.ok(types.has(t), `a ${t} log`);
});

test('the real corpus: >= 90% classified as the source established, none pointing away from the real fix', (t) => {
  const all = corpus();
  let right = 0;
  const misses: string[] = [];
  const misleading: string[] = [];
  for (const { name, side, log } of all) {
    // as a user would run it: no --type, the log as posted
    const e = explainLog(log);
    const words = `${e.explanation}\n${e.fix}\n${e.brief}`;
    let ok = e.class === side.expected_class;
    if (ok && side.explanation_says && !new RegExp(side.explanation_says).test(words)) {
      ok = false;
      misses.push(`${name}: class right but the text lacks /${side.explanation_says}/`);
    }
    if (side.explanation_never_says && new RegExp(side.explanation_never_says).test(words)) {
      ok = false;
      misleading.push(`${name}: says /${side.explanation_never_says}/ (${e.class})`);
    }
    // a wrong class (not "unknown") sends the poster to a fix that is not theirs
    if (e.class !== side.expected_class && e.class !== 'unknown') misleading.push(`${name}: ${e.class}, the thread says ${side.expected_class}`);
    if (ok) right++;
    else if (e.class !== side.expected_class) misses.push(`${name}: ${e.class} (confidence ${e.confidence}), want ${side.expected_class}`);
  }
  const verdicts = all.map(({ side, log }) => fixVerdict(explainLog(log), side));
  const count = (v: string): number => verdicts.filter((x) => x === v).length;
  const score = `explain on the real corpus: ${right}/${all.length} right (${((100 * right) / all.length).toFixed(1)}%), ${misleading.length} misleading; fix would have helped: ${count('helped')} fully, ${count('partly')} partly, ${count('no')} not, ${count('misleading')} misleading`;
  t.diagnostic(score);
  console.log(score);
  assert.deepEqual(misleading, [], 'no explanation leads away from the real fix');
  assert.ok(right / all.length >= 0.9, `${score}\n${misses.join('\n')}`);
});

test('every wording of every complaint, old and new kernels, reaches its class', () => {
  const doc = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'verifier-wordings.json'), 'utf8')) as {
    wordings: Array<{ class: string; format: string; kernels: string; example: string; type?: (typeof PROG_TYPES)[number] }>;
  };
  const seen = new Set<string>();
  for (const w of doc.wordings) {
    const e = explainLog(w.example, { progType: w.type });
    assert.equal(e.class, w.class, `"${w.format}" (${w.kernels}): ${e.explanation}`);
    seen.add(w.class);
  }
  for (const c of CLASSES) assert.ok(seen.has(c.id), `a wording of ${c.id} in the table`);
});

test('program type: inferred from the log, overridden by --type, and an assumption is said aloud', () => {
  const quark = readFileSync(path.join(REAL, 'quark-321-kprobe-modified-ctx.log'), 'utf8');
  const k = explainLog(quark);
  assert.deepEqual([k.program_type.type, k.program_type.source], ['kprobe', 'log']);
  assert.match(k.fix, /PT_REGS_PARM/);
  assert.doesNotMatch(`${k.explanation} ${k.fix}`, /xdp_md/);

  const tp = explainLog(readFileSync(path.join(REAL, 'bpftrace-1810-tp-common-fields.log'), 'utf8'));
  assert.equal(tp.program_type.type, 'tracepoint');
  // the same offset is a field of struct xdp_md only if someone says it is XDP
  const asXdp = explainLog('0: (71) r1 = *(u8 *)(r1 +3)\ninvalid bpf_context access off=3 size=1', { progType: 'xdp' });
  assert.match(asXdp.explanation, /ctx->data/);
  assert.equal(asXdp.program_type.source, 'given');

  // nothing in the log names the type: XDP is assumed, and the text says so, less sure
  const bare = explainLog('9: (63) *(u32 *)(r6 +8) = r0\ninvalid bpf_context access off=8 size=4');
  assert.equal(bare.class, 'ctx-write');
  assert.equal(bare.program_type.type, null);
  assert.match(bare.explanation, /program type assumed: XDP/);
  assert.ok(bare.confidence < 0.9);
  // and --type makes it certain, in the words of that type
  const tc = explainLog('9: (63) *(u32 *)(r6 +0) = r0\ninvalid bpf_context access off=0 size=4', { progType: 'tc' });
  assert.match(tc.explanation, /ctx->len \(offset 0 of struct __sk_buff\)/);
  assert.equal(tc.confidence, 0.9);

  // a tracing helper refused in a cgroup_skb program: no XDP words, the type's own
  const aya = explainLog(readFileSync(path.join(REAL, 'aya-1233-cgroup-skb-probe-read.log'), 'utf8'));
  assert.equal(aya.program_type.type, 'cgroup_skb');
  assert.match(aya.explanation, /cgroup_skb programs read their own context \(struct __sk_buff/);
});

test('helper table: ids and names agree with this machine\'s uapi header; first kernels answer invalid func unknown#N', () => {
  // independent source: the installed linux/bpf.h lists the helpers in id order
  const header = readFileSync('/usr/include/linux/bpf.h', 'utf8');
  const mapper = /#define __BPF_FUNC_MAPPER\(FN\)([\s\S]*?)\n\n/.exec(header)?.[1] ?? '';
  const names = [...mapper.matchAll(/FN\(([a-z_0-9]+)/g)].map((m) => m[1]!);
  assert.ok(names.length > 150, `${names.length} helpers in the header`);
  names.forEach((n, id) => {
    if (id === 0) return; // unspec
    assert.equal(helperById(id)?.name, n, `helper #${id}`);
  });
  assert.deepEqual(helperById(114), { id: 114, name: 'probe_read_user_str', since: '5.5' });
  assert.equal(helperById(182)?.since, '5.17');
  assert.equal(helperById(212), null);
  const e = explainLog('36: (85) call unknown#182\ninvalid func unknown#182');
  assert.equal(e.class, 'helper-unavailable');
  assert.match(e.explanation, /bpf_strncmp, added in Linux 5\.17: the running kernel is older/);
  assert.equal(e.facts.since, '5.17');
});

test('confidence: a reading below the threshold is "unknown" with what was recognised, never a guess as fact', () => {
  const leak = explainLog(readFileSync(path.join(REAL, 'bcc-501-pointer-as-value.log'), 'utf8'));
  assert.equal(leak.class, 'unknown');
  assert.ok(leak.confidence < 0.5);
  assert.match(leak.explanation, /What afxdp recognised \(a guess, not an answer\)/);
  assert.match(leak.explanation, /pointer/);
  const rec = leak.facts.recognised as { message: string; candidate: string };
  assert.equal(rec.message, 'invalid indirect read from stack off -32+0 size 4');
  assert.equal(rec.candidate, 'uninit');
  // an offset that is no field of xdp_md, with no type known, says nothing certain
  const odd = explainLog('0: (61) r0 = *(u32 *)(r1 +200)\ninvalid bpf_context access off=200 size=4');
  assert.equal(odd.class, 'unknown');
  assert.equal((odd.facts.recognised as { candidate: string }).candidate, 'ctx-bad-read');
  // a sure one carries its confidence
  const sure = explainLog('45: (95) exit\nUnreleased reference id=3 alloc_insn=10');
  assert.equal(sure.class, 'reference-leak');
  assert.ok(sure.confidence >= 0.9);
});

test('afxdp explain --type kprobe and --json on a real log', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'afxdp-explain-real-'));
  try {
    const f = path.join(dir, 'ctx.log');
    writeFileSync(f, '26: (79) r1 = *(u64 *)(r6 +0)\ndereference of modified ctx ptr R6 off=96 disallowed\n');
    const plain = await runCli(['explain', f]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^class: ctx-modified .*confidence 0\.90$/m);
    const k = await runCli(['explain', f, '--type', 'kprobe', '--json']);
    assert.equal(k.code, 0, k.stderr);
    const doc = JSON.parse(k.stdout) as { class: string; program_type: { type: string; source: string }; confidence: number; fix: string };
    assert.equal(doc.class, 'ctx-modified');
    assert.deepEqual(doc.program_type, { type: 'kprobe', source: 'given', evidence: null, confidence: 1, alternatives: [] });
    assert.match(doc.fix, /PT_REGS_PARMn/);
    const h = await runCli(['explain', '--help']);
    for (const t of PROG_TYPES) assert.ok(h.stdout.includes(t), `--help lists ${t}`);
    assertOneLineError(await runCli(['explain', f, '--type']), 2, /argument missing|--type/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the held-out logs: each labelled from its thread; class, fix text and program type scored like the corpus', (t) => {
  const all = corpus(HELDOUT);
  assert.ok(all.length >= 20, `${all.length} held-out logs`);
  const real = new Set(corpus().map((c) => c.side.source));
  const verdicts: Record<string, number> = { helped: 0, partly: 0, no: 0, misleading: 0 };
  const types: Record<string, number> = { right: 0, wrong: 0, unnamed: 0, 'n/a': 0 };
  let right = 0;
  const misleading: string[] = [];
  const wrongType: string[] = [];
  for (const { name, side, log } of all) {
    assert.match(side.source, /^https:\/\/github\.com\/[^/]+\/[^/]+\/(issues|pull)\/\d+$/, `${name}: source URL`);
    assert.ok(!real.has(side.source), `${name}: not a thread of the corpus`);
    assert.ok(KNOWN.has(side.expected_class), `${name}: expected class ${side.expected_class}`);
    const e = explainLog(log);
    if (e.class === side.expected_class) right++;
    const v = fixVerdict(e, side);
    verdicts[v]!++;
    if (v === 'misleading') misleading.push(`${name}: ${e.class} (${e.fix.slice(0, 80)}…)`);
    const tv = typeVerdict(e, side);
    types[tv]!++;
    if (tv === 'wrong') wrongType.push(`${name}: ${e.program_type.type}, the thread's is ${side.program_type}`);
  }
  const score = `explain on the held-out logs: ${right}/${all.length} right class; fix would have helped: ${verdicts.helped} fully, ${verdicts.partly} partly, ${verdicts.no} not, ${verdicts.misleading} misleading; program type: ${types.right} right, ${types.wrong} wrong, ${types.unnamed} not named`;
  t.diagnostic(score);
  console.log(score);
  assert.deepEqual(misleading, [], 'no fix sends the poster the wrong way');
  assert.deepEqual(wrongType, [], 'no program type named wrongly');
});

test('the corpus: the program type is never named wrongly, and named wherever the log shows it', (t) => {
  const wrong: string[] = [];
  const counts: Record<string, number> = { right: 0, wrong: 0, unnamed: 0, 'n/a': 0 };
  for (const { name, side, log } of corpus()) {
    const e = explainLog(log);
    const v = typeVerdict(e, side);
    counts[v]!++;
    if (v === 'wrong') wrong.push(`${name}: ${e.program_type.type} (${e.program_type.evidence}), the thread's is ${side.program_type}`);
  }
  const score = `program type on the real corpus: ${counts.right} right, ${counts.wrong} wrong, ${counts.unnamed} not named`;
  t.diagnostic(score);
  console.log(score);
  assert.deepEqual(wrong, []);
});

test('a NULL test the log shows, lost by the kernel on a copy, is the kernel\'s fault; a dereference on the NULL path is the program\'s', () => {
  const lookup = '7: (85) call bpf_map_lookup_elem#1\n8: (7b) *(u64 *)(r10 -16) = r0\n';
  // tested in R0 (fall-through of "== 0" is the non-NULL path), dereferenced through the stack copy
  const lost = explainLog(`${lookup}9: (15) if r0 == 0x0 goto pc+5\n10: (79) r1 = *(u64 *)(r10 -16)\n11: (61) r2 = *(u32 *)(r1 +0)\nR1 invalid mem access 'map_value_or_null'\n`);
  assert.equal(lost.class, 'kernel-bug');
  assert.match(lost.explanation, /does test the pointer for NULL \(insn 9\)/);
  assert.match(lost.fix, /right after the lookup|newer|current kernel/);
  // the fall-through of "!= 0" is the NULL path: the program's own mistake
  const nullPath = explainLog(`${lookup}9: (55) if r0 != 0x0 goto pc+5\n10: (79) r1 = *(u64 *)(r10 -16)\n11: (61) r2 = *(u32 *)(r1 +0)\nR1 invalid mem access 'map_value_or_null'\n`);
  assert.equal(nullPath.class, 'map-null');
  // no test at all
  const none = explainLog(`${lookup}9: (79) r1 = *(u64 *)(r10 -16)\n10: (61) r2 = *(u32 *)(r1 +0)\nR1 invalid mem access 'map_value_or_null'\n`);
  assert.equal(none.class, 'map-null');
});

test('loader lines are read and quoted: a log with no verifier complaint but a loader error is explained', () => {
  const ksym = explainLog("libbpf: extern (func ksym) 'bpf_cpumask_create': not found in kernel or module BTFs\nlibbpf: failed to load object 'sched.bpf.o'\n");
  assert.equal(ksym.class, 'loader');
  assert.equal(ksym.facts.loader, 'libbpf');
  assert.match(ksym.explanation, /bpf_cpumask_create/);
  assert.match(ksym.fix, /__weak/);
  const map = explainLog("libbpf: map 'events': failed to create: Operation not permitted(-1)\n");
  assert.match(map.fix, /CAP_BPF|RLIMIT_MEMLOCK/);
  const unknown = explainLog("0: (b7) r0 = 0\nsome message afxdp does not know\nprocessed 1 insns\nlibbpf: prog 'x': failed to load: -22\n");
  assert.equal(unknown.class, 'unknown');
  assert.match(unknown.explanation, /the loader said: "libbpf: prog 'x': failed to load: -22" \(libbpf\)/);
});

test('a bound check the log shows on a copy of the index: the program checked, the verifier lost it on the copy', () => {
  const log = [
    '10: (bf) r3 = r2',
    '11: (25) if r3 > 0x3 goto pc+5',
    '12: (67) r2 <<= 3',
    '13: (0f) r1 += r2',
    '14: (79) r0 = *(u64 *)(r1 +0)',
    'R1 unbounded memory access, make sure to bounds check any such access',
  ].join('\n');
  const e = explainLog(log);
  assert.equal(e.class, 'map-value-bounds');
  assert.match(e.explanation, /The bound check is in the log \(11: \(25\) if r3 > 0x3 goto pc\+5\), but it tested R3, a copy of the index R2/);
  assert.match(e.fix, /barrier_var/);
  // the same without the check says nothing of the kind
  const plain = explainLog(log.replace('11: (25) if r3 > 0x3 goto pc+5\n', ''));
  assert.equal(plain.class, 'map-value-bounds');
  assert.doesNotMatch(plain.explanation, /bound check is in the log/);
});

test('a stack read outside the frame is a bounds mistake, not an unwritten slot; old-form reads inside the frame stay uninitialised', () => {
  const past = explainLog('; tid->ns = (u32)ns.inum;\n106: (61) r1 = *(u32 *)(r6 +24)\ninvalid read from stack R6 off=0 size=4\n');
  assert.equal(past.class, 'stack');
  assert.match(past.fix, /BPF_CORE_READ\(p, a\.b\)/);
  const unset = explainLog('11: (85) call 2\ninvalid indirect read from stack off -8+0 size 8\n');
  assert.equal(unset.class, 'uninit');
});

test("a malformed kernel BTF before an argument-type refusal is the kernel's fault; before a program mistake it is noise", () => {
  const broken = explainLog("Validating prog0() func#1...\nbtf_vmlinux is malformed\nArg#0 type PTR in prog0() is not supported yet.\nprocessed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
  assert.equal(broken.class, 'kernel-bug');
  assert.match(broken.fix, /pahole/);
  const own = explainLog(readFileSync(path.join(HELDOUT, 'xdp-tutorial-269-bounds-one-byte.log'), 'utf8'));
  assert.equal(own.class, 'pkt-bounds');
});

test('an extern libbpf finds no BTF for is named for what it is: a libc call, a missing bpf_endian.h', () => {
  const endian = explainLog("libbpf: failed to find BTF for extern 'bpf_htons': -2\n");
  assert.equal(endian.class, 'loader');
  assert.match(endian.fix, /bpf\/bpf_endian\.h/);
  const libc = explainLog("libbpf: failed to find BTF for extern 'clock_gettime' [66] section: -2\n");
  assert.match(libc.explanation, /cannot call C-library or other user-space functions/);
  assert.doesNotMatch(libc.fix, /__weak/);
  // a kfunc the kernel lacks is still a kfunc
  assert.match(explainLog("libbpf: extern (func ksym) 'bpf_foo': not found in kernel or module BTFs\n").fix, /__weak/);
});

test('the type the loader says it loaded: iproute2 "Type: N", strace prog_type=, the tc/ip command', () => {
  const ipr = explainLog("Prog section 'from-container' rejected: Permission denied (13)!\n - Type:         3\n - Instructions: 10 (0 over limit)\n\nVerifier analysis:\n\n0: (b7) r0 = 0\n1: (95) exit\nR1 !read_ok\n");
  assert.deepEqual([ipr.program_type.type, ipr.program_type.source], ['tc', 'log']);
  assert.equal(explainLog("bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_LSM, insn_cnt=192}) = -1 EINVAL\n0: (95) exit\nR0 !read_ok\n").program_type.type, 'lsm');
  assert.equal(explainLog('# ip link set dev eth0 xdp obj prog.o sec xdp\n0: (95) exit\nR0 !read_ok\n').program_type.type, 'xdp');
});

test('E2BIG with the verifier message cut is the complexity limit; type-independent snippets use the type\'s verdicts', () => {
  const cut = explainLog(readFileSync(path.join(HELDOUT, 'cilium-11107-complexity-4.9.log'), 'utf8'));
  assert.equal(cut.class, 'too-complex');
  assert.equal(cut.program_type.type, 'tc');
  const old = explainLog('BPF program is too large. Processed 131073 insn\n');
  assert.match(old.explanation, /before 5\.2/);
  const tracing = explainLog("12: (61) r1 = *(u32 *)(r0 +0)\nR0 invalid mem access 'map_value_or_null'\n", { progType: 'kprobe' });
  assert.equal(tracing.class, 'map-null');
  assert.doesNotMatch(tracing.snippet ?? '', /XDP_/);
  assert.match(explainLog("12: (61) r1 = *(u32 *)(r0 +0)\nR0 invalid mem access 'map_value_or_null'\n", { progType: 'xdp' }).snippet ?? '', /XDP_PASS/);
});

test('a helper refused at this attach point, an old kernel\'s packet-offset rule, a global function called in a locked section', () => {
  const dpath = explainLog("15: (85) call bpf_d_path#147\nhelper call is not allowed in probe\n", { progType: 'fentry' });
  assert.equal(dpath.class, 'helper-not-allowed');
  assert.match(dpath.fix, /allowlist/);
  const old = explainLog('448: (0f) r0 += r5\ncannot add integer value with 3 upper zero bits to ptr_to_packet\n');
  assert.equal(old.class, 'kernel-bug');
  assert.match(old.fix, /4\.14/);
  const locked = explainLog('global function calls are not allowed with preemption disabled\n');
  assert.equal(locked.class, 'func-signature');
  assert.match(locked.fix, /static/);
});

test("an 'inv' store through a ring-buffer record whose spill is not in the log: the old-kernel spill reading, said as resting on the C line", () => {
  const e = explainLog("; PUSH_FIXED_SIZE_TO_RINGBUF(ringbuf, param, sizeof(uint32_t));\n223: (73) *(u8 *)(r4 +3) = r5\nR4 invalid mem access 'inv'\n");
  assert.equal(e.class, 'kernel-bug');
  assert.match(e.explanation, /rests on the C line/);
  assert.ok(e.confidence < 0.9);
  // the same store with no ring buffer in sight stays a plain number dereferenced
  assert.notEqual(explainLog("; *p = v;\n223: (73) *(u8 *)(r4 +3) = r5\nR4 invalid mem access 'inv'\n").class, 'kernel-bug');
});

test('every row of the message table has a wording in the table of kernel wordings, and reaches its own class', () => {
  const doc = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'verifier-wordings.json'), 'utf8')) as { wordings: Array<{ class: string; example: string }> };
  for (const row of MESSAGES) {
    const w = doc.wordings.find((x) => row.re.test(x.example));
    assert.ok(w, `a wording for ${row.re.source.slice(0, 60)}`);
    assert.equal(w.class, row.cls);
  }
  // a table message inside a one-line error (cilium/ebpf wraps the whole log into one line)
  const oneLine = explainLog('Error: field Redir: program redir: load program: invalid argument: 0: R1=ctx() R10=fp0 1: (85) call bpf_redirect_map#51 cannot pass map_type 1 into func bpf_redirect_map#51 (3 line(s) omitted)');
  assert.equal(oneLine.class, 'helper-arg');
  assert.ok(oneLine.confidence <= 0.8);
  assert.match(oneLine.fix, /DEVMAP/);
  // the map whose value holds a bpf_spin_lock but has no BTF: the fix is a BTF-defined map, compiled with -g
  const e = explainLog("12: (85) call bpf_spin_lock#93\nmap 'counts' has to have BTF in order to use bpf_spin_lock\nprocessed 13 insns");
  assert.equal(e.class, 'loader');
  assert.match(e.fix, /__type\(value, struct val\)/);
  assert.match(e.fix, /clang -g/);
  assert.match(e.snippet ?? '', /struct bpf_spin_lock lock/);
});

test('program type: read from the loaders\' own lines (section names, API type names, BPF_PROG_TYPE_*) and from pt_regs loads through a copy of ctx', () => {
  const msg = '5: (61) r0 = *(u32 *)(r2 +0)\nR2 invalid mem access \'scalar\'\nprocessed 6 insns';
  const cases: Array<[string, string]> = [
    ["libbpf: sec 'tp/syscalls/sys_enter_openat': found program 'handle' at insn offset 0 (0 bytes), code size 12 insns", 'tracepoint'],
    ["libbpf: sec 'uprobe.s/libc.so.6:malloc': found program 'on_malloc' at insn offset 0 (0 bytes), code size 9 insns", 'kprobe'],
    ['libbpf: elf: section(3) xdp, size 264, link 0, flags 6, type=1', 'xdp'],
    ["Prog section 'classifier/ingress' rejected: Permission denied (13)!", 'tc'],
    ['fn = b.load_func("ingress", BPF.SCHED_CLS)', 'tc'],
    ['spec.Programs["f"].Type = ebpf.SocketFilter', 'socket_filter'],
    ['let program: &mut Lsm = bpf.program_mut("file_open").unwrap().try_into()?;', 'lsm'],
    ['error loading program of type BPF_PROG_TYPE_CGROUP_SKB', 'cgroup_skb'],
    ['bpftrace -e \'usdt:/usr/bin/python3:function__entry { @[str(arg1)] = count(); }\'', 'kprobe'],
    // helpers only one type has, as the instruction listing calls them
    ['3: (85) call bpf_get_func_arg#183', 'fentry'],
    ['3: (85) call bpf_perf_prog_read_value#55', 'perf_event'],
    ['3: (85) call bpf_bind#64', 'cgroup_sock_addr'],
    ['Error: field XdpFilter: program xdp_filter: load program: permission denied:', 'xdp'],
    ['TRACEPOINT_PROBE(sched, sched_switch) {', 'tracepoint'],
    ['RAW_TRACEPOINT_PROBE(sched_switch) {', 'raw_tracepoint'],
    ['KFUNC_PROBE(tcp_v4_connect, struct sock *sk) {', 'fentry'],
    ['bpftrace -e \'software:cpu-clock:1000000 { @[kstack] = count(); }\'', 'perf_event'],
  ];
  for (const [line, type] of cases) {
    const e = explainLog(`${line}\n${msg}`);
    assert.equal(e.program_type.type, type, line);
    assert.equal(e.program_type.source, 'log');
  }
  // a list naming several types is no clue to this program's
  assert.equal(explainLog(`BPF.XDP BPF.KPROBE\n${msg}`).program_type.type, null);
  // a kprobe reading its first argument through a copy of ctx (r9 = r1; r3 = *(u64 *)(r9 +112))
  const copy = explainLog('0: (bf) r9 = r1\n1: (79) r3 = *(u64 *)(r9 +112)\n2: (61) r0 = *(u32 *)(r3 +0)\nR3 invalid mem access \'scalar\'\nprocessed 3 insns');
  assert.equal(copy.program_type.type, 'kprobe');
});

test('weak evidence: the message alone (no instruction, registers or C line) gets a hedged reading that names the other causes', () => {
  const bare = explainLog("R0 invalid mem access 'map_value_or_null'");
  assert.equal(bare.class, 'map-null');
  assert.ok(bare.confidence <= 0.6, `confidence ${bare.confidence}`);
  assert.match(bare.explanation, /likeliest reading, not a certainty/);
  assert.match(bare.fix, /^most likely: .*check the other cause: .*copy of the pointer/);
  assert.match(bare.brief, /^probably: /);
  assert.equal(bare.facts.evidence, 'message only');
  // the same message with the instruction and the register state behind it: one firm reading
  const full = explainLog("5: (85) call bpf_map_lookup_elem#1\n6: (61) r1 = *(u32 *)(r0 +0)\nR0 invalid mem access 'map_value_or_null'\nprocessed 7 insns");
  assert.equal(full.class, 'map-null');
  assert.equal(full.confidence, 0.9);
  assert.doesNotMatch(full.fix, /most likely/);
  // a message only one cause prints is not hedged
  const one = explainLog('combined stack size of 3 calls is 640. Too large');
  assert.equal(one.class, 'stack');
  assert.equal(one.facts.evidence, undefined);
});

test('an older kernel\'s limit: where the log shows the kernel (its release, or the pre-5.2 "processed" line), the release that accepts the program is named', () => {
  const loop = explainLog('20: (05) goto pc-15\nback-edge from insn 20 to 5\nprocessed 21 insns (limit 131072), stack depth 16');
  assert.equal(loop.class, 'loop');
  assert.equal(loop.facts.kernel_accepts_since, '5.3');
  assert.match(loop.explanation, /a kernel older than 5\.2 .*predates bounded loops \(Linux 5\.3\)/);
  assert.match(loop.fix, /run Linux 5\.3\+/);

  const bounds = explainLog('$ uname -r\n5.4.0-216-generic\n14: (0f) r1 += r2\nmath between map_value pointer and register with unbounded min value is not allowed\nprocessed 15 insns (limit 1000000) max_states_per_insn 0');
  assert.equal(bounds.class, 'map-value-bounds');
  assert.equal(bounds.facts.kernel_accepts_since, '5.7');
  assert.match(bounds.explanation, /Linux 5\.4 .*32-bit arithmetic/);

  const unameA = explainLog('Linux build-7 4.19.0-27-amd64 #1 SMP Debian 4.19.316-1 x86_64 GNU/Linux\n20: (05) goto pc-15\nback-edge from insn 20 to 5\nprocessed 21 insns (limit 1000000) max_states_per_insn 0');
  assert.equal(unameA.facts.kernel_accepts_since, '5.3');
  assert.match(unameA.explanation, /Linux 4\.19/);
  // a kernel that has the feature: no such clause
  const newer = explainLog('Linux 6.1.0\n14: (0f) r1 += r2\nmath between map_value pointer and register with unbounded min value is not allowed\nprocessed 15 insns (limit 1000000) max_states_per_insn 0');
  assert.equal(newer.facts.kernel_accepts_since, undefined);
  assert.doesNotMatch(newer.explanation, /predates/);
  // nothing says which kernel: no claim either
  assert.equal(explainLog('20: (05) goto pc-15\nback-edge from insn 20 to 5').facts.kernel_accepts_since, undefined);
});

test('loader messages that name their cause: permission, pinned maps, legacy maps, global data, attach points, object files', () => {
  const cases: Array<[string, string, RegExp]> = [
    ["libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+", 'legacy-map', /SEC\("\.maps"\)/],
    ['field XdpProg: program xdp_prog: load program: operation not permitted (MEMLOCK may be too low, consider rlimit.RemoveMemlock)', 'permission', /CAP_BPF.*RLIMIT_MEMLOCK/],
    ["libbpf: couldn't reuse pinned map at '/sys/fs/bpf/tc/globals/m': parameter mismatch", 'pinned-map', /stale pin/],
    ["libbpf: kernel doesn't support global data", 'global-data', /Linux 5\.2\+/],
    ["libbpf: prog 'p': failed to attach to kprobe 'do_sys_open+0x0': Invalid argument", 'attach', /kallsyms/],
    ['libbpf: elf: failed to open prog.bpf.o: No such file or directory', 'object', /-target bpf/],
    // a kfunc of a newer kernel: the release that has it
    ["libbpf: extern (func ksym) 'bpf_cpumask_create': not found in kernel or module BTFs", 'extern', /Linux 6\.3\+/],
  ];
  for (const [line, cause, fix] of cases) {
    const e = explainLog(line);
    assert.equal(e.class, 'loader', line);
    assert.equal(e.facts.cause, cause, line);
    assert.match(e.fix, fix, line);
  }
});

test('a packet access whose message shows a proven range is a check too short, not a variable offset that voided it', () => {
  const short = explainLog('; authhdr->seq = 1;\n172: (63) *(u32 *)(r1 +8) = r2\ninvalid access to packet, off=8 size=4, R1(id=6,off=8,r=2)\nR1 offset is outside of the packet\n');
  assert.equal(short.class, 'pkt-bounds');
  assert.match(short.explanation, /proven range r=2 bytes/);
  assert.match(short.fix, /at least 12 bytes/);
  // no range proven for the moved pointer: the variable offset is the cause
  assert.equal(explainLog('invalid access to packet, off=34 size=1, R6(id=3,off=34,r=0)\nR6 offset is outside of the packet\nprocessed 202 insns (limit 1000000) max_states_per_insn 1 total_states 9 peak_states 9 mark_read 5\n').class, 'pkt-var-offset');
});

test('a paste that stops at the loader saying the kernel refused the program is a missing verifier message, not "no error"', () => {
  const cut = explainLog("-- END PROG LOAD LOG --\nlibbpf: prog 'prog': failed to load: -13\nlibbpf: failed to load object 'traceroute'\n");
  assert.equal(cut.class, 'unknown');
  assert.match(cut.explanation, /kernel refused the program/);
  assert.match(cut.explanation, /EACCES/);
  assert.match(cut.fix, /BEGIN PROG LOAD LOG/);
  // text with no failed load in it is still "no verifier error"
  assert.equal(explainLog('libbpf: failed to load object x\n').class, 'none');
  assert.equal(explainLog('hello\n').class, 'none');
});

test("a BTF struct walk past the type's end is a verifier message even when the log's last line is missing; logger-wrapped iproute2 types and kretprobe names are read", () => {
  const e = explainLog('106: (16) if w1 == 0x0 goto pc+29     ; R1_w=1\n107: (79) r8 = *(u64 *)(r8 +216)\naccess beyond struct cgroup_subsys_state at off 216 size 8\n');
  assert.equal(e.error.message, 'access beyond struct cgroup_subsys_state at off 216 size 8');
  assert.doesNotMatch(e.explanation, /without the verifier's message/);
  const wrapped = explainLog('  msg="Prog section \'connect6\' rejected: Invalid argument (22)!" subsys=datapath-loader\n  msg=" - Type:         18" subsys=datapath-loader\n  msg="back-edge from insn 624 to 570" subsys=datapath-loader\n');
  assert.equal(wrapped.program_type.type, 'cgroup_sock_addr');
  assert.equal(explainLog('ERROR program kretprobe__execveat: load program: permission denied: R1 unbounded memory access, make sure to bounds check any array access into a map\n').program_type.type, 'kprobe');
});

/** Every wording example of the table, for tests that look at the advice of every class. */
function wordingExamples(): Array<{ class: string; example: string }> {
  return (JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'verifier-wordings.json'), 'utf8')) as { wordings: Array<{ class: string; example: string }> }).wordings;
}

/** The advice a user acts on, without the clause that names what the kernel lacks. */
const advice = (e: { fix: string; brief: string; snippet: string | null }): string => `${e.fix.replace(/ — your kernel[^]*$/, '')}\n${e.brief}\n${e.snippet ?? ''}`;

test('the same log with and without the kernel line: the current way, or the older kernel\'s way and why', () => {
  const complex = '142: (bf) r1 = r6\nBPF program is too large. Processed 1000001 insn\nprocessed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 9000 peak_states 9000 mark_read 3';
  const modern = explainLog(complex);
  assert.equal(modern.class, 'too-complex');
  assert.match(`${modern.fix}\n${modern.snippet}`, /bpf_loop\(/);
  assert.equal(modern.facts.kernel_lacks, undefined);
  const old = explainLog(`Linux version 5.4.0-150-generic\n${complex}`);
  assert.equal(old.class, 'too-complex');
  assert.doesNotMatch(advice(old), /bpf_loop/);
  assert.match(old.fix, /your kernel 5\.4 .*predates bpf_loop\(\) \(5\.17\)/);
  assert.match(old.snippet ?? '', /^for \(__u32 i = 0; i < 64; i\+\+\)/);
  // the pre-5.2 "processed" line: no bpf_loop and no bounded loops either, so the snippet unrolls
  const pre52 = explainLog('142: (bf) r1 = r6\nBPF program is too large. Processed 131073 insn\nprocessed 131073 insns (limit 131072), stack depth 64');
  assert.doesNotMatch(advice(pre52), /bpf_loop/);
  assert.match(pre52.snippet ?? '', /#pragma unroll/);
  assert.match(pre52.fix, /older than 5\.2 .*predates bpf_loop\(\) \(5\.17\) and bounded loops \(5\.3\)/);

  // kernel-memory reads: bpf_probe_read_kernel (5.5) on current kernels, bpf_probe_read before
  const deref = '0: (79) r1 = *(u64 *)(r1 +112)\n1: (61) r0 = *(u32 *)(r1 +0)\nR1 invalid mem access \'scalar\'';
  assert.match(advice(explainLog(deref, { progType: 'kprobe' })), /bpf_probe_read_kernel/);
  const old419 = explainLog(`uname -r: 4.19.0\n${deref.replace("'scalar'", "'inv'")}`, { progType: 'kprobe' });
  assert.doesNotMatch(advice(old419), /bpf_probe_read_(?:kernel|user)/);
  assert.match(advice(old419), /bpf_probe_read\b/);
  assert.match(old419.fix, /predates bpf_probe_read_kernel\(\)\/_user\(\) \(5\.5\)/);

  // a reference leak on a kernel without the ring buffer: no bpf_ringbuf_* to release
  const leak = '40: (95) exit\nUnreleased reference id=2 alloc_insn=13';
  assert.match(advice(explainLog(leak)), /bpf_ringbuf_submit/);
  assert.doesNotMatch(advice(explainLog(`Linux 4.19.0\n${leak}`)), /ringbuf/);
  // a kernel that has everything: the advice is the same as with no kernel line
  const current = explainLog(`Linux version 6.8.0-41-generic\n${complex}`);
  assert.equal(current.fix, modern.fix);
  assert.equal(current.snippet, modern.snippet);
});

test('every class\'s advice on an old kernel names no feature newer than it (beside the note that says so)', () => {
  const NEWER_THAN_419 = /\bbpf_loop\(|\bbpf_for\(|\bbpf_repeat\(|\bbpf_probe_read_(?:kernel|user)|\bbpf_ringbuf_(?:output|reserve|submit)\b|\bbpf_timer_init\(|\bbpf_for_each_map_elem\(|bounded loops on 5\.3|__arg_ctx/;
  for (const w of wordingExamples()) {
    // these classes' texts are about the kernel lacking a feature: they name it with its release
    if (w.class === 'helper-unavailable' || w.class === 'insn-unsupported') continue;
    for (const [kernel, release] of [['Linux version 4.19.0', 419], ['Linux 4.14.0', 414]] as const) {
      const e = explainLog(`${kernel}\n${w.example}`);
      assert.doesNotMatch(advice(e), NEWER_THAN_419, `${w.class} on ${kernel}: ${advice(e)}`);
      // what the note names as lacking is newer than the kernel, never older
      for (const l of (e.facts.kernel_lacks as Array<{ since: string }> | undefined) ?? []) assert.ok(Number(l.since.split('.')[0]) * 100 + Number(l.since.split('.')[1]) > release, `${w.class}: ${l.since}`);
    }
  }
});

test('every class\'s fix, for a log of each program type (and of none), names no other type\'s context struct or verdict', () => {
  const OF: Record<string, RegExp> = {
    xdp: /\bxdp_md\b|\bXDP_(?:PASS|DROP|TX|REDIRECT|ABORTED)\b/,
    tc: /\bTC_ACT_\w+/,
    skb: /\b__sk_buff\b/,
    kprobe: /\bstruct pt_regs\b/,
  };
  const mine: Record<string, string[]> = { xdp: ['xdp'], tc: ['tc', 'skb'], socket_filter: ['skb'], kprobe: ['kprobe'], fentry: [] };
  const types = ['xdp', 'tc', 'kprobe', 'fentry', 'socket_filter', null] as const;
  let checked = 0;
  for (const w of wordingExamples()) {
    for (const t of types) {
      const e = explainLog(w.example, t ? { progType: t } : {});
      // no type given: the type read from the log (if any) is the program's; otherwise every type's words are another's
      const own = mine[e.program_type.type ?? ''] ?? [];
      for (const [k, re] of Object.entries(OF)) {
        if (own.includes(k)) continue;
        assert.doesNotMatch(advice(e), re, `${e.class} for ${t ?? `no type (read: ${e.program_type.type})`}: ${advice(e)}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 600, `${checked} explanations checked`);
  // the neutral form when nothing says the type
  const e = explainLog('0: (71) r2 = *(u8 *)(r2 +0)\ninvalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)\nR2 offset is outside of the packet');
  assert.equal(e.program_type.type, null);
  assert.match(`${e.fix}\n${e.snippet}`, /return 0; \/\* or your program's pass verdict \*\//);
  // a tc program's packet check returns TC_ACT_OK
  assert.match(explainLog('0: (71) r2 = *(u8 *)(r2 +0)\ninvalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)\nR2 offset is outside of the packet', { progType: 'tc' }).snippet ?? '', /TC_ACT_OK/);
});
