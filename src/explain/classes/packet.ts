/** Packet pointers: data/data_end bounds, variable offsets, metadata, pointers a helper invalidated. Classes of the table in classes.ts. */
import { memAccess, registerState, registerType } from '../log.js';
import { ADJUST_META, CHECK_DATA_END, msgReg, packetPtrs, passOf, VAR_OFF_SNIPPET, type VerifierClass } from './kit.js';
import { definition, pktChangingCall } from './evidence.js';

export const metaBounds: VerifierClass = {
  id: 'meta-bounds',
  title: 'metadata access without a `meta + 1 <= data` check',
  before: 'bpf_xdp_adjust_meta(ctx, -8);\n__u64 *meta = (void *)(long)ctx->data_meta;\n*meta = bpf_ktime_get_ns();',
  detect({ log, text }) {
    if (!/invalid access to packet|outside of the packet/.test(text)) return null;
    const r = msgReg(text, /R(\d+)\(id=|R(\d+) offset is outside/) ?? (log.insn ? memAccess(log.insn.text)?.base ?? null : null);
    if (r === null || registerType(log, r, log.insn?.line ?? log.messageLine) !== 'pkt_meta') return null;
    return {
      why: `R${r} points into the metadata area (ctx->data_meta), and the verifier has no proof that the bytes touched lie before ctx->data: bpf_xdp_adjust_meta succeeding is not that proof; only a comparison against data is`,
      fix: 'after bpf_xdp_adjust_meta, re-read data and data_meta from ctx and compare (void *)(meta + 1) > data before any read or write of the metadata',
      brief: 'compare (void *)(meta + 1) > data (data re-read from ctx) before touching the metadata',
      snippet: ADJUST_META,
    };
  },
};

export const pktVarOffset: VerifierClass = {
  id: 'pkt-var-offset',
  title: 'packet pointer moved by a value the verifier cannot bound',
  before: '__u8 *l4 = (__u8 *)ip + ip->tot_len;   /* up to 65535 */\nif ((void *)(l4 + 1) > data_end) return XDP_PASS;\nreturn *l4;',
  detect({ log, text }) {
    if (/math between pkt pointer and register with unbounded min value/.test(text)) {
      return {
        why: 'the program adds a value that may be negative (signed, unbounded below) to a packet pointer; the verifier cannot prove the result stays inside the packet',
        fix: 'make the offset unsigned and bounded before adding it: e.g. `__u32 off = x & 0x3ff;` or `if (off > 1500) return XDP_PASS;`',
        brief: 'bound the offset (unsigned, masked or compared) before adding it to the packet pointer',
        snippet: VAR_OFF_SNIPPET,
      };
    }
    if (!/invalid access to packet|outside of the packet/.test(text)) return null;
    const r = msgReg(text, /R(\d+)\(id=|R(\d+) offset is outside/);
    if (r === null) return null;
    const st = registerState(log, r, log.insn?.line ?? log.messageLine) ?? '';
    if (!/umax=|var_off|smax=/.test(st) && !/R\d+\(id=[1-9]/.test(text)) return null;
    // a proven range (r=N > 0) means a data_end check on this very pointer counted: the check is
    // too short for the access (pkt-bounds), not one the variable offset voided
    if (Number(new RegExp(`R${r}\\(id=\\d+,off=-?\\d+,r=(\\d+)`).exec(text)?.[1] ?? 0) > 0) return null;
    return {
      why: `R${r} is a packet pointer plus a variable offset (${st || 'unbounded'}). A later data_end check only proves bytes in range when the offset's maximum plus the access stays within 0xffff; this offset can be as large as the field it came from, so the check did not count and the access is refused`,
      fix: 'bound the variable before adding it (mask it, or compare it with a small maximum), e.g. the IPv4 header length is (ip->ihl & 0xf) * 4, not ip->tot_len; then check the resulting pointer against data_end',
      brief: 'bound the variable offset (mask or compare) before adding it, then check against data_end',
      snippet: VAR_OFF_SNIPPET,
    };
  },
};

export const pktBounds: VerifierClass = {
  id: 'pkt-bounds',
  title: 'packet access without a `data_end` check',
  before: 'struct ethhdr *eth = (void *)(long)ctx->data;\nreturn eth->h_proto;     /* no check against data_end */',
  detect({ log, text }) {
    const m = /invalid access to packet, off=(-?\d+) size=(\d+), R(\d+)/.exec(text);
    if (!m && !/outside of the packet/.test(text)) return null;
    const r = m ? Number(m[3]) : msgReg(text, /R(\d+) offset is outside/);
    const off = m ? Number(m[1]) : null;
    const size = m ? Number(m[2]) : null;
    const st = r !== null ? registerState(log, r, log.insn?.line ?? log.messageLine) : null;
    // the message itself carries the proven range (R1(id=6,off=8,r=2)) when no state line is posted
    const range = (st ? /r=(\d+)/.exec(st)?.[1] : undefined) ?? /invalid access to packet, off=-?\d+ size=\d+, R\d+\([^)]*\br=(\d+)/.exec(text)?.[1];
    return {
      why: `the program reads or writes packet ${off !== null && size !== null ? (size === 1 ? `byte ${off}` : `bytes ${off}..${off + size - 1}`) + ` past R${r}` : 'bytes'} without first proving the packet is that long: the verifier only allows packet access after a comparison with ctx->data_end covers it (proven range r=${range ?? '0'} bytes). A short packet would make this read past the end of the buffer`,
      fix: `before the access, compare the end of what you touch with data_end and bail out when it is beyond: if ((void *)(hdr + 1) > data_end) return XDP_PASS;${off !== null && size !== null ? ` (here: at least ${off + size} bytes from the pointer)` : ''}`,
      brief: `check pointer + ${off !== null && size !== null ? off + size : 'len'} <= data_end before the access`,
      snippet: CHECK_DATA_END,
      facts: { register: r, off, size },
    };
  },
};

export const pktInvalidated: VerifierClass = {
  id: 'pkt-invalidated',
  title: 'packet pointer used after a helper that moved the packet',
  before: 'struct ethhdr *eth = data;   /* checked against data_end */\nbpf_xdp_adjust_meta(ctx, -8);\nreturn eth->h_proto;       /* eth is stale */',
  detect({ log, progType, text }) {
    const r = msgReg(text, /R(\d+) invalid mem access '(?:scalar|inv|imm)'/);
    if (r === null || !log.insn) return null;
    const call = pktChangingCall(log, log.insn.line);
    if (!call) return null;
    // the register was a packet pointer before the call: the state says so, or it was loaded from ctx->data
    const was = registerType(log, r, call.line);
    const def = definition(log, r, call.line);
    const fromCtx = def && /^r\d+ = \*\(u32 \*\)\(r\d+ \+(0|8|76|140)\)$/.test(def.text);
    // the log starts after the register was set (cut, or "[...]"): a register untouched since a
    // packet-changing call and then refused as a number is most likely a stale packet pointer
    const unseen = !was && !def && !definition(log, r, log.insn.line);
    if (!(was && /^pkt/.test(was)) && !fromCtx && !unseen) return null;
    const t = progType ?? (/^bpf_xdp_/.test(call.name) ? 'xdp' : 'tc');
    const meta = /meta/.test(call.name);
    return {
      ...(unseen ? { confidence: 0.6 } : {}),
      why: `R${r} held a packet pointer${unseen ? ' (most likely: the log does not show where it was set, and nothing wrote it after the call)' : ` (${was ?? `loaded by ${def!.text}`})`} before instruction ${call.insn} called ${call.name}. That helper can move or reallocate the packet (start, end${meta ? ' or metadata' : ', or its headroom'}), so the verifier invalidates every packet pointer (and every bounds check) made before it: R${r} is now just a number`,
      fix: `after ${call.name} returns, re-read ctx->data / ctx->data_end${t === 'xdp' ? ' (and data_meta)' : ''} and repeat the bounds check before using the packet again; keep offsets (integers), not pointers, across the call`,
      brief: `re-read ctx->data/data_end and re-check bounds after ${call.name}`,
      snippet: `if (${call.name}(ctx, ${t === 'xdp' ? 'delta' : /pull_data/.test(call.name) ? 'len' : '...'}))\n        return ${t === 'xdp' ? 'XDP_PASS' : passOf(t)};\n${packetPtrs(t)}          /* fresh pointers */\nstruct ethhdr *eth = data;\nif ((void *)(eth + 1) > data_end)              /* fresh check */\n        return ${t === 'xdp' ? 'XDP_PASS' : passOf(t)};`,
      facts: { helper: call.name, helper_insn: call.insn, register: r },
    };
  },
};
