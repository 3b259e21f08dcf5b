/**
 * The table of verifier-rejection classes. Each class: how to recognise it in a parsed log
 * (detector), why the verifier refuses in plain words, what to change, and a short corrected
 * snippet. Classes are tried in order; the first whose detector matches wins.
 */
import type { VerifierClass } from './classes/kit.js';
import { kernelBug } from './classes/kernel.js';
import { coreReloc, funcSignature, loader } from './classes/btf.js';
import { ctxWrite, ctxBadRead, ctxModified, mapNull, mapValueBounds, misaligned, uninit, noReturnValue, divZero, ptrArith, scalarDeref } from './classes/memory.js';
import { metaBounds, pktVarOffset, pktBounds, pktInvalidated } from './classes/packet.js';
import { gplOnly, helperNotAllowed, helperUnavailable, kfuncDevBound, helperArg, referenceLeak, returnRange } from './classes/calls.js';
import { loop, tooComplex, stack, insnUnsupported, tailCallMix } from './classes/limits.js';
import { messageReading } from './classes/messages.js';

export { CONFIDENCE_MIN, type DetectInput, type Match, type VerifierClass } from './classes/kit.js';

/** The order is the precedence: the kernel's own faults and CO-RE/BTF causes first, specific readings before broader ones they overlap, the loader's own words last. */
const TABLED: VerifierClass[] = [
  kernelBug,
  coreReloc,
  funcSignature,
  ctxWrite,
  ctxBadRead,
  ctxModified,
  metaBounds,
  pktVarOffset,
  pktBounds,
  pktInvalidated,
  mapNull,
  mapValueBounds,
  loop,
  tooComplex,
  stack,
  tailCallMix,
  misaligned,
  insnUnsupported,
  noReturnValue,
  uninit,
  gplOnly,
  helperNotAllowed,
  helperUnavailable,
  kfuncDevBound,
  helperArg,
  referenceLeak,
  divZero,
  ptrArith,
  returnRange,
  scalarDeref,
  loader,
];

/** Each class reads its own messages first, then the rows of the message table (classes/messages.ts) that belong to it. */
export const CLASSES: VerifierClass[] = TABLED.map((c) => ({ ...c, detect: (d) => c.detect(d) ?? (d.text ? messageReading(c.id, d.text) : null) }));

export const UNKNOWN_CLASS = {
  id: 'unknown',
  title: 'not yet explained',
} as const;

export function classById(id: string): VerifierClass | undefined {
  return CLASSES.find((c) => c.id === id);
}
