/**
 * `--html FILE` and `afxdp report … --html`: one self-contained page (no network: uPlot's script
 * and stylesheet and the data are inlined) with the latency distribution (percentile plot, log
 * scales), p50/p99/max over time, rate and drops over time, and the run's environment.
 *
 * uPlot (MIT, 50 KB minified, canvas, log scales) is the chart library: small enough to inline
 * into every report and fast with thousands of points.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { decodeFromCompressedBase64, HistogramLogReader, type Histogram } from 'hdr-histogram-js';
import { AfxdpError } from '../errors.js';
import { REPORT_SCHEMA, type Report, type LatencySummary, type TimelineEntry } from './report.js';
import { SEGMENTS, intervalStats, summaryOf, type Segment } from '../measure/monitor.js';
import { newLatencyHistogram } from '../measure/recorder.js';
import { HLOG_AFXDP_COMMENT } from './hlog.js';
import { openOutput } from './filebuf.js';
import { SEGMENT_LABEL } from './live.js';
import { formatCount, formatNs } from './table.js';

export interface PageSegment {
  name: Segment;
  label: string;
  summary: LatencySummary;
  /** percentile plot: x = 1 / (1 − q), y = latency in ns at q */
  dist: { x: number[]; y: number[] };
}

/** Everything the page shows, independent of where it came from (a run, a saved JSON, an hlog). */
export interface ReportPage {
  title: string;
  subtitle: string;
  env: Array<[string, string]>;
  packets: Array<[string, string]>;
  segments: PageSegment[];
  timeline: TimelineEntry[];
  /** false when the source has no drop counts (an hlog) */
  hasDrops: boolean;
}

/** Percentile points from 0 to the last one the count supports, 10 per decade of 1/(1−q). */
export function percentilePoints(h: Histogram): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  const n = h.totalCount;
  if (n === 0) return { x, y };
  const decades = Math.log10(n);
  for (let k = 0; k <= decades * 10; k++) {
    const inv = 10 ** (k / 10);
    const q = 1 - 1 / inv;
    x.push(Number(inv.toPrecision(6)));
    y.push(h.getValueAtPercentile(q * 100));
  }
  x.push(n);
  y.push(h.maxValue);
  return { x, y };
}

function segmentsFrom(hists: Partial<Record<Segment, Histogram>>, summaries: Partial<Record<Segment, LatencySummary | null>>): PageSegment[] {
  const out: PageSegment[] = [];
  for (const s of SEGMENTS) {
    const h = hists[s];
    // a report says null for a segment it did not measure; a log has only histograms
    const sum = s in summaries ? (summaries[s] ?? null) : h ? summaryOf(h) : null;
    if (!sum) continue;
    out.push({ name: s, label: SEGMENT_LABEL[s], summary: sum, dist: h ? percentilePoints(h) : { x: [], y: [] } });
  }
  return out;
}

function envRows(r: Pick<Report, 'env'>, extra: Array<[string, string]>): Array<[string, string]> {
  const e = r.env;
  const rows: Array<[string, string]> = [...extra];
  if (e) {
    rows.push(['kernel', e.kernel], ['driver', e.driver ?? 'unknown']);
    if (e.cpus) rows.push(['CPUs (affinity)', `${e.cpus}${e.cpus_online ? ` of ${e.cpus_online} online` : ''}`]);
    rows.push(['host', e.host], ['node', e.node], ['afxdp', e.afxdp], ['started', e.started]);
  }
  return rows;
}

