/** `afxdp doctor`: what this machine (and an interface) can do for AF_XDP latency measurement. */
import { release, version as osVersion } from 'node:os';
import { systemFindings } from './system.js';
import { installFindings } from './install.js';
import { ifaceFindings, resolveIface } from './iface.js';
import { runAsFinding, udpFlowsFinding } from './least-privilege.js';
import type { Finding } from './finding.js';

export const DOCTOR_SCHEMA = 'afxdp.doctor/1';

export interface DoctorReport {
  schema: typeof DOCTOR_SCHEMA;
  kernel: { release: string; version: string };
  iface: string | null;
  probe: boolean;
  findings: Finding[];
  summary: { ok: number; warn: number; fail: number };
}

export function runDoctor(opts: { iface?: string; probe?: boolean } = {}): DoctorReport {
  // a missing interface fails before anything else runs: one line, exit 1
  if (opts.iface) resolveIface(opts.iface);
  const findings = [...installFindings(), ...systemFindings(), runAsFinding()];
  if (opts.iface) findings.push(...ifaceFindings(opts.iface, { probe: opts.probe }), udpFlowsFinding(opts.iface));
  const summary = { ok: 0, warn: 0, fail: 0 };
  for (const f of findings) summary[f.status]++;
  return { schema: DOCTOR_SCHEMA, kernel: { release: release(), version: osVersion() }, iface: opts.iface ?? null, probe: !!opts.probe, findings, summary };
}

export function renderDoctor(r: DoctorReport): string {
  const out = r.findings.map((f) => `${f.status.padEnd(4)}  ${f.title}: ${f.detail}${f.fix ? `  → fix: ${f.fix}` : ''}`);
  out.push(`${r.summary.fail ? 'fail' : r.summary.warn ? 'warn' : 'ok'}    ${r.summary.ok} ok, ${r.summary.warn} warn, ${r.summary.fail} fail`);
  return out.join('\n') + '\n';
}
