/** What the log shows around the failing instruction: where a register came from, stack spills, NULL and bound checks the verifier lost, packet-changing calls. */
import { helperById } from '../helpers.js';
import { memAccess, type ParsedLog, registerType } from '../log.js';

/** Packet-moving helpers: after any of them the verifier drops every packet pointer (bpf_helper_changes_pkt_data). */
export const PKT_CHANGING = /^bpf_(xdp_adjust_(meta|head|tail)|skb_(change_(head|tail|proto)|pull_data|adjust_room|vlan_(push|pop)|store_bytes)|l[34]_csum_replace|clone_redirect|msg_(pull|push|pop)_data|lwt_(push_encap|seg6_\w+)|store_hdr_opt)$/;

/** The last call before line `before` to a helper that changes packet data; old logs name it by number ("call 39"). */
export function pktChangingCall(log: ParsedLog, before: number): { line: number; name: string; insn: number } | null {
  for (let i = Math.min(before, log.lines.length) - 1; i >= 0; i--) {
    const m = /^(\d+): \(85\) call (?:([a-z_0-9]+)#(\d+)|(\d+))(?:\s|$)/.exec(log.lines[i]!);
    if (!m) continue;
    const byId = m[4] !== undefined ? helperById(Number(m[4])) : null;
    const name = byId ? `bpf_${byId.name}` : m[2] ? (m[2].startsWith('bpf_') ? m[2] : `bpf_${m[2]}`) : null;
    if (name && PKT_CHANGING.test(name)) return { line: i, name, insn: Number(m[1]) };
  }
  return null;
}

/** The instruction that last wrote rN before line `before` (following plain copies rN = rM), or null. */
export function definition(log: ParsedLog, reg: number, before: number): { line: number; text: string } | null {
  for (let i = Math.min(before, log.lines.length) - 1; i >= 0; i--) {
    const m = /^\d+: \([0-9a-f]{2}\) (r(\d+) (?:[-+*/|&^]|<<|>>)?= .*?)(?:\s+;.*)?$/.exec(log.lines[i]!);
    if (!m || Number(m[2]) !== reg) continue;
    const copy = new RegExp(`^r${reg} = r(\\d+)$`).exec(m[1]!);
    if (copy) return definition(log, Number(copy[1]), i) ?? { line: i, text: m[1]! };
    // pointer arithmetic keeps the register's origin: look past it
    if (new RegExp(`^r${reg} [-+]= `).test(m[1]!)) return definition(log, reg, i) ?? { line: i, text: m[1]! };
    return { line: i, text: m[1]! };
  }
  return null;
}

/**
 * A correct `p >= data_end` / `p < data_end` check the verifier marked short: kernels before
 * 2fa7d94afc1a (5.16; backported to 5.10.y and 5.15.y) set the proven range one or two bytes short
 * for these open-range comparisons, so a read of the byte at p is refused.
 */
export function lostRangeCheck(log: ParsedLog, text: string): string | null {
  const m = /invalid access to packet, off=(-?\d+) size=(\d+), R(\d+)\(id=\d+,off=(-?\d+),r=(\d+)\)/.exec(text);
  if (!m) return null;
  const [off, size, reg, regOff, range] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  if (off + size > regOff + 1 || range > regOff) return null; // more than `p < end` proves, or a range that covers it
  for (let i = (log.insn?.line ?? log.messageLine) - 1; i >= 0; i--) {
    const c = /^(\d+): \([0-9a-f]{2}\) if r(\d+) (>=|<|<=|>) r(\d+) goto/.exec(log.lines[i]!);
    if (!c) continue;
    const [a, op, b] = [Number(c[2]), c[3], Number(c[4])];
    const strict = (a === reg && (op === '>=' || op === '<')) || (b === reg && (op === '<=' || op === '>'));
    return strict ? c[0]!.replace(/ goto$/, '') : null;
  }
  return null;
}

/** The store that last filled stack slot `off` with a pointer (a map lookup's result, ctx, a packet pointer), if any. */
export function pointerSpill(log: ParsedLog, off: number, before = log.insn?.line ?? log.messageLine): { insn: number; what: string } | null {
  const at = before;
  for (let i = Math.min(at, log.lines.length) - 1; i >= 0; i--) {
    const m = /^(\d+): \(7b\) \*\(u64 \*\)\(r10 (-\d+)\) = r(\d+)/.exec(log.lines[i]!);
    if (!m || Number(m[2]) !== off) continue;
    const reg = Number(m[3]);
    const t = registerType(log, reg, i);
    if (t && /^(map_value|ctx|pkt|fp|sock|ptr_|mem|ringbuf|rdonly_mem|alloc_mem)/.test(t)) return { insn: Number(m[1]), what: `R${reg}, a ${t} pointer` };
    const prev = log.lines[i - 1] ?? '';
    if (reg === 0 && /\(85\) call (1|bpf_map_lookup_elem#1|\w*lookup\w*#\d+)$/.test(prev)) return { insn: Number(m[1]), what: 'R0, the pointer a map lookup returned' };
    if (reg === 0 && /\(85\) call (131|bpf_ringbuf_reserve#131)$/.test(prev)) return { insn: Number(m[1]), what: 'R0, the ring-buffer record bpf_ringbuf_reserve returned' };
    return null;
  }
  return null;
}

/**
 * A NULL test the program made that the verifier did not apply to the register it refused: the
 * lookup's result was copied or spilled, one copy tested against 0, another dereferenced.
 */
export function checkedForNull(log: ParsedLog, text: string): { reg: number; check: number; how: string } | null {
  const m = /R(\d+) invalid mem access '\w*or_null\w*'/.exec(text);
  if (!m || !log.insn) return null;
  const reg = Number(m[1]);
  // the lookup that produced it: the last call before the failing instruction
  let call = -1;
  for (let i = log.insn.line - 1; i >= 0; i--) if (/^\d+: \(85\) call /.test(log.lines[i]!)) { call = i; break; }
  if (call < 0) return null;
  // registers and stack slots holding R0's value after the call, and the tests of them against 0
  const regs = new Set([0]);
  const slots = new Set<string>();
  let tested: { reg: number; insn: number; how: string } | null = null;
  for (let i = call + 1; i < log.insn.line; i++) {
    const l = log.lines[i]!;
    const mv = /^\d+: \(bf\) r(\d+) = r(\d+)/.exec(l);
    if (mv) { if (regs.has(Number(mv[2]))) regs.add(Number(mv[1])); else regs.delete(Number(mv[1])); continue; }
    const sp = /^\d+: \(7b\) \*\(u64 \*\)\(r10 (-\d+)\) = r(\d+)/.exec(l);
    if (sp && regs.has(Number(sp[2]))) { slots.add(sp[1]!); continue; }
    const fl = /^\d+: \(79\) r(\d+) = \*\(u64 \*\)\(r10 (-\d+)\)/.exec(l);
    if (fl) { if (slots.has(fl[2]!)) regs.add(Number(fl[1])); else regs.delete(Number(fl[1])); continue; }
    const test = /^(\d+): \([0-9a-f]{2}\) if r(\d+) (==|!=) 0x0 goto/.exec(l);
    if (test && regs.has(Number(test[2]))) {
      // the path the log follows must be the non-NULL one: fall through "== 0", or the jump of "!= 0" ("from T to …")
      const jumped = log.lines.slice(i + 1, log.insn.line).some((x) => x.startsWith(`from ${test[1]} to `));
      if ((test[3] === '==') !== jumped) tested = { reg: Number(test[2]), insn: Number(test[1]), how: `R${test[2]}${slots.size ? `, with a copy on the stack at ${[...slots][0]}` : ''}` };
    }
    const w = /^\d+: \([0-9a-f]{2}\) r(\d+) [-+*/|&^]?= /.exec(l);
    if (w && !mv) regs.delete(Number(w[1]));
  }
  if (!tested || !regs.has(reg)) return null;
  return { reg, check: tested.insn, how: tested.how };
}

/**
 * A bound check the log shows on a copy of the index that reached the access unbounded: the
 * program added rX to the pointer, and an earlier "if rY > N" tested rY, a register copied to or
 * from rX. Older verifiers do not carry bounds across such copies.
 */
export function boundOnCopy(log: ParsedLog): { check: string; index: number; tested: number } | null {
  if (!log.insn) return null;
  const acc = memAccess(log.insn.text);
  if (!acc) return null;
  // the index added to the base register
  let index: number | null = null;
  let at = -1;
  for (let i = log.insn.line - 1; i >= Math.max(0, log.insn.line - 40); i--) {
    const m = new RegExp(`^\\d+: \\(0f\\) r${acc.base} \\+= r(\\d+)`).exec(log.lines[i]!);
    if (m) { index = Number(m[1]); at = i; break; }
  }
  if (index === null) return null;
  // registers holding the same value as the index in the window before the addition (plain copies)
  const lo = Math.max(0, at - 60);
  const copies = new Set([index]);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = at - 1; i >= lo; i--) {
      const mv = /^\d+: \([0-9a-f]{2}\) [rw](\d+) = [rw](\d+)(?:\s|$)/.exec(log.lines[i]!);
      if (!mv) continue;
      const [a, b] = [Number(mv[1]), Number(mv[2])];
      if (copies.has(a)) copies.add(b);
      else if (copies.has(b)) copies.add(a);
    }
  }
  for (let i = at - 1; i >= lo; i--) {
    const l = log.lines[i]!;
    const test = /^(\d+): \([0-9a-f]{2}\) if [rw](\d+) (?:s?[<>]=?) (?:0x[0-9a-f]+|\d+) goto/.exec(l);
    if (test && copies.has(Number(test[2])) && Number(test[2]) !== index) {
      return { check: l.replace(/\s+;.*$/, ''), index, tested: Number(test[2]) };
    }
  }
  return null;
}
