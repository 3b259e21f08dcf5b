/**
 * What a receiver set up, as runLatency()'s onOpen sees it (before traffic): enough to say what is
 * measured where, without the receiver's whole face (LatencyReceiver, afxdp/receiver), so the
 * main entry stays small. LatencyReceiver implements it.
 */
import type { XdpMode } from '../xdp/program.js';
import type { BindMode } from '../xsk/socket.js';
import type { StrategyName } from '../xdp/meta.js';
import type { PollMode, ClockName } from './options.js';

/** How a receiver was set up: what runLatency()'s `onOpen` gets (a LatencyReceiver, seen through this). */
export interface ReceiverSetup {
  /** the interface received on */
  readonly ifname: string;
  /** the queues received on, in order */
  readonly queues: readonly number[];
  /** how the program is attached */
  readonly mode: XdpMode;
  /** how the sockets are bound (the first queue's) */
  readonly bindMode: BindMode;
  /** how the receiver waits for packets */
  readonly poll: PollMode;
  /** the clock of the stamps */
  readonly clock: ClockName;
  /** the stamp strategy asked for */
  readonly strategy: StrategyName;
  /** the program reads hardware hints */
  readonly hints: boolean;
  /** why hints are off (null when on) */
  readonly hintsOff: string | null;
  /** the sockets are bound with XDP_USE_SG: packets larger than a frame arrive whole */
  readonly sg: boolean;
  /** the interface's MTU when the receiver opened */
  readonly mtu: number;
  /** bytes per UMEM frame */
  readonly frameSize: number;
  /** why a jumbo interface runs in generic mode, when that is the reason; else null */
  readonly fragsNote: string | null;
  /** with `force`: the foreign program that was detached to make room, else null */
  readonly replaced: { name: string; id: number } | null;
}
