/**
 * The stamping program's per-queue counters (struct afxdp_counters in bpf/stamp.h), summed over
 * CPUs. Read once per report interval, never per packet.
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

const FIELDS = ['seen', 'matched', 'stamped', 'meta_failed', 'redirected', 'via_meta', 'via_prepend', 'via_map', 'map_collisions', 'unstamped'] as const;
const VALUE_SIZE = FIELDS.length * 8;

export class CounterReader {
  private readonly fd: number;
  private readonly cpus: number;
  private readonly key = new Uint32Array(1);
  private readonly value: Uint32Array;

  constructor(mapFd: number) {
    this.fd = mapFd;
    this.cpus = native().numPossibleCpus();
    // per-CPU values are laid out back to back, each rounded up to 8 bytes
    this.value = new Uint32Array((VALUE_SIZE * this.cpus) / 4);
  }

  read(queue: number): ProgramCounters {
    this.key[0] = queue;
    const out = zero();
    if (!native().bpfMapLookup(this.fd, new Uint8Array(this.key.buffer), new Uint8Array(this.value.buffer))) return out;
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const base = (cpu * VALUE_SIZE) / 4;
      for (let f = 0; f < FIELDS.length; f++) {
        out[FIELDS[f]!] += this.value[base + f * 2]! + this.value[base + f * 2 + 1]! * 4294967296;
      }
    }
    return out;
  }

  sum(queues: readonly number[]): ProgramCounters {
    const total = zero();
    for (const q of queues) {
      const c = this.read(q);
      for (const f of FIELDS) total[f] += c[f];
    }
    return total;
  }
}

function zero(): ProgramCounters {
  return { seen: 0, matched: 0, stamped: 0, meta_failed: 0, redirected: 0, via_meta: 0, via_prepend: 0, via_map: 0, map_collisions: 0, unstamped: 0 };
}
