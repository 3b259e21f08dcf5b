/**
 * `afxdp calibrate`: the C reference receiver and afxdp's receiver on the same lab traffic, in
 * the suite's quick form. Functional only: both sides received every packet, the ratios are the
 * medians' quotients, the file is saved where reports find it, and a report on this host cites
 * it. No timing assertions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCalibration, describeCalibration, calibrationPath, CALIBRATION_SCHEMA, type Calibration } from '../src/entry/report.js';
import type { Report } from '../src/report/report.js';
import { runCli, assertOneLineError, assertNoLeftovers, trackLab } from './lib/cli.js';
import { waitFor } from './lib/wait.js';
import { labOfRun } from './lib/lab.js';

test('calibrate --quick: both receivers get every packet; afxdp ÷ C is saved and a demo report cites it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-calibrate-'));
  const file = path.join(dir, 'calibration.json');
  try {
    const r = await runCli(['calibrate', '--quick', '--packets', '1500', '--rate', '10000', '--out', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as Calibration;
    assert.equal(c.schema, 'afxdp.calibration/1');
    assert.equal(c.quick, true);
    assert.equal(c.schema, CALIBRATION_SCHEMA);
    assert.deepEqual(c.traffic, { rate_pps: 10000, packets: 1500, size: 64, rounds: 1 });
    assert.equal(c.rounds.length, 1);
    for (const who of ['c', 'ts'] as const) {
      const s = c.rounds[0]![who];
      assert.equal(s.received, c.traffic.packets, `${who} received every packet`);
      for (const k of ['cpu_ns_per_packet', 'p50', 'p99', 'p999'] as const) assert.ok(s[k]! > 0, `${who} ${k}`);
    }
    const f = c.figures;
    assert.equal(c.ratio.p50, Math.round((f.ts.p50! / f.c.p50!) * 1000) / 1000);
    assert.equal(c.ratio.cpu, Math.round((f.ts.cpu_ns_per_packet! / f.c.cpu_ns_per_packet!) * 1000) / 1000);
    assert.deepEqual(c.ts, { poll: 'worker', sched: 'receiver-first', rt: false });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), c, 'saved as printed');
    // this host's: found where the reports look (AFXDP_CALIBRATION), described in one line
    assert.deepEqual(loadCalibration(file), c);
    assert.equal(calibrationPath({ AFXDP_CALIBRATION: file }), file);
    assert.equal(calibrationPath({ XDG_CACHE_HOME: '/x' }), '/x/afxdp/calibration.json');
    // a report on this host cites it; the table says it in one line
    const d = await runCli(['demo', '--json', '--packets', '200', '--rate', '2000'], { env: { AFXDP_CALIBRATION: file } });
    assert.equal(d.code, 0, d.stderr);
    const inst = (JSON.parse(d.stdout) as Report).instrument!;
    assert.equal(inst.source, file);
    assert.deepEqual(inst.ratio, c.ratio);
    assert.equal(inst.text, describeCalibration(c));
    assert.match(inst.text, /^instrument overhead on this host \(afxdp calibrate --quick, .*\): afxdp ÷ C receiver: CPU [\d.]+×, p50 [\d.]+×, p99 [\d.]+×, p99\.9 [\d.]+×$/);
    const t = await runCli(['demo', '--packets', '200', '--rate', '2000'], { env: { AFXDP_CALIBRATION: file } });
    assert.match(t.stdout, /instrument overhead on this host/);
    // a calibration from another host is not cited
    fs.writeFileSync(file, JSON.stringify({ ...c, host: { ...c.host, hostname: `${c.host.hostname}-elsewhere` } }));
    const e = await runCli(['demo', '--json', '--packets', '100', '--rate', '2000'], { env: { AFXDP_CALIBRATION: file } });
    assert.equal((JSON.parse(e.stdout) as Report).instrument, undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeftovers();
});

test('calibrate: bad input is one line', async () => {
  assertOneLineError(await runCli(['calibrate', '--no-save', '--rounds', '0']), 2, /--rounds/);
  assertOneLineError(await runCli(['calibrate', '--packets', '5']), 2, /--packets/);
  assertOneLineError(await runCli(['calibrate', '--rate', '5']), 2, /--rate/);
  assertOneLineError(await runCli(['calibrate', '--sched', 'fast']), 2, /--sched/);
  assertOneLineError(await runCli(['calibrate', '--rt'], { wrap: ['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice', '--'] }), 1, /CAP_SYS_NICE/);
});

test('calibrate stopped by SIGINT: one error line, nothing saved, nothing left behind', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-calibrate-'));
  const file = path.join(dir, 'calibration.json');
  try {
    let pid = 0;
    const run = runCli(['calibrate', '--rounds', '2', '--packets', '500000', '--rate', '20000', '--out', file], { onSpawn: (c) => (pid = c.pid!) });
    // a receiver of the run is up: its lab stands
    await waitFor(() => pid > 0 && labOfRun(pid) !== null, { what: 'the calibration lab', timeoutMs: 30_000 });
    trackLab(labOfRun(pid)!.id); // the leftover check looks for it
    process.kill(pid, 'SIGINT');
    const r = await run;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim().split('\n').pop()!, /^afxdp: calibration interrupted before it finished \(nothing was saved/);
    assert.ok(!fs.existsSync(file), 'nothing saved');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeftovers();
});
