/**
 * openXsk(): one AF_XDP socket at the level of libxdp's xsk.h — a UMEM, its four rings, bound to
 * one interface queue — for code that drives the rings itself (forwarders, benchmarks, the
 * kernel's AF_XDP scenarios). With `shareUmem` several sockets use one UMEM (XDP_SHARED_UMEM):
 * queues of one interface, or two interfaces, and a frame received on one leaves by another
 * without a copy (XskSocket.forward(i, other)). No XDP program comes with it: load one (e.g.
 * XSK_REDIRECT_PROGRAM) and register the socket with program.register(sock).
 */
import path from 'node:path';
import { AfxdpError } from '../errors.js';
import { BPF_DIR } from '../native.js';
import { XskSocket, type XskSocketOptions } from '../xsk/socket.js';
import { withNetnsOption, resolveIfindex, type NetnsOption } from './netns.js';
import { expectObject, expectString, expectInt } from './validate.js';
import { checkOption, type BoundedOption } from '../rx/bounds.js';

export interface XskOptions extends Omit<XskSocketOptions, 'ifindex' | 'ifname' | 'queue'> {
  /** interface name */
  iface: string;
  /** queue id; default 0 */
  queue?: number;
  /** network namespace of the interface: a path (/proc/PID/ns/net, /run/netns/NAME) or an open fd */
  netns?: NetnsOption;
}

const XSK_OPTIONS = ['iface', 'queue', 'netns', 'rxRingSize', 'txRingSize', 'fillRingSize', 'completionRingSize', 'bind', 'needWakeup', 'batchSize', 'trackFrames', 'txMetadataLen', 'sg', 'shareUmem', 'frameCount', 'frameSize', 'shared', 'headroom', 'unaligned', 'initialFill'];

/** the options checked against src/rx/bounds.ts (UMEM options are checked where the UMEM is made) */
const CHECKED: ReadonlyArray<readonly [keyof XskOptions, BoundedOption]> = [
  ['rxRingSize', 'xskRingSize'],
  ['txRingSize', 'xskRingSize'],
  ['fillRingSize', 'xskUmemRingSize'],
  ['completionRingSize', 'xskUmemRingSize'],
  ['initialFill', 'initialFill'],
  ['bind', 'bind'],
  ['needWakeup', 'flag'],
  ['sg', 'flag'],
  ['trackFrames', 'flag'],
  ['batchSize', 'batchSize'],
  ['txMetadataLen', 'txMetadataLen'],
];

/** afxdp's plainest program: every frame to the socket in `xsks_map` at its RX queue (loadProgram(XSK_REDIRECT_PROGRAM)). */
export const XSK_REDIRECT_PROGRAM: string = path.join(BPF_DIR, 'xsk_redirect.bpf.o');

/** Opens one AF_XDP socket on `iface` queue `queue` (its own UMEM, or that of `shareUmem`). */
export function openXsk(opts: XskOptions): XskSocket {
  expectObject('openXsk: options', opts);
  for (const k of Object.keys(opts)) {
    if (!XSK_OPTIONS.includes(k)) throw new AfxdpError('EUSAGE', `openXsk: unknown option ${JSON.stringify(k)}`, { hint: `the options are ${XSK_OPTIONS.join(', ')} (docs/API.md#openxsk)` });
  }
  expectString('openXsk: options.iface', opts.iface);
  const queue = opts.queue === undefined ? 0 : expectInt('openXsk: options.queue', opts.queue, 0, 4095);
  // every number and flag through the one bounds table, before anything is made
  for (const [k, spec] of CHECKED) {
    if (opts[k] !== undefined) checkOption(spec, opts[k], { label: `openXsk: options.${k}` });
  }
  const { iface, netns, ...rest } = opts;
  return withNetnsOption(netns, () => XskSocket.create({ ...rest, queue, ifname: iface, ifindex: resolveIfindex(iface, netns !== undefined) }));
}

export { XskSocket };
