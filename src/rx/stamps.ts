/**
 * StampDecoder: finds each received packet's XDP stamp, whichever strategy carried it
 * (docs/METADATA.md, bpf/include/afxdp/meta.h) and counts per strategy.
 *
 *   meta     struct in front of the packet (data_meta): MetaReader.read(addr)
 *   prepend  struct at the packet start: validated (magic, length, flag, run cookie), then
 *            STRIPPED in the batch arrays (addr += 48, len -= 48) so callers see the frame that
 *            was sent
 *   map      struct in the LRU hash afxdp_stamps under afxdp_frame_key(): looked up and deleted
 *            for the whole batch in one addon call
 *   auto     per packet: meta, else prepend, else map
 *
 * For each packet of the batch it writes into the batch columns (rx/batch.ts) the flags (0 = no
 * valid stamp: absent, invalid, or of the other clock — meta_invalid, never a latency sample), the
 * XDP stamp, the queue and the hardware hints; the engine turns them into latencies. Counts go to
 * the queue's counter slots (rx/counts.ts). The loop allocates nothing.
 */
import { native } from '../native.js';
import { MetaReader, META_SIZE, F_XDP_TS, F_CLOCK_TAI, F_HW_TS, F_RX_HASH, F_VLAN, F_QUEUE, MAP_KEY_SIZE, frameKey, type StrategyName } from '../xdp/meta.js';
import type { PacketBatch } from './batch.js';
import { C_VIA_META, C_VIA_PREPEND, C_VIA_MAP, C_HINT_HW_TS, C_HINT_RX_HASH, C_HINT_VLAN, C_MAP_MATCHED, C_MAP_NO_STAMP } from './counts.js';

export interface StrategyCounts {
  meta: number;
  prepend: number;
  map: number;
}

/** valid packets that carried each hardware hint */
export interface HintCounts {
  rx_timestamp: number;
  rx_hash: number;
  vlan: number;
}

export interface StampDecoderOptions {
  strategy: StrategyName;
  /** F_CLOCK_TAI or 0: stamps of the other clock are invalid */
  clockFlag: number;
  /** afxdp_cfg_cookie of the program */
  cookie: number;
  /** fd of afxdp_stamps; -1 when the program has no map (then the map strategy is unavailable) */
  mapFd: number;
  batchSize: number;
}

const META_WORDS = META_SIZE >>> 2;

export class StampDecoder {
  readonly meta: MetaReader;
  private readonly umem: { words: Uint32Array; bytes: Uint8Array };
  private readonly useMeta: boolean;
  private readonly usePrepend: boolean;
  private readonly useMap: boolean;
  private readonly clockFlag: number;
  private readonly cookie: number;
  private readonly mapFd: number;
  private readonly counts: Float64Array;
  // map strategy batch buffers: keys, values and found flags, one slot per packet of a batch
  private readonly keys: Uint32Array;
  private readonly keyBytes: Uint8Array;
  private readonly values: Uint32Array;
  private readonly valueBytes: Uint8Array;
  private readonly found: Uint8Array;
  /** batch index of each key */
  private readonly slot: Uint32Array;

  /** @param counts the queue's counter slots (rx/counts.ts) */
  constructor(umem: { words: Uint32Array; bytes: Uint8Array; frameShift: number }, o: StampDecoderOptions, counts: Float64Array) {
    this.umem = umem;
    this.meta = new MetaReader(umem);
    this.counts = counts;
    this.useMeta = o.strategy === 'auto' || o.strategy === 'meta';
    this.usePrepend = o.strategy === 'auto' || o.strategy === 'prepend';
    this.useMap = (o.strategy === 'auto' || o.strategy === 'map') && o.mapFd >= 0;
    this.clockFlag = o.clockFlag;
    this.cookie = o.cookie >>> 0;
    this.mapFd = o.mapFd;
    const n = this.useMap ? o.batchSize : 0;
    this.keys = new Uint32Array(n * (MAP_KEY_SIZE >>> 2));
    this.keyBytes = new Uint8Array(this.keys.buffer);
    this.values = new Uint32Array(n * META_WORDS);
    this.valueBytes = new Uint8Array(this.values.buffer);
    this.found = new Uint8Array(n);
    this.slot = new Uint32Array(n);
  }

