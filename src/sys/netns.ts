/**
 * Network namespaces that die with our process, and a way to run code inside one.
 *
 * Why a child process plus an fd instead of `ip netns add`: named namespaces are bind mounts under
 * /run/netns that survive a crash. A holder child takes its namespace (and any veth end inside it)
 * with it when it exits, and it exits when Node does, even when Node is SIGKILLed.
 *
 * Two ways out, because a run may drop root after setup (sys/privileges.ts): the holder reads its
 * stdin, a pipe whose only write end is Node's, and exits at EOF — when Node closes it
 * (destroyNow) or dies. That needs no privilege. The parent-death signal alone is not enough:
 * the kernel checks it like a kill() from the dying parent, so once Node runs as an ordinary user
 * it no longer reaches a root holder (measured on 6.18: the holders outlived a dropped Node), and
 * neither does Node's own kill().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AfxdpError, isNativeError } from '../errors.js';
import { native } from '../native.js';
import { runTool, type ToolOptions, type ToolOutput } from './exec.js';

/** Every holder's cmdline starts with this, so `pgrep -f afxdp-ns-` and the doctor find them. */
export const HOLDER_PREFIX = 'afxdp-ns-';
const CLONE_NEWNET = 0x40000000;
const READY_TIMEOUT_MS = 5_000;
const EXIT_TIMEOUT_MS = 5_000;
const POLL_MS = 10;

/**
 * `exec -a "$0"` renames the sleep to its first argument. The name arrives as an argument, never
 * interpolated into the script, so no name can inject shell code.
 *
 * The PPID check closes the PDEATHSIG race: if Node died between fork and setpriv's
 * prctl(PR_SET_PDEATHSIG), no signal would ever come and the holder would live on as an orphan.
 * The death signal survives the execs (setpriv → unshare → bash, one pid, no fork), so by the time
 * bash reads its parent either the signal is armed or the parent is already someone else (init
 * or a subreaper): then the holder exits at once instead of holding a namespace forever.
 * `cat` holds the namespace until its stdin (our pipe) ends; what it copies goes to /dev/null.
 */
const HOLDER_SCRIPT = '[ "$PPID" = "$1" ] || exit 97; exec -a "$0" cat';

/** argv of a namespace holder (exported for the test of the PPID check). */
export function holderArgs(name: string, parentPid: number): string[] {
  return ['--pdeathsig', 'KILL', 'unshare', '--net', '--', 'bash', '-c', HOLDER_SCRIPT, name, String(parentPid)];
}

export class NetnsHolder {
  readonly name: string;
  readonly pid: number;
  /** An fd of /proc/PID/ns/net, for setns(). -1 once destroyed. */
  get fd(): number {
    return this.nsFd;
  }

  private nsFd: number;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private destroyed = false;

  private constructor(name: string, child: ChildProcess, exited: Promise<void>, nsFd: number) {
    this.name = name;
    this.pid = child.pid!;
    this.child = child;
    this.exited = exited;
    this.nsFd = nsFd;
  }

