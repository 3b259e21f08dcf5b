/** The output flags shared by `afxdp demo` and `afxdp latency`. */
import type { Command } from 'commander';
import type { OutputOptions } from '../entry/report.js';
import { intArg } from './args.js';

export interface OutputFlags {
  json?: boolean;
  csv?: string;
  hlog?: string;
  pcap?: string;
  snaplen?: number;
  html?: string;
  prometheus?: string;
  live?: boolean;
}

export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--csv <file>', 'write one row per packet (seq, queue, timestamps, each segment, strategy)')
    .option('--hlog <file>', 'write an HdrHistogram interval log (one histogram per timeline interval and segment)')
    .option('--pcap <file>', 'write the received frames as pcapng, ns timestamps from the XDP stamp, latencies in each packet comment')
    .option('--snaplen <bytes>', 'with --pcap: write at most this many bytes of each packet (default: the whole packet, jumbo frames included)', intArg('--snaplen', 14, 262144))
    .option('--html <file>', 'write a self-contained HTML report (plots, environment)')
    .option('--prometheus <host:port>', 'serve Prometheus /metrics during the run (host defaults to 127.0.0.1; port 0 = any)')
    .option('--no-live', 'no live view (by default: a block redrawn every second on a terminal, plain lines on stderr otherwise)');
}

export function outputOptions(f: OutputFlags): OutputOptions {
  // --json: stdout carries only the JSON document, so no live view anywhere
  const live = f.json || f.live === false ? undefined : process.stdout.isTTY ? 'tty' : 'lines';
  return { csv: f.csv, hlog: f.hlog, pcap: f.pcap, snaplen: f.snaplen, html: f.html, prometheus: f.prometheus, live };
}
