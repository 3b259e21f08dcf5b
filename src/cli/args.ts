/** Argument parsers for the CLI: each rejects bad input with a message naming the accepted values. */
import { InvalidArgumentError } from 'commander';
import { AfxdpError, parseWarmup, type WarmupSpec } from '../index.js';

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

/** Ring sizes: the kernel takes only powers of two; the cap keeps the UMEM (2 frames per entry, 4 KiB each) ≤ 64 MiB. */
export const RING_SIZE_MIN = 8;
export const RING_SIZE_MAX = 8192;

export function ringSizeArg(v: string): number {
  const n = intArg('--ring-size', RING_SIZE_MIN, RING_SIZE_MAX)(v);
  if ((n & (n - 1)) !== 0) {
    throw new InvalidArgumentError(`--ring-size must be a power of two from ${RING_SIZE_MIN} to ${RING_SIZE_MAX} (e.g. 64, 512, 2048), got ${n}`);
  }
  return n;
}

/** --queues: a count 1..64 or 'all' */
export function queuesArg(v: string): number | 'all' {
  if (v.trim() === 'all') return 'all';
  return intArg('--queues', 1, 64)(v);
}

/** --warmup: `2s`, `500ms` or a packet count (run/warmup.ts) */
export function warmupArg(v: string): WarmupSpec {
  try {
    return parseWarmup(v);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof AfxdpError ? `${e.message}: ${e.hint}` : String(e));
  }
}
