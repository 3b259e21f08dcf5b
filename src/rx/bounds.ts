/**
 * The one table of what each receiver option may be, and the one check of a value against it.
 * The CLI's flag parsers, open(), the run pipeline (LatencyReceiver via resolve()) and the broker
 * (each field of a client's request) all check here, so a number is refused the same way — with
 * the same bounds — whichever way it came in. Everything a kernel allocation is sized from has a
 * bound, checked before any syscall: a ring of 2^30 entries or a UMEM of 2^31 frames never reaches
 * the kernel.
 */
import { AfxdpError } from '../errors.js';
import { STRATEGY_CODES } from '../xdp/meta.js';

/** Ring sizes: the kernel takes only powers of two; 8192 keeps the default UMEM (2 frames per entry) at 64 MiB. */
export const RING_SIZE_MIN = 8;
export const RING_SIZE_MAX = 8192;
/**
 * openXsk's rings: what the kernel takes. It wants a power of two ≥ 1 and allocates the ring at
 * setsockopt (16 bytes per RX/TX entry, 8 per fill/completion entry). Measured on 6.18: RX and
 * TX rings of 2^30 entries are accepted, 2^31 fail with ENOMEM (and 2^31 is past the addon's
 * int32 too), so 2^30 is the limit for all four.
 */
export const XSK_RING_SIZE_MIN = 1;
export const XSK_RING_SIZE_MAX = 2 ** 30;
const XSK_RING_WHY = `the kernel takes ring sizes that are powers of two up to ${XSK_RING_SIZE_MAX} (2^30; it allocates the ring at once: 16 bytes per RX/TX entry, 8 per fill/completion entry)`;
/** UMEM frames per socket: the default is max(4096, 2 × ringSize), so the largest default is 2 × RING_SIZE_MAX. */
export const FRAME_COUNT_MIN = 64;
export const FRAME_COUNT_MAX = 2 * RING_SIZE_MAX;
/** queue ids the program's XSKMAP holds (AFXDP_MAX_QUEUES in bpf/stamp.h) */
export const MAX_QUEUES = 64;
/** a busy poll longer than this per empty ring only burns the CPU: the wake-up path takes over */
export const MAX_BUSY_POLL_US = 10_000;

type Spec =
  | { kind: 'int'; min: number; max: number; pow2?: boolean; zeroOff?: boolean; multipleOf?: number; why?: string }
  | { kind: 'choice'; values: readonly (string | number | boolean)[] };

const choice = (...values: Array<string | number | boolean>): Spec => ({ kind: 'choice', values });

/** Every option with a value range. The limit of a bounded one may be lowered (never raised) by the caller, e.g. a broker's owner. */
export const OPTION_SPECS = {
  mode: choice('auto', 'native', 'generic'),
  bind: choice('auto', 'copy', 'zerocopy'),
  clock: choice('monotonic', 'tai'),
  match: choice('afxdp', 'udp', 'all'),
  strategy: choice(...Object.keys(STRATEGY_CODES)),
  poll: choice('event', 'worker', 'busy'),
  simulateNoMeta: choice(true, false),
  hints: choice(true, false, 'auto'),
  sg: choice(true, false, 'auto'),
  frameSize: choice(2048, 4096),
  udpPort: { kind: 'int', min: 0, max: 65535 },
  ringSize: { kind: 'int', min: RING_SIZE_MIN, max: RING_SIZE_MAX, pow2: true },
  txRingSize: { kind: 'int', min: RING_SIZE_MIN, max: RING_SIZE_MAX, pow2: true, zeroOff: true },
  frameCount: { kind: 'int', min: FRAME_COUNT_MIN, max: FRAME_COUNT_MAX },
  txMetadataLen: { kind: 'int', min: 0, max: 248, multipleOf: 8, why: 'struct xsk_tx_metadata is 16' },
  batchSize: { kind: 'int', min: 1, max: 4096 },
  busyPoll: { kind: 'int', min: 0, max: MAX_BUSY_POLL_US },
  queue: { kind: 'int', min: 0, max: MAX_QUEUES - 1 },
  /** openXsk: RX and TX rings (0 = none), fill and completion rings */
  xskRingSize: { kind: 'int', min: XSK_RING_SIZE_MIN, max: XSK_RING_SIZE_MAX, pow2: true, zeroOff: true, why: XSK_RING_WHY },
  xskUmemRingSize: { kind: 'int', min: XSK_RING_SIZE_MIN, max: XSK_RING_SIZE_MAX, pow2: true, why: XSK_RING_WHY },
  /** frames put on the fill ring before bind (at most the fill ring's size is taken) */
  initialFill: { kind: 'int', min: 0, max: XSK_RING_SIZE_MAX, why: 'a number of frames: 0 leaves the fill ring empty; at most the fill ring size is taken' },
  /** a yes/no option (openXsk: needWakeup, sg, trackFrames) */
  flag: choice(true, false),
} as const satisfies Record<BoundedOption, Spec>;

