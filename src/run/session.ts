/**
 * Waiting for a measurement's end (packets, duration, signal, the sender's count, a failure). Used
 * by the run pipeline (run/pipeline.ts).
 */
import type { KernelStats } from '../xsk/socket.js';
import type { AfxdpError } from '../errors.js';
import { ALIVE_CHECK_MS } from '../rx/receiver.js';

/** How often waitForEnd looks at the stop conditions that are not checked per batch. */
const CHECK_MS = 100;

/** What waitForEnd needs of a receiver (rx/receiver.ts). */
export interface Receiving {
  readonly received: number;
  onBatch: ((received: number) => void) | null;
  /** a failure that ended the receiving (e.g. the interface went away), else null */
  readonly error: AfxdpError | null;
  onError: ((e: AfxdpError) => void) | null;
  /** false once the receiving has failed (sets error) */
  checkAlive(): boolean;
  stats(): { kernel: KernelStats };
}

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
export function waitForEnd(probe: Receiving, o: WaitOptions): Promise<'packets' | 'duration' | 'signal' | 'idle' | 'expected' | 'error'> {
  const started = Date.now();
  return new Promise((resolve) => {
    let lastCount = probe.received;
    let lastChange = Date.now();
    let lastTick = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const done = (why: 'packets' | 'duration' | 'signal' | 'idle' | 'expected' | 'error'): void => {
      if (timer) clearInterval(timer);
      probe.onBatch = null;
      probe.onError = null;
      o.signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    let lastAlive = Date.now();
    const check = (): void => {
      const now = Date.now();
      // the interface can vanish without a poll event: ask the socket a few times per second
      if (now - lastAlive >= ALIVE_CHECK_MS) {
        lastAlive = now;
        if (!probe.checkAlive()) return done('error');
      }
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
    if (probe.error) return done('error');
    probe.onError = () => done('error');
    if (o.signal?.aborted) return done('signal');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // a packet-count stop is checked per batch (cheap comparison), the rest on a timer
    if (o.packets !== undefined) {
      const target = o.packets;
      probe.onBatch = (received) => {
        if (received >= target) done('packets');
      };
    }
    // Every wake-up of this thread is CPU the receiver is charged for (a worker-mode run's main
    // thread spent ~10 ms/s at 20 ms, measured with /proc/PID/task/*/schedstat); 100 ms is soon
    // enough for a duration, an idle gap or a worker's packet count
    timer = setInterval(check, CHECK_MS);
    check();
  });
}

// what a run's report says about its environment lives with the report (the socket's report() uses it too)
export { packageVersion, runEnvironment } from '../report/environment.js';
