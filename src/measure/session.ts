/**
 * Running a measurement to its end and turning a probe's numbers into the afxdp.report/1 JSON.
 * Shared by `afxdp demo` (which also sends) and `afxdp latency` (which only listens).
 */
import { buildReport, type Report } from '../report/report.js';
import type { LatencyProbe } from './probe.js';

export interface WaitOptions {
  /** stop once this many packets were received */
  packets?: number;
  /** stop after this many seconds */
  durationS?: number;
  /** stop when aborted (Ctrl-C): the report covers what was measured so far */
  signal?: AbortSignal;
  /** with `expected`: stop when nothing arrived for this long (packets lost) */
  idleMs?: number;
  /** a count to wait for, that may still grow (the sender's running total) */
  expected?: () => number | null;
  /** called about once per second (not per packet) */
  onTick?: () => void;
}

/** Resolves when the first stop condition holds. The probe keeps receiving in event mode meanwhile. */
export function waitForEnd(probe: LatencyProbe, o: WaitOptions): Promise<'packets' | 'duration' | 'signal' | 'idle' | 'expected'> {
  const started = Date.now();
  return new Promise((resolve) => {
    let lastCount = probe.received;
    let lastChange = Date.now();
    let lastTick = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const done = (why: 'packets' | 'duration' | 'signal' | 'idle' | 'expected'): void => {
      if (timer) clearInterval(timer);
      probe.onBatch = null;
      o.signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const check = (): void => {
      const now = Date.now();
      if (probe.received !== lastCount) {
        lastCount = probe.received;
        lastChange = now;
      }
      if (o.packets !== undefined && probe.received >= o.packets) return done('packets');
      if (o.durationS !== undefined && now - started >= o.durationS * 1000) return done('duration');
      const exp = o.expected?.() ?? null;
      if (exp !== null) {
        const k = probe.stats().kernel;
        const accounted = probe.received + k.rx_dropped + k.rx_ring_full + k.rx_invalid_descs;
        if (accounted >= exp) return done('expected');
        if (o.idleMs !== undefined && now - lastChange >= o.idleMs) return done('idle');
      }
      if (o.onTick && now - lastTick >= 1000) {
        lastTick = now;
        o.onTick();
      }
    };
    const onAbort = (): void => done('signal');
    if (o.signal?.aborted) return done('signal');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // a packet-count stop is checked per batch (cheap comparison), the rest on a timer
    if (o.packets !== undefined) {
      const target = o.packets;
      probe.onBatch = (received) => {
        if (received >= target) done('packets');
      };
    }
    timer = setInterval(check, 20);
    check();
  });
}

export interface ReportExtras {
  sent: number | null;
  durationS: number;
  poll: 'event' | 'busy';
}

export function probeReport(probe: LatencyProbe, x: ReportExtras): Report {
  const s = probe.stats();
  return buildReport({
    iface: probe.ifname,
    queues: [probe.queue],
    mode: probe.mode,
    bind: probe.bindMode,
    strategy: 'meta',
    clock: probe.clock,
    poll: x.poll,
    duration_s: x.durationS,
    counts: {
      sent: x.sent,
      received: s.received,
      meta_valid: s.metaValid,
      meta_invalid: s.metaInvalid,
      kernel: {
        rx_dropped: s.kernel.rx_dropped,
        rx_invalid_descs: s.kernel.rx_invalid_descs,
        rx_ring_full: s.kernel.rx_ring_full,
        rx_fill_ring_empty_descs: s.kernel.rx_fill_ring_empty_descs,
      },
    },
    summaries: { xdp_to_user: probe.recorder.summary() },
  });
}
