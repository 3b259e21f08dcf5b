/**
 * A measuring child process: it says "ready" on stderr once it can take traffic and prints one JSON
 * document on stdout when it ends (on its own, or asked with SIGINT). `afxdp calibrate` and
 * `npm run bench` run their receivers, senders and forwarders this way, side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { AfxdpError } from '../errors.js';

export type Json = Record<string, unknown>;

export interface ReadyProcessOptions {
  /** not ready in this long: the wait rejects (default: no limit) */
  readyMs?: number;
  /** the hint of the error when it ends before it is ready */
  hint?: string;
}

export class ReadyProcess {
  readonly proc: ChildProcess;
  private out = '';
  private err = '';
  readonly ready: Promise<void>;
  readonly done: Promise<Json>;

  /** `what` names it in errors ("the C reference receiver (rx_ref)") */
  constructor(cmd: string, argv: string[], what: string, o: ReadyProcessOptions = {}) {
    this.proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    const exited = new Promise<number | string | null>((resolve) => this.proc.once('exit', (code, sig) => resolve(code ?? sig)));
    this.proc.once('error', () => undefined); // a missing binary: exit follows with the reason on stderr
    this.ready = new Promise<void>((resolve, reject) => {
      this.proc.stderr!.on('data', (d: Buffer) => {
        this.err += d.toString();
        if (/^ready$/m.test(this.err)) resolve();
      });
      void exited.then((code) => reject(new AfxdpError('ESTATE', `${what} ended before it was ready (${code}): ${this.lastError()}`, o.hint ? { hint: o.hint } : {})));
      if (o.readyMs !== undefined) {
        setTimeout(() => reject(new AfxdpError('ESTATE', `${what} was not ready in ${o.readyMs! / 1000} s`, { hint: 'the machine may be overloaded; try again' })), o.readyMs).unref();
      }
    });
    this.ready.catch(() => undefined);
    this.done = exited.then((code) => {
      const text = this.out.trim();
      try {
        // one JSON document: a single last line (rx_ref, rx-child) or pretty-printed (afxdp gen --json)
        return JSON.parse(text.startsWith('{\n') ? text : (text.split('\n').pop() ?? '')) as Json;
      } catch {
        throw new AfxdpError('ESTATE', `${what} ended (${code}) without a result: ${this.lastError()}`);
      }
    });
    this.done.catch(() => undefined);
  }

  private lastError(): string {
    return this.err.trim().split('\n').filter((l) => l !== 'ready').slice(-2).join(' / ') || 'no message';
  }

  /** Waits for the result; after `ms` asks the process to stop (SIGINT) and report what it has, 10 s later kills it. */
  async finish(ms: number): Promise<Json> {
    const t = setTimeout(() => this.proc.kill('SIGINT'), ms);
    const hard = setTimeout(() => this.proc.kill('SIGKILL'), ms + 10_000);
    try {
      return await this.done;
    } finally {
      clearTimeout(t);
      clearTimeout(hard);
    }
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
