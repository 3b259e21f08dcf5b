/**
 * `afxdp calibrate`: the instrument's own share on this host. afxdp's receiver (the CLI's default
 * mode, as a process of its own: run/rx-child.ts) and the shipped C reference receiver (rx_ref,
 * `poll()` loop: the same shape as afxdp's worker) take turns on the same lab traffic — 64-byte
 * UDP at a fixed rate from afxdp's generator in the other namespace — with the same scheduling
 * (both at the default policy, or both SCHED_FIFO with --rt), round after round (the order
 * alternates). The result is afxdp ÷ C for CPU per packet and XDP → user p50, p99 and p99.9,
 * medians over the rounds, saved where `latency` and `demo` reports cite it
 * (report/calibration.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AfxdpError } from '../errors.js';
import { referenceBinary } from '../native.js';
import { Lab } from '../lab/lab.js';
import { GeneratorThread } from '../lab/generator-thread.js';
import { RT_PRIORITY } from '../sys/thread.js';
import { CALIBRATION_SCHEMA, saveCalibration, thisHost, calibrationPath, describeCalibration, type Calibration, type CalibrationSide } from '../report/calibration.js';
import { packageVersion } from './session.js';
import { checkRunOptions } from './latency.js';
import { ReadyProcess, type Json } from './ready-process.js';
import type { SchedChoice } from '../rx/options.js';

const RX_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rx-child.js');
/** a receiver that is not ready in this long (Node start, rehearsal, attach) is not coming */
const READY_MS = 30_000;

