/** How the CLI talks: results on stdout, notes and errors on stderr, one line per error. */
import { AfxdpError } from '../index.js';

export function note(line: string): void {
  process.stderr.write(`afxdp: ${line}\n`);
}

/** Exit code of an error: 2 for usage errors, 1 for everything else. */
export function exitCodeOf(e: unknown): number {
  return e instanceof AfxdpError && e.code === 'EUSAGE' ? 2 : 1;
}

/** Prints one line (what, why, what to do); the stack only with --debug. */
export function printError(e: unknown, debug: boolean): void {
  if (e instanceof AfxdpError) {
    process.stderr.write(`afxdp: ${e.oneLine()}\n`);
    if (debug) {
      if (e.detail) process.stderr.write(`${e.detail}\n`);
      process.stderr.write(`${e.stack ?? ''}\n`);
    }
    return;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`afxdp: unexpected error: ${msg.split('\n')[0]} (this is a bug: please report it with the output of --debug)\n`);
  if (debug && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
}

export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}
