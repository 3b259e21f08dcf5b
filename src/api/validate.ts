/**
 * Argument checks for the public API. JavaScript callers get no compiler: a wrong type must be
 * a typed EUSAGE error naming the argument, never a crash or a silent NaN deep in a ring.
 */
import { AfxdpError } from '../errors.js';

export function expectString(what: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) {
    throw new AfxdpError('EUSAGE', `${what} must be a non-empty string, got ${describe(v)}`);
  }
}

export function expectObject(what: string, v: unknown): void {
  if (v === null || typeof v !== 'object') throw new AfxdpError('EUSAGE', `${what} must be an object, got ${describe(v)}`);
}

export function expectOptional(what: string, v: unknown, type: 'string' | 'number' | 'boolean' | 'function'): void {
  if (v !== undefined && typeof v !== type) throw new AfxdpError('EUSAGE', `${what} must be a ${type}, got ${describe(v)}`);
}

export function expectInt(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new AfxdpError('EUSAGE', `${what} must be a whole number from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

export function expectChoice<T extends string>(what: string, v: unknown, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new AfxdpError('EUSAGE', `${what} must be one of ${choices.join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (typeof v === 'object') return (v as object).constructor?.name ? `a ${(v as object).constructor.name}` : 'an object';
  return typeof v;
}
