/**
 * Advice a kernel can follow: BPF features by the first release that has them, and the one pass
 * every fix text goes through so that a log from an older kernel is not told to use what its
 * kernel lacks (bpf_loop on 5.4). Where the log shows the release (or a dialect that dates it),
 * each feature newer than it is swapped for the older way, and the fix says why.
 * Releases: helpers and kfuncs from helpers.ts (include/uapi/linux/bpf.h's history as bcc's
 * docs/kernel-versions.md records it); the rest from the verifier's history (bounded loops:
 * "bpf: introduce bounded loops", 5.3; BPF-to-BPF calls 4.16; kernel BTF in /sys/kernel/btf, 5.4;
 * __arg_ctx, 6.7).
 */
import { helperSince } from './helpers.js';
import { kernelLacks, type KernelSeen } from './release.js';

export interface Feature {
  /** how the texts name it: "bpf_loop()" */
  what: string;
  /** first release that has it */
  since: string;
  /** where a fix or brief recommends it, and the older way said in its place ('' drops the mention) */
  text: Array<[RegExp, string]>;
  /** a snippet that uses it, and the snippet for older kernels */
  snippet?: [RegExp, string];
}

const BOUNDED_SNIPPET = 'for (__u32 i = 0; i < 64; i++) {       /* small constant bound */\n        if (i >= n)\n                break;\n        /* ... */\n}';
const UNROLLED_SNIPPET = '#pragma unroll\nfor (__u32 i = 0; i < 16; i++) {       /* constant bound: unrolled, no backward jump */\n        if (i >= n)\n                break;\n        /* ... */\n}';

