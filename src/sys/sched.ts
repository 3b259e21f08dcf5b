/**
 * Receiver first: while a run receives, the process's own other threads give the CPU to the
 * receiving thread(s). On a small machine the receiving thread's tail is mostly waiting for a CPU
 * held by the process's own main thread, V8's platform threads (compiler, GC) or libuv's pool
 * (docs/BENCHMARKS.md "Stalls"). Lowering one's own threads needs no privilege:
 *
 *   - helper threads (V8 platform, libuv pool, other workers) → SCHED_IDLE: they run only when a
 *     CPU has nothing else to do, and a waking receiver preempts them at once;
 *   - the main thread, when it is not the receiving thread, and afxdp's own sender threads
 *     (markWorkThread) → SCHED_BATCH: they keep their share (the stop conditions, the sinks, the
 *     traffic), but never preempt the receiver on wake-up.
 *
 * Undoing it is not symmetric: leaving SCHED_IDLE needs CAP_SYS_NICE (or an RLIMIT_NICE of 20,
 * usually 0), leaving SCHED_BATCH needs nothing. So without CAP_SYS_NICE the helpers get
 * SCHED_BATCH too, unless the caller says the process ends with the run (`untilExit`: the CLI),
 * where a helper left SCHED_IDLE harms nobody. Threads started later inherit the policy of the
 * thread that starts them (Linux copies it at clone); a rescan once a second lowers any other.
 * restore() puts every thread it lowered back as it found it.
 */
import fs from 'node:fs';
import { native } from '../native.js';

