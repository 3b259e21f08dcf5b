/**
 * PingSender (`afxdp demo --ping`): sends request frames through the TX ring of a LatencyProbe's
 * own AF_XDP socket (UMEM registered with TX metadata), and receives the reflected replies on the
 * same socket, through afxdp's stamping program.
 *
 *   rtt            = user-space receive time of the reply (the probe's first touch of the batch)
 *                    − user-space send time (CLOCK_MONOTONIC, carried in the payload); one clock.
 *   tx_completion  = kernel completion timestamp (struct xsk_tx_metadata.completion.tx_timestamp,
 *                    CLOCK_TAI) − user-space send time taken in CLOCK_TAI for this purpose; never
 *                    subtracted across clock domains.
 *
 * Each request goes at frame base + XDP_PACKET_HEADROOM with its 16-byte metadata right in front
 * (flags = XDP_TXMD_FLAGS_TIMESTAMP) and XDP_TX_METADATA in the descriptor options. Replies are
 * matched by sequence number (one bit per request), so duplicates and strangers never count.
 * No allocation per packet: the template is copied with TypedArray.set, times live in per-frame
 * u32 arrays.
 */
import { native } from '../native.js';
import { AfxdpError } from '../errors.js';
import { CLOCK_MONOTONIC, CLOCK_TAI, XDP_PACKET_HEADROOM, XDP_TX_METADATA, XDP_TXMD_FLAGS_TIMESTAMP, XSK_TX_METADATA_LEN } from '../xsk/constants.js';
import { writeUdpFrame, setSeq, setTxTimestamp, setRunId, DEFAULT_FRAME_SIZE, DEFAULT_UDP_PORT } from '../wire/frame.js';
import { LatencyRecorder } from '../measure/recorder.js';
import { flushTx } from '../xsk/tx.js';
import type { LatencyReceiver } from '../rx/receiver.js';
import type { PacketBatch, PacketSink } from '../rx/batch.js';

export interface PingOptions {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  runId: number;
  /** requests this sender may send in total (sizes the reply bitmap) */
  maxRequests: number;
  /** frame size; default 64 */
  size?: number;
}

export interface PingCounts {
  /** requests the kernel accepted */
  sent: number;
  /** distinct requests whose reply came back */
  replies: number;
  /** TX completions seen */
  completions: number;
  /** completions that carried a kernel TX timestamp */
  completions_with_timestamp: number;
}

export class PingSender implements PacketSink {
  readonly rtt = new LatencyRecorder();
  readonly txCompletion = new LatencyRecorder();
  sent = 0;
  replies = 0;
  completions = 0;
  stamped = 0;
  private readonly template: Uint8Array;
  private readonly size: number;
  private readonly replied: Uint8Array;
  /** per UMEM frame: the CLOCK_TAI send time of the request in it (lo, hi) */
  private readonly taiLo: Uint32Array;
  private readonly taiHi: Uint32Array;
  private readonly done = new Uint32Array(256);
  private readonly batch = new Uint32Array(32);
  private readonly mono = new Uint32Array(2);
  private readonly tai = new Uint32Array(2);

  constructor(
    private readonly probe: LatencyReceiver,
    o: PingOptions,
  ) {
    if (probe.clock !== 'monotonic') throw new AfxdpError('EUSAGE', '--ping measures the round trip in CLOCK_MONOTONIC', { hint: 'drop --clock tai (the TX completion stamps are compared in TAI anyway)' });
    if (probe.socketOf(0).tx === null) throw new AfxdpError('ESTATE', 'the probe has no TX ring for --ping');
    this.size = o.size ?? DEFAULT_FRAME_SIZE;
    this.template = new Uint8Array(this.size);
    writeUdpFrame(this.template, 0, this.size, { srcMac: o.srcMac, dstMac: o.dstMac, srcIp: o.srcIp, dstIp: o.dstIp, srcPort: 40000, dstPort: DEFAULT_UDP_PORT });
    setRunId(this.template, 0, o.runId);
    this.replied = new Uint8Array(o.maxRequests);
    this.taiLo = new Uint32Array(probe.socketOf(0).umem.frameCount);
    this.taiHi = new Uint32Array(probe.socketOf(0).umem.frameCount);
    probe.addSink(this);
  }

  /** Probe sink, once per batch the receiver takes (its one consume path): match replies to requests by sequence number. */
  onBatch(b: PacketBatch): void {
    const uLo = b.userLo;
    const uHi = b.userHi;
    for (let i = 0; i < b.n; i++) {
      const seq = b.seq[i]!;
      if (seq < 0 || seq >= this.sent || this.replied[seq] !== 0) continue;
      this.replied[seq] = 1;
      this.replies++;
      this.rtt.record((uHi - b.txHi[i]!) * 4294967296 + (uLo - b.txLo[i]!));
    }
  }

