/**
 * What a broker's client may ask for, checked on the broker (docs/BROKER.md, "Limits"): every
 * field of an open request by the one option check (rx/bounds.ts) under the owner's lower
 * maximums, and what the request would take — queues, UMEM bytes (pinned, locked memory charged to
 * the broker), ring entries (kernel memory) — against what the client's uid holds already. All of
 * it before any syscall; a refusal is one line naming the limit and the `afxdp serve` flag that
 * raises it.
 */
import { AfxdpError } from '../errors.js';
import { checkOption, checkQueues, describeValue, quote, defaultFrameCount, RING_SIZE_MAX, FRAME_COUNT_MAX, type BoundedOption } from '../rx/bounds.js';
import { BROKERED_OPTIONS, BROKER_PROTOCOL, versionError, type OpenRequest } from '../sys/broker-wire.js';

export interface BrokerLimits {
  /** largest RX/fill/TX ring a client may ask for (entries, a power of two) */
  ringSize: number;
  /** most UMEM frames per socket */
  frameCount: number;
  /** connections open at once, all clients */
  connections: number;
  /** connections open at once per uid */
  connectionsPerUid: number;
  /** queues held at once per uid */
  queuesPerUid: number;
  /** UMEM bytes held at once per uid (pinned: locked memory charged to the broker) */
  umemPerUid: number;
  /** UMEM bytes held at once, all clients */
  umem: number;
  /** ring entries (RX, fill, TX, completion) held at once per uid: kernel memory, ≤ 16 bytes each */
  ringEntriesPerUid: number;
  /** a connection that sends no request within this many ms is closed */
  requestTimeoutMs: number;
}

const MIB = 1 << 20;

/** The defaults: the bounds equal the CLI's; the rest lets one uid run 16 queues at the largest sizes. */
export const DEFAULT_LIMITS: BrokerLimits = {
  ringSize: RING_SIZE_MAX,
  frameCount: FRAME_COUNT_MAX,
  connections: 256,
  connectionsPerUid: 16,
  queuesPerUid: 16,
  umemPerUid: 1024 * MIB,
  umem: 2048 * MIB,
  ringEntriesPerUid: 16 * 4 * RING_SIZE_MAX,
  requestTimeoutMs: 5_000,
};

/** The `afxdp serve` flag of each limit (named in refusals). */
export const LIMIT_FLAGS: Record<keyof BrokerLimits, string> = {
  ringSize: '--max-ring-size',
  frameCount: '--max-frame-count',
  connections: '--max-connections',
  connectionsPerUid: '--max-connections-per-uid',
  queuesPerUid: '--max-queues-per-uid',
  umemPerUid: '--max-umem-per-uid',
  umem: '--max-umem',
  ringEntriesPerUid: '--max-ring-entries-per-uid',
  requestTimeoutMs: '--request-timeout',
};

/** Checks the owner's limits themselves (whole, positive, and the bounds no higher than the library's). */
export function checkLimits(l: Partial<BrokerLimits>): BrokerLimits {
  const out = { ...DEFAULT_LIMITS, ...l };
  for (const [k, v] of Object.entries(out) as Array<[keyof BrokerLimits, number]>) {
    if (!Number.isSafeInteger(v) || v < 1) throw new AfxdpError('EUSAGE', `broker limit ${k} (${LIMIT_FLAGS[k]}) must be a whole number ≥ 1, got ${describeValue(v)}`);
  }
  checkOption('ringSize', out.ringSize, { label: LIMIT_FLAGS.ringSize });
  checkOption('frameCount', out.frameCount, { label: LIMIT_FLAGS.frameCount });
  return out;
}

/** The options a client may send: those of BROKERED_OPTIONS, each with its one check. */
const OPTION_OF: Record<(typeof BROKERED_OPTIONS)[number], BoundedOption> = {
  mode: 'mode',
  bind: 'bind',
  clock: 'clock',
  match: 'match',
  udpPort: 'udpPort',
  strategy: 'strategy',
  simulateNoMeta: 'simulateNoMeta',
  hints: 'hints',
  frameCount: 'frameCount',
  frameSize: 'frameSize',
  sg: 'sg',
  ringSize: 'ringSize',
  txRingSize: 'txRingSize',
  txMetadataLen: 'txMetadataLen',
  busyPoll: 'busyPoll',
};

const FIELDS = ['version', 'op', 'ifname', 'queues', 'options'];

/** A checked open request: the fields have their types and ranges. */
export interface CheckedRequest {
  ifname: string;
  queues: readonly number[] | 'all';
  options: Record<string, number | string | boolean>;
}