  /**
   * Starts a holder named `afxdp-ns-<runId>-<role>` and waits until it owns a new namespace.
   * Must be called from the main thread: PDEATHSIG fires when the *thread* that forked the child
   * exits, so a holder spawned from a worker_thread dies with that worker.
   */
  static async create(runId: string, role: string): Promise<NetnsHolder> {
    const name = `${HOLDER_PREFIX}${runId}-${role}`;
    const child = spawn('setpriv', holderArgs(name, process.pid), {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: false,
    });
    // Not holding the event loop open: a forgotten lab must not keep the process alive (the
    // holder dies with us anyway: its stdin ends).
    child.unref();
    child.stdin?.on('error', () => undefined); // EPIPE once the holder is gone: nothing to do

    let spawnError: Error | undefined;
    let exitedEarly: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('error', (e) => {
        spawnError = e;
        resolve();
      });
      child.once('exit', (code, signal) => {
        exitedEarly = signal ? `killed by ${signal}` : `exit status ${code}`;
        resolve();
      });
    });

    const fail = async (message: string, hint: string, cause?: unknown): Promise<never> => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await settlesWithin(exited, EXIT_TIMEOUT_MS);
      throw new AfxdpError('ETOOL', message, { hint, cause });
    };

    const ownNetns = fs.readlinkSync('/proc/self/ns/net');
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError) {
        const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
        return fail(
          missing ? '`setpriv` not found: it is needed to hold the lab namespaces' : `cannot start the namespace holder ${name}: ${spawnError.message}`,
          'run scripts/setup (util-linux provides setpriv, unshare and nsenter)',
          spawnError,
        );
      }
      if (exitedEarly) {
        return fail(
          `namespace holder ${name} exited at once (${exitedEarly})`,
          'unshare --net needs CAP_SYS_ADMIN: run as root; check that setpriv, unshare, bash and cat are installed',
        );
      }
      if (child.pid !== undefined) {
        let theirs: string | undefined;
        try {
          theirs = fs.readlinkSync(`/proc/${child.pid}/ns/net`);
        } catch {
          // between fork and exec the link may be unreadable; keep polling
        }
        if (theirs !== undefined && theirs !== ownNetns) {
          try {
            const nsFd = fs.openSync(`/proc/${child.pid}/ns/net`, 'r');
            return new NetnsHolder(name, child, exited, nsFd);
          } catch (e) {
            return fail(`cannot open the namespace of holder ${name}: ${(e as Error).message}`, 'run as root', e);
          }
        }
      }
      if (Date.now() > deadline) {
        return fail(`namespace holder ${name} did not enter a new network namespace within ${READY_TIMEOUT_MS / 1000} s`, 'check the load of the machine and that `unshare --net true` works');
      }
      await sleep(POLL_MS);
    }
  }

  /** @internal Runs `cmd args` inside this namespace (`nsenter -t PID -n`). */
  exec(cmd: string, args: string[], opts?: ToolOptions): Promise<ToolOutput> {
    if (this.destroyed) {
      return Promise.reject(new AfxdpError('ECLOSED', `namespace ${this.name} is destroyed`, { hint: 'create a new lab' }));
    }
    return runTool('nsenter', ['-t', String(this.pid), '-n', '--', cmd, ...args], opts);
  }

  /**
   * Closes the fd and SIGKILLs the holder without waiting. Synchronous, for 'exit' handlers.
   * Idempotent.
   */
  destroyNow(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.nsFd >= 0) {
      try {
        fs.closeSync(this.nsFd);
      } catch {
        // already closed by someone else: nothing left to release
      }
      this.nsFd = -1;
    }
    // End of its stdin: the holder exits, whatever our uid is now.
    this.child.stdin?.destroy();
    // child.kill is safe against pid reuse: Node has not reaped the child before its 'exit'. After
    // a privilege drop it would fail (EPERM, an 'error' event), so only while we are root.
    if (this.child.exitCode === null && this.child.signalCode === null && process.geteuid?.() === 0) this.child.kill('SIGKILL');
  }

  /** Closes the fd, kills the holder and waits until it is gone. Idempotent. */
  async destroy(): Promise<void> {
    this.destroyNow();
    if (!(await settlesWithin(this.exited, EXIT_TIMEOUT_MS)) && fs.existsSync(`/proc/${this.pid}`)) {
      throw new AfxdpError('ESYS', `namespace holder ${this.name} (pid ${this.pid}) did not exit after SIGKILL`, {
        hint: `check \`ps -o pid,stat,cmd -p ${this.pid}\`; a process stuck in D state needs the kernel to finish`,
      });
    }
  }
}

/**
 * True if p settles within ms. Its timer keeps the loop alive while we wait for an unref'd
 * child's exit event, and is cleared as soon as p settles so it never delays process exit.
 */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs fn synchronously with the main thread inside the network namespace `nsFd` (an fd of a
 * /proc/PID/ns/net file), then switches back. Sockets, ifindex lookups and XDP attaches done in
 * fn happen in that namespace. fn must be synchronous: code after an await would run back on the
 * main thread in whatever namespace it is in by then.
 */