/** A page from an afxdp.report/1 document (a run just finished, or RUN.json saved with --json). */
export function pageFromReport(r: Report, source = 'this run'): ReportPage {
  const hists: Partial<Record<Segment, Histogram>> = {};
  for (const s of SEGMENTS) {
    const b64 = r.histograms?.[s];
    if (b64) hists[s] = decodeFromCompressedBase64(b64, 64);
  }
  const p = r.packets;
  const k = p.kernel;
  const packets: Array<[string, string]> = [];
  if (p.sent !== null) packets.push(['sent', formatCount(p.sent)]);
  packets.push(['received', formatCount(p.received)], ['meta valid', formatCount(p.meta_valid)], ['meta invalid', formatCount(p.meta_invalid)]);
  packets.push(['kernel drops', formatCount(k.rx_dropped + k.rx_ring_full)], ['fill ring empty', formatCount(k.rx_fill_ring_empty_descs)], ['invalid descs', formatCount(k.rx_invalid_descs)]);
  if (r.duration_s > 0) packets.push(['rate', `${formatCount(Math.round(p.received / r.duration_s))} pps`]);
  return {
    title: `afxdp latency report: ${r.iface}`,
    subtitle: `${source} · ${r.duration_s.toFixed(2)} s`,
    env: envRows(r, [
      ['interface', r.iface],
      // "queues 0" would read as a count
      [r.queues.length === 1 ? 'queue' : 'queues', r.queues.join(', ')],
      ...(r.taken ? [['taking', r.taken.text] as [string, string]] : []),
      ['XDP mode', r.mode],
      ['AF_XDP bind', r.bind],
      ['strategy', r.strategy],
      ['clock', r.clock],
      ['poll', r.poll],
      ...(r.timeline_interval_s !== undefined ? [['over time', `a point every ${formatInterval(r.timeline_interval_s)}`] as [string, string]] : []),
    ]),
    packets,
    segments: segmentsFrom(hists, r.latency_ns),
    timeline: r.timeline ?? [],
    hasDrops: true,
  };
}

function formatInterval(s: number): string {
  return s >= 1 ? `${s} s` : `${Math.round(s * 1000)} ms`;
}

/** Parses and checks a saved report (RUN.json). */
export function parseReportJson(text: string, file: string): Report {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new AfxdpError('EUSAGE', `${file} is not JSON: ${(e as Error).message}`, { hint: 'pass a file written by `afxdp demo --json` or `afxdp latency --json`' });
  }
  const r = doc as Partial<Report> | null;
  if (r === null || typeof r !== 'object' || r.schema !== REPORT_SCHEMA || typeof r.packets !== 'object' || typeof r.latency_ns !== 'object') {
    throw new AfxdpError('EUSAGE', `${file} is not an ${REPORT_SCHEMA} document`, { hint: 'pass a file written by `afxdp demo --json` or `afxdp latency --json`' });
  }
  return r as Report;
}

/** An HdrHistogram interval log read back: totals per segment, one timeline row per interval end. */
export interface HlogRun {
  totals: Partial<Record<Segment, Histogram>>;
  timeline: TimelineEntry[];
  /** afxdp's run description from the `#[afxdp {...}]` comment; {} for other logs */
  info: Partial<Report>;
  intervals: number;
  /** seconds from the first interval's start to the last one's end */
  span_s: number;
}

/** Reads an HdrHistogram interval log written by --hlog (or any tagged ns log; untagged = xdp → user). */
export function readHlog(text: string, file: string): HlogRun {
  const reader = new HistogramLogReader(text, 64);
  const totals: Partial<Record<Segment, Histogram>> = {};
  const rows = new Map<number, TimelineEntry>();
  let intervals = 0;
  let first = Infinity;
  let last = 0;
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    intervals++;
    const tag = (SEGMENTS as readonly string[]).includes(h.tag) ? (h.tag as Segment) : 'xdp_to_user';
    const t = (totals[tag] ??= newLatencyHistogram());
    t.add(h);
    const start = h.startTimeStampMsec / 1000;
    const end = h.endTimeStampMsec / 1000;
    first = Math.min(first, start);
    last = Math.max(last, end);
    const key = Math.round(end * 1000);
    let row = rows.get(key);
    if (!row) {
      row = { t: end, dt: end - start, received: 0, dropped: 0, latency_ns: {} };
      rows.set(key, row);
    }
    row.latency_ns[tag] = intervalStats(h);
    if (tag === 'xdp_to_user') row.received = h.totalCount;
  }
  if (intervals === 0) {
    throw new AfxdpError('EUSAGE', `${file} has no interval histograms`, { hint: 'pass an HdrHistogram log written by --hlog' });
  }
  const base = first;
  const timeline = [...rows.values()].sort((a, b) => a.t - b.t).map((r) => ({ ...r, t: Math.round((r.t - base) * 1000) / 1000 }));
  let info: Partial<Report> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith(`#${HLOG_AFXDP_COMMENT}`)) {
      try {
        info = JSON.parse(line.slice(HLOG_AFXDP_COMMENT.length + 1, -1)) as Partial<Report>;
      } catch {
        info = {};
      }
    }
  }
  return { totals, timeline, info, intervals, span_s: last - first };
}

