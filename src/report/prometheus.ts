/**
 * `--prometheus HOST:PORT`: a /metrics endpoint (prom-client exposition format) that answers
 * during the run, so one Prometheus can scrape many hosts running afxdp.
 *
 *   afxdp_latency_seconds{segment,queue}   histogram, one per measured segment and queue
 *   afxdp_packets_received_total{queue}, afxdp_meta_invalid_total{queue},
 *   afxdp_kernel_rx_dropped_total{queue}, afxdp_kernel_rx_ring_full_total{queue}, ... counters
 *   afxdp_program_*_total{queue}           the XDP program's own counters
 *   afxdp_stamps_by_strategy_total{queue,strategy}  valid stamps by carrier (meta, prepend, map)
 *   afxdp_map_*{queue}                     the map strategy's bookkeeping (only while the map is in use)
 *
 * Counters are prom-client Counters filled at scrape time (collect()). The latency histogram is
 * read from the recorders' HdrHistograms at scrape time too: prom-client's Histogram can only
 * `observe()` one value at a time (≈100 ns each, per packet), so the histogram metric is a small
 * object with prom-client's metric interface (name/help/type/get) registered in its Registry.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, type MetricValueWithName } from 'prom-client';
import { AfxdpError } from '../errors.js';
import { valueFromIndex, COUNTS_LENGTH, type Histogram, type LatencyRecorder } from '../measure/recorder.js';
import type { LatencyReceiver, ReceiverStats } from '../rx/receiver.js';
import { SEGMENTS, type Segment } from '../measure/monitor.js';

/** Bucket bounds in seconds: 1 µs … 10 s, 1-2-5 steps. */
export const PROM_BUCKETS_S = [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2, 5, 10];

export interface Endpoint {
  host: string;
  port: number;
}

/** "9464", ":9464", "0.0.0.0:9464", "[::1]:9464" → host/port (host default 127.0.0.1). */
export function parseEndpoint(s: string): Endpoint {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new AfxdpError('EUSAGE', `--prometheus ${s} is not HOST:PORT`, { hint: 'e.g. --prometheus 9464 or --prometheus 0.0.0.0:9464 (port 0 = any free port)' });
  }
  const host = m[1] === undefined || m[1] === '' ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

/** What /metrics reads of one queue, at scrape time. */
export interface MetricsQueue {
  readonly queue: number;
  recorder(s: Segment): LatencyRecorder | null;
  stats(): ReceiverStats;
}

/** The receiver's queues as /metrics sees them. */
export function metricsQueues(rx: LatencyReceiver): MetricsQueue[] {
  return rx.perQueue.map((q, i) => ({ queue: q.queue, recorder: (s: Segment) => q.recorder(s), stats: () => rx.stats(i) }));
}

/** Cumulative counts of `h` at each bound (ns), by walking HdrHistogram's counts once. */
export function cumulativeCounts(h: Histogram, boundsNs: readonly number[]): number[] {
  const out = new Array<number>(boundsNs.length).fill(0);
  const js = h as unknown as { getCountAtIndex(i: number): number; countsArrayLength: number };
  const len = Math.min(js.countsArrayLength, COUNTS_LENGTH);
  let b = 0;
  let running = 0;
  for (let i = 0; i < len; i++) {
    const c = js.getCountAtIndex(i);
    if (c === 0) continue;
    const v = valueFromIndex(i);
    while (b < boundsNs.length && v > boundsNs[b]!) out[b++] = running;
    running += c;
  }
  while (b < boundsNs.length) out[b++] = running;
  return out;
}

class LatencyHistogramMetric {
  readonly name = 'afxdp_latency_seconds';
  readonly help = 'Packet latency per segment (sender_to_xdp, xdp_to_user, hw_to_xdp) and queue, in seconds';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly boundsNs = PROM_BUCKETS_S.map((s) => Math.round(s * 1e9));

  constructor(private readonly queues: readonly MetricsQueue[]) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValueWithName<string>[] } {
    const values: MetricValueWithName<string>[] = [];
    for (const p of this.queues) {
      for (const s of SEGMENTS) {
        const rec = p.recorder(s);
        if (rec === null) continue;
        const h = rec.histogram;
        const labels = { segment: s, queue: p.queue };
        const cum = cumulativeCounts(h, this.boundsNs);
        PROM_BUCKETS_S.forEach((le, k) => values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: cum[k]! }));
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.totalCount });
        values.push({ metricName: `${this.name}_sum`, labels, value: (h.mean * h.totalCount) / 1e9 });
        values.push({ metricName: `${this.name}_count`, labels, value: h.totalCount });
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

/** null: the queue has no such number (e.g. map counters while the map is not in use); no sample then */
type CounterSource = (p: MetricsQueue) => number | null;

