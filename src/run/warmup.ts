/**
 * --warmup: the first part of a run — seconds after the receiver starts, or a number of packets —
 * is left out of the latency histograms, so a run's figures describe the steady state. Nothing is
 * silently dropped: the report's `warmup` says what was asked, where the cut fell (packets
 * received before it, samples taken out of each segment) and whether the run got past it.
 */
import type { LatencyReceiver, WarmupCut } from '../rx/receiver.js';
import type { WarmupReport } from '../report/report.js';
import { AfxdpError } from '../errors.js';

/** What to leave out: the first `seconds` of the run, or its first `packets` packets. */
export type WarmupSpec = { seconds: number } | { packets: number };

/** How often a packet-count warm-up looks at the counters (the cut lands within this much traffic). */
const PACKET_CHECK_MS = 5;

/** Parses `2s`, `500ms`, `0.5s` (time) or `10000` (packets); throws a one-line usage error otherwise. */
export function parseWarmup(v: string): WarmupSpec {
  const t = v.trim();
  const m = /^(\d+(?:\.\d+)?)(s|ms)$/.exec(t);
  if (m) {
    const seconds = Number(m[1]) / (m[2] === 'ms' ? 1000 : 1);
    if (seconds > 0 && seconds <= 3600) return { seconds };
  } else if (/^\d+$/.test(t)) {
    const packets = Number(t);
    if (Number.isSafeInteger(packets) && packets >= 1) return { packets };
  }
  throw new AfxdpError('EUSAGE', `--warmup ${JSON.stringify(v)} is neither a time nor a packet count`, { hint: 'use e.g. --warmup 2s, --warmup 500ms (up to 3600s) or --warmup 10000 (packets)' });
}

/** Watches a started receiver and cuts the warm-up off its histograms when it is over. */
export class Warmup {
  private cut: WarmupCut | null = null;
  private atS = 0;
  private readonly t0 = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly rx: LatencyReceiver,
    readonly spec: WarmupSpec,
  ) {
    if ('seconds' in spec) {
      this.timer = setTimeout(() => this.end(), spec.seconds * 1000);
    } else {
      const n = spec.packets;
      this.timer = setInterval(() => {
        if (rx.received >= n) this.end();
      }, PACKET_CHECK_MS);
    }
    this.timer.unref();
  }

  private end(): void {
    if (this.cut !== null) return;
    clearTimeout(this.timer);
    this.cut = this.rx.excludeWarmup();
    this.atS = (performance.now() - this.t0) / 1000;
  }

  /**
   * At the end of the run: the report's `warmup`. A run that ended inside its warm-up is cut now
   * (everything it measured was warm-up) and says so with completed: false.
   */
  finish(): WarmupReport {
    const completed = this.cut !== null;
    this.end();
    const cut = this.cut!;
    return {
      seconds: 'seconds' in this.spec ? this.spec.seconds : null,
      packets: 'packets' in this.spec ? this.spec.packets : null,
      completed,
      at_s: Math.round(this.atS * 1000) / 1000,
      excluded_packets: cut.packets,
      excluded_samples: cut.samples,
    };
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