/** Newest first: an older way put in by one row can itself be too new for the next (bpf_loop → a bounded loop → #pragma unroll). */
export const FEATURES: Feature[] = [
  {
    what: '__arg_ctx', since: '6.7',
    text: [[/,? pass ctx only where the argument is the program's context \(__arg_ctx on 6\.7\+\)/g, '']],
  },
  {
    what: 'open-coded iterators (bpf_for)', since: helperSince('bpf_iter_num_new')!,
    text: [[/\(or use the bpf_for\(\)\/bpf_repeat\(\) macros, 6\.4\+\)/g, '(or write a loop with a small constant bound)'], [/\(or bpf_for\(\)\)/g, '']],
    snippet: [/\bbpf_(?:for|repeat)\(/, BOUNDED_SNIPPET],
  },
  {
    what: 'dynptrs', since: '5.19',
    text: [[/\bbpf_ringbuf_reserve_dynptr\b/g, 'bpf_ringbuf_reserve']],
  },
  {
    what: 'bpf_loop()', since: helperSince('loop')!,
    text: [
      [/,? or use bpf_loop\(n, cb, ctx, 0\) for long loops/g, ', or split long loops across tail calls (bpf_tail_call)'],
      [/,? move long loops into bpf_loop\(\)/g, ''],
      [/ or bpf_loop\(\)(?: \(5\.17\+\))?(?: so the body is verified once)?/g, ' or tail calls (bpf_tail_call)'],
      [/\bbpf_loop\(\)(?: \(5\.17\+\))?(?: so the body is verified once)?/g, 'a loop with a small constant bound'],
    ],
    snippet: [/\bbpf_loop\(/, BOUNDED_SNIPPET],
  },
  {
    what: 'bpf_timer', since: helperSince('timer_init')!,
    text: [[/\bbpf_timer(?:_init|_start)?\(\)/g, 'a timestamp kept in the map entry (bpf_ktime_get_ns) and checked on the next event']],
  },
  {
    what: 'bpf_for_each_map_elem()', since: helperSince('for_each_map_elem')!,
    text: [[/\bbpf_for_each_map_elem\(\)/g, 'a loop with a constant bound over the keys']],
  },
  {
    what: 'the BPF ring buffer', since: helperSince('ringbuf_output')!,
    text: [
      [/,? bpf_ringbuf_submit(?:\/discard)?\(\w+, 0\)/g, ''],
      [/ \/ bpf_ringbuf_submit\b/g, ''],
      [/\bbpf_ringbuf_(?:output|reserve|submit)\(\)|\ba ring buffer\b/g, 'bpf_perf_event_output() to a perf buffer (BPF_MAP_TYPE_PERF_EVENT_ARRAY)'],
    ],
    snippet: [/\bbpf_ringbuf_(?:reserve|output)\(/, 'struct event e = {};                   /* on the stack (or a per-CPU array for big ones) */\n/* fill e */\nbpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));'],
  },
  {
    what: 'bpf_probe_read_kernel()/_user()', since: helperSince('probe_read_kernel')!,
    text: [
      [/\bbpf_probe_read_kernel\(\)\/bpf_probe_read_user\(\)|\bbpf_probe_read_kernel\/_user\b|\bbpf_probe_read_kernel\/bpf_probe_read_user\b/g, 'bpf_probe_read()'],
      [/\binstead of the old(?: helpers| bpf_probe_read\/_str)/g, 'the old helpers this kernel has'],
      [/\bbpf_probe_read_(?:kernel|user)_str\b/g, 'bpf_probe_read_str'],
      [/\bbpf_probe_read_(?:kernel|user)\b/g, 'bpf_probe_read'],
      [/ \(5\.5\+\)/g, ''],
    ],
    snippet: [/\bbpf_probe_read_(?:kernel|user)/, ''],
  },
  {
    what: 'kernel BTF for CO-RE (BPF_CORE_READ)', since: '5.4',
    text: [[/ \/ BPF_CORE_READ\(\)| \(or BPF_CORE_READ\)| \/ BPF_CORE_READ\b/g, ''], [/\bBPF_CORE_READ \/ /g, '']],
  },
  {
    what: 'bounded loops', since: '5.3',
    text: [
      [/; bounded loops on 5\.3\+/g, ''],
      [/\ba loop with a small constant bound\b/g, 'a loop unrolled with #pragma unroll and a small constant bound'],
      [/\ba loop with a constant bound\b/g, 'an unrolled loop (#pragma unroll, constant bound)'],
    ],
    snippet: [/^for \(__u32 i = 0; i < 64; i\+\+\)/m, UNROLLED_SNIPPET],
  },
  {
    what: 'BPF-to-BPF calls', since: '4.16',
    text: [[/ or (?:BPF-to-BPF|bpf-to-bpf) functions/g, '']],
  },
];

/** Classes whose texts are about the kernel lacking a feature and already name the release (they say "needs 5.17", not "use it"). */
const NAMES_RELEASES = new Set(['helper-unavailable', 'insn-unsupported']);

export interface KernelFit {
  fix: string;
  brief: string;
  snippet: string | null;
  /** features the advice would have used and the kernel lacks */
  lacks: Array<{ feature: string; since: string }>;
}

/**
 * The advice of class `cls` for the kernel the log shows: features it lacks are swapped for the
 * older way (and the fix says which and why); helpers or kfuncs no row covers are named with
 * their release. Without a known kernel the advice is unchanged.
 */
export function fitToKernel(cls: string, advice: { fix: string; brief: string; snippet: string | null }, k: KernelSeen | null): KernelFit {
  const out: KernelFit = { ...advice, lacks: [] };
  if (!k || NAMES_RELEASES.has(cls)) return out;
  for (const f of FEATURES) {
    if (!kernelLacks(f.since, k)) continue;
    let hit = false;
    for (const [re, instead] of f.text) {
      const swap = (s: string): string => s.replace(re, () => { hit = true; return instead; });
      out.fix = swap(out.fix);
      out.brief = swap(out.brief);
    }
    if (f.snippet && out.snippet !== null && f.snippet[0].test(out.snippet)) {
      hit = true;
      // a drop-in rename where the row gives no snippet of its own (bpf_probe_read_kernel → bpf_probe_read)
      out.snippet = f.snippet[1] || f.text.reduce((s, [re, instead]) => s.replace(re, instead), out.snippet);
    }
    if (hit) out.lacks.push({ feature: f.what, since: f.since });
  }
  const who = k.release ? `your kernel ${k.release} ("${k.evidence}")` : `your kernel, older than ${k.before} ("${k.evidence}"),`;
  const list = (l: Array<{ feature: string; since: string }>): string => l.map((x) => `${x.feature} (${x.since})`).join(', ').replace(/, ([^,]*)$/, ' and $1');
  // any other helper or kfunc the advice still names that the kernel lacks: said, not silently kept
  const named = [...new Set([...`${out.fix}\n${out.snippet ?? ''}`.matchAll(/\bbpf_[a-z0-9_]+(?=\()/g)].map((m) => m[0]))];
  const newer = named.map((n) => ({ feature: `${n}()`, since: helperSince(n) ?? '' })).filter((x) => x.since && kernelLacks(x.since, k));
  if (out.lacks.length) out.fix = `${out.fix.replace(/[.;,\s]+$/, '')} — ${who} predates ${list(out.lacks)}, so this advice keeps to what it has`;
  if (newer.length) {
    out.fix = `${out.fix.replace(/[.;,\s]+$/, '')}; ${out.lacks.length ? 'it' : who} also predates ${list(newer)}: that part needs a newer kernel`;
    out.lacks.push(...newer);
  }
  return out;
}
