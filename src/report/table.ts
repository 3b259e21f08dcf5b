/**
 * Human output of `afxdp demo` / `afxdp latency`: a header, a packets line and a percentile
 * table, at most 80 columns wide, no colours (the live view is a separate issue). Plain text the
 * CLI prints as is; no trailing newline.
 */
import { pathDrops, type LatencySummary, type Report, type StackPath, type PathEffects, type PathEffect } from './report.js';

export const TABLE_WIDTH = 80;

const COLUMNS = ['count', 'min', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'] as const;
const VALUE_KEYS = ['min', 'p50', 'p90', 'p99', 'p999', 'max', 'mean'] as const;

/** Below 10 two decimals, else one: "1.50 µs", "12.5 µs", "123.4 µs". */
function scaled(x: number, unit: string): string | null {
  let s = x.toFixed(2);
  if (Number(s) >= 10) s = x.toFixed(1);
  return Number(s) >= 1000 ? null : `${s} ${unit}`;
}

/** 950 → "950 ns", 1500 → "1.50 µs", 2_500_000 → "2.50 ms", 1e10 → "10.0 s". */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return '-';
  const sign = ns < 0 ? '-' : '';
  const v = Math.abs(ns);
  const r = Math.round(v);
  if (r < 1000) return `${sign}${r} ns`;
  const out = scaled(v / 1e3, 'µs') ?? scaled(v / 1e6, 'ms') ?? `${(v / 1e9).toFixed(v < 1e10 ? 2 : v < 1e11 ? 1 : 0)} s`;
  return sign + out;
}

/** 1234567 → "1,234,567" (fixed separator, not the locale's, so output is the same everywhere). */
export function formatCount(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return (n < 0 ? '-' : '') + out;
}

