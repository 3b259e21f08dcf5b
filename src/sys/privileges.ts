/**
 * Dropping root after setup (`afxdp latency|demo`, like tcpdump's -Z): the program, the sockets,
 * the maps and the lab are made as root; then every thread of the process becomes an ordinary
 * user with no capabilities, and the run goes on through the fds it already holds (docs/SECURITY.md).
 *
 * Who to become (resolveRunAs): `--user NAME`; else the user sudo was started by (SUDO_UID,
 * SUDO_GID); `--user root` keeps root explicitly. A root process with neither stays root: there
 * is no user whose files it could write, and a made-up one (nobody) could not write where the
 * caller asked for its outputs. A process that is not root has nothing to switch.
 *
 * Why setuid and nothing else: glibc applies setgroups/setgid/setuid to every thread of the process
 * (its setxid broadcast), and the kernel clears the permitted, effective and ambient capability
 * sets of a thread whose real, effective and saved uid all leave 0 (no SECBIT_KEEP_CAPS here).
 * capset() and prctl() would act on the calling thread only, and the receiving workers already
 * run. The bounding set stays as for any user's process: with nothing permitted it grants nothing.
 * dropPrivileges() reads every thread's status back and fails if any of them kept anything.
 */
import fs from 'node:fs';
import { AfxdpError } from '../errors.js';
import { runToolSync } from './exec.js';

/** The user a run becomes after setup. */
export interface PrivilegeDrop {
  uid: number;
  gid: number;
  /** login name (supplementary groups come from it), or null for a uid without a passwd entry */
  name: string | null;
}

/** What a run will do about root: the drop (null: none) and one line saying so. */
export interface RunAs {
  drop: PrivilegeDrop | null;
  /** 'drop' (to drop.uid), 'root' (stays root) or 'user' (not root: nothing to drop) */
  mode: 'drop' | 'root' | 'user';
  /** e.g. "drops to alice (uid 1000, gid 1000; from SUDO_UID) after setup" */
  text: string;
}

const HINT_USER = 'pass --user NAME (a login name or a numeric uid), or --user root to stay root';

/**
 * Decides who a run becomes. `user` is the --user value; `env` defaults to process.env (SUDO_UID,
 * SUDO_GID, SUDO_USER). Looks names up with getent, so NSS users (LDAP, sssd) work too.
 */
export function resolveRunAs(o: { user?: string; env?: NodeJS.ProcessEnv } = {}): RunAs {
  const env = o.env ?? process.env;
  const uid = process.geteuid?.() ?? 0;
  if (uid !== 0) {
    if (o.user !== undefined) {
      const want = lookupUser(o.user);
      if (want.uid !== uid) {
        throw new AfxdpError('EPERM', `--user ${o.user}: this process runs as uid ${uid}, not root, and cannot become another user`, { hint: 'drop --user, or start afxdp as root (sudo) to let it switch' });
      }
    }
    return { drop: null, mode: 'user', text: `runs as uid ${uid} (not root: no user to switch to; capabilities it was given stay for the run)` };
  }
  if (o.user !== undefined) {
    const u = lookupUser(o.user);
    if (u.uid === 0) return { drop: null, mode: 'root', text: `stays root (--user ${o.user})` };
    return { drop: u, mode: 'drop', text: `drops to ${describe(u)}; from --user) after setup` };
  }
  const sudoUid = env.SUDO_UID;
  if (sudoUid !== undefined && sudoUid !== '') {
    const id = parseId('SUDO_UID', sudoUid);
    if (id === 0) return { drop: null, mode: 'root', text: 'stays root (started by sudo from root)' };
    let known: PrivilegeDrop | null = null;
    try {
      known = lookupUser(String(id));
    } catch {
      // a uid without a passwd entry: SUDO_GID must say the group
    }
    const gid = env.SUDO_GID !== undefined && env.SUDO_GID !== '' ? parseId('SUDO_GID', env.SUDO_GID) : known?.gid;
    if (gid === undefined) {
      throw new AfxdpError('EUSAGE', `SUDO_UID ${id} has no passwd entry and SUDO_GID is not set: no group to switch to`, { hint: HINT_USER });
    }
    const u: PrivilegeDrop = { uid: id, gid, name: known?.name ?? null };
    return { drop: u, mode: 'drop', text: `drops to ${describe(u)}; from SUDO_UID) after setup` };
  }
  return { drop: null, mode: 'root', text: 'stays root (no SUDO_UID and no --user; pass --user NAME to drop root after setup)' };
}

function describe(u: PrivilegeDrop): string {
  return `${u.name ?? `uid ${u.uid}`} (uid ${u.uid}, gid ${u.gid}`;
}

function parseId(what: string, v: string): number {
  if (!/^\d{1,10}$/.test(v) || Number(v) > 0xfffffffe) {
    throw new AfxdpError('EUSAGE', `${what}=${JSON.stringify(v)} is not a numeric id`, { hint: HINT_USER });
  }
  return Number(v);
}

