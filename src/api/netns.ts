/** The `netns` option of the public API: run a setup step inside another network namespace. */
import { AfxdpError } from '../errors.js';
import { native } from '../native.js';
import { withNetns, openNetnsOption, type NetnsOption } from '../sys/netns.js';

export type { NetnsOption };

/** Opens the namespace (when given as a path), runs fn with its fd (or undefined), closes it again. */
export function withNetnsFd<T>(netns: NetnsOption | undefined, fn: (fd: number | undefined) => T): T {
  const ns = openNetnsOption(netns);
  try {
    return fn(ns.fd);
  } finally {
    ns.close();
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
