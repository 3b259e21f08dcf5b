/** The `netns` option of the public API: run a setup step inside another network namespace. */
import { closeSync, openSync } from 'node:fs';
import { AfxdpError } from '../errors.js';
import { native } from '../native.js';
import { withNetns } from '../sys/netns.js';

/** A path such as /proc/PID/ns/net or /run/netns/NAME, or an already open fd of one. */
export type NetnsOption = string | number;

/** Opens the namespace (when given as a path), runs fn with its fd (or undefined), closes it again. */
export function withNetnsFd<T>(netns: NetnsOption | undefined, fn: (fd: number | undefined) => T): T {
  if (netns === undefined) return fn(undefined);
  if (typeof netns === 'number') {
    if (!Number.isInteger(netns) || netns < 0) throw new AfxdpError('EUSAGE', `netns fd ${netns} is not a valid file descriptor`, { hint: 'pass a path like /proc/PID/ns/net or an open fd' });
    return fn(netns);
  }
  if (typeof netns !== 'string' || netns.length === 0) {
    throw new AfxdpError('EUSAGE', `netns must be a path or an fd, got ${typeof netns}`, { hint: 'pass a path like /proc/PID/ns/net or /run/netns/NAME' });
  }
  let fd: number;
  try {
    fd = openSync(netns, 'r');
  } catch (e) {
    throw new AfxdpError('ESYS', `cannot open network namespace ${netns}: ${(e as Error).message}`, {
      errno: (e as { errno?: number }).errno,
      hint: 'give /proc/PID/ns/net of a process in that namespace, or /run/netns/NAME',
      cause: e,
    });
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Runs fn on this thread inside the namespace (setns there and back). */
export function withNetnsOption<T>(netns: NetnsOption | undefined, fn: () => T): T {
  return withNetnsFd(netns, (fd) => withNetns(fd, fn));
}

/** ifindex of an interface of the current namespace, or ENOIFACE. */
export function resolveIfindex(iface: string, inOtherNetns: boolean): number {
  const ifindex = native().ifNameToIndex(iface);
  if (ifindex === 0) {
    throw new AfxdpError('ENOIFACE', `interface ${iface} not found${inOtherNetns ? ' in the given network namespace' : ''}`, { hint: 'list interfaces with `ip -br link`' });
  }
  return ifindex;
}
export { withNetns };
