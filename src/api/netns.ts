/** The `netns` option of the public API: run a setup step inside another network namespace. */
import { closeSync, openSync, existsSync } from 'node:fs';
import { AfxdpError } from '../errors.js';
import { native } from '../native.js';
import { withNetns } from '../sys/netns.js';

/** A path such as /proc/PID/ns/net or /run/netns/NAME, a bare `ip netns` NAME, or an already open fd of one. */
export type NetnsOption = string | number;

/** where `ip netns add NAME` pins its namespaces */
const NETNS_RUN_DIR = '/run/netns';
/** a name `ip netns` accepts: no slash, not . or .. */
const NETNS_NAME = /^(?!\.{1,2}$)[^/\0]+$/;

/** Opens the namespace (when given as a path), runs fn with its fd (or undefined), closes it again. */
export function withNetnsFd<T>(netns: NetnsOption | undefined, fn: (fd: number | undefined) => T): T {
  if (netns === undefined) return fn(undefined);
  if (typeof netns === 'number') {
    if (!Number.isInteger(netns) || netns < 0) throw new AfxdpError('EUSAGE', `netns fd ${netns} is not a valid file descriptor`, { hint: 'pass a path like /proc/PID/ns/net or an open fd' });
    return fn(netns);
  }
  if (typeof netns !== 'string' || netns.length === 0) {
    throw new AfxdpError('EUSAGE', `netns must be a path or an fd, got ${typeof netns}`, { hint: 'pass an `ip netns` name, a path like /proc/PID/ns/net or /run/netns/NAME' });
  }
  let file = netns;
  if (NETNS_NAME.test(netns)) {
    // a bare name is an `ip netns` one
    file = `${NETNS_RUN_DIR}/${netns}`;
    if (!existsSync(file)) {
      throw new AfxdpError('EUSAGE', `network namespace ${JSON.stringify(netns)} does not exist (no ${file})`, { hint: 'list them with `ip netns list`, or give /proc/PID/ns/net of a process in it' });
    }
  }
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new AfxdpError('ESYS', `cannot open network namespace ${file}: ${(e as Error).message}`, {
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
