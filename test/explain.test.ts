/**
 * The verifier explainer against the real kernel: every class from a real wrong program (compiled
 * by clang at build time from test/fixtures/verifier/*.bpf.c), its real log at level 1 and 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BpfObject, BPF_PROG_TYPE_XDP, VerifierError } from '../src/xdp/program.js';
import { checkObject } from '../src/xdp/check.js';
import { explainLog, CLASSES, type ProgType } from '../src/explain/index.js';
import { native } from '../src/native.js';
import { runCli, assertOneLineError, ROOT } from './lib/cli.js';

const OBJ = (name: string): string => path.join(ROOT, 'build', 'test-verifier', `${name}.bpf.o`);
const SEED = path.join(ROOT, 'build', 'test-bpf', 'seed.bpf.o');

/** fixture → class it must be explained as (and, where it matters, words the explanation must say) */
/** level1Only: a rejection whose level-2 log repeats level 1's message at seconds of verifier time (the 1M-instruction walk) */
const CASES: Array<{ fixture: string; cls: string; says?: RegExp; type?: ProgType; never?: RegExp; level1Only?: boolean }> = [
  { fixture: 'ctx_write', cls: 'ctx-write', says: /ctx->data_meta \(offset 8 of struct xdp_md\), which xdp programs may read but not write/ },
  { fixture: 'tc_ctx_write', cls: 'ctx-write', says: /ctx->len \(offset 0 of struct __sk_buff\), which tc programs may read but not write/, type: 'tc' },
  { fixture: 'ctx_bad_offset', cls: 'ctx-bad-read', says: /byte 32 of struct xdp_md \(past its end\)/ },
  { fixture: 'pkt_no_bounds', cls: 'pkt-bounds', says: /data_end/ },
  { fixture: 'var_offset', cls: 'pkt-var-offset' },
  { fixture: 'meta_no_bounds', cls: 'meta-bounds', says: /metadata/ },
  { fixture: 'stale_after_adjust_meta', cls: 'pkt-invalidated', says: /bpf_xdp_adjust_meta/ },
  { fixture: 'stale_after_adjust_head', cls: 'pkt-invalidated', says: /bpf_xdp_adjust_head/ },
  { fixture: 'stale_after_adjust_tail', cls: 'pkt-invalidated', says: /bpf_xdp_adjust_tail/ },
  { fixture: 'map_null', cls: 'map-null', says: /NULL/ },
  { fixture: 'map_oob', cls: 'map-value-bounds' },
  { fixture: 'infinite_loop', cls: 'loop' },
  { fixture: 'too_complex', cls: 'too-complex', says: /1000001 instructions/, level1Only: true },
  { fixture: 'stack_overflow', cls: 'stack', says: /640 bytes/ },
  { fixture: 'uninit_reg', cls: 'uninit', says: /R3/ },
  { fixture: 'no_return', cls: 'no-return-value' },
  { fixture: 'gpl_helper', cls: 'gpl-only', says: /bpf_trace_printk/ },
  { fixture: 'helper_wrong_type', cls: 'helper-not-allowed', says: /bpf_skb_load_bytes/ },
  { fixture: 'kfunc_wrong_type', cls: 'helper-not-allowed', says: /kfunc\) bpf_session_is_return/ },
  { fixture: 'ctx_modified', cls: 'ctx-modified', says: /ctx plus 16/ },
  { fixture: 'kfunc_not_bound', cls: 'kfunc-dev-bound', says: /device-bound/ },
  { fixture: 'helper_bad_arg', cls: 'helper-arg', says: /scalar/ },
  { fixture: 'unreleased_ref', cls: 'reference-leak', says: /instruction 13/ },
  { fixture: 'div_zero', cls: 'div-zero' },
  { fixture: 'pkt_end_math', cls: 'ptr-arith', says: /pkt_end/ },
  { fixture: 'return_range', cls: 'return-range', says: /\[0, 1\]/, type: 'cgroup_skb' },
  { fixture: 'scalar_deref', cls: 'scalar-deref' },
  { fixture: 'misaligned_stack', cls: 'misaligned', says: /stack offset that is not a multiple of 4/ },
  { fixture: 'helper_unknown_id', cls: 'helper-unavailable', says: /#212/ },
  { fixture: 'sockops_ctx_write', cls: 'ctx-write', says: /ctx->remote_ip4 \(offset 24 of struct bpf_sock_ops\), which sock_ops programs may read but not write/, type: 'sock_ops', never: /xdp_md|__sk_buff/ },
  { fixture: 'socket_filter_data', cls: 'ctx-bad-read', says: /direct packet access .* not allowed/, type: 'socket_filter', never: /xdp_md/ },
  { fixture: 'tc_stale_after_pull', cls: 'pkt-invalidated', says: /bpf_skb_pull_data/, type: 'tc', never: /XDP_PASS|xdp_md/ },
  { fixture: 'global_func_ptr', cls: 'func-signature', says: /slot\(\) is a global \(non-static\) BPF function/ },
  { fixture: 'core_reloc_missing', cls: 'core-reloc', says: /afxdp_no_such_field/ },
  { fixture: 'unknown_opcode', cls: 'insn-unsupported', says: /does not know this instruction \(unknown opcode f7\)/ },
  { fixture: 'tail_call_stack', cls: 'tail-call-mix', says: /320 bytes of stack/ },
  { fixture: 'redirect_wrong_map', cls: 'helper-arg', says: /bpf_redirect_map#?\d* was given a map of type 1 .*DEVMAP/ },
  { fixture: 'spin_lock_call', cls: 'reference-leak', says: /between bpf_spin_lock\(\) and bpf_spin_unlock\(\) the program may not call helpers/ },
];

/**
 * Classes no correct kernel can be made to show on purpose (kernel-bug), or that happen before the
 * verifier runs (loader: BTF an older kernel refuses, a map or extern it lacks): they are tested on
 * the real logs of test/fixtures/verifier-real/ and the wordings table instead (explain-real.test.ts).
 */
const NOT_PROVOKABLE = new Set(['kernel-bug', 'loader']);

/** Loads the fixture through BpfObject (the path every afxdp load takes) and returns the rejection. */
function reject(fixture: string, logLevel: number): VerifierError {
  const obj = BpfObject.open(OBJ(fixture));
  try {
    obj.load({ defaultType: BPF_PROG_TYPE_XDP, logLevel });
  } catch (e) {
    assert.ok(e instanceof VerifierError, `${fixture}: expected a verifier rejection, got ${String(e)}`);
    return e;
  } finally {
    obj.close();
  }
  assert.fail(`${fixture} was accepted by the verifier`);
}

test('at least 15 classes, every one provoked by a real program', () => {
  const covered = new Set(CASES.map((c) => c.cls));
  assert.ok(CLASSES.length >= 15, `${CLASSES.length} classes`);
  for (const c of CLASSES) assert.ok(covered.has(c.id) || NOT_PROVOKABLE.has(c.id), `class ${c.id} has a fixture`);
});

for (const level of [1, 2]) {
  test(`every class from the real kernel log at log level ${level}`, () => {
    for (const c of CASES.filter((x) => level === 1 || !x.level1Only)) {
      const e = reject(c.fixture, level);
      assert.ok(e.detail && e.detail.length > 0, `${c.fixture}: the raw log is kept`);
      // the explanation BpfObject attached, and a fresh one from the raw log alone
      const fresh = explainLog(e.detail!, { progType: c.type ?? 'xdp' });
      assert.equal(fresh.class, c.cls, `${c.fixture} at level ${level}: ${fresh.error.message}`);
      // BpfObject picks the ctx layout from the program's type (tc, cgroup_skb, xdp)
      assert.equal(e.explanation.class, c.cls, `${c.fixture}: explanation on the error`);
      assert.equal(e.explanation.explanation, fresh.explanation, `${c.fixture}: same words with the type BpfObject knows`);
      assert.ok(fresh.fix.length > 10 && fresh.snippet, `${c.fixture}: a fix and a snippet`);
      if (c.says) assert.match(fresh.explanation, c.says, `${c.fixture}: ${fresh.explanation}`);
      // the type's own words: no other type's context struct or action in the fix
      if (c.never) assert.doesNotMatch(`${fresh.explanation}\n${fresh.fix}\n${fresh.snippet ?? ''}`, c.never, `${c.fixture}: ${fresh.fix}`);
      // the one-line error carries the class and the brief fix
      assert.doesNotMatch(e.oneLine(), /\n/);
      assert.ok(e.oneLine().includes(e.explanation.brief), `${c.fixture}: brief fix in the one-line error`);
    }
  });
}

test('the seed program: ctx->data_meta write, C line 30, fix with bpf_xdp_adjust_meta', () => {
  const r = checkObject(SEED);
  const p = r.programs[0]!;
  assert.equal(p.ok, false);
  const e = p.explanation!;
  assert.equal(e.class, 'ctx-write');
  assert.equal(e.facts.ctx_field, 'data_meta');
  assert.equal(e.error.message, 'invalid bpf_context access off=8 size=4');
  assert.equal(e.error.insn_text, '*(u32 *)(r6 +8) = r0');
  assert.deepEqual(e.error.registers, { R0: 'scalar()', R6: 'ctx()' }, 'the state of the registers the store uses');
  assert.deepEqual(e.source_line && { file: e.source_line.file, line: e.source_line.line }, { file: 'seed.bpf.c', line: 30 });
  assert.match(e.snippet!, /bpf_xdp_adjust_meta/);
  assert.match(e.snippet!, /meta \+ 1\) > data/);
});

