/**
 * `afxdp report A B C --html/--json`: three real demo runs (event poll, busy poll, event poll with
 * the prepend strategy, the last one read from its HdrHistogram log) compared, the JSON checked
 * against the runs' own reports, and the page rendered in headless Chromium with every run in
 * every plot. Then the one-line errors of bad invocations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, assertNoLeftovers, assertOneLineError } from './lib/cli.js';
import { CHROMIUM, inChromium } from './lib/chromium.js';
import type { Report } from '../src/report/report.js';
import { COMPARE_SCHEMA, compareRuns, renderComparisonHtml, type Comparison } from '../src/report/compare.js';
import { AfxdpError } from '../src/errors.js';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-cmp-'));
}

async function demo(args: string[]): Promise<Report> {
  const r = await runCli(['demo', '--packets', '3000', '--rate', '3000', '--json', ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

test('report A B C: event vs busy vs prepend (from its hlog), one page with every run in every plot', async () => {
  const dir = tmpdir();
  const f = (n: string): string => path.join(dir, n);
  const event = await demo(['--poll', 'event']);
  // busy poll, stamped in CLOCK_TAI: sender → XDP is only measured in CLOCK_MONOTONIC (one clock with the
  // generator's payload time), so this run shows how a segment one run lacks is drawn
  const busy = await demo(['--poll', 'busy', '--clock', 'tai']);
  const prepend = await demo(['--poll', 'event', '--strategy', 'prepend', '--hlog', f('prepend.hlog')]);
  fs.writeFileSync(f('event.json'), JSON.stringify(event));
  fs.writeFileSync(f('busy.json'), JSON.stringify(busy));
  await assertNoLeftovers();

  const r = await runCli(['report', f('event.json'), f('busy.json'), f('prepend.hlog'), '--label', 'event', '--label', 'busy', '--label', 'prepend', '--html', f('cmp.html'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /wrote .*cmp\.html \(\d+ bytes\)/);
  const c = JSON.parse(r.stdout) as Comparison;
  assert.equal(c.schema, COMPARE_SCHEMA);
  assert.equal(c.baseline, 'event');
  assert.deepEqual(c.runs.map((x) => [x.label, x.kind]), [['event', 'report'], ['busy', 'report'], ['prepend', 'hlog']]);
  assert.deepEqual(c.segments, ['xdp_to_user', 'sender_to_xdp']);
  // the TAI run has no sender → XDP segment: not measured, never zero
  assert.equal(c.runs[1]!.latency_ns.sender_to_xdp, null);
  assert.equal(c.runs[1]!.ratio_to_first.latency_ns.sender_to_xdp, null);
  // environment: the differences are exactly what the three commands changed
  assert.deepEqual(c.env_differences, ['poll', 'strategy', 'clock']);
  assert.deepEqual(c.runs.map((x) => [x.env.poll, x.env.strategy]), [['event', 'auto'], ['busy', 'auto'], ['event', 'prepend']]);
  for (const x of c.runs) {
    assert.equal(x.env.kernel, os.release());
    assert.equal(x.env.driver, 'veth');
    assert.match(x.env.cpus ?? '', /^\d+([-,]\d+)*$/, 'the CPU affinity is recorded');
  }
  // figures: the reports' own numbers, ratios divide by the first run
  assert.deepEqual(c.runs[0]!.latency_ns.xdp_to_user, event.latency_ns.xdp_to_user);
  assert.deepEqual(c.runs[1]!.latency_ns.xdp_to_user, busy.latency_ns.xdp_to_user);
  assert.equal(c.runs[1]!.packets.received, busy.packets.received);
  for (const k of ['p50', 'p99', 'max'] as const) {
    const want = busy.latency_ns.xdp_to_user[k] / event.latency_ns.xdp_to_user[k];
    assert.ok(Math.abs(c.runs[1]!.ratio_to_first.latency_ns.xdp_to_user![k]! / want - 1) < 1e-3, `busy ${k} ratio`);
    assert.equal(c.runs[0]!.ratio_to_first.latency_ns.xdp_to_user![k], 1);
  }
  // the hlog run: its summed histograms hold every packet of its report, at the same p99
  assert.equal(c.runs[2]!.packets.received, prepend.packets.received);
  assert.equal(c.runs[2]!.latency_ns.xdp_to_user!.count, prepend.latency_ns.xdp_to_user.count);
  assert.equal(c.runs[2]!.latency_ns.xdp_to_user!.p99, prepend.latency_ns.xdp_to_user.p99);
  assert.equal(c.runs[2]!.packets.kernel_drops, null, 'an hlog has no drop counts');
  // every run brings its whole distribution (busy runs carry their histogram too)
  for (const x of c.runs) {
    const d = x.distribution.xdp_to_user!;
    assert.equal(d.from, 'histogram');
    assert.ok(d.percentile.length > 20 && d.percentile.length === d.ns.length, `${x.label}: ${d.percentile.length} points`);
    // the last point is the histogram's max: the exact max to HdrHistogram's 3 significant digits
    const max = x.latency_ns.xdp_to_user!.max;
    assert.ok(Math.abs(d.ns.at(-1)! - max) <= max / 1000 + 1, `${x.label}: last point ${d.ns.at(-1)} vs max ${max}`);
  }

  // the page in headless Chromium: one chart per segment, every run a series in each
  const html = fs.readFileSync(f('cmp.html'), 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|@import/i, 'self-contained');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is installed (bash scripts/setup)`);
  const [page] = await inChromium([f('cmp.html')], 'body[data-charts="2"]', async (p, _file, errors) => {
    const result = {
      errors,
      // what uPlot holds: per chart, its container and per series its label and how many points it has
      charts: await p.evaluate(() =>
        (window as unknown as { afxdpCharts: Array<{ root: HTMLElement; series: Array<{ label: string }>; data: Array<Array<number | null>> }> }).afxdpCharts.map((u) => ({
          id: u.root.parentElement!.id,
          series: u.series.slice(1).map((s, i) => ({ label: s.label, points: u.data[i + 1]!.filter((v) => v !== null).length })),
        })),
      ),
      legends: await p.locator('.chart .u-legend').evaluateAll((els) => els.map((e) => [...e.querySelectorAll('.u-series .u-label')].map((l) => l.textContent))),
      diffRows: await p.locator('#env tr.diff').evaluateAll((els) => els.map((e) => e.getAttribute('data-field'))),
      changed: await p.locator('#env td.changed').count(),
      figureSegments: await p.locator('#figures tbody[data-segment]').evaluateAll((els) => els.map((e) => e.getAttribute('data-segment'))),
    };
    await p.screenshot({ path: f('cmp.png'), fullPage: true });
    return result;
  });
  assert.deepEqual(page!.errors, []);
  assert.deepEqual(page!.charts.map((x) => x.id), ['dist-xdp_to_user', 'dist-sender_to_xdp']);
  const [xu, sx] = page!.charts;
  assert.deepEqual(xu!.series.map((s) => s.label), ['event', 'busy', 'prepend']);
  for (const s of xu!.series) assert.ok(s.points > 20, `${s.label} is drawn in the xdp → user plot (${s.points} points)`);
  assert.deepEqual(sx!.series.map((s) => s.label), ['event', 'busy (not measured)', 'prepend']);
  assert.ok(sx!.series[0]!.points > 20 && sx!.series[2]!.points > 20);
  assert.equal(sx!.series[1]!.points, 0);
  assert.deepEqual(page!.legends, [['percentile', 'event', 'busy', 'prepend'], ['percentile', 'event', 'busy (not measured)', 'prepend']]);
  assert.deepEqual(page!.diffRows, ['poll', 'strategy', 'clock']);
  assert.equal(page!.changed, 3, 'busy: poll and clock; prepend: strategy');
  assert.deepEqual(page!.figureSegments, ['packets', 'xdp_to_user', 'sender_to_xdp']);
  assert.ok(fs.statSync(f('cmp.png')).size > 10_000, 'a real screenshot');

  // labels default to the file names; one input with --json is a comparison of one
  const one = await runCli(['report', f('busy.json'), '--json']);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual((JSON.parse(one.stdout) as Comparison).runs.map((x) => x.label), ['busy']);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('report: one-line errors for bad inputs, label counts and unknown options; nothing written', async () => {
  const dir = tmpdir();
  const f = (n: string): string => path.join(dir, n);
  const run = JSON.stringify({ schema: 'afxdp.report/1', iface: 'x', queues: [0], mode: 'native', bind: 'copy', strategy: 'meta', clock: 'monotonic', poll: 'event', duration_s: 1, packets: { sent: 1, received: 1, meta_valid: 1, meta_invalid: 0, kernel: { rx_dropped: 0, rx_invalid_descs: 0, rx_ring_full: 0, rx_fill_ring_empty_descs: 0 } }, latency_ns: { xdp_to_user: { count: 1, min: 5, p50: 5, p90: 5, p99: 5, p999: 5, max: 5, mean: 5 }, sender_to_xdp: null, hw_to_xdp: null } });
  fs.writeFileSync(f('a.json'), run);
  fs.writeFileSync(f('other.json'), '{"schema":"something/1"}');
  fs.writeFileSync(f('notes.txt'), 'hello\n');
  const out = f('x.html');
  const cases: Array<[string[], RegExp]> = [
    [['report', f('a.json'), f('missing.json'), '--html', out], /cannot read .*missing\.json: no such file/],
    [['report', f('a.json'), dir, '--html', out], /cannot read .*: it is a directory/],
    [['report', f('a.json'), f('other.json'), '--html', out], /other\.json is not an afxdp\.report\/1 document/],
    [['report', f('a.json'), f('notes.txt'), '--html', out], /notes\.txt is neither an afxdp\.report\/1 document nor an HdrHistogram log/],
    [['report', f('a.json'), f('a.json'), '--label', 'only-one', '--html', out], /1 --label for 2 inputs/],
    [['report', f('a.json'), f('a.json'), '--label', 'same', '--label', 'same', '--html', out], /label "same" is given twice/],
    [['report', f('a.json'), f('a.json')], /nothing to write/],
    [['report', f('a.json'), f('a.json'), '--html', out, '--frobnicate'], /unknown option '--frobnicate'/],
    [['report', '--html', out], /missing required argument 'inputs'/],
  ];
  for (const [args, pattern] of cases) assertOneLineError(await runCli(args), 2, pattern);
  assert.equal(fs.existsSync(out), false, 'no page was written');
  // the same file twice gets two labels; an unwritable page is an ESYS error (exit 1)
  const twice = await runCli(['report', f('a.json'), f('a.json'), '--json']);
  assert.equal(twice.code, 0, twice.stderr);
  assert.deepEqual((JSON.parse(twice.stdout) as Comparison).runs.map((x) => x.label), [f('a.json'), `${f('a.json')} (2)`]);
  assertOneLineError(await runCli(['report', f('a.json'), f('a.json'), '--html', '/nonexistent-afxdp/c.html']), 1, /cannot write --html \/nonexistent-afxdp\/c\.html: its directory does not exist/);
  // the API: nothing to compare, a document that is not a comparison
  assert.throws(() => compareRuns([]), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /nothing to compare/.test(e.message));
  assert.throws(() => renderComparisonHtml({ schema: 'afxdp.report/1' } as unknown as Comparison), (e: unknown) => e instanceof AfxdpError && /not an afxdp\.compare\/1 document/.test(e.message));
  // a report saved without histograms is drawn from its summary (and says so)
  const c = compareRuns([{ report: JSON.parse(run) as Report, label: 'a' }, { report: JSON.parse(run) as Report, label: 'b' }]);
  assert.equal(c.runs[0]!.distribution.xdp_to_user!.from, 'summary');
  assert.deepEqual(c.env_differences, []);
  fs.rmSync(dir, { recursive: true, force: true });
});