const COUNTERS: Array<[string, string, CounterSource]> = [
  ['afxdp_packets_received_total', 'Packets received by the AF_XDP socket', (p) => p.stats().received],
  ['afxdp_meta_valid_total', 'Packets with a valid XDP stamp', (p) => p.stats().metaValid],
  ['afxdp_meta_invalid_total', 'Packets without a valid XDP stamp', (p) => p.stats().metaInvalid],
  ['afxdp_kernel_rx_dropped_total', 'XDP_STATISTICS rx_dropped', (p) => p.stats().kernel.rx_dropped],
  ['afxdp_kernel_rx_ring_full_total', 'XDP_STATISTICS rx_ring_full', (p) => p.stats().kernel.rx_ring_full],
  ['afxdp_kernel_rx_invalid_descs_total', 'XDP_STATISTICS rx_invalid_descs', (p) => p.stats().kernel.rx_invalid_descs],
  ['afxdp_kernel_rx_fill_ring_empty_descs_total', 'XDP_STATISTICS rx_fill_ring_empty_descs', (p) => p.stats().kernel.rx_fill_ring_empty_descs],
  ['afxdp_program_seen_total', 'Frames the XDP program saw', (p) => p.stats().program.seen],
  ['afxdp_program_matched_total', 'Frames the XDP program matched', (p) => p.stats().program.matched],
  ['afxdp_program_stamped_total', 'Frames the XDP program stamped', (p) => p.stats().program.stamped],
  ['afxdp_program_meta_failed_total', 'Frames where bpf_xdp_adjust_meta failed', (p) => p.stats().program.meta_failed],
  ['afxdp_program_redirected_total', 'Frames redirected to the XSKMAP', (p) => p.stats().program.redirected],
  ['afxdp_map_stamps_stored_total', 'Map strategy: stamps the XDP program stored in the map', (p) => p.stats().map?.stored ?? null],
  ['afxdp_map_matched_total', 'Map strategy: stamps user space took from the map for their packet', (p) => p.stats().map?.matched ?? null],
  ['afxdp_map_packets_without_stamp_total', 'Map strategy: packets whose key had no stamp in the map', (p) => p.stats().map?.packets_without_stamp ?? null],
  ['afxdp_map_collisions_total', 'Map strategy: stamps refused because one with the same key was still waiting', (p) => p.stats().map?.collisions ?? null],
];

/** Gauges: numbers that go down as well as up. */
const GAUGES: Array<[string, string, CounterSource]> = [
  // stored − matched: waiting for their packet, or evicted from the LRU map without one
  ['afxdp_map_unmatched_stamps', 'Map strategy: stamps stored and not (yet) matched by a packet (waiting, or evicted)', (p) => p.stats().map?.stamps_without_packet ?? null],
];

const STRATEGY_NAMES = ['meta', 'prepend', 'map'] as const;

export function buildRegistry(queues: readonly MetricsQueue[]): Registry {
  const registry = new Registry();
  registry.registerMetric(new LatencyHistogramMetric(queues) as never);
  const perQueue = (kind: typeof Counter | typeof Gauge, [name, help, read]: [string, string, CounterSource]): void => {
    new kind({
      name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      // filled at scrape time from the queues: after reset(), inc(v) and set(v) both leave v
      collect(this: Counter<'queue'> | Gauge<'queue'>) {
        this.reset();
        for (const p of queues) {
          const v = read(p);
          if (v === null) continue;
          if (this instanceof Gauge) this.set({ queue: p.queue }, v);
          else this.inc({ queue: p.queue }, v);
        }
      },
    });
  };
  for (const c of COUNTERS) perQueue(Counter, c);
  for (const g of GAUGES) perQueue(Gauge, g);
  new Counter({
    name: 'afxdp_stamps_by_strategy_total',
    help: 'Valid stamps by the strategy that carried them (meta, prepend, map); sums to afxdp_meta_valid_total',
    labelNames: ['queue', 'strategy'],
    registers: [registry],
    collect(this: Counter<'queue' | 'strategy'>) {
      this.reset();
      for (const p of queues) {
        const by = p.stats().byStrategy;
        for (const strategy of STRATEGY_NAMES) this.inc({ queue: p.queue, strategy }, by[strategy]);
      }
    },
  });
  return registry;
}

/** The HTTP side: listens before the run starts (so a busy port fails early), serves /metrics. */
export class MetricsServer {
  private registry: Registry | null = null;
  private constructor(private readonly server: http.Server, readonly endpoint: Endpoint) {}

  static async listen(spec: string): Promise<MetricsServer> {
    const ep = parseEndpoint(spec);
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : e.code === 'EACCES' ? 'permission denied' : (e.code ?? e.message);
        reject(new AfxdpError('ESYS', `cannot listen on --prometheus ${ep.host}:${ep.port}: ${why}`, { hint: 'choose a free port on a local address', cause: e }));
      });
      server.listen(ep.port, ep.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const ms = new MetricsServer(server, { host: ep.host, port });
    server.on('request', (req, res) => void ms.handle(req, res));
    return ms;
  }

  /** The receiver to expose; before this, /metrics answers with no afxdp metrics yet. */
  expose(rx: LatencyReceiver): void {
    this.registry = buildRegistry(metricsQueues(rx));
  }

  get url(): string {
    const h = this.endpoint.host.includes(':') ? `[${this.endpoint.host}]` : this.endpoint.host;
    return `http://${h}:${this.endpoint.port}/metrics`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('afxdp: try /metrics\n');
      return;
    }
    try {
      const reg = this.registry ?? new Registry();
      const body = await reg.metrics();
      res.writeHead(200, { 'content-type': reg.contentType }).end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`afxdp: ${(e as Error).message}\n`);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
