/** Argument parsers for the CLI: each rejects bad input with a message naming the accepted values. */
import { InvalidArgumentError } from 'commander';

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
