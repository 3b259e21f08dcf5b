/**
 * Soak: `npm run soak -- --minutes N [--rate PPS] [--interval S] [--json]`.
 *
 * One private lab, one probe, one generator, kept up for the whole run at a steady rate, with the
 * frame-ownership tracker on. Every interval (default 60 s) it waits until the interval's packets
 * are accounted for and prints one line: packets sent / received / dropped, UNACCOUNTED packets
 * (sent − received − kernel drops; must be 0), frames left in the application's hands (must be 0),
 * RSS and V8 heap (after a GC when node runs with --expose-gc). Bounded: it stops after the given
 * time (or at Ctrl-C, still printing the summary). Exit 1 when a packet or a frame went missing.
 */
import { Lab } from '../src/lab/lab.js';
import { TrafficGenerator } from '../src/lab/generator.js';
import { LatencyProbe } from '../src/rx/probe.js';
import { waitForEnd } from '../src/run/session.js';
import { AfxdpError } from '../src/errors.js';

interface Sample {
  t_s: number;
  sent: number;
  received: number;
  dropped: number;
  unaccounted: number;
  app_frames: number;
  tx_frames_in_flight: number;
  rss_mib: number;
  heap_mib: number;
  p50_ns: number;
  p99_ns: number;
}

interface Options {
  seconds: number;
  rate: number;
  interval: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 60, rate: 20000, interval: 60, json: false };
  let intervalGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new AfxdpError('EUSAGE', `${a} needs a positive number, got ${argv[i] ?? 'nothing'}`, { hint: 'e.g. npm run soak -- --minutes 60' });
      return v;
    };
    if (a === '--minutes') o.seconds = num() * 60;
    else if (a === '--seconds') o.seconds = num();
    else if (a === '--rate') o.rate = Math.floor(num());
    else if (a === '--interval') {
      o.interval = num();
      intervalGiven = true;
    } else if (a === '--json') o.json = true;
    else throw new AfxdpError('EUSAGE', `unknown option ${a}`, { hint: 'options: --minutes N | --seconds N, --rate PPS, --interval S, --json' });
  }
  if (!intervalGiven && o.seconds < 120) o.interval = Math.max(1, Math.min(60, o.seconds / 4));
  return o;
}

const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;

async function soak(o: Options, signal: AbortSignal, log: (s: string) => void): Promise<{ samples: Sample[]; ok: boolean }> {
  const lab = await Lab.create();
  let probe: LatencyProbe | undefined;
  let gen: TrafficGenerator | undefined;
  const samples: Sample[] = [];
  try {
    probe = LatencyProbe.open({ ifname: lab.rx.ifname, netnsFd: lab.rx.netns.fd, trackFrames: true });
    probe.start();
    gen = TrafficGenerator.open({ ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, trackFrames: true });
    log(`soak: lab ${lab.id}, ${o.rate} pps for ${o.seconds} s, a sample every ${o.interval} s (frame tracking on${gc ? ', GC before each heap sample' : ''})`);
    const t0 = Date.now();
    while (!signal.aborted && Date.now() - t0 < o.seconds * 1000) {
      const left = o.seconds - (Date.now() - t0) / 1000;
      const chunk = Math.max(1, Math.round(o.rate * Math.min(o.interval, left)));
      await gen.send({ count: chunk, rate: o.rate, signal });
      const p = probe;
      const g = gen;
      await waitForEnd(p, { expected: () => g.sent, idleMs: 2000 });
      p.drain();
      const s = p.stats();
      const dropped = s.kernel.rx_dropped + s.kernel.rx_ring_full + s.kernel.rx_invalid_descs;
      gc?.();
      const mem = process.memoryUsage();
      const frames = p.socket.tracker!.snapshot();
      const lat = p.recorder.summary();
      const sample: Sample = {
        t_s: Math.round((Date.now() - t0) / 100) / 10,
        sent: g.sent,
        received: s.received,
        dropped,
        unaccounted: g.sent - s.received - dropped,
        app_frames: frames.app,
        tx_frames_in_flight: g.socket.framesInUse(),
        rss_mib: mib(mem.rss),
        heap_mib: mib(mem.heapUsed),
        p50_ns: lat.p50,
        p99_ns: lat.p99,
      };
      samples.push(sample);
      log(
        `soak: t=${sample.t_s}s sent ${sample.sent} received ${sample.received} dropped ${sample.dropped} unaccounted ${sample.unaccounted} ` +
          `app-held frames ${sample.app_frames} tx in flight ${sample.tx_frames_in_flight} rss ${sample.rss_mib} MiB heap ${sample.heap_mib} MiB ` +
          `p50 ${(sample.p50_ns / 1000).toFixed(1)} µs p99 ${(sample.p99_ns / 1000).toFixed(1)} µs`,
      );
    }
    const last = samples[samples.length - 1];
    const ok = last !== undefined && last.unaccounted === 0 && last.app_frames === 0 && last.tx_frames_in_flight === 0;
    return { samples, ok };
  } finally {
    gen?.close();
    probe?.close();
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`soak: ${(e as AfxdpError).oneLine?.() ?? String(e)}\n`);
    process.exit(2);
  }
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  try {
    const { samples, ok } = await soak(o, stop.signal, log);
    const first = samples[0];
    const last = samples[samples.length - 1];
    const summary = {
      schema: 'afxdp.soak/1',
      seconds: last?.t_s ?? 0,
      rate: o.rate,
      samples,
      unaccounted: last?.unaccounted ?? 0,
      leftover_frames: (last?.app_frames ?? 0) + (last?.tx_frames_in_flight ?? 0),
      rss_drift_mib: first && last ? Math.round((last.rss_mib - first.rss_mib) * 10) / 10 : 0,
      heap_drift_mib: first && last ? Math.round((last.heap_mib - first.heap_mib) * 10) / 10 : 0,
      ok,
    };
    if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    log(`soak: ${ok ? 'ok' : 'FAILED'}: ${summary.seconds} s, ${last?.sent ?? 0} packets, unaccounted ${summary.unaccounted}, leftover frames ${summary.leftover_frames}, RSS drift ${summary.rss_drift_mib} MiB, heap drift ${summary.heap_drift_mib} MiB (first sample → last)`);
    process.exitCode = ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`soak: ${e instanceof AfxdpError ? e.oneLine() : (e as Error).stack}\n`);
    process.exitCode = 1;
  }
}

void main();