/** The request is an object of this protocol version (checked before who sent it matters). */
export function checkEnvelope(msg: unknown): Partial<OpenRequest> {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) throw new AfxdpError('EBROKER', 'the request is not an afxdp broker message', { hint: 'clients talk to the broker through afxdp (open({ broker }) or --broker)' });
  const r = msg as Partial<OpenRequest>;
  if (r.version !== BROKER_PROTOCOL) throw versionError(r.version, 'client');
  return r;
}

/** Checks every field of an open request; throws EUSAGE naming the first bad one. */
export function checkRequest(r: Partial<OpenRequest>, limits: BrokerLimits): CheckedRequest {
  if (r.op === undefined) throw new AfxdpError('EUSAGE', 'the request has no op field', { hint: 'this broker knows: open' });
  if (r.op !== 'open') throw new AfxdpError('EBROKER', `unknown request ${quote(r.op)}`, { hint: 'this broker knows: open' });
  for (const k of Object.keys(r)) {
    if (!FIELDS.includes(k)) throw new AfxdpError('EUSAGE', `the request has an unknown field ${quote(k)}`, { hint: `a request has ${FIELDS.join(', ')}` });
  }
  const ifname = r.ifname as unknown;
  if (typeof ifname !== 'string' || ifname.length === 0 || ifname.length > 15 || /[\s/:\0]/.test(ifname)) {
    throw new AfxdpError('EUSAGE', `ifname must be an interface name (1 to 15 characters, no spaces, "/" or ":"), got ${describeValue(ifname)}`);
  }
  const queues = r.queues === undefined ? [0] : checkQueues(r.queues as unknown);
  const raw = (r.options ?? {}) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new AfxdpError('EUSAGE', `options must be an object, got ${describeValue(raw)}`);
  const options: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!Object.hasOwn(OPTION_OF, k)) {
      throw new AfxdpError('EUSAGE', `option ${quote(k)} cannot be asked of the broker`, { hint: `a client may ask for ${BROKERED_OPTIONS.join(', ')}` });
    }
    const max = k === 'ringSize' || k === 'txRingSize' ? limits.ringSize : k === 'frameCount' ? limits.frameCount : undefined;
    const raise = max === undefined ? undefined : `the broker's ${k === 'frameCount' ? LIMIT_FLAGS.frameCount : LIMIT_FLAGS.ringSize}`;
    options[k] = checkOption(OPTION_OF[k as keyof typeof OPTION_OF], v, { label: `options.${k}`, max, raise });
  }
  return { ifname, queues, options };
}

/** What a request takes from the machine, for `queueCount` queues. */
export interface Cost {
  queues: number;
  umem: number;
  ringEntries: number;
}

export function costOf(options: CheckedRequest['options'], queueCount: number): Cost {
  const ring = (options.ringSize as number | undefined) ?? 2048;
  const tx = (options.txRingSize as number | undefined) ?? 0;
  const frames = (options.frameCount as number | undefined) ?? defaultFrameCount(ring);
  const frameSize = (options.frameSize as number | undefined) ?? 4096;
  // RX + fill, TX + completion (a socket without TX still gets the 2048-entry completion ring)
  const entries = 2 * ring + tx + (tx || 2048);
  return { queues: queueCount, umem: queueCount * frames * frameSize, ringEntries: queueCount * entries };
}

/** Refuses a request whose cost would take `held` (the uid's) or `total` (everyone's) over a limit. */
export function checkCost(uid: number, want: Cost, held: Cost, totalUmem: number, limits: BrokerLimits): void {
  const over = (what: string, has: number, asks: number, limit: number, key: keyof BrokerLimits, unit = (n: number): string => String(n)): void => {
    if (has + asks <= limit) return;
    throw new AfxdpError('EBUSY', `${what}: ${unit(asks)} more would make ${unit(has + asks)}, over the limit of ${unit(limit)}`, { hint: `ask for less, end another hold, or have the broker's ${LIMIT_FLAGS[key]} raised` });
  };
  const mib = (n: number): string => `${Math.ceil(n / MIB)} MiB`;
  over(`uid ${uid} holds ${held.queues} queue${held.queues === 1 ? '' : 's'}`, held.queues, want.queues, limits.queuesPerUid, 'queuesPerUid');
  over(`uid ${uid} holds ${mib(held.umem)} of UMEM`, held.umem, want.umem, limits.umemPerUid, 'umemPerUid', mib);
  over(`uid ${uid} holds ${held.ringEntries} ring entries`, held.ringEntries, want.ringEntries, limits.ringEntriesPerUid, 'ringEntriesPerUid');
  over(`the broker's clients hold ${mib(totalUmem)} of UMEM`, totalUmem, want.umem, limits.umem, 'umem', mib);
}
