/**
 * Runs external tools (ip, nsenter, sysctl, ...) with argument arrays, never a shell string, and
 * turns every failure into a one-line AfxdpError('ETOOL').
 */
import { execFile, execFileSync } from 'node:child_process';
import { AfxdpError } from '../errors.js';

export interface ToolOptions {
  /** Kill the tool after this long. Default 10 s: every tool we run answers in milliseconds. */
  timeoutMs?: number;
  /** Written to the tool's stdin (e.g. `ip -batch -`). */
  input?: string;
}

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Generous: `ip -j link` on a host with many interfaces is large. */
const MAX_BUFFER = 64 * 1024 * 1024;

export function runTool(cmd: string, args: string[], opts: ToolOptions = {}): Promise<ToolOutput> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_BUFFER, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(toolError(cmd, args, err, stderr, timeoutMs));
        else resolve({ stdout, stderr });
      },
    );
    // Always close stdin: a tool that reads it must see EOF, not hang until the timeout.
    child.stdin?.on('error', () => {
      /* EPIPE when the tool exits without reading; the exit status reports the real problem */
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** For callers that cannot await (e.g. 'exit' handlers, the doctor's quick probes). */
export function runToolSync(cmd: string, args: string[], opts: ToolOptions = {}): ToolOutput {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const stdout = execFileSync(cmd, args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: MAX_BUFFER,
      encoding: 'utf8',
      input: opts.input ?? '',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { stdout, stderr: '' };
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '');
    throw toolError(cmd, args, e as Error, stderr, timeoutMs);
  }
}

interface ExecError extends Error {
  code?: string | number | null;
  status?: number | null;
  signal?: NodeJS.Signals | null;
  killed?: boolean;
}

function toolError(cmd: string, args: string[], err: ExecError, stderr: string, timeoutMs: number): AfxdpError {
  if (err.code === 'ENOENT') {
    return new AfxdpError('ETOOL', `\`${cmd}\` not found in PATH`, {
      hint: 'run scripts/setup, which installs iproute2, util-linux and the other tools afxdp needs',
      cause: err,
    });
  }
  const what = commandLine(cmd, args);
  let why: string;
  // execFile marks its own kill with `killed`; execFileSync reports ETIMEDOUT.
  if ((err.signal === 'SIGKILL' && err.killed) || err.code === 'ETIMEDOUT') why = `timed out after ${timeoutMs / 1000} s`;
  else why = firstLine(stderr) ?? (err.signal ? `killed by ${err.signal}` : `exit status ${exitStatus(err)}`);
  return new AfxdpError('ETOOL', `${what} failed: ${why}`, {
    hint: `run the command by hand to see the full output`,
    detail: stderr || undefined,
    cause: err,
  });
}

function exitStatus(err: ExecError): string {
  if (typeof err.status === 'number') return String(err.status); // execFileSync
  if (typeof err.code === 'number') return String(err.code); // execFile
  return 'unknown';
}

function firstLine(text: string): string | undefined {
  const line = text.split('\n').find((l) => l.trim() !== '');
  return line?.trim();
}

/** Short enough for a one-line message; long argument lists are elided. */
function commandLine(cmd: string, args: string[]): string {
  const full = [cmd, ...args].join(' ');
  return full.length <= 120 ? full : `${full.slice(0, 117)}...`;
}

/** One interface as `ip -j link show` prints it (`-d` adds linkinfo): the fields afxdp reads. */
export interface IpLink {
  ifname: string;
  mtu: number;
  operstate: string;
  /** the MAC address (Ethernet links) */
  address?: string;
  /** UP, LOWER_UP, … */
  flags?: string[];
  num_rx_queues?: number;
  num_tx_queues?: number;
  link_type?: string;
  linkinfo?: { info_kind?: string };
  xdp?: { mode?: number; prog?: { id: number; name?: string } };
}
