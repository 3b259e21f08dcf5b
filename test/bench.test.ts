/**
 * `npm run bench -- --quick`: the whole benchmark pipeline at small counts — C and TS receivers,
 * both generators, XDP_DROP, BPF_PROG_TEST_RUN, l2fwd in C and as a handler, xdpsock's rxdrop and txonly in C and on
 * openXsk, the library's default and a handler — must produce a valid afxdp.bench/1 file and
 * leave nothing behind. Functional only: the figures themselves are not judged here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, trackLab, assertNoLeftovers } from './lib/cli.js';

test('bench: an unknown section for --only, or an unknown option, is a one-line error before any lab is made', () => {
  for (const [args, msg] of [
    [['--only', 'nosuch'], /^bench: --only nosuch: the sections that run alone are l2fwd, xdpsock, api; usage: .*\n$/],
    [['--nosuch'], /^bench: Unknown option '--nosuch'; usage: .*\n$/],
  ] as const) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'bench', 'run.js'), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  }
});

test('bench --quick writes a complete afxdp.bench/1 results file', { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-bench-'));
  const out = path.join(dir, 'results.json');
  try {
    let err = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'run.js'), '--quick', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (c) => {
        if (c !== 0) process.stderr.write(err);
        resolve(c);
      });
    });
    assert.equal(code, 0);
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    assert.equal(r.schema as unknown, 'afxdp.bench/1');
    const numbers: Record<string, string[]> = {
      rx_cpu_ns_per_packet: ['rate_pps', 'c', 'ts_event', 'ts_busy', 'ts_worker'],
      xdp_to_user_p50_ns: ['c_spin', 'ts_busy', 'c_poll', 'ts_event'],
      rx_max_mpps: ['xdp_drop', 'c', 'ts_busy', 'ts_event'],
      stamp_ns_per_packet: ['redirect', 'meta'],
      tx_mpps: ['c', 'ts'],
      heap_growth_bytes: ['packets', 'ts_event', 'ts_busy', 'ts_worker'],
    };
    for (const [section, keys] of Object.entries(numbers)) {
      assert.ok(r[section] && typeof r[section] === 'object', `${section} missing`);
      for (const k of keys) assert.equal(typeof r[section]![k], 'number', `${section}.${k} = ${String(r[section]![k])}`);
    }
    // the tails: every percentile and CPU per packet of every receiver variant, from the same runs
    const tails = r.rx_tails_ns as unknown as Record<string, Record<string, unknown>>;
    assert.equal(typeof tails.rate_pps, 'number');
    for (const v of ['c_poll', 'c_spin', 'ts_event', 'ts_worker', 'ts_worker_bp', 'ts_busy']) {
      for (const k of ['cpu_ns_per_packet', 'p50', 'p90', 'p99', 'p999', 'max']) assert.equal(typeof tails[v]?.[k], 'number', `rx_tails_ns.${v}.${k} = ${String(tails[v]?.[k])}`);
      assert.ok((tails[v]!.p50 as number) <= (tails[v]!.p99 as number) && (tails[v]!.p99 as number) <= (tails[v]!.max as number), JSON.stringify(tails[v]));
    }
    assert.deepEqual(tails.compare, { ts_event: 'c_poll', ts_worker: 'c_poll', ts_worker_bp: 'c_poll', ts_busy: 'c_spin' });
    // l2fwd: the handler and the C loop each forwarded the fixed-rate run's ping requests back to the sender
    const l2 = r.l2fwd as unknown as { mpps: Record<string, unknown>; cpu_ns_per_packet: Record<string, unknown>; xdp_to_forwarder_ns: Record<string, Record<string, unknown>>; rtt_ns: Record<string, Record<string, unknown>>; replies_at_rate: Record<string, number> };
    for (const v of ['c', 'ts']) {
      assert.equal(typeof l2.mpps[v], 'number', `l2fwd.mpps.${v}`);
      assert.equal(typeof l2.cpu_ns_per_packet[v], 'number', `l2fwd.cpu_ns_per_packet.${v}`);
      for (const k of ['p50', 'p99']) {
        assert.equal(typeof l2.xdp_to_forwarder_ns[v]?.[k], 'number', `l2fwd.xdp_to_forwarder_ns.${v}.${k}`);
        assert.equal(typeof l2.rtt_ns[v]?.[k], 'number', `l2fwd.rtt_ns.${v}.${k}`);
      }
      // functional only: replies came back through each forwarder (how many is a figure: a loaded machine drops some)
      assert.ok(l2.replies_at_rate[v]! > 0 && l2.replies_at_rate[v]! <= l2.replies_at_rate.sent!, `l2fwd ${v}: ${l2.replies_at_rate[v]} replies`);
    }
    // xdpsock: rxdrop and txonly, C and TS loops, both frame sizes, and the rxdrop loop alone
    const xs = r.xdpsock as unknown as Record<string, Record<string, Record<string, unknown>>>;
    for (const mode of ['rxdrop', 'txonly']) {
      for (const size of ['64B', '1500B']) {
        for (const k of ['c_mpps', 'ts_mpps', 'c_cpu_ns_per_packet', 'ts_cpu_ns_per_packet']) assert.equal(typeof xs[mode]?.[size]?.[k], 'number', `xdpsock.${mode}.${size}.${k}`);
      }
    }
    for (const v of ['c', 'ts']) assert.equal(typeof (xs.rxdrop_loop_ns_per_packet as unknown as Record<string, unknown>)[v], 'number', `xdpsock.rxdrop_loop_ns_per_packet.${v}`);
    // the library's default and a handler, each with its ratios to the C poll() loop of the same runs
    const api = (r.api_modes as unknown as { ways: Record<string, { cpu_ns_per_packet: unknown; latency_ns: Record<string, unknown>; vs_c: Record<string, unknown> | null }> }).ways;
    for (const w of ['c', 'onbatch-event', 'handler-worker']) {
      assert.equal(typeof api[w]?.cpu_ns_per_packet, 'number', `api_modes.ways.${w}.cpu_ns_per_packet`);
      for (const k of ['p50', 'p99', 'p999']) assert.equal(typeof api[w]!.latency_ns[k], 'number', `api_modes.ways.${w}.latency_ns.${k}`);
    }
    assert.equal(api.c!.vs_c, null);
    for (const w of ['onbatch-event', 'handler-worker']) for (const k of ['cpu', 'p50', 'p99', 'p999']) assert.equal(typeof api[w]!.vs_c![k], 'number', `api_modes.ways.${w}.vs_c.${k}`);
    // strategies that do not exist yet are null, never a made-up number
    for (const k of ['prepend', 'map']) assert.ok(k in r.stamp_ns_per_packet!);
    assert.equal(r.meta!.quick, true);
    const id = /^bench: lab ([a-z0-9]{6});/m.exec(err)?.[1];
    assert.ok(id, err);
    trackLab(id!);
    await assertNoLeftovers();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
