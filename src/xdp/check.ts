/**
 * Verifier check without attaching: load each XDP program of an object on its own (so one
 * rejection does not hide the others) and collect the verifier's verdict and log.
 */
import path from 'node:path';
import { AfxdpError } from '../errors.js';
import { BpfObject, BPF_PROG_TYPE_UNSPEC, BPF_PROG_TYPE_XDP, VerifierError, verifierMessage } from './program.js';
import type { Explanation } from '../explain/explain.js';

export interface ProgramVerdict {
  program: string;
  section: string;
  ok: boolean;
  /** the section name was not one libbpf knows: the program was checked as XDP */
  assumedXdp: boolean;
  /** the verifier's one-line complaint when rejected */
  message: string | null;
  errno: number | null;
  /** verifier log (always on rejection; with logLevel > 0 also on success) */
  log: string;
  /** why the verifier rejected it and the fix (null when accepted or not a verifier rejection) */
  explanation: Explanation | null;
}

export interface CheckResult {
  object: string;
  programs: ProgramVerdict[];
  /** programs of other types, not checked */
  skipped: { program: string; section: string; type: number }[];
}

export function checkObject(file: string, opts: { logLevel?: number } = {}): CheckResult {
  const probe = BpfObject.open(file);
  const all = probe.programs;
  probe.close();
  const xdp = all.filter((p) => p.type === BPF_PROG_TYPE_XDP || p.type === BPF_PROG_TYPE_UNSPEC);
  const skipped = all.filter((p) => !xdp.includes(p)).map((p) => ({ program: p.name, section: p.section, type: p.type }));
  if (xdp.length === 0) {
    throw new AfxdpError('EBPF', `${path.basename(file)} has no XDP program${all.length ? ` (it has ${all.map((p) => `${p.name} in SEC("${p.section}")`).join(', ')})` : ''}`, {
      hint: 'put the program in SEC("xdp")',
    });
  }
  const programs: ProgramVerdict[] = [];
  for (const p of xdp) {
    const obj = BpfObject.open(file);
    try {
      obj.load({ program: p.name, defaultType: BPF_PROG_TYPE_XDP, logLevel: opts.logLevel });
      programs.push({ program: p.name, section: p.section, ok: true, assumedXdp: p.type === BPF_PROG_TYPE_UNSPEC, message: null, errno: null, log: obj.verifierLogs[p.name] ?? '', explanation: null });
    } catch (e) {
      if (!(e instanceof AfxdpError) || (e.code !== 'EVERIFIER' && e.code !== 'EBPF')) throw e;
      const log = e.detail ?? '';
      programs.push({
        program: p.name,
        section: p.section,
        ok: false,
        assumedXdp: p.type === BPF_PROG_TYPE_UNSPEC,
        message: e.code === 'EVERIFIER' ? verifierMessage(log) : e.message,
        errno: e.errno ?? null,
        log,
        explanation: e instanceof VerifierError ? e.explanation : null,
      });
    } finally {
      obj.close();
    }
  }
  return { object: file, programs, skipped };
}
