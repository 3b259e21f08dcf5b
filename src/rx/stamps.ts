/**
 * StampDecoder: finds each received packet's XDP stamp, whichever strategy carried it
 * (DESIGN §3, bpf/include/afxdp/meta.h), records XDP → user latency and counts per strategy.
 *
 *   meta     struct in front of the packet (data_meta): MetaReader.read(addr)
 *   prepend  struct at the packet start: validated (magic, length, flag, run cookie), then
 *            STRIPPED in the batch arrays (addr += 48, len -= 48) so callers see the frame that
 *            was sent
 *   map      struct in the LRU hash afxdp_stamps under afxdp_frame_key(): looked up and deleted
 *            for the whole batch in one addon call
 *   auto     per packet: meta, else prepend, else map
 *
 * For each packet of the batch it writes flags (0 = no valid stamp: absent, invalid, or of the
 * other clock — meta_invalid, never a latency sample), the XDP stamp and the HW RX stamp into
 * preallocated columns; the probe turns them into latencies. The loop allocates nothing.
 */
import { native } from '../native.js';
import { MetaReader, META_SIZE, F_XDP_TS, F_CLOCK_TAI, F_HW_TS, F_RX_HASH, F_VLAN, MAP_KEY_SIZE, frameKey, type StrategyName } from '../xdp/meta.js';

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

export interface MapCounts {
  /** packets looked up in the map that had no stamp there */
  packetsWithoutStamp: number;
  /** stamps taken from the map */
  matched: number;
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
  readonly byStrategy: StrategyCounts = { meta: 0, prepend: 0, map: 0 };
  readonly map: MapCounts = { packetsWithoutStamp: 0, matched: 0 };
  readonly hints: HintCounts = { rx_timestamp: 0, rx_hash: 0, vlan: 0 };
  /** per packet of the last decode(): flags (0 = no valid stamp), XDP stamp, HW RX stamp (u64 as lo/hi) */
  readonly flags: Uint32Array;
  readonly xdpLo: Uint32Array;
  readonly xdpHi: Uint32Array;
  readonly hwLo: Uint32Array;
  readonly hwHi: Uint32Array;
  private readonly umem: { words: Uint32Array; bytes: Uint8Array };
  private readonly useMeta: boolean;
  private readonly usePrepend: boolean;
  private readonly useMap: boolean;
  private readonly clockFlag: number;
  private readonly cookie: number;
  private readonly mapFd: number;
  // map strategy batch buffers: keys, values and found flags, one slot per packet of a batch
  private readonly keys: Uint32Array;
  private readonly keyBytes: Uint8Array;
  private readonly values: Uint32Array;
  private readonly valueBytes: Uint8Array;
  private readonly found: Uint8Array;
  /** batch index of each key */
  private readonly slot: Uint32Array;

  constructor(umem: { words: Uint32Array; bytes: Uint8Array; frameShift: number }, o: StampDecoderOptions) {
    this.umem = umem;
    this.meta = new MetaReader(umem);
    this.useMeta = o.strategy === 'auto' || o.strategy === 'meta';
    this.usePrepend = o.strategy === 'auto' || o.strategy === 'prepend';
    this.useMap = (o.strategy === 'auto' || o.strategy === 'map') && o.mapFd >= 0;
    this.clockFlag = o.clockFlag;
    this.cookie = o.cookie >>> 0;
    this.mapFd = o.mapFd;
    this.flags = new Uint32Array(o.batchSize);
    this.xdpLo = new Uint32Array(o.batchSize);
    this.xdpHi = new Uint32Array(o.batchSize);
    this.hwLo = new Uint32Array(o.batchSize);
    this.hwHi = new Uint32Array(o.batchSize);
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
   * Decodes packets 0..n-1 of a batch (addrs/lens are the socket's rxAddr/rxLen and may be
   * rewritten: prepended structs are stripped), fills the per-packet columns and returns how
   * many stamps were valid.
   */
  decode(addrs: Uint32Array, lens: Uint32Array, n: number): number {
    const meta = this.meta;
    const want = this.clockFlag;
    const by = this.byStrategy;
    let valid = 0;
    let k = 0;
    for (let i = 0; i < n; i++) {
      this.flags[i] = 0;
      const addr = addrs[i]!;
      if (this.useMeta && meta.read(addr)) {
        if ((meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === want) {
          this.accept(i);
          valid++;
          by.meta++;
        }
        continue;
      }
      if (this.usePrepend && meta.readPrepended(addr, lens[i]!, this.cookie)) {
        // strip: the caller sees the original frame; the stale guard in recycle() then clears
        // the prepended magic (at the new addr - 4)
        addrs[i] = addr + META_SIZE;
        lens[i] = lens[i]! - META_SIZE;
        if ((meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === want) {
          this.accept(i);
          valid++;
          by.prepend++;
        }
        continue;
      }
      if (this.useMap) {
        frameKey(this.umem, addr, lens[i]!, this.keys, k * 2);
        this.slot[k++] = i;
      }
    }
    if (k > 0) valid += this.takeFromMap(k);
    return valid;
  }

  /** A valid stamp (the reader holds it) for packet i: its columns, and the hints it carried. */
  private accept(i: number): void {
    const meta = this.meta;
    const f = meta.flags;
    this.flags[i] = f;
    this.xdpLo[i] = meta.xdpTsLo;
    this.xdpHi[i] = meta.xdpTsHi;
    this.hwLo[i] = meta.hwTsLo;
    this.hwHi[i] = meta.hwTsHi;
    if ((f & (F_HW_TS | F_RX_HASH | F_VLAN)) === 0) return;
    if ((f & F_HW_TS) !== 0) this.hints.rx_timestamp++;
    if ((f & F_RX_HASH) !== 0) this.hints.rx_hash++;
    if ((f & F_VLAN) !== 0) this.hints.vlan++;
  }

  private takeFromMap(k: number): number {
    const found = this.found;
    native().bpfMapTakeBatch(this.mapFd, this.keyBytes, this.valueBytes, k, found);
    const meta = this.meta;
    const want = this.clockFlag;
    let valid = 0;
    for (let j = 0; j < k; j++) {
      if (found[j] === 0) {
        this.map.packetsWithoutStamp++;
        continue;
      }
      this.map.matched++;
      if (meta.readWords(this.values, j * META_WORDS) && (meta.flags & F_XDP_TS) !== 0 && (meta.flags & F_CLOCK_TAI) === want) {
        this.accept(this.slot[j]!);
        valid++;
        this.byStrategy.map++;
      }
    }
    return valid;
  }
}