export function withNetns<T>(nsFd: number | undefined, fn: () => T): T {
  if (nsFd === undefined) return fn();
  const addon = native();
  const saved = fs.openSync('/proc/thread-self/ns/net', 'r');
  let result: T;
  try {
    try {
      addon.setns(nsFd, CLONE_NEWNET);
    } catch (e) {
      throw nsError('cannot enter the network namespace', e);
    }
    try {
      result = fn();
    } finally {
      try {
        addon.setns(saved, CLONE_NEWNET);
      } catch (e) {
        // Replaces fn's error on purpose: a main thread left in the wrong namespace is worse.
        throw nsError('cannot return to the original network namespace', e);
      }
    }
  } finally {
    fs.closeSync(saved);
  }
  if (isThenable(result)) {
    // Mark it handled: the caller gets ESTATE instead, an extra unhandled rejection would only confuse.
    result.then(undefined, () => undefined);
    throw new AfxdpError('ESTATE', 'withNetns() callback returned a promise: it must be synchronous', {
      hint: 'do only the namespace-bound calls (socket creation, ifindex lookup, attach) inside withNetns and await outside it',
    });
  }
  return result;
}

function nsError(what: string, e: unknown): AfxdpError {
  const errno = isNativeError(e) ? e.errno : undefined;
  return new AfxdpError('ESYS', `${what}: ${(e as Error).message}`, {
    errno,
    hint: 'setns(CLONE_NEWNET) needs CAP_SYS_ADMIN: run as root',
    cause: e,
  });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** A path such as /proc/PID/ns/net or /run/netns/NAME, a bare `ip netns` NAME, or an already open fd of one. */
export type NetnsOption = string | number;

/** where `ip netns add NAME` pins its namespaces */
const NETNS_RUN_DIR = '/run/netns';
/** a name `ip netns` accepts: no slash, not . or .. */
const NETNS_NAME = /^(?!\.{1,2}$)[^/\0]+$/;

/**
 * The public `netns` option as an fd: an fd is passed through, a path or `ip netns` name is opened
 * (close() closes what was opened here, nothing else).
 */
export function openNetnsOption(netns: NetnsOption | undefined): { fd: number | undefined; close(): void } {
  const keep = { close: (): void => undefined };
  if (netns === undefined) return { fd: undefined, ...keep };
  if (typeof netns === 'number') {
    if (!Number.isInteger(netns) || netns < 0) throw new AfxdpError('EUSAGE', `netns fd ${netns} is not a valid file descriptor`, { hint: 'pass a path like /proc/PID/ns/net or an open fd' });
    return { fd: netns, ...keep };
  }
  if (typeof netns !== 'string' || netns.length === 0) {
    throw new AfxdpError('EUSAGE', `netns must be a path or an fd, got ${typeof netns}`, { hint: 'pass an `ip netns` name, a path like /proc/PID/ns/net or /run/netns/NAME' });
  }
  let file = netns;
  if (NETNS_NAME.test(netns)) {
    // a bare name is an `ip netns` one
    file = `${NETNS_RUN_DIR}/${netns}`;
    if (!fs.existsSync(file)) {
      throw new AfxdpError('EUSAGE', `network namespace ${JSON.stringify(netns)} does not exist (no ${file})`, { hint: 'list them with `ip netns list`, or give /proc/PID/ns/net of a process in it' });
    }
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new AfxdpError('ESYS', `cannot open network namespace ${file}: ${(e as Error).message}`, {
      errno: (e as { errno?: number }).errno,
      hint: 'give /proc/PID/ns/net of a process in that namespace, or /run/netns/NAME',
      cause: e,
    });
  }
  return { fd, close: () => fs.closeSync(fd) };
}