/** 12_345_678 → "12.3M": only when the table would not fit 80 columns otherwise. */
function compactCount(n: number): string {
  if (n < 1e6) return formatCount(n);
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)}M`;
  return `${(n / 1e9).toFixed(n < 1e10 ? 2 : 1)}G`;
}

/** Join items with two spaces, wrapping before TABLE_WIDTH; continuation lines are indented. */
function wrap(items: string[], indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const it of items) {
    if (line === '') line = it;
    else if (line.length + 2 + it.length <= TABLE_WIDTH) line += `  ${it}`;
    else {
      lines.push(line);
      line = ' '.repeat(indent) + it;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Plain text wrapped at word boundaries before TABLE_WIDTH; continuation lines indented. */
function wrapWords(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= TABLE_WIDTH) line += ` ${w}`;
    else {
      lines.push(line);
      line = ' '.repeat(indent) + w;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

function headerLines(r: Report): string[] {
  const q = r.queues.length === 1 ? `queue ${r.queues[0]}` : `queues ${r.queues.join(',')}`;
  return wrap(
    [`iface ${r.iface}`, q, `mode ${r.mode}`, `bind ${r.bind}`, `strategy ${r.strategy_requested === 'auto' ? `auto (${r.strategy})` : r.strategy}`, `clock ${r.clock}`, `poll ${r.poll}`, `duration ${r.duration_s.toFixed(2)} s`],
    2,
  );
}

function packetLines(r: Report): string[] {
  const p = r.packets;
  const k = p.kernel;
  const items: string[] = ['packets'];
  if (p.sent !== null) items.push(`sent ${formatCount(p.sent)}`);
  items.push(`received ${formatCount(p.received)}`);
  items.push(`meta valid ${formatCount(p.meta_valid)} / invalid ${formatCount(p.meta_invalid)}`);
  // Drops are what makes `received + drops == sent` (docs/RELIABILITY.md, the accounting equation): rx_dropped and rx_ring_full.
  const drops = k.rx_dropped + k.rx_ring_full;
  let d = `kernel drops ${formatCount(drops)}`;
  if (drops > 0) d += ` (rx_dropped ${formatCount(k.rx_dropped)}, rx_ring_full ${formatCount(k.rx_ring_full)})`;
  items.push(d);
  // which strategy carried the stamps, when more than one did (or a fallback did)
  const b = p.by_strategy;
  if (b && (b.prepend > 0 || b.map > 0)) items.push(`via meta ${formatCount(b.meta)} / prepend ${formatCount(b.prepend)} / map ${formatCount(b.map)}`);
  if (p.map && (p.map.packets_without_stamp > 0 || (p.map.stamps_without_packet ?? 0) > 0 || (p.map.collisions ?? 0) > 0)) {
    items.push(`map unmatched: packets ${formatCount(p.map.packets_without_stamp)}, stamps ${p.map.stamps_without_packet ?? '?'}, collisions ${p.map.collisions ?? '?'}`);
  }
  if (r.hints) items.push(`hints: rx hash ${formatCount(r.hints.rx_hash)}, vlan ${formatCount(r.hints.vlan)}, hw timestamp ${formatCount(r.hints.rx_timestamp)}`);
  if (k.rx_fill_ring_empty_descs > 0) items.push(`fill ring empty ${formatCount(k.rx_fill_ring_empty_descs)}`);
  if (k.rx_invalid_descs > 0) items.push(`invalid descs ${formatCount(k.rx_invalid_descs)}`);
  if (r.warmup) {
    const w = r.warmup;
    const asked = w.seconds !== null ? `${w.seconds} s` : `${formatCount(w.packets!)} packets`;
    items.push(`warm-up ${asked}${w.completed ? '' : ' (the run ended inside it)'}: first ${formatCount(w.excluded_packets)} packets, ${formatCount(w.excluded_samples.xdp_to_user ?? 0)} samples excluded`);
  }
  const t = r.tuning;
  if (t && (t.cpu !== null || t.rt || t.cpu_dma_latency || t.busy_poll)) {
    const on = [t.cpu !== null ? `cpu ${t.cpu}` : '', t.rt ? 'SCHED_FIFO' : '', t.cpu_dma_latency ? 'cpu_dma_latency 0' : '', t.busy_poll ? `busy poll ${t.busy_poll.usecs} µs × ${formatCount(t.busy_poll.polls)}` : ''];
    items.push(`tuning: ${on.filter((x) => x !== '').join(', ')}`);
  }
  const sc = t?.sched;
  if (sc) items.push(`scheduling: ${schedLine(sc)}`);
  if (r.instrument) items.push(r.instrument.text);
  const mb = r.multi_buffer;
  if (mb && mb.sg) {
    let line = `multi-buffer (MTU ${mb.mtu}, ${mb.frame_size}-byte frames): ${formatCount(mb.packets)} packets in several buffers`;
    if (mb.chains_dropped > 0) line += `, ${formatCount(mb.chains_dropped)} chains too long to take dropped`;
    // a chain takes one fill-ring and RX-ring entry per buffer: the rings hold fewer packets
    if (k.rx_dropped + k.rx_ring_full > 0 && mb.packets > 0) line += ' (a packet takes a ring entry per buffer: a larger --ring-size holds more of them)';
    items.push(line);
  } else if (mb && k.rx_dropped > 0 && mb.mtu + 18 > mb.frame_size - 256) {
    items.push(`rx_dropped: packets larger than a ${mb.frame_size}-byte UMEM frame are dropped without multi-buffer receive (MTU ${mb.mtu}; sg off)`);
  }
  const bySize = p.by_size ? Object.entries(p.by_size).filter(([, n]) => n > 0) : [];
  if (bySize.length > 1 || (mb?.sg && bySize.length > 0)) items.push(`by size ${bySize.map(([c, n]) => `${c} ${formatCount(n)}`).join(', ')}`);
  if (r.ping) items.push(`ping: requests ${formatCount(r.ping.sent)}, replies ${formatCount(r.ping.replies)}, completions ${formatCount(r.ping.completions)} (${formatCount(r.ping.completions_with_timestamp)} stamped)`);
  return wrap(items, 2);
}

interface Row {
  label: string;
  s: LatencySummary;
}

function tableLines(r: Report): string[] {
  const rows: Row[] = [{ label: 'xdp → user', s: r.latency_ns.xdp_to_user }];
  if (r.latency_ns.sender_to_xdp) rows.push({ label: 'sender → xdp', s: r.latency_ns.sender_to_xdp });
  if (r.latency_ns.hw_to_xdp) rows.push({ label: 'hw → xdp', s: r.latency_ns.hw_to_xdp });
  if (r.latency_ns.rtt) rows.push({ label: 'round trip', s: r.latency_ns.rtt });
  if (r.latency_ns.tx_completion) rows.push({ label: 'tx complete', s: r.latency_ns.tx_completion });
  return latencyTable('latency', rows);
}

/** Rows of latency summaries under a header, fitted to TABLE_WIDTH. */
function latencyTable(head: string, rows: readonly Row[]): string[] {
  const labelW = Math.max(head.length, ...rows.map((x) => x.label.length));
  const render = (gap: number, uniform: boolean, count: (n: number) => string): string[] => {
    // A segment with no samples shows dashes, not "0 ns" (which would read as a measurement).
    const cells = rows.map(({ s }) => [count(s.count), ...VALUE_KEYS.map((key) => (s.count === 0 ? '-' : formatNs(s[key])))]);
    const widths = COLUMNS.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
    if (uniform) {
      // Equal value columns read better: "1.10 µs" cells get the padding a "123.4 µs" one needs.
      const w = Math.max(...widths.slice(1));
      widths.fill(w, 1);
    }
    const sep = ' '.repeat(gap);
    const line = (label: string, vals: readonly string[]): string =>
      label.padEnd(labelW) + vals.map((v, c) => sep + v.padStart(widths[c]!)).join('');
    return [line(head, COLUMNS), ...rows.map((x, i) => line(x.label, cells[i]!))];
  };
  // Values carry a space ("1.10 µs"), so two spaces between columns read best; eight columns
  // and a 12-character label rarely leave room for that in 80 columns, so fall back step by step.
  const fits = (ls: string[]): boolean => ls.every((l) => l.length <= TABLE_WIDTH);
  for (const [gap, uniform] of [[2, true], [2, false], [1, true], [1, false]] as const) {
    const ls = render(gap, uniform, formatCount);
    if (fits(ls)) return ls;
  }
  return render(1, false, compactCount);
}

/** The kernel-stack comparison: each path's packets, drops and CPU, then its xdp → user latency. */
function pathLines(r: Report): string[] {
  const p = r.paths;
  if (!p) return [];
  const cpu = (n: number | null): string => (n === null ? 'cpu –' : `cpu ${formatNs(n)}/packet`);
  const stack = [p.node_dgram, p.c_recvmmsg].filter((x): x is StackPath => x !== undefined);
  const lines: string[] = ['AF_XDP vs the kernel stack (xdp → user, same traffic, same clock)'];
  lines.push(...wrap([`af_xdp`, `received ${formatCount(p.af_xdp.packets.received)}`, `drops ${formatCount(pathDrops(p.af_xdp))}`, cpu(p.af_xdp.cpu_ns_per_packet)], 2));
  if (p.c_af_xdp) lines.push(...wrap([`c af_xdp`, `received ${formatCount(p.c_af_xdp.packets.received)}`, `drops ${formatCount(pathDrops(p.c_af_xdp))}`, cpu(p.c_af_xdp.cpu_ns_per_packet), 'rx_ref, in c recvmmsg\'s run'], 2));
  for (const s of stack) {
    const d = s.packets.drops;
    lines.push(...wrap([STACK_LABEL[s.receiver], `received ${formatCount(s.packets.received)} (stamped ${formatCount(s.packets.meta_valid)})`, `drops ${formatCount(pathDrops(s))}${pathDrops(s) > 0 ? ` (socket buffer full ${formatCount(d.socket)}, lost ${formatCount(d.lost)})` : ''}`, cpu(s.cpu_ns_per_packet), `run: sent ${s.run.sent === null ? '–' : formatCount(s.run.sent)}, ${formatCount(s.run.program.to_stack)} to the stack`], 2));
  }
  const rows: Row[] = stack.length > 1 ? [] : [{ label: 'af_xdp', s: p.af_xdp.latency_ns.xdp_to_user }];
  for (const s of stack) {
    if (stack.length > 1) rows.push({ label: s.run.af_xdp.receiver === 'c' ? 'c af_xdp' : `af_xdp (${s.receiver} run)`, s: s.run.af_xdp.latency_ns.xdp_to_user });
    rows.push({ label: STACK_LABEL[s.receiver], s: s.latency_ns.xdp_to_user });
    if (s.latency_ns.kernel_rx_to_user) rows.push({ label: '  kernel → user', s: s.latency_ns.kernel_rx_to_user });
  }
  return ['', ...lines, '', ...latencyTable('path', rows), ...effectLines(p.effects)];
}

/** The 2×2 read two ways, one line per pair: p50 and CPU, compared vs baseline. */
function effectLines(e: PathEffects | undefined): string[] {
  if (!e) return [];
  const ns = (v: number | null): string => (v === null ? '–' : formatNs(v));
  const line = (label: string, x: PathEffect | null): string[] =>
    x === null ? [] : wrap([label, `p50 ${ns(x.p50_ns.baseline)} → ${ns(x.p50_ns.compared)}`, `p99 ${ns(x.p99_ns.baseline)} → ${ns(x.p99_ns.compared)}`, `cpu ${ns(x.cpu_ns_per_packet.baseline)} → ${ns(x.cpu_ns_per_packet.compared)}/packet`], 2);
  return [
    '',
    'What AF_XDP saves (kernel stack → AF_XDP, same language, same run)',
    ...line('C', e.af_xdp_saves.c),
    ...line('Node', e.af_xdp_saves.node),
    'What Node costs (C → Node, same socket type)',
    ...line('AF_XDP', e.node_costs.af_xdp),
    ...line('stack', e.node_costs.stack),
  ];
}

const STACK_LABEL = { node: 'node dgram', c: 'c recvmmsg' } as const;

/** The report as text for a terminal (≤ 80 columns for any realistic values). */
export function renderTable(report: Report): string {
  const notes = report.ping ? ['', ...wrapWords(`tx stamps: ${report.ping.tx_timestamp_source}`, 2)] : [];
  return [...headerLines(report), ...packetLines(report), '', ...tableLines(report), ...pathLines(report), ...notes].join('\n');
}

/** "receiver first: receiving SCHED_OTHER ×1, main SCHED_BATCH, helpers SCHED_IDLE ×9" (+ what was skipped) */
function schedLine(sc: NonNullable<NonNullable<Report['tuning']>['sched']>): string {
  const groups = new Map<string, number>();
  for (const th of sc.threads) {
    const k = `${th.role === 'helper' ? 'helpers' : th.role} ${th.policy}${th.priority > 0 ? ` ${th.priority}` : ''}`;
    groups.set(k, (groups.get(k) ?? 0) + 1);
  }
  const parts = [...groups].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
  let line = `${sc.policy === 'receiver-first' ? 'receiver first' : sc.policy}: ${parts.join(', ')}`;
  if (sc.skipped) line += `; ${sc.skipped}`;
  if (sc.not_restored && !sc.skipped) line += `; ${sc.not_restored}`; // with `skipped`, expected and said already
  return line;
}