export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
export const SCHED_RR = 2;
export const SCHED_BATCH = 3;
export const SCHED_IDLE = 5;
export const SCHED_DEADLINE = 6;
const POLICY_NAMES: Record<number, PolicyName> = { 0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE', 6: 'SCHED_DEADLINE' };
export type PolicyName = 'SCHED_OTHER' | 'SCHED_FIFO' | 'SCHED_RR' | 'SCHED_BATCH' | 'SCHED_IDLE' | 'SCHED_DEADLINE';
const ESRCH = 3;
const CAP_SYS_NICE = 23n;
/** how often new threads are looked for while the run receives */
const RESCAN_MS = 1000;

export function policyName(p: number): PolicyName | `policy ${number}` {
  return POLICY_NAMES[p] ?? `policy ${p}`;
}

/** A thread's role in a run: 'work' is a thread of ours that does the run's work besides receiving (a sender). */
export type ThreadRole = 'receiving' | 'main' | 'work' | 'helper';

/**
 * Threads of this process that do a run's own work besides receiving (afxdp's senders in their
 * workers): lowered like the main thread (SCHED_BATCH), never to SCHED_IDLE, where a loaded
 * machine would starve them.
 */
const workThreads = new Set<number>();

/** Marks a thread as one that works for the run (e.g. a sender's worker, by its tid); unmark() when it ends. */
export function markWorkThread(tid: number): () => void {
  workThreads.add(tid);
  return () => workThreads.delete(tid);
}

/** One thread of the process as the run had it (the report's `tuning.threads`). */
export interface ThreadSched {
  tid: number;
  /** /proc/self/task/TID/comm */
  name: string;
  role: ThreadRole;
  /** the policy it ran under while receiving */
  policy: PolicyName | `policy ${number}`;
  priority: number;
  /** the policy it had before (null: started during the run) */
  before: PolicyName | `policy ${number}` | null;
}

/** What the policy did (the report's `tuning.sched`). */
export interface SchedReport {
  /** 'receiver-first' (the default) or 'off' */
  policy: 'receiver-first' | 'off';
  /** one line: what was skipped and why (no CAP_SYS_NICE), else null */
  skipped: string | null;
  /** every thread of the process while receiving (at the last scan) */
  threads: ThreadSched[];
  /** after restore(): threads that could not be put back, and why, else null */
  notRestored: string | null;
}

/** The thread ids of this process now. */
export function threadIds(): number[] {
  try {
    return fs.readdirSync('/proc/self/task').map(Number).filter((t) => t > 0);
  } catch {
    return [];
  }
}

function threadName(tid: number): string {
  try {
    return fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** [policy, priority] of a thread, or null when it is gone. */
export function threadPolicy(tid: number): [number, number] | null {
  const r = native().threadPolicy(tid);
  return typeof r === 'number' ? null : r;
}

/** CAP_SYS_NICE in this thread's effective set (main thread's /proc status). */
export function hasSysNice(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(fs.readFileSync('/proc/thread-self/status', 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << CAP_SYS_NICE)) !== 0n;
  } catch {
    return false;
  }
}

/** Whether RLIMIT_NICE lets an unprivileged thread return from SCHED_IDLE to nice 0 (it needs 20). */
function niceLimitAllowsIdleUndo(): boolean {
  try {
    const m = /^Max nice priority\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m !== null && (m[1] === 'unlimited' || Number(m[1]) >= 20);
  } catch {
    return false;
  }
}

export interface ReceiverFirstOptions {
  /** the receiving threads' ids (left as they are) */
  receiving: number[];
  /** the main thread is a receiving thread (event mode) */
  mainReceives: boolean;
  /** the process ends with the run: a helper may stay SCHED_IDLE after it (no CAP_SYS_NICE needed) */
  untilExit: boolean;
}

interface Lowered {
  name: string;
  role: ThreadRole;
  /** the policy it had (null: started during the run; put back as the main thread was) */
  before: [number, number] | null;
  /** lowered by us (else found as it was, e.g. already SCHED_IDLE: left alone, never restored) */
  changed: boolean;
}

/**
 * One receiver's hold on the process-wide policy: the policy applies while any receiver of the
 * process holds it (several receivers share one process: their receiving threads are all kept),
 * and is undone when the last one releases it.
 */
export interface ReceiverFirstHold {
  /** every thread of the process with its policy now (read from the kernel, not assumed); after freeze(), as it was then */
  report(): SchedReport;
  /** keeps report() as it is now (a receiver's close(): before its threads stop) */
  freeze(): void;
  /** idempotent; the last hold restores every thread */
  release(): void;
}

/** The process-wide state: one per process, shared by every receiver that holds it. */
class ReceiverFirst {
  private readonly lowered = new Map<number, Lowered>();
  private readonly mainTid = process.pid;
  readonly receiving = new Set<number>();
  mainReceives = 0;
  holds = 0;
  untilExit = true;
  private scans = 0;
  private timer: NodeJS.Timeout | null = null;
  private undo = false;
  private mainBefore: [number, number] = [SCHED_OTHER, 0];
  notRestored: string | null = null;

  start(): void {
    this.undo = hasSysNice() || niceLimitAllowsIdleUndo();
    this.mainBefore = threadPolicy(this.mainTid) ?? this.mainBefore;
    this.notRestored = null;
    this.scans = 0;
    this.timer = setInterval(() => this.scan(), RESCAN_MS);
    this.timer.unref();
  }

  get helperPolicy(): number {
    return this.undo || this.untilExit ? SCHED_IDLE : SCHED_BATCH;
  }

  get skipped(): string | null {
    if (this.undo) return null;
    return this.untilExit
      ? 'no CAP_SYS_NICE: helper threads stay SCHED_IDLE until the process ends (leaving SCHED_IDLE needs it)'
      : 'no CAP_SYS_NICE: helper threads SCHED_BATCH, not SCHED_IDLE (SCHED_IDLE could not be undone at close without it)';
  }

  /** A thread that is to receive: back to how it was, if it was lowered (e.g. it inherited the main thread's SCHED_BATCH). */
  keep(tid: number): void {
    this.receiving.add(tid);
    const l = this.lowered.get(tid);
    if (l === undefined) return;
    this.lowered.delete(tid);
    if (l.changed) {
      const to = l.before ?? this.mainBefore;
      native().threadSetPolicy(tid, to[0], to[1]);
    }
  }

  /** Lowers the threads not seen yet (started since the last scan), but the receiving ones. */
  scan(): void {
    const first = this.scans++ === 0;
    // a sender marked after a scan took it for a helper: up to SCHED_BATCH (from SCHED_IDLE this needs CAP_SYS_NICE)
    for (const [tid, l] of this.lowered) {
      if (l.role !== 'helper' || !workThreads.has(tid)) continue;
      l.role = 'work';
      if (l.changed) native().threadSetPolicy(tid, SCHED_BATCH, 0);
    }
    for (const tid of threadIds()) {
      if (this.receiving.has(tid) || (this.mainReceives > 0 && tid === this.mainTid) || this.lowered.has(tid)) continue;
      const now = threadPolicy(tid);
      if (now === null) continue;
      const role: ThreadRole = tid === this.mainTid ? 'main' : workThreads.has(tid) ? 'work' : 'helper';
      const want = role === 'helper' ? this.helperPolicy : SCHED_BATCH;
      // a thread at the target or below (SCHED_IDLE), or real-time (someone chose that), stays as it is
      const leave = now[0] === want || now[0] === SCHED_IDLE || now[0] === SCHED_FIFO || now[0] === SCHED_RR || now[0] === SCHED_DEADLINE;
      const r = leave ? 0 : native().threadSetPolicy(tid, want, 0);
      if (r === -ESRCH) continue;
      // born during the run with a lowered policy (inherited at clone): it is ours to put back
      const born = !first && (now[0] === SCHED_IDLE || now[0] === SCHED_BATCH);
      this.lowered.set(tid, { name: threadName(tid), role, before: born ? null : now, changed: born || (!leave && r === 0) });
    }
  }

  report(): SchedReport {
    const threads: ThreadSched[] = [];
    for (const tid of threadIds()) {
      const p = threadPolicy(tid);
      if (p === null) continue;
      const l = this.lowered.get(tid);
      const receiving = this.receiving.has(tid) || (this.mainReceives > 0 && tid === this.mainTid);
      const role: ThreadRole = receiving ? 'receiving' : tid === this.mainTid ? 'main' : workThreads.has(tid) ? 'work' : 'helper';
      const before = l === undefined ? policyName(p[0]) : l.before === null ? null : policyName(l.before[0]);
      threads.push({ tid, name: l?.name ?? threadName(tid), role, policy: policyName(p[0]), priority: p[1], before });
    }
    return { policy: 'receiver-first', skipped: this.skipped, threads, notRestored: this.notRestored };
  }

  /** Puts every lowered thread back (a thread born during the run: as the main thread was). */
  restore(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const failed: string[] = [];
    // the main thread last: the others were born from it or before it
    const list = [...this.lowered.entries()].sort((a, b) => (a[1].role === 'main' ? 1 : 0) - (b[1].role === 'main' ? 1 : 0));
    for (const [tid, l] of list) {
      if (!l.changed) continue;
      const to = l.before ?? this.mainBefore;
      const r = native().threadSetPolicy(tid, to[0], to[1]);
      if (r !== 0 && r !== -ESRCH) failed.push(`${l.name} (${tid})`);
    }
    this.lowered.clear();
    this.receiving.clear();
    this.mainReceives = 0;
    this.notRestored = failed.length === 0 ? null : `${failed.length} thread(s) stay SCHED_IDLE (${failed.slice(0, 3).join(', ')}${failed.length > 3 ? ', …' : ''}): leaving it needs CAP_SYS_NICE`;
  }
}

const shared = new ReceiverFirst();

/**
 * Receiver first for one receiver, from now until release(): its receiving threads keep their
 * policy, every other thread of the process is lowered (see the top of this file).
 */
export function holdReceiverFirst(o: ReceiverFirstOptions): ReceiverFirstHold {
  const s = shared;
  if (s.holds === 0) {
    s.untilExit = o.untilExit;
    s.start();
  } else s.untilExit &&= o.untilExit;
  s.holds++;
  if (o.mainReceives) s.mainReceives++;
  for (const tid of o.receiving) s.keep(tid);
  if (o.mainReceives) s.keep(process.pid);
  s.scan();
  let held = true;
  let last: SchedReport | null = null;
  return {
    report: () => last ?? s.report(),
    freeze: () => {
      if (held && last === null) last = s.report();
    },
    release: () => {
      if (!held) return;
      held = false;
      last ??= s.report(); // the threads as they ran
      if (o.mainReceives) s.mainReceives--;
      for (const tid of o.receiving) s.receiving.delete(tid);
      if (--s.holds === 0) s.restore();
      last.notRestored = s.notRestored;
    },
  };
}
