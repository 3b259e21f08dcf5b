/** What every class is made of (detector input, match, class) and the wording helpers they share: the program type said aloud, pass verdicts, packet pointers, snippets. */
import { type ParsedLog } from '../log.js';
import { type ProgType, progTypeInfo } from '../progtype.js';

export interface DetectInput {
  log: ParsedLog;
  /** the program type: given, read from the object, or inferred from the log; null when nothing says */
  progType: ProgType | null;
  /** message + detail lines, joined with newlines */
  text: string;
  /** the whole input as given (loader lines around the verifier log count too) */
  raw: string;
}

/** What a detector found; the fields feed the explanation's wording. */
export interface Match {
  why: string;
  fix: string;
  /** one short clause for one-line CLI errors */
  brief: string;
  snippet: string;
  /** extra structured facts (e.g. the decoded ctx field) for --json */
  facts?: Record<string, unknown>;
  /**
   * How sure the reading is, 0..1 (default 0.9: the verifier's own words name the mistake). Below
   * CONFIDENCE_MIN the explanation is `unknown` and this reading is only reported as recognised.
   */
  confidence?: number;
  /** the texts depend on the program type (context fields, helpers): a doubtful type is said aloud */
  typed?: boolean;
}

/** Readings less sure than this are not presented as the cause. */
export const CONFIDENCE_MIN = 0.5;

/** Classes that need the program type: with none known they assume XDP, say so, and are less sure. */
export function typeOrXdp(t: ProgType | null): { t: ProgType; note: string; confidence: number } {
  if (t) return { t, note: '', confidence: 0.9 };
  return { t: 'xdp', note: ' (program type assumed: XDP, the log does not name it; give --type if it is another)', confidence: 0.6 };
}

/** What a snippet returns to let things pass, in the type's words ("XDP_PASS", "TC_ACT_OK", "0"). */
export function passOf(t: ProgType | null): string {
  return t ? progTypeInfo(t).pass : 'XDP_PASS';
}

/** How a program of type t reaches its packet: the two ctx fields, in C. */
export function packetPtrs(t: ProgType | null): string {
  if (t === 'sock_ops') return 'void *data = (void *)(long)ctx->skb_data;\nvoid *data_end = (void *)(long)ctx->skb_data_end;';
  return 'void *data = (void *)(long)ctx->data;\nvoid *data_end = (void *)(long)ctx->data_end;';
}

export interface VerifierClass {
  id: string;
  title: string;
  /** a minimal wrong program fragment, for docs */
  before: string;
  detect(d: DetectInput): Match | null;
}

export const msgReg = (text: string, re: RegExp): number | null => {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
};

export const CHECK_DATA_END = `void *data = (void *)(long)ctx->data;

void *data_end = (void *)(long)ctx->data_end;
struct ethhdr *eth = data;
if ((void *)(eth + 1) > data_end)   /* prove the bytes are there */
        return XDP_PASS;
__u16 proto = eth->h_proto;         /* now allowed */`;

export const ADJUST_META = `if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)))
        return XDP_PASS;                      /* driver keeps no metadata room */
void *data = (void *)(long)ctx->data;       /* re-read after the helper */
__u64 *meta = (void *)(long)ctx->data_meta;
if ((void *)(meta + 1) > data)              /* the bounds check the verifier wants */
        return XDP_PASS;
*meta = bpf_ktime_get_ns();                  /* user space finds it at addr - 8 */`;

export const VAR_OFF_SNIPPET = `__u32 ihl = ip->ihl & 0xf;                 /* 0..15: bounded */
__u8 *l4 = (__u8 *)ip + ihl * 4;
if ((void *)(l4 + 1) > data_end)           /* now counts */
        return XDP_PASS;`;

/** The allowed return range in one notation: "0 or 1", "(0x0; 0x1)" (tnum), "[0, 1]" → "[0, 1]". */
export function readRange(r: string): string {
  if (/^\[.*\]$/.test(r)) return r;
  const or = /^(-?\d+) or (-?\d+)$/.exec(r);
  if (or) return `[${or[1]}, ${or[2]}]`;

  const tn = /^\(0x([0-9a-f]+); 0x([0-9a-f]+)\)$/.exec(r);
  if (tn) {
    const v = BigInt(`0x${tn[1]}`);
    return `[${v}, ${v | BigInt(`0x${tn[2]}`)}]`;
  }
  return r;
}

/** "fp" → "stack", "map_value" → "map value": the verifier's pointer names in words. */
export function pointerKind(t: string): string {
  const k: Record<string, string> = { fp: 'stack', map_value: 'map value', pkt: 'packet', mem: 'memory buffer', ringbuf_mem: 'ring-buffer record', ctx: 'context' };
  return k[t] ?? t;
}