export interface CalibrateOptions {
  /** rounds (each: one C run and one afxdp run); default 3, --quick 1 */
  rounds?: number;
  /** packets per run; default 250 000 (5 s at 50 000 pps), --quick 2 000 */
  packets?: number;
  /** packets per second; default 50 000, --quick 10 000 */
  rate?: number;
  /** a short check that everything works: few packets, one round; the figures are not to be quoted */
  quick?: boolean;
  /** SCHED_FIFO for both receivers (afxdp: --rt, C: chrt); needs CAP_SYS_NICE */
  rt?: boolean;
  /** afxdp's scheduling policy (its default: receiver-first) */
  sched?: SchedChoice;
  /** where to save the result; default calibrationPath(); null: do not save */
  out?: string | null;
  /** a line per step (round, receiver) */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface CalibrateResult {
  calibration: Calibration;
  /** where it was saved (null: not saved) */
  saved: string | null;
  /** the one line reports cite */
  text: string;
}

function median(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function side(j: Json): CalibrationSide & { received: number } {
  const received = Number(j.received);
  const lat = (j.latency_ns ?? {}) as Json;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { received, cpu_ns_per_packet: received > 0 ? Math.round(Number(j.cpu_ns) / received) : null, p50: num(lat.p50), p99: num(lat.p99), p999: num(lat.p999) };
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 1000) / 1000);

// a record, so the compiler refuses a CalibrateOptions field missing here
const CALIBRATE_OPTION_SET: Record<keyof CalibrateOptions, true> = { rounds: true, packets: true, rate: true, quick: true, rt: true, sched: true, out: true, log: true, signal: true };
const CALIBRATE_OPTIONS = Object.keys(CALIBRATE_OPTION_SET);

export async function runCalibrate(o: CalibrateOptions = {}): Promise<CalibrateResult> {
  checkRunOptions('runCalibrate', o, CALIBRATE_OPTIONS);
  const quick = !!o.quick;
  const rounds = o.rounds ?? (quick ? 1 : 3);
  const packets = o.packets ?? (quick ? 2_000 : 250_000);
  const rate = o.rate ?? (quick ? 10_000 : 50_000);
  const sched = o.sched ?? 'receiver-first';
  const rt = !!o.rt;
  const log = o.log ?? (() => undefined);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new AfxdpError('EUSAGE', `${rounds} rounds is out of range`, { hint: 'use 1..50 (3 or more for figures to quote)' });
  if (!Number.isInteger(packets) || packets < 100) throw new AfxdpError('EUSAGE', `${packets} packets per run is too few`, { hint: 'use 100 or more (250 000 for figures to quote)' });
  if (!Number.isInteger(rate) || rate < 100 || rate > 1_000_000) throw new AfxdpError('EUSAGE', `rate ${rate} pps is out of range`, { hint: 'use 100..1000000 (a receiver that keeps up: 50 000 is the reference)' });
  const rxRef = referenceBinary('rx_ref');
  if (!fs.existsSync(rxRef)) {
    throw new AfxdpError('ETOOL', `the C reference receiver is missing (${rxRef})`, { hint: 'a package from npm ships it in prebuilds/linux-<arch>/; in a checkout run `make` (it builds build/bench/rx_ref)' });
  }
  const lab = await Lab.create();
  const running = new Set<ReadyProcess>();
  const results: Calibration['rounds'] = [];
  try {
    const netns = `/proc/${lab.rx.netns.pid}/ns/net`;
    const chrt = rt ? ['chrt', '-f', String(RT_PRIORITY)] : [];
    const start = (who: 'c' | 'ts'): ReadyProcess => {
      const argv =
        who === 'c'
          ? [...chrt, rxRef, '--iface', lab.rx.ifname, '--netns', netns, '--mode', 'poll', '--count', String(packets)]
          : [process.execPath, RX_CHILD, '--iface', lab.rx.ifname, '--netns', netns, '--poll', 'worker', '--sched', sched, ...(rt ? ['--rt'] : []), '--count', String(packets)];
      const p = new ReadyProcess(argv[0]!, argv.slice(1), who === 'c' ? 'the C reference receiver (rx_ref)' : "afxdp's receiver", { readyMs: READY_MS, hint: 'run `afxdp doctor`; the C receiver needs the package\'s prebuilt rx_ref (or `make` in a checkout)' });
      running.add(p);
      return p;
    };
    /** One run: receiver ready → the generator sends `packets` at `rate` → the receiver's figures. */
    const runOne = async (who: 'c' | 'ts'): Promise<CalibrationSide & { received: number }> => {
      const rx = start(who);
      try {
        await rx.ready;
        const gen = new GeneratorThread({ ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, size: 64 }, { count: packets, rate, signal: o.signal });
        try {
          await gen.ready;
          gen.start();
          await gen.done;
        } finally {
          gen.close();
        }
        // it stops by itself at --count; a packet lost on the way would leave it waiting
        return side(await rx.finish(2_000));
      } finally {
        rx.kill();
        running.delete(rx);
      }
    };
    const interrupted = (): void => {
      if (o.signal?.aborted) throw new AfxdpError('ESTATE', 'calibration interrupted before it finished', { hint: 'nothing was saved; run it again to the end' });
    };
    for (let r = 0; r < rounds; r++) {
      interrupted();
      // the order alternates: neither side always runs on a machine that just did the other's work
      const order: Array<'c' | 'ts'> = r % 2 === 0 ? ['c', 'ts'] : ['ts', 'c'];
      const got: Partial<Record<'c' | 'ts', CalibrationSide & { received: number }>> = {};
      for (const who of order) {
        got[who] = await runOne(who);
        interrupted(); // a run cut short is not a figure
        const g = got[who]!;
        log(`round ${r + 1}/${rounds} ${who === 'c' ? 'C rx_ref' : 'afxdp  '}: received ${g.received}/${packets}, CPU ${g.cpu_ns_per_packet ?? '?'} ns/packet, p50 ${g.p50 ?? '?'} p99 ${g.p99 ?? '?'} p99.9 ${g.p999 ?? '?'} ns`);
      }
      results.push({ ts: got.ts!, c: got.c! });
    }
  } finally {
    for (const p of running) p.kill();
    await lab.destroy();
  }
  const med = (who: 'c' | 'ts'): CalibrationSide => ({
    cpu_ns_per_packet: median(results.map((x) => x[who].cpu_ns_per_packet)),
    p50: median(results.map((x) => x[who].p50)),
    p99: median(results.map((x) => x[who].p99)),
    p999: median(results.map((x) => x[who].p999)),
  });
  const ts = med('ts');
  const c = med('c');
  const calibration: Calibration = {
    schema: CALIBRATION_SCHEMA,
    at: new Date().toISOString(),
    host: thisHost(packageVersion()),
    traffic: { rate_pps: rate, packets, size: 64, rounds },
    ts: { poll: 'worker', sched, rt },
    c: { receiver: 'rx_ref', mode: 'poll', rt },
    figures: { ts, c },
    ratio: { cpu: ratio(ts.cpu_ns_per_packet, c.cpu_ns_per_packet), p50: ratio(ts.p50, c.p50), p99: ratio(ts.p99, c.p99), p999: ratio(ts.p999, c.p999) },
    rounds: results,
    quick,
  };
  const out = o.out === undefined ? calibrationPath() : o.out;
  const saved = out === null ? null : saveCalibration(calibration, out);
  return { calibration, saved, text: describeCalibration(calibration) };
}