/** A page from an HdrHistogram interval log written by --hlog (or any tagged ns log). */
export function pageFromHlog(text: string, file: string): ReportPage {
  const { totals, timeline, info, intervals, span_s } = readHlog(text, file);
  const extra: Array<[string, string]> = [];
  for (const key of ['iface', 'queues', 'mode', 'bind', 'strategy', 'clock', 'poll'] as const) {
    const v = info[key];
    // "queues 0" would read as a count
    const label = key === 'queues' && Array.isArray(v) && v.length === 1 ? 'queue' : key;
    if (v !== undefined) extra.push([label, Array.isArray(v) ? v.join(', ') : String(v)]);
  }
  const xu = totals.xdp_to_user;
  return {
    title: `afxdp latency report${info.iface ? `: ${info.iface}` : ''}`,
    subtitle: `${path.basename(file)} · ${intervals} interval histograms · ${span_s.toFixed(2)} s`,
    env: envRows(info, extra),
    packets: xu ? [['received (xdp → user samples)', formatCount(xu.totalCount)]] : [],
    segments: segmentsFrom(totals, {}),
    timeline,
    hasDrops: false,
  };
}

const require = createRequire(import.meta.url);

function uplotAssets(): { js: string; css: string } {
  const dir = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
  return { js: fs.readFileSync(path.join(dir, 'uPlot.iife.min.js'), 'utf8'), css: fs.readFileSync(path.join(dir, 'uPlot.min.css'), 'utf8') };
}

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
/** A script body that cannot close its element early. */
const scriptText = (s: string): string => s.replace(/<\/(script)/gi, '<\\/$1');

