/**
 * The stamping program's per-queue counters (struct afxdp_counters in bpf/stamp.h, struct
 * afxdp_stack_counters in bpf/stack_split.h), summed over CPUs. Read once per report interval,
 * never per packet.
 */
import { native } from '../native.js';

export interface ProgramCounters {
  seen: number;
  matched: number;
  stamped: number;
  meta_failed: number;
  redirected: number;
  via_meta: number;
  via_prepend: number;
  via_map: number;
  map_collisions: number;
  unstamped: number;
}

/** The kernel-stack comparison's split (bpf/stack_split.h): matched frames passed to the stack. */
export interface StackCounters {
  to_stack: number;
  /** of those, stamped in place in the payload */
  stamped: number;
  /** of those, passed as they were (no IPv4 afxdp frame, or too short for the stamp) */
  unstamped: number;
}

const FIELDS = ['seen', 'matched', 'stamped', 'meta_failed', 'redirected', 'via_meta', 'via_prepend', 'via_map', 'map_collisions', 'unstamped'] as const;
const STACK_FIELDS = ['to_stack', 'stamped', 'unstamped'] as const;

/** A per-CPU array of u64 counters (fields in struct order), indexed by queue. */
class PerCpuCounters<F extends string> {
  private readonly fd: number;
  private readonly cpus: number;
  private readonly key = new Uint32Array(1);
  private readonly value: Uint32Array;
  private readonly size: number;

  constructor(mapFd: number, private readonly fields: readonly F[]) {
    this.fd = mapFd;
    this.cpus = native().numPossibleCpus();
    this.size = fields.length * 8;
    // per-CPU values are laid out back to back, each rounded up to 8 bytes
    this.value = new Uint32Array((this.size * this.cpus) / 4);
  }

  read(queue: number): Record<F, number> {
    this.key[0] = queue;
    const out = this.zero();
    if (!native().bpfMapLookup(this.fd, new Uint8Array(this.key.buffer), new Uint8Array(this.value.buffer))) return out;
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const base = (cpu * this.size) / 4;
      for (let f = 0; f < this.fields.length; f++) {
        out[this.fields[f]!] += this.value[base + f * 2]! + this.value[base + f * 2 + 1]! * 4294967296;
      }
    }
    return out;
  }

  /** Sets a queue's counters to zero on every CPU (the broker, before a new client takes the queue). */
  reset(queue: number): void {
    this.key[0] = queue;
    native().bpfMapUpdate(this.fd, new Uint8Array(this.key.buffer), new Uint8Array(this.value.byteLength), 0);
  }

  sum(queues: readonly number[]): Record<F, number> {
    const total = this.zero();
    for (const q of queues) {
      const c = this.read(q);
      for (const f of this.fields) total[f] += c[f];
    }
    return total;
  }

  private zero(): Record<F, number> {
    return Object.fromEntries(this.fields.map((f) => [f, 0])) as Record<F, number>;
  }
}

export class CounterReader extends PerCpuCounters<(typeof FIELDS)[number]> {
  constructor(mapFd: number) {
    super(mapFd, FIELDS);
  }
}

export class StackCounterReader extends PerCpuCounters<(typeof STACK_FIELDS)[number]> {
  constructor(mapFd: number) {
    super(mapFd, STACK_FIELDS);
  }
}
