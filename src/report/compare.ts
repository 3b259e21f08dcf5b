/**
 * `afxdp report A.json B.json … [--html OUT] [--json]`: several runs side by side. The
 * comparison is one `afxdp.compare/1` JSON document (what `--json` prints, and all the page is
 * drawn from): each run's environment, packets and latency summaries, its percentile
 * distribution per segment, and its figures as ratios to the first run. Contract rules as for
 * afxdp.report/1: fields may be added, never renamed or removed; anything else is a new schema.
 */
import path from 'node:path';
import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { AfxdpError } from '../errors.js';
import { SEGMENTS, summaryOf, type Segment } from '../measure/monitor.js';
import type { LatencySummary, Report } from './report.js';
import { SEGMENT_LABEL } from './live.js';
import { esc, pageShell, percentilePoints, readHlog, SEGMENTS_NOTE } from './html.js';
import type { RunSource } from './runfile.js';
import { formatCount, formatNs } from './table.js';

export const COMPARE_SCHEMA = 'afxdp.compare/1';

/** The environment fields compared between runs, in the order the page shows them. */
// the public types spell their names out (not derived from the internal lists), so a report shows no internal constant
export type EnvField = 'mode' | 'bind' | 'poll' | 'strategy' | 'clock' | 'queues' | 'kernel' | 'driver' | 'cpus' | 'cpus_online' | 'host' | 'node' | 'afxdp';
export const ENV_FIELDS = ['mode', 'bind', 'poll', 'strategy', 'clock', 'queues', 'kernel', 'driver', 'cpus', 'cpus_online', 'host', 'node', 'afxdp'] as const satisfies readonly EnvField[];
/** Shown but never a "difference": they differ between any two runs by nature. */
const IDENTITY_FIELDS = ['iface', 'started'] as const satisfies readonly (keyof ComparedEnv)[];

/** Every value a string (queues "0,1", cpus_online "8"), null where the input does not say. */
export type ComparedEnv = Record<EnvField | 'iface' | 'started', string | null>;

export interface ComparedPackets {
  sent: number | null;
  /** from an hlog: the xdp → user samples */
  received: number | null;
  meta_valid: number | null;
  meta_invalid: number | null;
  /** rx_dropped + rx_ring_full (null from an hlog) */
  kernel_drops: number | null;
  /** received / duration_s */
  rate_pps: number | null;
}

type SummaryKey = 'count' | 'min' | 'p50' | 'p90' | 'p99' | 'p999' | 'max' | 'mean';
const SUMMARY_KEYS = ['count', 'min', 'p50', 'p90', 'p99', 'p999', 'max', 'mean'] as const satisfies readonly SummaryKey[];

/** Latency (ns) at each percentile; from the run's histogram, or (older reports) its summary's six points. */
export interface Distribution {
  from: 'histogram' | 'summary';
  percentile: number[];
  ns: number[];
}

export interface ComparedRun {
  label: string;
  /** the file it came from (or what the caller named it) */
  source: string;
  kind: 'report' | 'hlog';
  env: ComparedEnv;
  duration_s: number | null;
  packets: ComparedPackets;
  /** null: the run did not measure the segment */
  latency_ns: Record<Segment, LatencySummary | null>;
  distribution: Record<Segment, Distribution | null>;
  /** this run's value ÷ the first run's; null where either is missing or the first is 0 */
  ratio_to_first: {
    duration_s: number | null;
    packets: Record<keyof ComparedPackets, number | null>;
    latency_ns: Record<Segment, Record<'count' | 'min' | 'p50' | 'p90' | 'p99' | 'p999' | 'max' | 'mean', number | null> | null>;
  };
}

export interface Comparison {
  schema: typeof COMPARE_SCHEMA;
  /** the label of the first run, the one ratios divide by */
  baseline: string;
  /** segments at least one run measured */
  segments: Segment[];
  /** environment fields with two or more different known values among the runs */
  env_differences: EnvField[];
  runs: ComparedRun[];
}

const round4 = (x: number): number => Number(x.toPrecision(4));

function ratio(v: number | null | undefined, base: number | null | undefined): number | null {
  return v === null || v === undefined || base === null || base === undefined || base === 0 ? null : round4(v / base);
}

/** percentile 100·(1 − 1/x) for the page's x = 1/(1 − q), kept to 10 digits (and back in renderComparisonHtml) */
function distributionOf(h: Histogram): Distribution {
  const { x, y } = percentilePoints(h);
  return { from: 'histogram', percentile: x.map((v) => Number((100 * (1 - 1 / v)).toPrecision(10))), ns: y };
}

