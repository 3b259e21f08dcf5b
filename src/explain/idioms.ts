/**
 * The program type's idioms in advice: class texts write their C for XDP (afxdp's own programs);
 * this puts them in the words of the program the log is from — its context struct, its pass and
 * drop verdicts, a context field it has — and, when the type is unknown, in a neutral form
 * (`return 0; /* or your program's pass verdict *\/`) rather than another type's.
 */
import { progTypeInfo, type ProgType } from './progtype.js';

const XDP_PASS = /\b(?:XDP_PASS|TC_ACT_OK)\b/g;
const XDP_DROP = /\b(?:XDP_DROP|TC_ACT_SHOT)\b/g;
/** a context parameter as snippets declare it: "struct xdp_md *ctx", "struct __sk_buff *skb" */
const CTX_PARAM = /\bstruct (?:xdp_md|__sk_buff) \*(ctx|skb)\b/g;

/** The drop verdict of a type ("XDP_DROP", "TC_ACT_SHOT", "0"); types with no drop return their pass. */
function dropOf(t: ProgType): string {
  if (t === 'xdp') return 'XDP_DROP';
  if (t === 'tc') return 'TC_ACT_SHOT';
  if (t === 'socket_filter' || t === 'cgroup_skb' || t === 'cgroup_sock' || t === 'cgroup_sock_addr') return '0';
  return progTypeInfo(t).pass;
}

/** How a program of type t declares its context parameter in C. */
function ctxParam(t: ProgType): string {
  const info = progTypeInfo(t);
  if (/^struct \w+$/.test(info.ctx)) return `${info.ctx} *ctx`;
  if (t === 'tracepoint') return 'void *ctx';
  return '__u64 *ctx';
}

/** A number every program type can key a map with, where XDP snippets use ctx->rx_queue_index. */
function indexOf(t: ProgType | null): string {
  if (t === 'xdp') return 'ctx->rx_queue_index';
  const info = t ? progTypeInfo(t) : null;
  return info?.ctx === 'struct __sk_buff' ? 'ctx->queue_mapping' : 'bpf_get_smp_processor_id()';
}

/** `text` (a fix, brief or snippet) in the idioms of program type t; t null: the neutral form. */
export function inTypeIdioms(text: string, t: ProgType | null): string {
  let s = text.replace(/\bctx->rx_queue_index\b/g, indexOf(t));
  if (t === null) {
    // a plain return of a verdict: 0 with a comment; a verdict inside an expression: a named placeholder
    s = s
      .replace(/\breturn (?:XDP_PASS|TC_ACT_OK);/g, 'return 0; /* or your program\'s pass verdict */')
      .replace(/\breturn (?:XDP_DROP|TC_ACT_SHOT);/g, 'return 0; /* or your program\'s drop verdict */')
      .replace(XDP_PASS, 'PASS_VERDICT')
      .replace(XDP_DROP, 'DROP_VERDICT')
      .replace(/\b(?:XDP_REDIRECT|XDP_TX|XDP_ABORTED|TC_ACT_REDIRECT)\b/g, 'VERDICT')
      .replace(CTX_PARAM, 'void *ctx /* your program\'s context */');
    return s;
  }
  const pass = progTypeInfo(t).pass;
  s = s.replace(XDP_PASS, pass).replace(XDP_DROP, dropOf(t)).replace(CTX_PARAM, ctxParam(t));
  if (t !== 'xdp') s = s.replace(/\b(?:XDP_REDIRECT|XDP_TX|XDP_ABORTED)\b/g, pass);
  if (t !== 'tc') s = s.replace(/\bTC_ACT_REDIRECT\b/g, pass);
  return s;
}