/** A login name or numeric uid → uid, primary gid, name (getent passwd). */
function lookupUser(user: string): PrivilegeDrop {
  if (user === '' || user.startsWith('-') || /[\s:]/.test(user)) {
    throw new AfxdpError('EUSAGE', `--user ${JSON.stringify(user)} is not a user name or uid`, { hint: HINT_USER });
  }
  let line: string;
  try {
    line = runToolSync('getent', ['passwd', user]).stdout.split('\n')[0] ?? '';
  } catch (e) {
    // getent exits 2 for "not found"; a numeric uid without a passwd entry is still a uid
    if (/^\d+$/.test(user)) throw new AfxdpError('EUSAGE', `uid ${user} has no passwd entry: no primary group to switch to`, { hint: 'pass a user that exists (getent passwd NAME)', cause: e });
    throw new AfxdpError('EUSAGE', `user ${JSON.stringify(user)} does not exist`, { hint: 'pass a user that exists (getent passwd NAME), or a numeric uid', cause: e });
  }
  const f = line.split(':');
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (f.length < 4 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new AfxdpError('ETOOL', `getent passwd ${user} printed an unreadable line`, { hint: 'check /etc/nsswitch.conf', detail: line });
  }
  return { uid, gid, name: f[0]! };
}

/** process.initgroups (initgroups(3): the groups NSS lists for a name); missing from @types/node */
const initgroups = (process as unknown as { initgroups: (user: string, extraGroup: number) => void }).initgroups;

function setGroupsFor(u: PrivilegeDrop): void {
  if (u.name !== null) initgroups(u.name, u.gid);
  else process.setgroups!([u.gid]);
}

/**
 * Runs fn with the *effective* ids of `u` (the real and saved uid stay 0): files fn creates belong
 * to the user, and a path only opens if the user could open it — a link planted at an output
 * path reaches only what the user can reach. Afterwards root again (the kernel gives the effective
 * capabilities back from the permitted set). Synchronous, so nothing else runs in between. With u
 * null, just fn().
 */
export function asUser<T>(u: PrivilegeDrop | null, fn: () => T): T {
  if (u === null) return fn();
  const groups = process.getgroups!();
  setGroupsFor(u);
  process.setegid!(u.gid);
  process.seteuid!(u.uid);
  try {
    return fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}

/** One thread's ids and capability sets, from /proc/self/task/TID/status. */
export interface ThreadCreds {
  tid: number;
  /** real, effective, saved, filesystem */
  uid: number[];
  gid: number[];
  capPrm: bigint;
  capEff: bigint;
  capAmb: bigint;
}

/** Every thread of this process (or of `pid`) with its ids and capabilities. */
export function threadCreds(pid: number | 'self' = 'self'): ThreadCreds[] {
  const out: ThreadCreds[] = [];
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    let s: string;
    try {
      s = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    } catch {
      continue; // the thread ended while we looked
    }
    const ids = (k: string): number[] => (new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(s)?.[1] ?? '').trim().split(/\s+/).map(Number);
    const cap = (k: string): bigint => BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(s)?.[1] ?? 'ffffffffffffffff'}`);
    out.push({ tid: Number(t), uid: ids('Uid'), gid: ids('Gid'), capPrm: cap('CapPrm'), capEff: cap('CapEff'), capAmb: cap('CapAmb') });
  }
  return out;
}

/**
 * Becomes `u` for good, in every thread: supplementary groups, gid, uid (in that order: the
 * group calls need root). Then checks every thread: all four uids and gids are the user's and no
 * capability is left; otherwise throws (the caller's cleanup works by closing fds, so it still runs).
 */
export function dropPrivileges(u: PrivilegeDrop): void {
  try {
    setGroupsFor(u);
    process.setgid!(u.gid);
    process.setuid!(u.uid);
  } catch (e) {
    throw new AfxdpError('ESYS', `cannot drop root to uid ${u.uid}: ${(e as Error).message}`, { hint: 'run as root (sudo), or pass --user root to stay root', cause: e });
  }
  const bad = threadCreds().filter((t) => t.uid.some((x) => x !== u.uid) || t.gid.some((x) => x !== u.gid) || t.capPrm !== 0n || t.capEff !== 0n || t.capAmb !== 0n);
  if (bad.length > 0) {
    const t = bad[0]!;
    throw new AfxdpError('ESYS', `after dropping root, thread ${t.tid} still has uid ${t.uid.join('/')}, gid ${t.gid.join('/')}, CapPrm ${t.capPrm.toString(16)}, CapEff ${t.capEff.toString(16)}`, {
      hint: 'stopping rather than running privileged; report this (docs/SECURITY.md)',
    });
  }
}