/** The page around a body: inlined uPlot, the stylesheet, the data and the page's own script. */
export function pageShell(title: string, body: string, data: unknown, script: string): string {
  const { js, css } = uplotAssets();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="afxdp">
<title>${esc(title)}</title>
<style>${css}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#5b6773;margin-bottom:18px}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:12px 16px;flex:1;min-width:280px}
table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;font-variant-numeric:tabular-nums}
table.kv th{text-align:left;color:#5b6773;font-weight:500}table.kv td{text-align:left}
table.seg{background:#fff;border:1px solid #dde2e8;border-radius:8px}table.seg thead th{color:#5b6773;font-weight:500;border-bottom:1px solid #dde2e8}table.seg tbody th{text-align:left}
.chart{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:8px;margin-top:8px}
.note{color:#5b6773;font-size:13px}
h3{font-size:14px;margin:18px 0 0;color:#39424b}
table.cmp th.run{text-align:right;color:#1d232a;font-weight:600}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
table.cmp td{text-align:right}table.cmp td.r{color:#5b6773;font-size:12px;padding-left:0}table.cmp td.r.worse{color:#b42318}table.cmp td.r.better{color:#067647}
table.cmp tr.seghead th{text-align:left;padding-top:10px;border-bottom:1px solid #dde2e8}
#env td{text-align:right}#env tr.diff th{color:#1d232a;font-weight:600}#env td.changed{background:#fff3c4;font-weight:600}
</style></head><body><main>
${body}
</main>
<script>${scriptText(js)}</script>
<script id="data" type="application/json">${scriptJson(data)}</script>
<script>${scriptText(CHART_SCRIPT + script)}</script>
</body></html>
`;
}

/** A two-column table of [name, value] rows. */
export function kvTable(rows: Array<[string, string]>): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

export function renderHtml(page: ReportPage): string {
  const segRows = page.segments
    .map((s) => {
      const m = s.summary;
      const cells = m.count === 0 ? Array(7).fill('-') : [m.min, m.p50, m.p90, m.p99, m.p999, m.max, m.mean].map(formatNs);
      return `<tr><th>${esc(s.label)}</th><td>${formatCount(m.count)}</td>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
    })
    .join('');
  const body = `<h1>${esc(page.title)}</h1>
<div class="sub">${esc(page.subtitle)}</div>
<div class="cards"><div class="card"><h2 style="margin-top:0">Run</h2>${kvTable(page.env)}</div><div class="card"><h2 style="margin-top:0">Packets</h2>${kvTable(page.packets)}</div></div>
<h2>Latency per segment</h2>
<table class="seg" id="summary"><thead><tr><th>segment</th><th>count</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr></thead><tbody>${segRows}</tbody></table>
<h2>Latency distribution</h2>
<div class="note">Percentile plot: the latency (log scale) below which the given share of packets fell.</div>
<div class="chart" id="dist"></div>
<h2>Latency over time</h2>
<div class="note">p50, p99 and max of each second (log scale).</div>
<div class="chart" id="time"></div>
<h2>Rate and drops over time</h2>
<div class="note">${page.hasDrops ? 'Packets received and dropped by the kernel (XDP_STATISTICS rx_dropped + rx_ring_full) per second.' : 'Samples per second. This source (an HdrHistogram log) has no drop counts.'}</div>
<div class="chart" id="rate"></div>
<p class="note">Made by afxdp. ${SEGMENTS_NOTE}</p>`;
  return pageShell(page.title, body, { segments: page.segments.map((s) => ({ name: s.name, label: s.label, dist: s.dist })), timeline: page.timeline, hasDrops: page.hasDrops }, PAGE_SCRIPT);
}

/** What each segment measures, under every page. */
export const SEGMENTS_NOTE =
  'Segments: sender → xdp = XDP stamp − the sender\'s TX time in the payload; xdp → user = the first time JavaScript touched the packet − XDP stamp; hw → xdp = XDP stamp − NIC RX stamp.';

/** Runs in the browser before each page's script: formatting and the percentile plot, shared by both pages. */
const CHART_SCRIPT = `
var afxdpCharts = [];
function fmtNs(v) {
  if (v == null) return '-';
  if (v < 1000) return Math.round(v) + ' ns';
  if (v < 1e6) return (v / 1e3).toPrecision(3) + ' µs';
  if (v < 1e9) return (v / 1e6).toPrecision(3) + ' ms';
  return (v / 1e9).toPrecision(3) + ' s';
}
function pct(x) {
  if (!(x >= 1) || !isFinite(x)) return '';
  var q = 100 * (1 - 1 / x);
  if (q === 0) return '0%';
  return (q >= 99.99 ? q.toPrecision(7).replace(/0+$/, '') : q.toPrecision(3)) + '%';
}
function width() { return Math.max(320, document.querySelector('main').clientWidth - 66); }
function pos(v) { return v > 0 ? v : null; }
/** A percentile plot of several series [{label, stroke, x, y}] on the union of their x values; null when none has a point. */
function percentileChart(el, list, height) {
  var xs = [];
  list.forEach(function (s) { s.x.forEach(function (x) { if (xs.indexOf(x) < 0) xs.push(x); }); });
  xs.sort(function (a, b) { return a - b; });
  if (xs.length === 0) return null;
  var data = [xs];
  var series = [{ label: 'percentile', value: function (u, v) { return v == null ? '-' : pct(v); } }];
  list.forEach(function (s) {
    var m = {};
    s.x.forEach(function (x, i) { m[x] = s.y[i]; });
    data.push(xs.map(function (x) { return m[x] == null ? null : pos(m[x]); }));
    series.push({ label: s.label, stroke: s.stroke, width: 2, dash: s.dash, spanGaps: true, points: { show: false }, value: function (u, v) { return fmtNs(v); } });
  });
  return new uPlot({
    width: width(), height: height, series: series,
    scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
    axes: [{ label: 'percentile', space: 40,
             splits: function (u, i, min, max) { var out = [1, 2]; for (var v = 10; v <= max * 1.0001; v *= 10) out.push(v); return out.filter(function (v) { return v >= min && v <= max * 1.0001; }); },
             values: function (u, vals) { return vals.map(pct); } },
           { label: 'latency', size: 70, values: function (u, vals) { return vals.map(fmtNs); } }]
  }, data, el);
}
window.addEventListener('resize', function () { afxdpCharts.forEach(function (c) { c.setSize({ width: width(), height: c.height }); }); });
`;

/** Runs in the browser: builds the three uPlot charts of one run from the inlined data. */
const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('data').textContent);
  var colors = { xdp_to_user: '#1f77b4', sender_to_xdp: '#2ca02c', hw_to_xdp: '#9467bd' };
  var charts = afxdpCharts;

  // 1. percentile plot: one line per segment
  var dist = percentileChart(document.getElementById('dist'), data.segments.map(function (s) { return { label: s.label, stroke: colors[s.name], x: s.dist.x, y: s.dist.y }; }), 320);
  if (dist) charts.push(dist);
  else document.getElementById('dist').textContent = 'no latency samples';

  // 2. p50 / p99 / max per second
  var t = data.timeline.map(function (r) { return r.t; });
  var timeData = [t];
  var timeSeries = [{ label: 'time', value: function (u, v) { return v == null ? '-' : v.toFixed(1) + ' s'; } }];
  data.segments.forEach(function (s) {
    [['p50', [1, 0]], ['p99', [6, 3]], ['max', [2, 3]]].forEach(function (k) {
      timeData.push(data.timeline.map(function (r) { var st = r.latency_ns[s.name]; return st && st.count > 0 ? pos(st[k[0]]) : null; }));
      timeSeries.push({ label: s.label + ' ' + k[0], stroke: colors[s.name], width: k[0] === 'p50' ? 2 : 1.5, dash: k[0] === 'p50' ? undefined : k[1], points: { show: t.length < 40 }, value: function (u, v) { return fmtNs(v); } });
    });
  });
  charts.push(new uPlot({
    width: width(), height: 300, series: timeSeries,
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: [{ label: 'seconds since start', values: function (u, vals) { return vals.map(function (v) { return v + ' s'; }); } },
           { label: 'latency', size: 70, values: function (u, vals) { return vals.map(fmtNs); } }]
  }, timeData, document.getElementById('time')));

  // 3. rate and drops
  var rateSeries = [{ label: 'time', value: function (u, v) { return v == null ? '-' : v.toFixed(1) + ' s'; } },
    { label: 'received / s', stroke: '#1f77b4', width: 2, scale: 'pps', points: { show: t.length < 40 } }];
  var rateData = [t, data.timeline.map(function (r) { return r.dt > 0 ? Math.round(r.received / r.dt) : 0; })];
  if (data.hasDrops) {
    rateSeries.push({ label: 'dropped / s', stroke: '#d62728', width: 2, scale: 'drops', points: { show: t.length < 40 } });
    rateData.push(data.timeline.map(function (r) { return r.dt > 0 ? Math.round(r.dropped / r.dt) : 0; }));
  }
  var rateAxes = [{ label: 'seconds since start', values: function (u, vals) { return vals.map(function (v) { return v + ' s'; }); } },
    { label: 'packets / s', scale: 'pps', size: 70 }];
  if (data.hasDrops) rateAxes.push({ label: 'drops / s', scale: 'drops', side: 1, grid: { show: false }, size: 60 });
  charts.push(new uPlot({
    width: width(), height: 240, series: rateSeries,
    scales: { x: { time: false }, pps: { range: function (u, a, b) { return [0, Math.max(1, b) * 1.1]; } }, drops: { range: function (u, a, b) { return [0, Math.max(1, b) * 1.1]; } } },
    axes: rateAxes
  }, rateData, document.getElementById('rate')));

  document.body.setAttribute('data-charts', String(charts.length));
})();
`;

/** Writes the page for a report (RUN.json) or an hlog file to `out`. */
export function writeHtml(out: string, page: ReportPage): number {
  const html = renderHtml(page);
  const fd = openOutput('--html', out);
  try {
    fs.writeFileSync(fd, html);
  } finally {
    fs.closeSync(fd);
  }
  return Buffer.byteLength(html);
}
