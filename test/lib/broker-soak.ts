/**
 * The broker under its fuzzer (test/lib/broker-fuzz.ts): `afxdp serve` in a private lab, the
 * fuzzer as uid 65534 without capabilities, and meanwhile the broker's fds and RSS sampled from
 * /proc and the kernel log read for OOM kills before and after. Used by test/broker-fuzz.test.ts
 * (a few hundred cases) and, run as a script, by `npm run soak:broker` (10 000 by default):
 *
 *   node dist/test/lib/broker-soak.js [CASES] [SEED] [LEGIT_EVERY]
 *
 * The script keeps a second client holding queue 1 (see soakBroker's `holder`);
 * AFXDP_SOAK_LOAD_EACH=1 makes every grant load the program, as in the suite.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { runCli, ROOT, type CliResult } from './cli.js';
import { withLab, inside, xdpOn } from './lab.js';
import type { Lab } from '../../src/entry/lab.js';
import { waitFor } from './wait.js';
import { runTool } from '../../src/sys/exec.js';
import { FUZZ_FLAGS, baseRequest, type FuzzSummary } from './broker-fuzz.js';
import { requestQueues } from '../../src/sys/broker-wire.js';
import { native } from '../../src/native.js';

export const NOBODY = 65534;
export const asUser = (uid: number, gid = NOBODY): string[] => ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'];

export interface SoakResult {
  summary: FuzzSummary;
  seconds: number;
  fds: { before: number; max: number; after: number };
  rssKiB: { before: number; max: number; after: number };
  /** OOM lines the kernel log gained during the run */
  oom: string[];
  /** XDP programs attached after the broker stopped */
  attachedAfter: string[];
  brokerExit: CliResult;
  brokerLog: string;
}

const fdsOf = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;
const rssOf = (pid: number): number => Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function oomLines(): Promise<string[]> {
  const { stdout } = await runTool('dmesg', [], { timeoutMs: 10_000 });
  return stdout.split('\n').filter((l) => /out of memory|oom-kill|invoked oom-killer/i.test(l));
}

export interface ServeRun {
  child: ChildProcess;
  socket: string;
  done: Promise<CliResult>;
  /** the broker's log so far (its last 200 kB) */
  log(): string;
  /** characters it logged in all */
  logged(): number;
}

/** `afxdp serve` in the lab's rx namespace on DIR/broker.sock, allowing uid 65534 (whose group may connect), with `flags`. */
export async function startServe(lab: Lab, dir: string, flags: string[] = [], as: string[] = []): Promise<ServeRun> {
  const socket = path.join(dir, 'broker.sock');
  let log = '';
  let logged = 0;
  let child: ChildProcess | undefined;
  const done = runCli(['serve', '--socket', socket, '--allow-uid', String(NOBODY), '--group', String(NOBODY), '--iface', lab.rx.ifname, ...flags], {
    wrap: [...inside(lab), ...as],
    timeoutMs: 24 * 3600_000,
    onSpawn: (c) => (child = c),
    onStderr: (chunk) => {
      logged += chunk.length;
      log = (log + chunk).slice(-200_000);
    },
  });
  await waitFor(() => /broker listening/.test(log), { what: 'the broker to listen', timeoutMs: 20_000, detail: () => log });
  return { child: child!, socket, done, log: () => log, logged: () => logged };
}

/** Starts the broker in a lab, fuzzes it with `cases` cases, stops it; everything it made is gone after. */
/**
 * @param holder another client (this process, uid 0) holds queue 1 of the interface all along, so
 *   the program stays attached and the fuzzer's grants join it instead of loading it each time
 *   (a soak of 10 000 cases in minutes instead of an hour on 2 vCPUs)
 */
export async function soakBroker(cases: number, seed: number, legitEvery = 1, extraFlags: string[] = [], holder = false): Promise<SoakResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-broker-fuzz-'));
  fs.chmodSync(dir, 0o755);
  const oomBefore = await oomLines();
  let child: ChildProcess | undefined;
  let fuzzer: ChildProcess | undefined;
  try {
    return await withLab(async (lab) => {
      const b = await startServe(lab, dir, [...FUZZ_FLAGS, ...extraFlags]);
      child = b.child;
      const { socket, done } = b;
      const pid = child!.pid!;
      const held = holder ? requestQueues(socket, { ifname: lab.rx.ifname, queues: [1], options: baseRequest(lab.rx.ifname).options }) : null;
      const fds = { before: fdsOf(pid), max: 0, after: 0 };
      const rssKiB = { before: rssOf(pid), max: 0, after: 0 };
      const sample = (): void => {
        fds.max = Math.max(fds.max, fdsOf(pid));
        rssKiB.max = Math.max(rssKiB.max, rssOf(pid));
      };
      const sampler = setInterval(sample, 100);
      const t0 = performance.now();
      let out = '';
      let err = '';
      const code = await new Promise<number | null>((resolve, reject) => {
        const [cmd, ...args] = [...asUser(NOBODY), process.execPath, path.join(ROOT, 'dist', 'test', 'lib', 'broker-fuzz.js'), socket, lab.rx.ifname, String(cases), String(seed), String(legitEvery)];
        fuzzer = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        fuzzer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        fuzzer.stderr!.on('data', (d: Buffer) => {
          err = (err + d.toString()).slice(-20_000);
          if (holder) process.stderr.write(d);
        });
        fuzzer.on('error', reject);
        fuzzer.on('close', (c) => resolve(c));
      });
      clearInterval(sampler);
      if (held !== null) {
        for (const f of held.fds) native().close(f);
        native().close(held.conn);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) throw new Error(`the fuzzer exited ${code}: ${err.slice(-2000)}`);
      // every hold ends with its connection: the broker is back where it started
      await waitFor(() => fdsOf(pid) <= fds.before, { what: 'the broker\'s fds to come back', timeoutMs: 10_000, detail: () => `${fdsOf(pid)} fds, ${fds.before} before` }).catch(() => undefined);
      fds.after = fdsOf(pid);
      rssKiB.after = rssOf(pid);
      child!.kill('SIGTERM');
      const brokerExit = await done;
      const attachedAfter = await xdpOn(lab);
      const oomAfter = await oomLines();
      return { summary: JSON.parse(out) as FuzzSummary, seconds, fds, rssKiB, oom: oomAfter.slice(oomBefore.length), attachedAfter, brokerExit, brokerLog: b.log() };
    }, { queues: holder ? 2 : 1 });
  } finally {
    fuzzer?.kill('SIGKILL');
    child?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('broker-soak.js')) {
  const [cases, seed, every] = process.argv.slice(2).map(Number);
  const r = await soakBroker(cases || 10_000, seed || Date.now() % 1e9, every || 1, [], process.env.AFXDP_SOAK_LOAD_EACH !== '1');
  const { brokerLog, brokerExit, ...rest } = r;
  process.stdout.write(`${JSON.stringify({ ...rest, brokerExit: brokerExit.code, brokerLogLines: brokerLog.split('\n').length, longestLogLine: Math.max(...brokerLog.split('\n').map((l) => l.length)) }, null, 1)}\n`);
  const ok = r.summary.failures.length === 0 && r.oom.length === 0 && r.attachedAfter.length === 0 && brokerExit.code === 0 && r.summary.legit === Math.floor(r.summary.cases / (every || 1));
  process.exit(ok ? 0 : 1);
}