function distributionOfSummary(s: LatencySummary): Distribution | null {
  if (s.count === 0) return null;
  const maxAt = Number((100 * (1 - 1 / s.count)).toPrecision(10));
  const points: Array<[number, number]> = [[0, s.min], [50, s.p50], [90, s.p90], [99, s.p99], [99.9, s.p999]].filter(([p]) => p < maxAt) as Array<[number, number]>;
  points.push([maxAt, s.max]);
  return { from: 'summary', percentile: points.map((p) => p[0]), ns: points.map((p) => p[1]) };
}

const str = (v: unknown): string | null => (v === undefined || v === null ? null : Array.isArray(v) ? v.join(',') : String(v));

function envOf(r: Partial<Report>): ComparedEnv {
  const e = r.env;
  return {
    mode: str(r.mode),
    bind: str(r.bind),
    poll: str(r.poll),
    // what the run asked for (an hlog's description has only that); the carriers are in the packets
    strategy: str(r.strategy_requested ?? r.strategy),
    clock: str(r.clock),
    queues: str(r.queues),
    kernel: str(e?.kernel),
    driver: str(e?.driver),
    cpus: str(e?.cpus),
    cpus_online: str(e?.cpus_online),
    host: str(e?.host),
    node: str(e?.node),
    afxdp: str(e?.afxdp),
    iface: str(r.iface),
    started: str(e?.started),
  };
}

/** One input's own figures (ratios filled in by compareRuns). */
function measure(src: RunSource, label: string): ComparedRun {
  const latency = {} as Record<Segment, LatencySummary | null>;
  const distribution = {} as Record<Segment, Distribution | null>;
  if ('report' in src) {
    const r = src.report;
    for (const s of SEGMENTS) {
      const sum = r.latency_ns[s] ?? null;
      const b64 = r.histograms?.[s];
      latency[s] = sum;
      distribution[s] = sum === null ? null : b64 ? distributionOf(decodeFromCompressedBase64(b64, 64)) : distributionOfSummary(sum);
    }
    const p = r.packets;
    const duration = typeof r.duration_s === 'number' ? r.duration_s : null;
    return {
      label,
      source: src.source ?? label,
      kind: 'report',
      env: envOf(r),
      duration_s: duration,
      packets: {
        sent: p.sent ?? null,
        received: p.received,
        meta_valid: p.meta_valid,
        meta_invalid: p.meta_invalid,
        kernel_drops: p.kernel ? p.kernel.rx_dropped + p.kernel.rx_ring_full : null,
        rate_pps: duration ? Math.round(p.received / duration) : null,
      },
      latency_ns: latency,
      distribution,
      ratio_to_first: { duration_s: null, packets: {} as ComparedRun['ratio_to_first']['packets'], latency_ns: {} as ComparedRun['ratio_to_first']['latency_ns'] },
    };
  }
  const log = readHlog(src.hlog, src.source ?? label);
  for (const s of SEGMENTS) {
    const h = log.totals[s];
    latency[s] = h ? summaryOf(h) : null;
    distribution[s] = h && h.totalCount > 0 ? distributionOf(h) : null;
  }
  const received = log.totals.xdp_to_user?.totalCount ?? null;
  const duration = Math.round(log.span_s * 1000) / 1000;
  return {
    label,
    source: src.source ?? label,
    kind: 'hlog',
    env: envOf(log.info),
    duration_s: duration,
    packets: { sent: null, received, meta_valid: null, meta_invalid: null, kernel_drops: null, rate_pps: received !== null && duration > 0 ? Math.round(received / duration) : null },
    latency_ns: latency,
    distribution,
    ratio_to_first: { duration_s: null, packets: {} as ComparedRun['ratio_to_first']['packets'], latency_ns: {} as ComparedRun['ratio_to_first']['latency_ns'] },
  };
}

/** Labels: the caller's, else the file name without its extension (the path where two names collide). */
function labelsOf(sources: readonly RunSource[]): string[] {
  const given = sources.map((s) => s.label);
  const base = sources.map((s, i) => s.label ?? (s.source ? path.basename(s.source).replace(/\.(json|hlog)$/i, '') : `run ${i + 1}`));
  const out = base.map((b, i) => (given[i] === undefined && base.filter((x) => x === b).length > 1 && sources[i]!.source ? sources[i]!.source! : b));
  const seen = new Map<string, number>();
  return out.map((l, i) => {
    if (l.trim() === '') throw new AfxdpError('EUSAGE', `label ${i + 1} is empty`, { hint: 'give every run a non-empty --label' });
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    if (n === 1) return l;
    if (given[i] !== undefined) throw new AfxdpError('EUSAGE', `label "${l}" is given twice`, { hint: 'give every run its own --label' });
    return `${l} (${n})`;
  });
}