test('the seed question as pasted (libbpf-prefixed, 5.x state format)', () => {
  const e = explainLog(readFileSync(path.join(ROOT, 'test', 'fixtures', 'verifier', 'seed-question.log'), 'utf8'));
  assert.equal(e.class, 'ctx-write');
  assert.equal(e.error.insn, 9);
  assert.equal(e.facts.ctx_access, 'ctx->data_meta');
  assert.equal(e.error.registers.R6, 'ctx(id=0,off=0,imm=0)', '5.x state lines are read too');
});

test('libbpf-prefixed output (what libbpf prints at log level 0) and the program name', () => {
  const n = native();
  const h = n.bpfOpen(OBJ('map_null'));
  try {
    const r = n.bpfLoad(h, 0);
    assert.equal(r.ok, false);
    assert.match(r.log, /^libbpf: /m);
    const e = explainLog(r.log);
    assert.equal(e.class, 'map-null');
    assert.equal(e.error.program, 'map_null');
    assert.equal(e.source_line?.line, 17);
  } finally {
    n.bpfClose(h);
  }
});

test('bpftool -d prog load output, through `afxdp explain -` and --json', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'afxdp-explain-'));
  try {
    let out = '';
    try {
      // rejected, so nothing is pinned; the pin path is only bpftool's syntax
      execFileSync('bpftool', ['-d', 'prog', 'load', OBJ('pkt_no_bounds'), `/sys/fs/bpf/afxdp-explain-${process.pid}`], { stdio: 'pipe' });
      assert.fail('bpftool loaded a wrong program');
    } catch (e) {
      out = String((e as { stderr?: Buffer }).stderr ?? '') + String((e as { stdout?: Buffer }).stdout ?? '');
    }
    assert.match(out, /libbpf: elf:|BEGIN PROG LOAD LOG/);
    const f = path.join(dir, 'bpftool.log');
    writeFileSync(f, out);
    const r = await runCli(['explain', f, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & { error: Record<string, unknown>; source_line: { line: number } };
    assert.equal(doc.schema, 'afxdp.explain/1');
    assert.equal(doc.class, 'pkt-bounds');
    assert.equal(doc.found, true);
    for (const k of ['explanation', 'fix', 'snippet', 'title']) assert.equal(typeof doc[k], 'string', k);
    assert.equal(doc.error.insn, 1);
    assert.match(String(doc.error.message), /invalid access to packet/);
    assert.equal(doc.source_line.line, 10);
    // the same log on stdin (`afxdp explain -`), human output
    const r2 = await runCli(['explain', '-'], { wrap: ['sh', '-c', `exec "$0" "$@" < '${f}'`] });
    assert.equal(r2.code, 0);
    assert.match(r2.stdout, /^what: .*invalid access to packet/m);
    assert.match(r2.stdout, /^fix: /m);
    assert.match(r2.stdout, /data_end/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncated logs: head cut (kernel kept the tail), tail cut (message missing), unknown message', () => {
  const log = reject('var_offset', 2).detail!;
  const lines = log.split('\n');
  const tail = explainLog(lines.slice(Math.floor(lines.length * 0.6)).join('\n'));
  assert.equal(tail.class, 'pkt-var-offset');
  assert.equal(tail.error.truncated, true);

  const msgAt = lines.findIndex((l) => l.startsWith('invalid access to packet'));
  const cut = explainLog(lines.slice(0, msgAt).join('\n'));
  assert.equal(cut.found, true);
  assert.equal(cut.class, 'unknown');
  assert.equal(cut.error.truncated, true);
  assert.equal(cut.error.insn, 12, 'points at the last instruction in the log');
  assert.match(cut.explanation, /cut/);

  const odd = explainLog(log.replace(/^invalid access to packet.*$/m, 'a complaint from a future kernel').replace(/^R1 offset is outside.*$/m, ''));
  assert.equal(odd.class, 'unknown');
  assert.equal(odd.error.insn, 12);
  assert.equal(odd.error.message, 'a complaint from a future kernel');
  assert.match(odd.explanation, /does not explain this message yet/);
});

test('afxdp explain: garbage input → one line, exit 1; bad flags → exit 2', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'afxdp-explain-'));
  try {
    const f = path.join(dir, 'garbage.txt');
    writeFileSync(f, 'hello\nthis is not a verifier log\n\x00\x01binary');
    assertOneLineError(await runCli(['explain', f]), 1, /no verifier error found/);
    assertOneLineError(await runCli(['explain', path.join(dir, 'missing.log')]), 2, /no such file/);
    assertOneLineError(await runCli(['explain', f, '--type', 'bogus']), 2, /unknown program type bogus/);
    assertOneLineError(await runCli(['explain', f, '--frobnicate']), 2, /unknown option/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('afxdp check explains the seed rejection; --verbose adds the raw log', async () => {
  const r = await runCli(['check', SEED]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL {2}xdp_sock_prog/m);
  assert.match(r.stdout, /class: ctx-write/);
  assert.match(r.stdout, /seed\.bpf\.c:30/);
  assert.match(r.stdout, /bpf_xdp_adjust_meta/);
  assert.doesNotMatch(r.stdout, /processed \d+ insns/, 'raw log only with --verbose');
  const v = await runCli(['check', SEED, '--verbose']);
  assert.equal(v.code, 1);
  assert.match(v.stdout, /class: ctx-write/);
  assert.match(v.stdout, /processed \d+ insns/);
  const j = await runCli(['check', SEED, '--json']);
  const doc = JSON.parse(j.stdout) as { programs: Array<{ explanation: { class: string }; log: string }> };
  assert.equal(doc.programs[0]!.explanation.class, 'ctx-write');
  assert.match(doc.programs[0]!.log, /invalid bpf_context access/);
});

test('docs/VERIFIER.md lists every class', () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'VERIFIER.md'), 'utf8');
  for (const c of CLASSES) assert.ok(doc.includes(`\`${c.id}\``), `docs/VERIFIER.md mentions ${c.id}`);
});

test('the one-line form of "no verifier error" says it once', async () => {
  const { explainLog, oneLineExplanation } = await import('../src/explain/index.js');
  assert.equal(oneLineExplanation(explainLog('')), 'no verifier error found');
});
