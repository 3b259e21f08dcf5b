/**
 * Which kernel wrote the log, as far as the log says: a release named beside it (uname -r,
 * "Linux 5.4", a distribution kernel string), or the verifier's own dialect (the instruction budget
 * it prints, 'inv' before 5.18). And the limits of older kernels that refuse correct programs, with
 * the release that lifted each: where the log shows an older kernel, the explanation names it.
 */

export interface KernelSeen {
  /** "5.4" when the log names the release */
  release: string | null;
  /** the log's dialect proves the kernel is older than this release ("5.2"), or null */
  before: string | null;
  /** the words that said it */
  evidence: string;
}

/** "5.10" → 5010, for comparisons. */
export function releaseNumber(r: string): number {
  const [a, b] = r.split('.').map(Number);
  return (a ?? 0) * 1000 + (b ?? 0);
}

export function kernelSeen(raw: string): KernelSeen | null {
  const named =
    /\b(?:Linux(?: version)?|[Kk]ernel(?: version| release)?|uname -r\s*[:\n]\s*)\s*:?\s*v?([3-7]\.\d{1,2})(?:\.\d+)?\b/.exec(raw) ??
    // uname -a: "Linux host 5.15.0-91-generic #101-Ubuntu SMP …"
    /^Linux [\w.-]+ ([3-7]\.\d{1,2})\.\d+\S* #\d+/m.exec(raw) ??
    /\b([3-7]\.\d{1,2})\.\d+-\d+(?:\.\d+)*-(?:generic|lowlatency|aws|azure|gcp|oracle|kvm|amd64|arm64|cloud-amd64)\b|\b([3-7]\.\d{1,2})\.\d+-\d+(?:\.\d+)*\.el\d/.exec(raw);
  if (named) return { release: (named[1] ?? named[2])!, before: null, evidence: named[0].replace(/\s+/g, ' ').trim() };
  // the "processed" line: "(limit 131072), stack depth" (4.16–5.1) or ", stack depth" (4.14–4.15); 5.2+ prints "(limit 1000000) max_states_per_insn"
  const budget = /processed \d+ insns(?: \(limit 131072\))?, stack depth|processed \d+ insns \(limit 131072\)/.exec(raw);
  if (budget) return { release: null, before: '5.2', evidence: budget[0] };
  // 'inv' for an unknown scalar: kernels before 5.18
  const inv = /invalid mem access 'inv'|\bR\d+(?:_[rwD]+)?=inv(?:P)?[(\d\s]/.exec(raw);
  if (inv) return { release: null, before: '5.18', evidence: inv[0].trim() };
  return null;
}

/** Correct programs older kernels refuse: the class (and message) it shows as, and the release that accepts it. */
export const KERNEL_LIMITS: Array<{ cls: string; re?: RegExp; since: string; what: string }> = [
  { cls: 'loop', re: /back-edge/, since: '5.3', what: 'bounded loops' },
  { cls: 'too-complex', since: '5.2', what: 'a budget of 1,000,000 processed instructions (131,072 before)' },
  { cls: 'map-value-bounds', since: '5.7', what: 'bounds tracked on 32-bit arithmetic (ALU32), so a bound clang checks on a 32-bit copy still holds for the 64-bit index' },
  { cls: 'tail-call-mix', re: /bpf-to-bpf calls/, since: '5.10', what: 'tail calls mixed with BPF-to-BPF calls (x86-64 JIT)' },
  { cls: 'func-signature', re: /is not supported yet/, since: '5.12', what: 'pointer arguments to global functions' },
  { cls: 'helper-arg', re: /alloc_mem|ringbuf_mem|type=inv expected=/, since: '5.11', what: 'ring-buffer and memory pointers kept through a stack spill' },
  { cls: 'loader', re: /has to have BTF in order to use bpf_timer/, since: '5.15', what: 'bpf_timer' },
  { cls: 'loader', re: /has to have BTF in order to use bpf_spin_lock/, since: '5.1', what: 'bpf_spin_lock' },
  { cls: 'helper-not-allowed', re: /might sleep|sleepable/, since: '5.10', what: 'sleepable fentry/LSM programs' },
];

/** Is `since` newer than the kernel the log shows? null kernel: unknown, assume it has it. */
export function kernelLacks(since: string, k: KernelSeen | null): boolean {
  if (!k) return false;
  if (k.release) return releaseNumber(k.release) < releaseNumber(since);
  return k.before !== null && releaseNumber(since) >= releaseNumber(k.before);
}

/** The older-kernel limit the log shows this rejection hitting, as a clause for the texts; null when the kernel is newer or unknown. */
export function kernelLimit(cls: string, message: string, k: KernelSeen | null): { why: string; fix: string; since: string } | null {
  if (!k) return null;
  for (const l of KERNEL_LIMITS) {
    if (l.cls !== cls || (l.re && !l.re.test(message))) continue;
    if (!kernelLacks(l.since, k)) continue;
    const who = k.release ? `Linux ${k.release} ("${k.evidence}")` : `a kernel older than ${k.before} ("${k.evidence}")`;
    return {
      why: `The log comes from ${who}, which predates ${l.what} (Linux ${l.since}): the program may be right and this kernel too old for it`,
      fix: `or run Linux ${l.since}+, which accepts ${l.what}`,
      since: l.since,
    };
  }
  return null;
}