/** Compares runs: the first is the baseline every ratio divides by. */
export function compareRuns(sources: readonly RunSource[]): Comparison {
  if (!Array.isArray(sources) || sources.length === 0) throw new AfxdpError('EUSAGE', 'nothing to compare', { hint: 'pass one or more runs (RUN.json or FILE.hlog)' });
  const labels = labelsOf(sources);
  const runs = sources.map((s, i) => measure(s, labels[i]!));
  const first = runs[0]!;
  for (const r of runs) {
    r.ratio_to_first.duration_s = ratio(r.duration_s, first.duration_s);
    for (const k of Object.keys(r.packets) as Array<keyof ComparedPackets>) r.ratio_to_first.packets[k] = ratio(r.packets[k], first.packets[k]);
    for (const s of SEGMENTS) {
      const a = r.latency_ns[s];
      const b = first.latency_ns[s];
      r.ratio_to_first.latency_ns[s] = a === null || b === null ? null : (Object.fromEntries(SUMMARY_KEYS.map((k) => [k, ratio(a[k], b[k])])) as Record<SummaryKey, number | null>);
    }
  }
  const env_differences = ENV_FIELDS.filter((f) => new Set(runs.map((r) => r.env[f]).filter((v) => v !== null)).size > 1);
  return {
    schema: COMPARE_SCHEMA,
    baseline: first.label,
    segments: SEGMENTS.filter((s) => runs.some((r) => r.latency_ns[s] !== null && r.latency_ns[s]!.count > 0)),
    env_differences,
    runs,
  };
}

/** Distinct, colour-blind-safe line colours (Okabe–Ito), one per run in order. */
const RUN_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const ENV_LABEL: Record<keyof ComparedEnv, string> = {
  mode: 'XDP mode', bind: 'AF_XDP bind', poll: 'poll', strategy: 'strategy', clock: 'clock', queues: 'queue ids', kernel: 'kernel', driver: 'driver',
  cpus: 'CPUs (affinity)', cpus_online: 'CPUs online', host: 'host', node: 'node', afxdp: 'afxdp', iface: 'interface', started: 'started',
};
const KEY_LABEL: Record<SummaryKey, string> = { count: 'count', min: 'min', p50: 'p50', p90: 'p90', p99: 'p99', p999: 'p99.9', max: 'max', mean: 'mean' };

/** `lowerIsBetter`: latencies, drops; other figures (counts, duration, rate) are shown without a verdict */
function ratioCell(x: number | null, lowerIsBetter: boolean): string {
  if (x === null) return '<td class="r">–</td>';
  // 5 % either way is within the noise of a short run on a shared machine
  const cls = !lowerIsBetter ? 'same' : x > 1.05 ? 'worse' : x < 0.95 ? 'better' : 'same';
  return `<td class="r ${cls}">×${x < 10 ? x.toFixed(2) : x.toFixed(1)}</td>`;
}

