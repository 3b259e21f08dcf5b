/** afxdp doctor against the real machine: lo, the lab's veth (inside its namespace), a missing interface, the JSON schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { release } from 'node:os';
import path from 'node:path';
import { withLab, inside } from './lib/lab.js';
import { withNetns } from '../src/sys/netns.js';
import { native } from '../src/native.js';
import { BpfObject, VerifierError } from '../src/xdp/program.js';
import { runCli, assertNoLeftovers, assertOneLineError, ROOT } from './lib/cli.js';
import { DOCTOR_SCHEMA } from '../src/index.js';

interface Finding {
  id: string;
  status: string;
  title: string;
  detail: string;
  value: unknown;
  fix: string | null;
}
interface Report {
  schema: string;
  kernel: { release: string; version: string };
  iface: string | null;
  probe: boolean;
  findings: Finding[];
  summary: { ok: number; warn: number; fail: number };
}

/** The afxdp.doctor/1 schema, checked field by field. */
function assertSchema(doc: unknown): Report {
  const r = doc as Report;
  assert.equal(r.schema, 'afxdp.doctor/1');
  assert.equal(DOCTOR_SCHEMA, r.schema);
  assert.equal(typeof r.kernel.release, 'string');
  assert.equal(typeof r.kernel.version, 'string');
  assert.equal(typeof r.probe, 'boolean');
  assert.ok(Array.isArray(r.findings) && r.findings.length > 0);
  const ids = new Set<string>();
  for (const f of r.findings) {
    assert.deepEqual(Object.keys(f).sort(), ['detail', 'fix', 'id', 'status', 'title', 'value']);
    assert.match(f.id, /^[a-z_]+(\.[\w-]+)+$/, f.id);
    assert.ok(!ids.has(f.id), `unique id ${f.id}`);
    ids.add(f.id);
    assert.ok(['ok', 'warn', 'fail'].includes(f.status), f.status);
    assert.ok(f.title.length > 0 && f.detail.length > 0);
    if (f.status === 'ok') assert.equal(f.fix, null, `${f.id}: ok has no fix`);
    else assert.ok(typeof f.fix === 'string' && f.fix.length > 0, `${f.id}: ${f.status} says how to fix it`);
  }
  const count = { ok: 0, warn: 0, fail: 0 };
  for (const f of r.findings) count[f.status as keyof typeof count]++;
  assert.deepEqual(r.summary, count);
  return r;
}

const byId = (r: Report, id: string): Finding => {
  const f = r.findings.find((x) => x.id === id);
  assert.ok(f, `finding ${id}`);
  return f;
};

