/**
 * Waiting on a condition instead of a fixed sleep: a loaded machine makes every fixed pause
 * either too short (flaky) or too long (slow). On timeout the error names what was awaited.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** what the test waits for, in words: the error says "timed out after N ms waiting for <what>" */
  what: string;
  /** default 10 s */
  timeoutMs?: number;
  /** pause between checks; default 20 ms */
  intervalMs?: number;
  /** extra text for the timeout error (e.g. the last value seen) */
  detail?: () => string;
}

/** Resolves once `predicate` returns true (it may be async); rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, o: WaitOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      const detail = o.detail?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${o.what}${detail ? ` (${detail})` : ''}`);
    }
    await sleep(o.intervalMs ?? 20);
  }
}

/** Like waitFor(), for a probe that returns null/undefined until the thing exists: resolves with it. */
export async function waitForValue<T>(probe: () => T | null | undefined | Promise<T | null | undefined>, o: WaitOptions): Promise<T> {
  let value: T | null | undefined;
  await waitFor(async () => (value = await probe()) !== null && value !== undefined, o);
  return value as T;
}