  /** Whether the map strategy is in use (so its counters mean something). */
  get mapInUse(): boolean {
    return this.useMap;
  }

  /**
   * Decodes packets 0..n-1 of a batch whose addr/len columns hold the received descriptors (a
   * prepended struct is stripped there: addr += 48, len -= 48), fills the stamp columns and
   * returns how many stamps were valid.
   */
  decode(b: PacketBatch, n: number): number {
    const meta = this.meta;
    const want = this.clockFlag;
    const addrs = b.addr;
    const lens = b.len;
    const flags = b.flags;
    const rxQueue = b.rxQueue;
    const queue = b.queue;
    const c = this.counts;
    let valid = 0;
    let k = 0;
    for (let i = 0; i < n; i++) {
      flags[i] = 0;
      rxQueue[i] = queue;
      const addr = addrs[i]!;
      if (this.useMeta && meta.read(addr)) {
        if ((meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === want) {
          this.accept(b, i);
          valid++;
          c[C_VIA_META]++;
        }
        continue;
      }
      if (this.usePrepend && meta.readPrepended(addr, lens[i]!, this.cookie)) {
        // strip: the caller sees the original frame; the stale guard in recycle() then clears
        // the prepended magic (at the new addr - 4)
        addrs[i] = addr + META_SIZE;
        lens[i] = lens[i]! - META_SIZE;
        if ((meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === want) {
          this.accept(b, i);
          valid++;
          c[C_VIA_PREPEND]++;
        }
        continue;
      }
      if (this.useMap) {
        frameKey(this.umem, addr, lens[i]!, this.keys, k * 2);
        this.slot[k++] = i;
      }
    }
    if (k > 0) valid += this.takeFromMap(b, k);
    return valid;
  }

  /** A valid stamp (the reader holds it) for packet i: its columns, and the hints it carried. */
  private accept(b: PacketBatch, i: number): void {
    const meta = this.meta;
    const f = meta.flags;
    b.flags[i] = f;
    b.xdpLo[i] = meta.xdpTsLo;
    b.xdpHi[i] = meta.xdpTsHi;
    if ((f & F_QUEUE) !== 0) b.rxQueue[i] = meta.rxQueue;
    if ((f & (F_HW_TS | F_RX_HASH | F_VLAN)) === 0) return;
    const c = this.counts;
    if ((f & F_HW_TS) !== 0) {
      b.hwLo[i] = meta.hwTsLo;
      b.hwHi[i] = meta.hwTsHi;
      c[C_HINT_HW_TS]++;
    }
    if ((f & F_RX_HASH) !== 0) {
      // read into locals before the column stores: written as `b.rxHash[i] = meta.rxHash` (the same
      // name on both sides), V8 (Node 20) boxed the hash into a 16-byte heap number per packet in a
      // stand-alone decode loop: 269 scavenges over 16 M packets, 7–9 this way
      const hash = meta.rxHash;
      const hashType = meta.rxHashType;
      b.rxHash[i] = hash;
      b.rxHashType[i] = hashType;
      c[C_HINT_RX_HASH]++;
    }
    if ((f & F_VLAN) !== 0) {
      b.vlanTci[i] = meta.vlanTci;
      b.vlanProto[i] = meta.vlanProto;
      c[C_HINT_VLAN]++;
    }
  }

  private takeFromMap(b: PacketBatch, k: number): number {
    const found = this.found;
    native().bpfMapTakeBatch(this.mapFd, this.keyBytes, this.valueBytes, k, found);
    const meta = this.meta;
    const want = this.clockFlag;
    const c = this.counts;
    let valid = 0;
    for (let j = 0; j < k; j++) {
      if (found[j] === 0) {
        c[C_MAP_NO_STAMP]++;
        continue;
      }
      c[C_MAP_MATCHED]++;
      if (meta.readWords(this.values, j * META_WORDS) && (meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === want) {
        this.accept(b, this.slot[j]!);
        valid++;
        c[C_VIA_MAP]++;
      }
    }
    return valid;
  }
}