// spelled out (not `keyof typeof OPTION_SPECS`), so the public type does not show the internal table
export type BoundedOption = 'mode' | 'bind' | 'clock' | 'match' | 'strategy' | 'poll' | 'simulateNoMeta' | 'hints' | 'sg' | 'frameSize' | 'udpPort' | 'ringSize' | 'txRingSize' | 'frameCount' | 'txMetadataLen' | 'batchSize' | 'busyPoll' | 'queue' | 'xskRingSize' | 'xskUmemRingSize' | 'initialFill' | 'flag';

export interface CheckHow {
  /** how the field is called where it came from: '--ring-size', 'open: options.ringSize', 'options.ringSize' (default: the option name) */
  label?: string;
  /** a lower maximum than the table's (a broker's owner's limit) */
  max?: number;
  /** what raises `max` (e.g. 'the broker's --max-ring-size'): named in the refusal */
  raise?: string;
}

/** A value as an error names it: short, typed, never a whole 64 KiB string. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v)}`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

/** A name as an error quotes it: JSON, at most 24 characters of it. */
export function quote(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v) : describeValue(v);
}

/** Checks one option's value; returns it, or throws EUSAGE naming the field, what it got and what it takes. */
export function checkOption<K extends BoundedOption>(name: K, v: unknown, how: CheckHow = {}): number | string | boolean {
  const spec: Spec = OPTION_SPECS[name];
  const label = how.label ?? name;
  if (spec.kind === 'choice') {
    if ((typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && spec.values.includes(v) && !Object.is(v, -0)) return v;
    throw new AfxdpError('EUSAGE', `${label} must be one of ${spec.values.join(', ')}, got ${describeValue(v)}`);
  }
  const max = how.max === undefined ? spec.max : Math.min(how.max, spec.max);
  const range = `${'zeroOff' in spec && spec.zeroOff ? '0 or ' : ''}${'pow2' in spec && spec.pow2 ? 'a power of two ' : 'a whole number '}from ${spec.min} to ${max}`;
  if (typeof v !== 'number' || !Number.isInteger(v) || Object.is(v, -0)) {
    throw new AfxdpError('EUSAGE', `${label} must be ${range}, got ${describeValue(v)}`);
  }
  if ('zeroOff' in spec && spec.zeroOff && v === 0) return 0;
  if (v > max && how.raise !== undefined) {
    throw new AfxdpError('EUSAGE', `${label} ${v} is above the limit of ${max}`, { hint: `ask for ${max} or less${max < spec.max ? `, or have ${how.raise} raised (up to ${spec.max})` : ` (${how.raise} cannot go higher)`}` });
  }
  if (v < spec.min || v > max) throw new AfxdpError('EUSAGE', `${label} must be ${range}, got ${v}`, 'why' in spec && spec.why !== undefined ? { hint: spec.why } : {});
  if ('pow2' in spec && spec.pow2 && (v & (v - 1)) !== 0) throw new AfxdpError('EUSAGE', `${label} must be ${range} (e.g. 64, 512, 2048), got ${v}`, { hint: 'the kernel only takes ring sizes that are powers of two' });
  if ('multipleOf' in spec && spec.multipleOf !== undefined && v % spec.multipleOf !== 0) {
    throw new AfxdpError('EUSAGE', `${label} must be a multiple of ${spec.multipleOf} from ${spec.min} to ${max}, got ${v}`, { hint: spec.why });
  }
  return v;
}

/** Checks a queue list: 1..MAX_QUEUES distinct ids 0..MAX_QUEUES-1, or 'all'. */
export function checkQueues(v: unknown, label = 'queues'): readonly number[] | 'all' {
  if (v === 'all') return v;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_QUEUES) {
    throw new AfxdpError('EUSAGE', `${label} must be 'all' or a list of 1 to ${MAX_QUEUES} queue ids, got ${Array.isArray(v) ? `${v.length} entries` : describeValue(v)}`);
  }
  v.forEach((q, i) => checkOption('queue', q, { label: `${label}[${i}]` }));
  if (new Set(v).size !== v.length) throw new AfxdpError('EUSAGE', `${label} lists a queue twice`, { hint: 'list each queue once' });
  return v as number[];
}

/** The UMEM frames a receiver gets without frameCount: enough for full RX and fill rings. */
export function defaultFrameCount(ringSize: number): number {
  return Math.max(4096, ringSize * 2);
}
