/**
 * docs/grafana/afxdp.json against a live `afxdp demo --prometheus`: every metric the dashboard
 * queries is in a scrape taken while packets flow, the exposition passes `promtool check metrics`
 * and every panel query passes `promtool check rules` (Prometheus's own PromQL parser), both from
 * Debian's prometheus package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, assertNoLeftovers, ROOT, scrapeWhileReceiving } from './lib/cli.js';

const DASHBOARD = path.join(ROOT, 'docs', 'grafana', 'afxdp.json');

interface Target {
  expr: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
}

function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (bash scripts/setup installs Debian's prometheus): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The sample names of an exposition (histograms give name_bucket, name_sum, name_count). */
function sampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

test('the Grafana dashboard queries only metrics a live /metrics exposes; promtool accepts the exposition and every query', async () => {
  const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const queries = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  const varQueries = dash.templating.list.filter((v) => v.type === 'query').map((v) => (typeof v.query === 'string' ? v.query : v.query.query));
  assert.ok(queries.length >= 20, `${queries.length} panel queries`);
  assert.equal(new Set(dash.panels.map((p) => p.id)).size, dash.panels.length, 'panel ids are unique');
  for (const p of dash.panels.filter((x) => x.type !== 'row')) {
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: the datasource variable`);
    assert.ok((p.targets ?? []).length > 0, `${p.title} has queries`);
  }
  // every $variable a query uses is defined (Grafana's own $__ variables aside)
  const defined = new Set(dash.templating.list.map((v) => v.name));
  for (const q of [...queries.map((x) => x.expr), ...varQueries]) {
    for (const m of q.matchAll(/\$(\w+)/g)) if (!m[1]!.startsWith('__')) assert.ok(defined.has(m[1]!), `$${m[1]} in ${q}`);
  }
  const wanted = new Set([...queries.map((x) => x.expr), ...varQueries].flatMap((q) => [...q.matchAll(/\bafxdp_[a-z0-9_]+\b/g)].map((m) => m[0])));
  // what the issue asks the dashboard to show
  for (const m of ['afxdp_latency_seconds_bucket', 'afxdp_packets_received_total', 'afxdp_kernel_rx_dropped_total', 'afxdp_stamps_by_strategy_total', 'afxdp_map_unmatched_stamps']) assert.ok(wanted.has(m), m);

  // a live scrape while packets flow (strategy auto: the map strategy is in use, so its numbers are there)
  const packets = 6000;
  let scraped: Promise<string> | null = null;
  const r = await runCli(['demo', '--packets', String(packets), '--rate', '3000', '--prometheus', '127.0.0.1:0'], {
    timeoutMs: 60_000,
    onStderr: (chunk) => {
      const m = /metrics on (http:\/\/\S+)/.exec(chunk);
      if (m && scraped === null) {
        scraped = scrapeWhileReceiving(m[1]!);
      }
    },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(scraped, 'the CLI announced the metrics URL');
  const text = await scraped!;
  const exposed = sampleNames(text);
  const missing = [...wanted].filter((m) => !exposed.has(m));
  assert.deepEqual(missing, [], `queried by the dashboard but not exposed (exposed: ${[...exposed].join(', ')})`);
  assert.match(text, /^afxdp_stamps_by_strategy_total\{queue="0",strategy="meta"\} [1-9]/m, 'the strategy mix counts the stamps');

  // Prometheus's own parsers: the exposition, and every query (Grafana's variables filled in)
  const checked = promtool(['check', 'metrics'], text);
  assert.equal(checked.status, 0, checked.out);
  assert.notEqual(promtool(['check', 'metrics'], `${text}afxdp_broken{queue="0" 1\n`).status, 0, 'promtool does reject a broken exposition');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-grafana-'));
  try {
    const fill = (q: string): string => q.replace(/\$__rate_interval/g, '1m').replace(/\$__range/g, '15m').replace(/\$\w+/g, '.*');
    const rules = `groups:\n  - name: afxdp-dashboard\n    rules:\n${queries.map((q, i) => `      - record: afxdp:dashboard_query:${i}\n        expr: ${JSON.stringify(fill(q.expr))}\n`).join('')}`;
    fs.writeFileSync(path.join(dir, 'rules.yml'), rules);
    const ok = promtool(['check', 'rules', path.join(dir, 'rules.yml')]);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, new RegExp(`SUCCESS: ${queries.length} rules found`));
    fs.writeFileSync(path.join(dir, 'bad.yml'), `groups:\n  - name: bad\n    rules:\n      - record: afxdp:bad\n        expr: "rate(afxdp_packets_received_total[1m]"\n`);
    assert.notEqual(promtool(['check', 'rules', path.join(dir, 'bad.yml')]).status, 0, 'promtool does reject a broken query');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeftovers();
});
