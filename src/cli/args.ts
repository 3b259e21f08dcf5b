/** Argument parsers for the CLI: each rejects bad input with a message naming the accepted values. */
import { InvalidArgumentError } from 'commander';
import { AfxdpError } from '../index.js';
import { parseWarmup, checkOption, RING_SIZE_MIN, RING_SIZE_MAX, type WarmupSpec, type BoundedOption } from '../entry/receiver.js';
import { FRAME_MIN, FRAME_MAX, type SizeRange } from '../entry/lab.js';

export function intArg(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const t = v.trim();
    if (!/^\d+$/.test(t)) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

export function numArg(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const t = v.trim();
    if (!/^\d+(\.\d+)?$/.test(t)) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    const n = Number(t);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
}

export function choiceArg<T extends string>(name: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}`);
    return v as T;
  };
}

export function ifnameArg(v: string): string {
  if (v.length === 0 || v.length > 15 || /[\s/:]/.test(v) || v === '.' || v === '..') {
    throw new InvalidArgumentError('an interface name has 1 to 15 characters, without spaces, "/" or ":"');
  }
  return v;
}

export { RING_SIZE_MIN, RING_SIZE_MAX };

/** A flag checked by the library's one option check (its bounds are the API's and the broker's defaults). */
export function optionArg(flag: string, option: BoundedOption): (v: string) => number {
  return (v: string) => {
    const t = v.trim();
    const n = /^\d+$/.test(t) ? Number(t) : NaN;
    try {
      return checkOption(option, Number.isSafeInteger(n) ? n : t, { label: flag }) as number;
    } catch (e) {
      throw new InvalidArgumentError(e instanceof AfxdpError ? e.message : String(e));
    }
  };
}

export const ringSizeArg = optionArg('--ring-size', 'ringSize');

/** --queues: a count 1..64 or 'all' */
export function queuesArg(v: string): number | 'all' {
  if (v.trim() === 'all') return 'all';
  return intArg('--queues', 1, 64)(v);
}

/** --size: one frame size, or a range MIN-MAX the packets cycle through (both FRAME_MIN..FRAME_MAX) */
export function sizeArg(v: string): number | SizeRange {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v);
  const bad = (): never => {
    throw new InvalidArgumentError(`--size must be a frame size from ${FRAME_MIN} to ${FRAME_MAX} bytes, or a range like 64-9000`);
  };
  if (!m) return bad();
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (min < FRAME_MIN || max > FRAME_MAX || min > max) return bad();
  return m[2] === undefined ? min : { min, max };
}

/** --frame-size: the UMEM frame size, 2048 or 4096 */
export function frameSizeArg(v: string): number {
  if (v.trim() !== '2048' && v.trim() !== '4096') throw new InvalidArgumentError('--frame-size must be 2048 or 4096');
  return Number(v);
}

/** --warmup: `2s`, `500ms` or a packet count (run/warmup.ts) */
export function warmupArg(v: string): WarmupSpec {
  try {
    return parseWarmup(v);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof AfxdpError ? `${e.message}: ${e.hint}` : String(e));
  }
}