/** The comparison page: one HTML file, no network, every run in every percentile plot. */
/** `extraHtml`: a section of the caller's after the figures (the kernel-stack comparison's 2×2, report/paths.ts). */
export function renderComparisonHtml(c: Comparison, extraHtml = ''): string {
  if (c?.schema !== COMPARE_SCHEMA || !Array.isArray(c.runs) || c.runs.length === 0) {
    throw new AfxdpError('EUSAGE', `not an ${COMPARE_SCHEMA} document`, { hint: 'pass what compareRuns() returns' });
  }
  const runs = c.runs;
  const color = (i: number): string => RUN_COLORS[i % RUN_COLORS.length]!;
  const head = `<tr><th></th>${runs.map((r, i) => `<th colspan="${i === 0 ? 1 : 2}" class="run"><span class="swatch" style="background:${color(i)}"></span>${esc(r.label)}</th>`).join('')}</tr>`;
  const diff = new Set<string>(c.env_differences);
  const envRows = [...ENV_FIELDS, ...IDENTITY_FIELDS]
    .map((f) => {
      const base = runs[0]!.env[f];
      const cells = runs.map((r, i) => {
        const v = r.env[f];
        const changed = diff.has(f) && i > 0 && v !== null && base !== null && v !== base;
        return `<td${i === 0 ? '' : ' colspan="2"'}${changed ? ' class="changed"' : ''}>${esc(v ?? '–')}</td>`;
      });
      return `<tr data-field="${f}"${diff.has(f) ? ' class="diff"' : ''}><th>${esc(ENV_LABEL[f])}</th>${cells.join('')}</tr>`;
    })
    .join('');
  const num = (v: number | null, f: (n: number) => string): string => (v === null ? '–' : f(v));
  const row = (name: string, vals: Array<[string, number | null]>, lowerIsBetter: boolean): string =>
    `<tr><th>${esc(name)}</th>${vals.map(([v, r], i) => `<td>${esc(v)}</td>${i === 0 ? '' : ratioCell(r, lowerIsBetter)}`).join('')}</tr>`;
  const packetKeys: Array<[keyof ComparedPackets, string, boolean]> = [['sent', 'sent', false], ['received', 'received', false], ['rate_pps', 'rate (pps)', false], ['kernel_drops', 'kernel drops', true], ['meta_invalid', 'meta invalid', true]];
  const packets = [
    row('duration', runs.map((r) => [num(r.duration_s, (d) => `${d.toFixed(2)} s`), r.ratio_to_first.duration_s]), false),
    ...packetKeys.map(([k, name, worse]) => row(name, runs.map((r) => [num(r.packets[k], formatCount), r.ratio_to_first.packets[k]]), worse)),
  ].join('');
  const segTables = c.segments
    .map((s) => {
      const rows = SUMMARY_KEYS.map((k) =>
        row(KEY_LABEL[k], runs.map((r) => {
          const m = r.latency_ns[s];
          return [m === null ? 'not measured' : m.count === 0 ? '–' : k === 'count' ? formatCount(m.count) : formatNs(m[k]), r.ratio_to_first.latency_ns[s]?.[k] ?? null];
        }), k !== 'count'),
      ).join('');
      return `<tbody data-segment="${s}"><tr class="seghead"><th colspan="${runs.length * 2}">${esc(SEGMENT_LABEL[s])}</th></tr>${rows}</tbody>`;
    })
    .join('');
  const plots = c.segments
    .map((s) => `<h3>${esc(SEGMENT_LABEL[s])}</h3><div class="chart" id="dist-${s}" data-segment="${s}"></div>`)
    .join('');
  const title = `afxdp comparison: ${runs.map((r) => r.label).join(' vs ')}`;
  const differs = c.env_differences.length === 0 ? 'The runs were made the same way (as far as their files say).' : `Differences: ${c.env_differences.map((f) => ENV_LABEL[f]).join(', ')} (highlighted).`;
  const body = `<h1>${esc(title)}</h1>
<div class="sub">${runs.length} runs · ratios are to the first run, ${esc(runs[0]!.label)} · ${esc(runs.map((r) => r.source).join(', '))}</div>
<h2>Environment</h2>
<div class="note">${esc(differs)}</div>
<table class="seg cmp" id="env"><thead>${head}</thead><tbody>${envRows}</tbody></table>
<h2>Figures</h2>
<div class="note">Each run's value, and ×ratio to the first run (latencies, drops and invalid stamps: green lower, red higher, by more than 5 %).</div>
<table class="seg cmp" id="figures"><thead>${head}</thead><tbody data-segment="packets">${packets}</tbody>${segTables}</table>
${extraHtml}<h2>Latency distribution per segment</h2>
<div class="note">Percentile plots (log–log), every run on each. A run that did not measure a segment is listed as "not measured"; a run saved without its histogram is drawn from its six summary points (dashed).</div>
${plots || '<div class="note">no latency samples</div>'}
<p class="note">Made by afxdp. ${SEGMENTS_NOTE}</p>`;
  // x = 1/(1 − q) for the plots, from the document's percentiles
  const toX = (p: number): number => Number((100 / (100 - p)).toPrecision(6));
  const data = {
    segments: c.segments.map((s) => ({
      name: s,
      series: runs.map((r, i) => {
        const d = r.distribution[s];
        return { label: d ? r.label : `${r.label} (not measured)`, stroke: color(i), dash: d?.from === 'summary' ? [6, 4] : undefined, x: d ? d.percentile.map(toX) : [], y: d ? d.ns : [] };
      }),
    })),
  };
  return pageShell(title, body, data, COMPARE_SCRIPT);
}

/** Runs in the browser: one percentile plot per segment with every run in it. */
const COMPARE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('data').textContent);
  data.segments.forEach(function (s) {
    var el = document.getElementById('dist-' + s.name);
    var chart = percentileChart(el, s.series, 300);
    if (chart) afxdpCharts.push(chart);
    else el.textContent = 'no latency samples';
  });
  document.body.setAttribute('data-charts', String(afxdpCharts.length));
})();
`;
