/**
 * The counters of one receiving queue, as slots of a Float64Array that may be a SharedArrayBuffer:
 * the engine increments them per batch (on the main thread or in a worker), the main thread reads
 * them at any time (monitor, /metrics, report). One writer per array, so no atomics are needed;
 * an aligned double is never torn on the platforms afxdp runs on.
 */
export const C_RECEIVED = 0;
export const C_META_VALID = 1;
export const C_META_INVALID = 2;
/** valid stamps by the strategy that carried them */
export const C_VIA_META = 3;
export const C_VIA_PREPEND = 4;
export const C_VIA_MAP = 5;
/** valid packets that carried each hardware hint */
export const C_HINT_HW_TS = 6;
export const C_HINT_RX_HASH = 7;
export const C_HINT_VLAN = 8;
/** map strategy: stamps taken from the map / packets whose key had no stamp there */
export const C_MAP_MATCHED = 9;
export const C_MAP_NO_STAMP = 10;
/** busy mode: kicks issued while idle (need_wakeup on the fill ring) */
export const C_IDLE_KICKS = 11;
/** worker modes: used heap of the worker's isolate at start and at stop */
export const C_HEAP_START = 12;
export const C_HEAP_END = 13;
/** worker mode: blocking poll(2) calls (one per wake-up, as the C loop's poll_wakeups) */
export const C_POLL_WAITS = 14;
/** worker modes with busyPoll: busy-poll calls (recvfrom on an empty ring) */
export const C_BUSY_POLLS = 15;
/** received packets by size class (SIZE_CLASSES, whole packet), from C_SIZE_BASE on */
export const C_SIZE_BASE = 16;
/** packets that arrived in more than one buffer (XDP_USE_SG chains) */
export const C_MULTI_BUFFER = 22;
/** chains too long for the socket's receive window (batch size + 64 buffers), dropped whole */
export const C_CHAINS_DROPPED = 23;
/** handler mode: packets the handler was called for, forwarded (ctx.forward), sent (ctx.send, new frames) and not forwarded (their frames recycled) */
export const C_HANDLED = 24;
export const C_FORWARDED = 25;
export const C_SENT = 26;
export const C_HANDLER_DROPPED = 27;
export const COUNTS_SLOTS = 28;
/** handler mode: slots of the handler's own counters (ctx.counters), per queue */
export const HANDLER_COUNTERS = 16;

/**
 * The size classes of the report (`packets.by_size`), by the whole packet's length without FCS:
 * minimum-sized, small, up to a standard (VLAN-tagged) Ethernet frame, up to one 4 KiB frame, up
 * to a 9000-byte-MTU jumbo frame (+ Ethernet and VLAN header), larger (generic-mode GRO packets).
 */
export const SIZE_CLASSES = [
  { name: '0-128', max: 128 },
  { name: '129-512', max: 512 },
  { name: '513-1518', max: 1518 },
  { name: '1519-4096', max: 4096 },
  { name: '4097-9018', max: 9018 },
  { name: '9019+', max: Infinity },
] as const;

export function newCounts(shared: boolean): Float64Array {
  return new Float64Array(shared ? new SharedArrayBuffer(8 * COUNTS_SLOTS) : new ArrayBuffer(8 * COUNTS_SLOTS));
}
