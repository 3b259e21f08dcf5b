/**
 * The outputs of one run (--csv, --hlog, --pcap, --prometheus, --html, the live view), opened
 * BEFORE the run starts so an unwritable path or a busy port fails with one line and nothing
 * attached, wired to the receiver and the monitor during the run, and closed at the end.
 */
import fs from 'node:fs';
import { CsvWriter } from './csv.js';
import { HlogWriter } from './hlog.js';
import { PcapngWriter } from './pcapng.js';
import { MetricsServer } from './prometheus.js';
import { LiveView } from './live.js';
import { openOutput } from './filebuf.js';
import { pageFromReport, writeHtml } from './html.js';
import type { Report, OutputInfo } from './report.js';
import type { LatencyReceiver } from '../rx/receiver.js';
import type { RunMonitor } from '../measure/monitor.js';

export interface OutputOptions {
  csv?: string;
  hlog?: string;
  pcap?: string;
  html?: string;
  prometheus?: string;
  /** live view: 'tty' (redrawn block on stdout), 'lines' (plain lines on stderr) or off */
  live?: 'tty' | 'lines';
  /** the packet count the run stops at, for the progress bar */
  target?: number;
  /** "afxdp 0.1.0", written into pcapng */
  application?: string;
  /** pcapng: bytes written of each packet at most (default: the whole packet, up to 262144) */
  snaplen?: number;
}

export class RunOutputs {
  csv: CsvWriter | null = null;
  hlog: HlogWriter | null = null;
  pcap: PcapngWriter | null = null;
  metrics: MetricsServer | null = null;
  live: LiveView | null = null;
  private htmlChecked = false;
  private closed = false;

  private constructor(readonly o: OutputOptions) {}

  /**
   * Checks every output now: creates/truncates the files and listens on the metrics port. The
   * pcapng writer needs the probe's clock and interface, so its file is only checked here and
   * opened in attach(). `asOwner` wraps the file opens (the pipeline opens them as the user a
   * run drops to: sys/privileges.ts asUser).
   */
  static async open(o: OutputOptions, asOwner: (open: () => void) => void = (open) => open()): Promise<RunOutputs> {
    const out = new RunOutputs(o);
    try {
      // the files as their owner-to-be (a privilege drop: the user), the port as we are
      asOwner(() => {
        for (const [flag, file] of [['--pcap', o.pcap], ['--html', o.html]] as const) {
          if (file !== undefined) fs.closeSync(openOutput(flag, file));
        }
        out.htmlChecked = o.html !== undefined;
        if (o.csv !== undefined) out.csv = new CsvWriter(o.csv);
        if (o.hlog !== undefined) out.hlog = new HlogWriter(o.hlog);
      });
      if (o.prometheus !== undefined) out.metrics = await MetricsServer.listen(o.prometheus);
    } catch (e) {
      await out.close();
      throw e;
    }
    if (o.live) out.live = new LiveView({ tty: o.live === 'tty', write: (s) => (o.live === 'tty' ? process.stdout : process.stderr).write(s), target: o.target });
    return out;
  }

  /** Whether a sink needs every packet (CSV, pcapng): a busy-mode receiver must then deliver its batches. */
  get needsPackets(): boolean {
    return this.o.csv !== undefined || this.o.pcap !== undefined;
  }

  /** Connects the outputs to a running measurement (before the monitor starts). */
  attach(rx: LatencyReceiver, monitor: RunMonitor, info: Record<string, unknown>, clock: 'monotonic' | 'tai'): void {
    if (this.o.pcap !== undefined) {
      this.pcap = new PcapngWriter(this.o.pcap, { clock, ifname: String(info.iface ?? ''), application: this.o.application ?? 'afxdp', snaplen: this.o.snaplen });
    }
    if (this.csv) rx.addSink(this.csv);
    if (this.pcap) rx.addSink(this.pcap);
    if (this.hlog) {
      this.hlog.begin(Date.now(), info);
      monitor.addListener(this.hlog);
    }
    if (this.live) {
      if (typeof info.taken === 'string') this.live.taken = info.taken;
      monitor.addListener(this.live);
    }
    this.metrics?.expose(rx);
  }

  /** After the run: writes the HTML page, closes files and the server, and notes sizes in the report. */
  async finish(report: Report): Promise<void> {
    this.live?.finish();
    const outputs: NonNullable<Report['outputs']> = {};
    this.csv?.close();
    this.hlog?.close();
    this.pcap?.close();
    if (this.csv) outputs.csv = info(this.o.csv!, this.csv.rows);
    if (this.hlog) outputs.hlog = info(this.o.hlog!, this.hlog.intervals);
    if (this.pcap) outputs.pcap = info(this.o.pcap!, this.pcap.packets);
    if (this.metrics) outputs.prometheus = { path: this.metrics.url, bytes: 0, records: 0 };
    if (this.o.html !== undefined && this.htmlChecked) {
      // the page lists the other outputs too, so write it last
      report.outputs = { ...outputs, html: { path: this.o.html, bytes: 0, records: 1 } };
      const bytes = writeHtml(this.o.html, pageFromReport(report));
      outputs.html = { path: this.o.html, bytes, records: 1 };
    }
    if (Object.keys(outputs).length > 0) report.outputs = outputs;
    await this.close();
  }

  /** Closes everything (idempotent; also on errors). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live?.finish();
    for (const w of [this.csv, this.hlog, this.pcap]) {
      try {
        w?.close();
      } catch {
        // closing after an error: the first error is the one to report
      }
    }
    await this.metrics?.close();
  }
}

function info(path: string, records: number): OutputInfo {
  let bytes = 0;
  try {
    bytes = fs.statSync(path).size;
  } catch {
    bytes = 0;
  }
  return { path, bytes, records };
}
