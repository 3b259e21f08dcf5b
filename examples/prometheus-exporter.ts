// SPDX-License-Identifier: MIT
/**
 * A long-running service: measures XDP → user latency on IFACE and serves it to Prometheus
 * (prom-client) at http://HOST:PORT/metrics. Usage: prometheus-exporter IFACE [PORT] [HOST].
 * Stops cleanly on SIGINT/SIGTERM (program detached, socket closed).
 */
import http from 'node:http';
import { Registry, Gauge, Counter, collectDefaultMetrics } from 'prom-client';
import { open } from 'afxdp';

const [iface = 'eth0', port = '9464', host = '127.0.0.1'] = process.argv.slice(2);
const sock = open({ iface });
// receiving records every latency; the batch callback only has to exist (frames are released after it)
sock.onBatch(() => {});

const registry = new Registry();
collectDefaultMetrics({ register: registry });
const labels = { iface, queue: String(sock.queue) };
new Counter({
  name: 'afxdp_packets_received_total',
  help: 'Packets received on the AF_XDP socket',
  labelNames: ['iface', 'queue'],
  registers: [registry],
  collect() {
    this.reset();
    this.inc(labels, sock.stats().received);
  },
});
new Counter({
  name: 'afxdp_kernel_rx_dropped_total',
  help: 'Packets the kernel dropped before the socket (XDP_STATISTICS rx_dropped + rx_ring_full)',
  labelNames: ['iface', 'queue'],
  registers: [registry],
  collect() {
    const k = sock.stats().kernel;
    this.reset();
    this.inc(labels, k.rx_dropped + k.rx_ring_full);
  },
});
new Gauge({
  name: 'afxdp_xdp_to_user_latency_ns',
  help: 'XDP hook to user-space latency since start, by quantile',
  labelNames: ['iface', 'queue', 'quantile'],
  registers: [registry],
  collect() {
    const l = sock.latency();
    for (const [q, v] of [['0.5', l.p50], ['0.9', l.p90], ['0.99', l.p99], ['0.999', l.p999], ['1', l.max]] as const) this.set({ ...labels, quantile: q }, v);
  },
});

const server = http.createServer((req, res) => {
  if (req.url !== '/metrics') return void res.writeHead(404).end('see /metrics\n');
  registry.metrics().then(
    (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
    (e: Error) => res.writeHead(500).end(`${e.message}\n`),
  );
});
server.listen(Number(port), host, () => console.error(`serving http://${host}:${port}/metrics for ${iface} (XDP ${sock.mode}, AF_XDP ${sock.bind})`));

const quit = (): void => {
  server.close();
  sock.close();
};
process.once('SIGINT', quit);
process.once('SIGTERM', quit);
