/**
 * The tap of a tap lab: a tun/tap device (IFF_TAP | IFF_NO_PI) made inside the lab's rx namespace
 * by opening /dev/net/tun there (native/tun.c). It is not persistent: it lives as long as its fds,
 * which only this process holds (close-on-exec), so it goes with the process even on SIGKILL.
 * A frame written to a queue's fd arrives at the tap on that queue, as if from a wire: the tap's
 * XDP program sees it. Several queues: IFF_MULTI_QUEUE and one fd per queue (the queue a written
 * frame arrives on is its fd's).
 */
import fs from 'node:fs';
import { native } from '../native.js';
import { AfxdpError, isNativeError } from '../errors.js';
import { withNetns } from '../sys/netns.js';

const ENOENT = 2;
const EPERM = 1;
const EBUSY = 16;

/** Opens the tap `name` with `queues` queues in the namespace `nsFd`: one fd per queue, in queue order. */
export function openTap(nsFd: number, name: string, queues: number): number[] {
  const fds: number[] = [];
  try {
    withNetns(nsFd, () => {
      for (let q = 0; q < queues; q++) fds.push(native().tunOpen(name, queues > 1));
    });
    return fds;
  } catch (e) {
    closeTap(fds);
    const errno = isNativeError(e) ? e.errno : undefined;
    const why = errno === ENOENT ? '/dev/net/tun is missing' : errno === EPERM ? 'not permitted' : errno === EBUSY ? 'the name is taken' : (e as Error).message;
    throw new AfxdpError('ELAB', `cannot make the tap ${name}: ${why}`, {
      errno,
      hint:
        errno === ENOENT ? 'load the tun module (modprobe tun) or create the node (mknod /dev/net/tun c 10 200)'
        : errno === EBUSY ? `a process already holds ${name}: \`Lab.leftovers()\` lists the taps held open`
        : 'run as root (CAP_NET_ADMIN) on a kernel with CONFIG_TUN',
      cause: e,
    });
  }
}

/** Closes a tap's fds: the kernel removes the tap with the last one. */
export function closeTap(fds: number[]): void {
  for (const fd of fds.splice(0)) {
    try {
      native().close(fd);
    } catch {
      // already closed: the tap is gone either way
    }
  }
}

/**
 * Taps whose name starts with `prefix`, held open by any process on the machine, in any
 * namespace: a tun fd shows its device in /proc/PID/fdinfo (`iff:`). Names, once each.
 */
export function findTaps(prefix: string): string[] {
  const names = new Set<string>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) !== '/dev/net/tun') continue;
        const m = /^iff:\s*(\S+)$/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
        if (m && m[1]!.startsWith(prefix)) names.add(m[1]!);
      } catch {
        // closed while we looked
      }
    }
  }
  return [...names];
}
