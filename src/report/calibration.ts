/**
 * The instrument's share on this host: what `afxdp calibrate` measured (afxdp's receiver and the
 * C reference receiver side by side on the same lab traffic, with the same scheduling), kept in a
 * small JSON file so that `latency` and `demo` reports can cite it ("instrument overhead on this
 * host"). The file is found at $AFXDP_CALIBRATION, else $XDG_CACHE_HOME/afxdp/calibration.json,
 * else ~/.cache/afxdp/calibration.json. A report cites it only when it was taken on this host,
 * kernel and CPU count: figures from another machine would say nothing about this one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileSafe } from '../sys/safe-file.js';

export const CALIBRATION_SCHEMA: Calibration['schema'] = 'afxdp.calibration/1';

/** One side's figures (medians over the rounds): CPU ns per packet and XDP → user percentiles in ns. */
export interface CalibrationSide {
  cpu_ns_per_packet: number | null;
  p50: number | null;
  p99: number | null;
  p999: number | null;
}

export interface Calibration {
  schema: 'afxdp.calibration/1';
  /** when it was measured (ISO 8601) */
  at: string;
  host: { hostname: string; kernel: string; cpus: number; node: string; afxdp: string };
  /** the traffic of each round: 64-byte UDP from afxdp's generator in another namespace */
  traffic: { rate_pps: number; packets: number; size: number; rounds: number };
  /** afxdp's receive mode and scheduling (the CLI's defaults unless told), and the C receiver's mode */
  ts: { poll: string; sched: string; rt: boolean };
  c: { receiver: 'rx_ref'; mode: 'poll'; rt: boolean };
  /** medians over the rounds */
  figures: { ts: CalibrationSide; c: CalibrationSide };
  /** afxdp ÷ C, of the medians (null where C's figure is 0 or missing) */
  ratio: { cpu: number | null; p50: number | null; p99: number | null; p999: number | null };
  /** every round as measured */
  rounds: Array<{ ts: CalibrationSide & { received: number }; c: CalibrationSide & { received: number } }>;
  /** true: a short check (--quick), not figures to quote */
  quick: boolean;
}

/** What a report cites: the ratios and where they come from (the report's `instrument`). */
export interface InstrumentCitation {
  text: string;
  source: string;
  at: string;
  quick: boolean;
  poll: string;
  ratio: Calibration['ratio'];
}

export function calibrationPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AFXDP_CALIBRATION) return env.AFXDP_CALIBRATION;
  const cache = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'afxdp', 'calibration.json');
}

export function thisHost(afxdp: string): Calibration['host'] {
  return { hostname: os.hostname(), kernel: os.release(), cpus: os.cpus().length, node: process.version, afxdp };
}

export function saveCalibration(c: Calibration, file = calibrationPath()): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o755 });
  writeFileSafe(file, JSON.stringify(c, null, 2) + '\n');
  return file;
}

/** The calibration of this host, or null (none, unreadable, or taken on another host / kernel / CPU count). */
export function loadCalibration(file = calibrationPath()): Calibration | null {
  let c: Calibration;
  try {
    c = JSON.parse(fs.readFileSync(file, 'utf8')) as Calibration;
  } catch {
    return null;
  }
  if (c?.schema !== CALIBRATION_SCHEMA || typeof c.host !== 'object' || c.host === null) return null;
  const h = thisHost(c.host.afxdp);
  if (c.host.hostname !== h.hostname || c.host.kernel !== h.kernel || c.host.cpus !== h.cpus) return null;
  return c;
}

const x = (r: number | null): string => (r === null ? '?' : `${r.toFixed(2)}×`);

/** "instrument overhead on this host (afxdp calibrate, 2026-12-06, worker): CPU 1.21× C, p50 1.05×, p99 1.40×, p99.9 1.90×" */
export function describeCalibration(c: Calibration): string {
  const r = c.ratio;
  return `instrument overhead on this host (afxdp calibrate${c.quick ? ' --quick' : ''}, ${c.at.slice(0, 10)}, poll ${c.ts.poll}): afxdp ÷ C receiver: CPU ${x(r.cpu)}, p50 ${x(r.p50)}, p99 ${x(r.p99)}, p99.9 ${x(r.p999)}`;
}

/** The report's citation of this host's calibration, or null. */
export function instrumentCitation(file = calibrationPath()): InstrumentCitation | null {
  const c = loadCalibration(file);
  if (c === null) return null;
  return { text: describeCalibration(c), source: file, at: c.at, quick: c.quick, poll: c.ts.poll, ratio: c.ratio };
}