test('doctor (machine only): JSON schema, kernel release, one line per finding', async () => {
  const j = await runCli(['doctor', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const r = assertSchema(JSON.parse(j.stdout));
  assert.equal(r.kernel.release, release());
  assert.equal(r.iface, null);
  for (const id of ['kernel.release', 'kernel.xdp_sockets', 'kernel.btf', 'kernel.jit', 'system.bpffs', 'caps.cap_bpf', 'caps.cap_net_admin', 'caps.cap_perfmon', 'system.memlock', 'system.busy_poll', 'cpu.idle', 'cpu.realtime', 'cpu.sched']) byId(r, id);
  assert.equal(byId(r, 'kernel.xdp_sockets').status, 'ok', 'AF_XDP works here (the rest of the suite uses it)');
  const t = await runCli(['doctor']);
  assert.equal(t.code, 0);
  const lines = t.stdout.trimEnd().split('\n');
  assert.equal(lines.length, r.findings.length + 1, 'one line per finding + summary');
  for (const l of lines) assert.match(l, /^(ok|warn|fail) {1,2}/);
  for (const l of lines.filter((x) => /^(warn|fail)/.test(x)).slice(0, -1)) assert.match(l, /→ fix: /);
});

test('doctor --iface lo: no native XDP, no zero-copy, nothing attached', async () => {
  const j = await runCli(['doctor', '--iface', 'lo', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const r = assertSchema(JSON.parse(j.stdout));
  assert.equal(r.iface, 'lo');
  const modes = byId(r, 'iface.lo.xdp_modes');
  assert.equal(modes.status, 'warn');
  assert.deepEqual((modes.value as { native: boolean }).native, false);
  assert.match(modes.fix!, /--mode generic/);
  assert.equal(byId(r, 'iface.lo.zerocopy').status, 'warn');
  assert.equal(byId(r, 'iface.lo.xdp_attached').status, 'ok');
  assert.equal((byId(r, 'iface.lo.driver').value as { ifindex: number }).ifindex, 1);
});

test('doctor on a missing interface: one line, exit 1', async () => {
  assertOneLineError(await runCli(['doctor', '--iface', 'afxdp-nope0']), 1, /no interface afxdp-nope0/);
  assertOneLineError(await runCli(['doctor', '--iface', 'afxdp-nope0', '--json']), 1, /no interface/);
});

test("doctor on the lab's veth inside its namespace: native XDP, copy only, RX-metadata kfuncs, --probe leaves nothing", async () => {
  await withLab(async (lab) => {
    const wrap = inside(lab);
    const j = await runCli(['doctor', '--iface', lab.rx.ifname, '--json', '--probe'], { wrap });
    assert.equal(j.code, 0, j.stderr);
    const r = assertSchema(JSON.parse(j.stdout));
    const p = `iface.${lab.rx.ifname}`;
    assert.equal((byId(r, `${p}.driver`).value as { driver: string }).driver, 'veth');
    assert.equal((byId(r, `${p}.queues`).value as { rx: number }).rx, 2);
    const modes = byId(r, `${p}.xdp_modes`);
    assert.equal(modes.status, 'ok');
    assert.equal((modes.value as { native: boolean }).native, true);
    assert.equal(byId(r, `${p}.zerocopy`).status, 'warn', 'veth binds in copy mode only');
    const meta = byId(r, `${p}.rx_metadata`);
    assert.equal(meta.status, 'ok');
    assert.ok((meta.value as string[]).includes('hash'), `veth implements rx_hash: ${meta.detail}`);
    assert.equal(byId(r, `${p}.probe_native`).status, 'ok');
    // the probe detached: nothing attached on the veth afterwards
    const after = await lab.rx.netns.exec('ip', ['-j', 'link', 'show', 'dev', lab.rx.ifname]);
    assert.equal((JSON.parse(after.stdout) as Array<{ xdp?: unknown }>)[0]!.xdp, undefined);
    // the doctor's answer and the explainer's fix agree: the kfunc program rejected as
    // kfunc-dev-bound loads once bound to this veth (BPF_F_XDP_DEV_BOUND_ONLY = 1 << 6)
    const kfunc = path.join(ROOT, 'build', 'test-verifier', 'kfunc_not_bound.bpf.o');
    const unbound = BpfObject.open(kfunc);
    try {
      assert.throws(() => unbound.load(), (e: unknown) => e instanceof VerifierError && e.explanation.class === 'kfunc-dev-bound');
    } finally {
      unbound.close();
    }
    withNetns(lab.rx.netns.fd, () => {
      const n = native();
      const h = n.bpfOpen(kfunc);
      try {
        n.bpfSetProgIfindex(h, 'kfunc_not_bound', n.ifNameToIndex(lab.rx.ifname), 1 << 6);
        const r = n.bpfLoad(h, 0);
        assert.equal(r.ok, true, r.log);
      } finally {
        n.bpfClose(h);
      }
    });
    // human output: one line per finding
    const t = await runCli(['doctor', '--iface', lab.rx.ifname], { wrap });
    assert.equal(t.code, 0);
    assert.match(t.stdout, new RegExp(`^ok +${lab.rx.ifname} XDP modes: native and generic`, 'm'));
  }, { queues: 2 });
  await assertNoLeftovers();
});

test('doctor and explain: --help exits 0; unknown flags exit 2 with one line', async () => {
  for (const cmd of ['doctor', 'explain']) {
    const h = await runCli([cmd, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, new RegExp(`Usage: afxdp ${cmd}`));
    assertOneLineError(await runCli([cmd, '--bogus']), 2, /unknown option '--bogus'/);
  }
  assertOneLineError(await runCli(['doctor', '--iface']), 2, /argument missing/);
  assertOneLineError(await runCli(['doctor', '--probe']), 2, /--probe needs --iface/);
});