  /** Takes TX completions and their kernel timestamps. */
  reclaim(): void {
    const sock = this.probe.socketOf(0);
    const words = sock.umem.words;
    const shift = sock.umem.frameShift;
    for (;;) {
      const n = sock.reclaimInto(this.done);
      if (n === 0) return;
      for (let i = 0; i < n; i++) {
        const a = this.done[i]!;
        const f = a >>> shift;
        // completion.tx_timestamp: the u64 at addr − 8 (after the u64 flags at addr − 16)
        const lo = words[(a - 8) >>> 2]!;
        const hi = words[(a - 4) >>> 2]!;
        if (lo !== 0 || hi !== 0) {
          this.stamped++;
          this.txCompletion.record((hi - this.taiHi[f]!) * 4294967296 + (lo - this.taiLo[f]!));
        }
      }
      this.completions += n;
    }
  }

  /** Sends `count` requests at `rate` per second (0 = as fast as the ring takes them). */
  send(count: number, rate: number, signal?: AbortSignal): Promise<number> {
    if (this.sent + count > this.replied.length) throw new AfxdpError('EUSAGE', `at most ${this.replied.length} ping requests per run`);
    const sock = this.probe.socketOf(0);
    const bytes = sock.umem.bytes;
    const words = sock.umem.words;
    const shift = sock.umem.frameShift;
    const nat = native();
    const first = this.sent;
    const target = first + count;
    const start = process.hrtime();
    return new Promise<number>((resolve, reject) => {
      const tick = (): void => {
        try {
          if (signal?.aborted) return resolve(this.sent - first);
          this.reclaim();
          let due = target;
          if (rate > 0) {
            const [s, ns] = process.hrtime(start);
            due = Math.min(target, first + Math.floor((s + ns / 1e9) * rate) + 1);
          }
          const room = sock.txFree(this.batch.length);
          let k = 0;
          while (this.sent + k < due && k < room) {
            const base = sock.txAlloc();
            if (base < 0) break;
            const a = base + XDP_PACKET_HEADROOM;
            bytes.set(this.template, a);
            setSeq(bytes, a, this.sent + k);
            this.batch[k++] = a;
          }
          if (k > 0) {
            // the user-space send time, once per batch, in both clocks: MONOTONIC for the round
            // trip (in the payload), TAI for the completion stamp (the kernel stamps in TAI)
            nat.clockGettime(CLOCK_MONOTONIC, this.mono);
            nat.clockGettime(CLOCK_TAI, this.tai);
            for (let i = 0; i < k; i++) {
              const a = this.batch[i]!;
              setTxTimestamp(bytes, a, this.mono[0]!, this.mono[1]!);
              const m = (a - XSK_TX_METADATA_LEN) >>> 2;
              words[m] = XDP_TXMD_FLAGS_TIMESTAMP; // flags (u64)
              words[m + 1] = 0;
              words[m + 2] = 0; // completion.tx_timestamp, written by the kernel
              words[m + 3] = 0;
              const f = a >>> shift;
              this.taiLo[f] = this.tai[0]!;
              this.taiHi[f] = this.tai[1]!;
              sock.txPush(a, this.size, XDP_TX_METADATA);
            }
            this.sent += k;
            flushTx(sock);
          }
          if (this.sent >= target) return resolve(this.sent - first);
          if (rate === 0 || this.sent < due) setImmediate(tick);
          else setTimeout(tick, 1);
        } catch (e) {
          reject(e);
        }
      };
      tick();
    });
  }

  /** Waits until every request has its reply and its completion, or nothing moved for idleMs. */
  async settle(idleMs: number, signal?: AbortSignal): Promise<void> {
    let last = -1;
    let since = Date.now();
    while (!signal?.aborted) {
      this.reclaim();
      this.probe.drain(); // the replies waiting now, through the receiver's sinks (this one among them)
      if (this.replies >= this.sent && this.completions >= this.sent) return;
      const progress = this.replies + this.completions;
      if (progress !== last) {
        last = progress;
        since = Date.now();
      } else if (Date.now() - since >= idleMs) return;
      // a reply wakes this at once; completions have no poll event, so look again within 2 ms
      await this.probe.wait(2, signal);
    }
  }

  counts(): PingCounts {
    return { sent: this.sent, replies: this.replies, completions: this.completions, completions_with_timestamp: this.stamped };
  }
}
