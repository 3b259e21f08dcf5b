/** Help texts and checks of the stamping flags shared by `demo` and `latency` (docs/METADATA.md has the long form). */
import { AfxdpError } from '../../errors.js';

export const STRATEGY_HELP =
  'how the XDP stamp reaches user space: auto (metadata, falling back per packet to prepend, then map), meta (bpf_xdp_adjust_meta), prepend (bpf_xdp_adjust_head, stripped again), map (BPF hash keyed by the packet)';
export const SIMULATE_HELP =
  'diagnostic: make the XDP program behave as on a driver without metadata support (adjust_meta fails), to see what --strategy auto does there';
export const PROGRAM_HELP = 'your own XDP program (a BPF object that includes afxdp/meta.h and calls afxdp_stamp(ctx); see examples/own-program)';
export const XSKMAP_HELP = 'with --program: the XSKMAP afxdp registers its socket in (default: the only one)';

export function checkProgramFlags(o: { program?: string; xskmap?: string }): void {
  if (o.xskmap !== undefined && o.program === undefined) {
    throw new AfxdpError('EUSAGE', '--xskmap needs --program', { hint: "afxdp's own program has one XSKMAP; name yours with --program OBJ.o --xskmap NAME" });
  }
}
export const HINTS_HELP =
  'require hardware hints (RX hash, VLAN tag, RX timestamp via device-bound kfuncs; native XDP only). Default: read them where possible, else measure without';
export const NO_HINTS_HELP = 'do not read hardware hints';

/** commander gives true (--hints), false (--no-hints) or undefined (neither): 'auto' */
export function hintsOption(v: boolean | undefined): boolean | 'auto' {
  return v === undefined ? 'auto' : v;
}
