/**
 * A process-wide list of things to undo when the process ends (lab holders, for now).
 * Everything runs synchronously because 'exit' handlers cannot await. Signal policy belongs to the
 * CLI: it installs SIGINT/SIGTERM handlers and calls runCleanupNow() itself.
 */

interface Entry {
  name: string;
  fn: () => void;
}

const entries = new Map<number, Entry>();
let nextKey = 0;
let exitHookInstalled = false;

/** Registers fn to run at process exit; returns a function that unregisters it. */
export function registerCleanup(name: string, fn: () => void): () => void {
  if (!exitHookInstalled) {
    process.on('exit', runCleanupNow);
    exitHookInstalled = true;
  }
  const key = nextKey++;
  entries.set(key, { name, fn });
  return () => {
    entries.delete(key);
  };
}

/** Runs every registered fn now (newest first, like nested finally blocks) and forgets them. */
export function runCleanupNow(): void {
  const pending = [...entries.values()].reverse();
  entries.clear();
  for (const { name, fn } of pending) {
    try {
      fn();
    } catch (e) {
      // One failure must not stop the rest; say so, since a leftover may need manual cleanup.
      process.stderr.write(`afxdp: cleanup of ${name} failed: ${(e as Error)?.message ?? String(e)}\n`);
    }
  }
}
