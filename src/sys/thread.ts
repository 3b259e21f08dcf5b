/**
 * The real-time knobs of a receiving thread (--cpu, --rt): applied by the thread itself — the
 * main thread in event mode, each worker in the worker modes — because affinity and scheduling
 * policy are per thread on Linux. Set once at setup, never per packet.
 */
import os from 'node:os';
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';

/** SCHED_FIFO priority of --rt: above every normal thread, below the kernel's own RT threads (50). */
export const RT_PRIORITY = 10;
const EPERM = 1;

/** CPUs this machine has (the range --cpu takes). */
export function cpuCount(): number {
  return os.cpus().length;
}

export interface ThreadTuning {
  /** pin to this CPU (-1: leave as is) */
  cpu: number;
  /** SCHED_FIFO at RT_PRIORITY */
  rt: boolean;
}

/**
 * Remembers the calling thread's scheduling policy and CPUs; the returned function puts them back
 * (a receiver tuned the main thread for event mode: after close() it is the application's again).
 */
export function holdThreadPolicy(): () => void {
  const n = native();
  const policy = n.threadPolicy(0);
  const cpus = n.threadAffinity();
  return () => {
    if (typeof policy !== 'number') n.threadSetPolicy(0, policy[0], policy[1]);
    n.threadSetAffinity(cpus);
  };
}

/** Applies the tuning to the calling thread; a refusal is one clear error. */
export function tuneThisThread(t: ThreadTuning, queue: number): void {
  const n = native();
  if (t.cpu >= 0) {
    const r = n.threadPin(t.cpu);
    if (r < 0) throw new AfxdpError('ESYS', `cannot pin the receiving thread of queue ${queue} to CPU ${t.cpu}`, { errno: -r, hint: 'the CPU may be offline or outside this process\'s cpuset (see `taskset -p $$`, `nproc`)' });
  }
  if (t.rt) {
    const r = n.threadFifo(RT_PRIORITY);
    if (r === -EPERM) throw new AfxdpError('EPERM', '--rt needs CAP_SYS_NICE (SCHED_FIFO) and this process lacks it', { errno: EPERM, hint: 'run as root or grant CAP_SYS_NICE (e.g. `sudo setcap cap_sys_nice+ep $(which node)`), or drop --rt' });
    if (r < 0) throw new AfxdpError('ESYS', `cannot make the receiving thread of queue ${queue} SCHED_FIFO`, { errno: -r, hint: 'check RLIMIT_RTPRIO and the cgroup\'s cpu.rt_runtime_us, or drop --rt' });
  }
}
